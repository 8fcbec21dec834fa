//! Initial-noise files (`--noise`, `--save-noise`): one float32 tensor in a safetensors file (key
//! `noise`, or the file's only tensor) or a NumPy `.npy` file, as numpy, torch and diffusers users write
//! them. Reading checks the format, the dtype and the size of the data; the caller checks the shape.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

/// A noise tensor read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Noise {
    pub shape: Vec<usize>,
    /// Row-major (C order) values.
    pub values: Vec<f32>,
}

/// Which format a noise file has, from its name: `.npy`, or safetensors otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Npy,
    Safetensors,
}

impl Format {
    /// `.npy` files are NumPy's; anything else is written as safetensors.
    pub fn for_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("npy") => Format::Npy,
            _ => Format::Safetensors,
        }
    }
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// The hex sha256 of a file's bytes (recorded in the PNG, comparable with `sha256sum`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads a noise tensor from a file's bytes; the format is told by the bytes, not the name.
pub fn decode(bytes: &[u8]) -> Result<Noise, String> {
    if bytes.starts_with(NPY_MAGIC) {
        decode_npy(bytes)
    } else {
        decode_safetensors(bytes)
    }
}

/// Writes `noise` in `format`.
pub fn encode(noise: &Noise, format: Format) -> Result<Vec<u8>, String> {
    match format {
        Format::Npy => Ok(encode_npy(noise)),
        Format::Safetensors => encode_safetensors(noise),
    }
}

fn decode_safetensors(bytes: &[u8]) -> Result<Noise, String> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| format!("neither a .npy nor a safetensors file ({e})"))?;
    let names = file.names();
    let name = match names.as_slice() {
        _ if names.contains(&"noise") => "noise",
        [only] => only,
        [] => return Err("the safetensors file holds no tensor".into()),
        _ => {
            return Err(format!(
                "the safetensors file holds {} tensors and none is named `noise`",
                names.len()
            ))
        }
    };
    let view = file.tensor(name).map_err(|e| e.to_string())?;
    if view.dtype() != Dtype::F32 {
        return Err(format!(
            "tensor `{name}` is {:?}; expected float32 (F32)",
            view.dtype()
        ));
    }
    Ok(Noise {
        shape: view.shape().to_vec(),
        values: view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    })
}

fn encode_safetensors(noise: &Noise) -> Result<Vec<u8>, String> {
    let data: Vec<u8> = noise.values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view =
        TensorView::new(Dtype::F32, noise.shape.clone(), &data).map_err(|e| e.to_string())?;
    let tensors = HashMap::from([("noise".to_owned(), view)]);
    safetensors::serialize(tensors, None).map_err(|e| e.to_string())
}

/// The value of `key` in a `.npy` header dict (`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }`).
fn npy_field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = header[at + key.len() + 2..]
        .trim_start()
        .strip_prefix(':')?;
    let rest = rest.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

fn decode_npy(bytes: &[u8]) -> Result<Noise, String> {
    let bad = |why: &str| format!("not a valid .npy file: {why}");
    let version = *bytes.get(6).ok_or_else(|| bad("truncated header"))?;
    let (len, start) = match version {
        1 => (
            u16::from_le_bytes([
                bytes.get(8).copied().unwrap_or(0),
                bytes.get(9).copied().unwrap_or(0),
            ]) as usize,
            10,
        ),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| bad("truncated header"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(bad(&format!("unknown format version {v}"))),
    };
    let header = bytes
        .get(start..start + len)
        .ok_or_else(|| bad("truncated header"))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("header is not text"))?;
    let descr = npy_field(header, "descr")
        .ok_or_else(|| bad("no 'descr' in the header"))?
        .trim_matches(['\'', '"']);
    let big_endian = match descr {
        "<f4" | "=f4" => false,
        ">f4" => true,
        other => {
            return Err(format!(
                "dtype {other} in the .npy file; expected float32 (<f4)"
            ))
        }
    };
    if npy_field(header, "fortran_order") == Some("True") {
        return Err(
            "the .npy array is in Fortran order; save a C-ordered one (numpy.ascontiguousarray)"
                .into(),
        );
    }
    let shape_text = npy_field(header, "shape").ok_or_else(|| bad("no 'shape' in the header"))?;
    let shape = shape_text
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad(&format!("shape {shape_text}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let data = &bytes[start + len..];
    let expected = shape.iter().product::<usize>() * 4;
    if data.len() != expected {
        return Err(format!(
            "the .npy data is {} bytes; shape {shape:?} of float32 needs {expected} (truncated file?)",
            data.len()
        ));
    }
    let values = data
        .chunks_exact(4)
        .map(|b| {
            let b = [b[0], b[1], b[2], b[3]];
            if big_endian {
                f32::from_be_bytes(b)
            } else {
                f32::from_le_bytes(b)
            }
        })
        .collect();
    Ok(Noise { shape, values })
}

fn encode_npy(noise: &Noise) -> Vec<u8> {
    let dims: Vec<String> = noise.shape.iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Version 1.0: magic, version, u16 length; the whole header padded to 64 bytes, ending in '\n'.
    let unpadded = NPY_MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + noise.values.len() * 4);
    out.extend_from_slice(NPY_MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(noise.values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Noise {
        Noise {
            shape: vec![1, 4, 2, 3],
            values: (0..24).map(|i| i as f32 * 0.25 - 3.0).collect(),
        }
    }

    #[test]
    fn both_formats_round_trip() {
        for format in [Format::Npy, Format::Safetensors] {
            let bytes = encode(&sample(), format).unwrap();
            assert_eq!(decode(&bytes).unwrap(), sample(), "{format:?}");
        }
        let npy = encode(&sample(), Format::Npy).unwrap();
        assert_eq!((10 + u16::from_le_bytes([npy[8], npy[9]]) as usize) % 64, 0);
    }

    #[test]
    fn wrong_dtype_truncation_and_junk_are_clear_errors() {
        let npy = encode(&sample(), Format::Npy).unwrap();
        let e = decode(&npy[..npy.len() - 4]).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        let mut f8 = npy.clone();
        let at = f8.windows(3).position(|w| w == b"<f4").unwrap();
        f8[at + 2] = b'8';
        let e = decode(&f8).unwrap_err();
        assert!(e.contains("<f8") && e.contains("float32"), "{e}");
        let e = decode(b"hello").unwrap_err();
        assert!(e.contains("neither a .npy nor a safetensors"), "{e}");

        let data = vec![0u8; 8];
        let view = TensorView::new(Dtype::F16, vec![4], &data).unwrap();
        let bytes = safetensors::serialize([("x", view)], None).unwrap();
        let e = decode(&bytes).unwrap_err();
        assert!(e.contains("F16") && e.contains("float32"), "{e}");
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(Format::for_path("a/n.NPY".as_ref()), Format::Npy);
        assert_eq!(
            Format::for_path("n.safetensors".as_ref()),
            Format::Safetensors
        );
        assert_eq!(Format::for_path("noise".as_ref()), Format::Safetensors);
    }
}
