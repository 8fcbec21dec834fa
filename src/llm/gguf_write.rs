//! A GGUF v3 writer: metadata, tensor descriptions, then each tensor's bytes streamed in order, aligned
//! to 32 bytes as llama.cpp expects. Values use candle's [`Value`] so metadata read from another GGUF
//! (candle's reader) can be copied as it is.

use std::io::{self, Write};

pub use candle_core::quantized::gguf_file::Value;

/// The ggml tensor types this writer is used with, and their block geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorType {
    F32,
    Q4K,
    Q6K,
}

impl TensorType {
    fn id(self) -> u32 {
        match self {
            TensorType::F32 => 0,
            TensorType::Q4K => 12,
            TensorType::Q6K => 14,
        }
    }

    /// (values per block, bytes per block)
    pub fn block(self) -> (usize, usize) {
        match self {
            TensorType::F32 => (1, 4),
            TensorType::Q4K => (256, 144),
            TensorType::Q6K => (256, 210),
        }
    }

    /// Bytes of a tensor of `values` values (a whole number of blocks).
    pub fn bytes(self, values: usize) -> usize {
        let (per_block, size) = self.block();
        values / per_block * size
    }
}

/// A tensor as the file describes it. `dims` are ggml's order: the row length first.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<usize>,
    pub kind: TensorType,
}

impl TensorInfo {
    pub fn values(&self) -> usize {
        self.dims.iter().product()
    }
}

const ALIGNMENT: usize = 32;

fn string(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(&(s.len() as u64).to_le_bytes())?;
    w.write_all(s.as_bytes())
}

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn value(w: &mut impl Write, v: &Value) -> io::Result<()> {
    match v {
        Value::U8(x) => w.write_all(&x.to_le_bytes()),
        Value::I8(x) => w.write_all(&x.to_le_bytes()),
        Value::U16(x) => w.write_all(&x.to_le_bytes()),
        Value::I16(x) => w.write_all(&x.to_le_bytes()),
        Value::U32(x) => w.write_all(&x.to_le_bytes()),
        Value::I32(x) => w.write_all(&x.to_le_bytes()),
        Value::U64(x) => w.write_all(&x.to_le_bytes()),
        Value::I64(x) => w.write_all(&x.to_le_bytes()),
        Value::F32(x) => w.write_all(&x.to_le_bytes()),
        Value::F64(x) => w.write_all(&x.to_le_bytes()),
        Value::Bool(x) => w.write_all(&[u8::from(*x)]),
        Value::String(s) => string(w, s),
        Value::Array(items) => {
            let element = items.first().map_or(0, type_id);
            if items.iter().any(|i| type_id(i) != element) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a GGUF array holds values of one type",
                ));
            }
            w.write_all(&element.to_le_bytes())?;
            w.write_all(&(items.len() as u64).to_le_bytes())?;
            items.iter().try_for_each(|i| value(w, i))
        }
    }
}

/// Writes a GGUF file: `data(i, out)` fills tensor `i`'s bytes (`out` has exactly its size).
pub fn write(
    w: &mut impl Write,
    metadata: &[(String, Value)],
    tensors: &[TensorInfo],
    mut data: impl FnMut(usize, &mut [u8]),
) -> io::Result<()> {
    let mut header = Vec::new();
    header.extend_from_slice(b"GGUF");
    header.extend_from_slice(&3u32.to_le_bytes());
    header.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
    header.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (key, v) in metadata {
        string(&mut header, key)?;
        header.extend_from_slice(&type_id(v).to_le_bytes());
        value(&mut header, v)?;
    }
    let padded = |n: usize| n.div_ceil(ALIGNMENT) * ALIGNMENT;
    let mut offset = 0;
    for t in tensors {
        string(&mut header, &t.name)?;
        header.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for &d in &t.dims {
            header.extend_from_slice(&(d as u64).to_le_bytes());
        }
        header.extend_from_slice(&t.kind.id().to_le_bytes());
        header.extend_from_slice(&(offset as u64).to_le_bytes());
        offset += padded(t.kind.bytes(t.values()));
    }
    header.resize(padded(header.len()), 0);
    w.write_all(&header)?;
    for (i, t) in tensors.iter().enumerate() {
        let size = t.kind.bytes(t.values());
        let mut bytes = vec![0u8; padded(size)];
        data(i, &mut bytes[..size]);
        w.write_all(&bytes)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candle_reads_what_is_written() {
        let metadata = vec![
            (
                "general.architecture".to_owned(),
                Value::String("llama".into()),
            ),
            ("llama.block_count".to_owned(), Value::U32(2)),
            (
                "tokenizer.ggml.tokens".to_owned(),
                Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
            ),
        ];
        let tensors = vec![
            TensorInfo {
                name: "norm".into(),
                dims: vec![3],
                kind: TensorType::F32,
            },
            TensorInfo {
                name: "w".into(),
                dims: vec![256, 2],
                kind: TensorType::Q4K,
            },
        ];
        let mut file = Vec::new();
        write(&mut file, &metadata, &tensors, |i, out| {
            out.fill(i as u8 + 1)
        })
        .expect("writes");
        let mut cursor = io::Cursor::new(&file);
        let content =
            candle_core::quantized::gguf_file::Content::read(&mut cursor).expect("candle reads it");
        assert_eq!(content.metadata["llama.block_count"].to_u32().ok(), Some(2));
        assert_eq!(
            content.metadata["tokenizer.ggml.tokens"]
                .to_vec()
                .map(Vec::len)
                .ok(),
            Some(2)
        );
        let w = &content.tensor_infos["w"];
        assert_eq!(w.shape.dims(), &[2, 256]);
        let start = content.tensor_data_offset as usize + w.offset as usize;
        assert_eq!(start % ALIGNMENT, 0);
        assert!(file[start..start + 288].iter().all(|&b| b == 2));
        assert_eq!(file.len(), start + 288);
    }
}
