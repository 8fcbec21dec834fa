//! Writes a Llama-architecture GGUF with random weights in a real model's shapes and llama.cpp's Q4_K_M
//! mix of quantization types (`omost dev random-gguf`): for speed measurements, which depend on shapes
//! and types, not values. The tokenizer is copied from another GGUF (a vocab-only file is enough), so
//! prompts tokenize as they would with the real model.

use std::io::BufWriter;
use std::path::Path;

use candle_core::quantized::gguf_file::Content;
use rayon::prelude::*;

use super::gguf_write::{self, TensorInfo, TensorType, Value};
use crate::chunk_rng::{splitmix64, ChunkStream};

/// The hyper-parameters that decide a Llama model's shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlamaShape {
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub context: usize,
    pub rope_base: u32,
}

impl LlamaShape {
    /// Meta-Llama-3-8B.
    pub const LLAMA3_8B: LlamaShape = LlamaShape {
        n_embd: 4096,
        n_ff: 14336,
        n_layer: 32,
        n_head: 32,
        n_head_kv: 8,
        context: 8192,
        rope_base: 500_000,
    };

    /// A small model of the same architecture, for tests of the writer (2 layers, 256 wide).
    pub const TINY: LlamaShape = LlamaShape {
        n_embd: 256,
        n_ff: 512,
        n_layer: 2,
        n_head: 4,
        n_head_kv: 2,
        context: 4096,
        rope_base: 500_000,
    };

    /// A shape by name: `llama3-8b` or `tiny`.
    pub fn from_name(name: &str) -> Option<LlamaShape> {
        match name {
            "llama3-8b" => Some(Self::LLAMA3_8B),
            "tiny" => Some(Self::TINY),
            _ => None,
        }
    }
}

/// llama.cpp's `use_more_bits`: the layers Q4_K_M gives 6 bits in attn_v and ffn_down.
fn use_more_bits(layer: usize, n_layer: usize) -> bool {
    layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2
}

/// Every tensor of the model, in llama.cpp's order, with Q4_K_M's types.
pub fn tensors(shape: &LlamaShape, n_vocab: usize) -> Vec<TensorInfo> {
    let t = |name: String, dims: Vec<usize>, kind| TensorInfo { name, dims, kind };
    let (e, f) = (shape.n_embd, shape.n_ff);
    let kv = e / shape.n_head * shape.n_head_kv;
    let mut out = vec![t(
        "token_embd.weight".into(),
        vec![e, n_vocab],
        TensorType::Q4K,
    )];
    for i in 0..shape.n_layer {
        let more = if use_more_bits(i, shape.n_layer) {
            TensorType::Q6K
        } else {
            TensorType::Q4K
        };
        let b = |n: &str| format!("blk.{i}.{n}.weight");
        out.extend([
            t(b("attn_norm"), vec![e], TensorType::F32),
            t(b("attn_q"), vec![e, e], TensorType::Q4K),
            t(b("attn_k"), vec![e, kv], TensorType::Q4K),
            t(b("attn_v"), vec![e, kv], more),
            t(b("attn_output"), vec![e, e], TensorType::Q4K),
            t(b("ffn_norm"), vec![e], TensorType::F32),
            t(b("ffn_gate"), vec![e, f], TensorType::Q4K),
            t(b("ffn_up"), vec![e, f], TensorType::Q4K),
            t(b("ffn_down"), vec![f, e], more),
        ]);
    }
    out.push(t("output_norm.weight".into(), vec![e], TensorType::F32));
    out.push(t("output.weight".into(), vec![e, n_vocab], TensorType::Q6K));
    out
}

/// Fills one tensor: random quants with block scales chosen so weights have a standard deviation near
/// 1/√row-length (activations stay finite through every layer); norm scales are 1.
fn fill(t: &TensorInfo, seed: u64, out: &mut [u8]) {
    let target = 1.0 / (t.dims[0] as f32).sqrt();
    // Where each block keeps its fp16 scales, and their values.
    let scales: &[(usize, f32)] = match t.kind {
        TensorType::F32 => {
            for v in out.chunks_exact_mut(4) {
                v.copy_from_slice(&1f32.to_le_bytes());
            }
            return;
        }
        // d, dmin, then 6-bit scales and 4-bit quants: scale × quant averages ~236.
        TensorType::Q4K => &[(0, target / 200.0), (2, target / 50.0)],
        // quants, signed 8-bit scales, then d last: scale × (quant − 32) spreads ~1300.
        TensorType::Q6K => &[(208, target / 1300.0)],
    };
    let (_, block) = t.kind.block();
    out.par_chunks_mut(block * 1024)
        .enumerate()
        .for_each(|(chunk, blocks)| {
            let mut stream = ChunkStream::new(seed, chunk);
            for word in blocks.chunks_mut(8) {
                word.copy_from_slice(&stream.next_u64().to_le_bytes()[..word.len()]);
            }
            for b in blocks.chunks_exact_mut(block) {
                for &(at, value) in scales {
                    b[at..at + 2].copy_from_slice(&half::f16::from_f32(value).to_le_bytes());
                }
            }
        });
}

/// What was written.
pub struct Written {
    pub parameters: usize,
    pub bytes: u64,
    pub n_vocab: usize,
}

/// Writes the model to `out`, its tokenizer copied from `vocab` (any GGUF with `tokenizer.*` keys).
pub fn write(out: &Path, shape: &LlamaShape, vocab: &Path, seed: u64) -> Result<Written, String> {
    super::engine::check_gguf_header(vocab).map_err(|e| e.to_string())?;
    let mut reader = std::fs::File::open(vocab).map_err(|e| format!("{}: {e}", vocab.display()))?;
    let source = Content::read(&mut reader).map_err(|e| {
        let reason = e.to_string();
        format!(
            "{}: {}",
            vocab.display(),
            reason.lines().next().unwrap_or_default()
        )
    })?;
    let mut tokenizer: Vec<(String, Value)> = source
        .metadata
        .into_iter()
        .filter(|(k, _)| k.starts_with("tokenizer."))
        .collect();
    tokenizer.sort_by(|a, b| a.0.cmp(&b.0));
    let n_vocab = tokenizer
        .iter()
        .find(|(k, _)| k == "tokenizer.ggml.tokens")
        .and_then(|(_, v)| v.to_vec().ok().map(Vec::len))
        .ok_or_else(|| format!("{}: no tokenizer.ggml.tokens", vocab.display()))?;

    let u32v = |n: usize| Value::U32(n as u32);
    let mut metadata = vec![
        (
            "general.architecture".to_owned(),
            Value::String("llama".into()),
        ),
        (
            "general.name".to_owned(),
            Value::String("random weights (omost dev random-gguf)".into()),
        ),
        ("general.file_type".to_owned(), Value::U32(15)), // MOSTLY_Q4_K_M
        ("general.quantization_version".to_owned(), Value::U32(2)),
        ("llama.context_length".to_owned(), u32v(shape.context)),
        ("llama.embedding_length".to_owned(), u32v(shape.n_embd)),
        ("llama.block_count".to_owned(), u32v(shape.n_layer)),
        ("llama.feed_forward_length".to_owned(), u32v(shape.n_ff)),
        ("llama.attention.head_count".to_owned(), u32v(shape.n_head)),
        (
            "llama.attention.head_count_kv".to_owned(),
            u32v(shape.n_head_kv),
        ),
        (
            "llama.rope.freq_base".to_owned(),
            Value::F32(shape.rope_base as f32),
        ),
        (
            "llama.attention.layer_norm_rms_epsilon".to_owned(),
            Value::F32(1e-5),
        ),
        (
            "llama.rope.dimension_count".to_owned(),
            u32v(shape.n_embd / shape.n_head),
        ),
        ("llama.vocab_size".to_owned(), u32v(n_vocab)),
    ];
    metadata.extend(tokenizer);

    let infos = tensors(shape, n_vocab);
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut w = BufWriter::with_capacity(1 << 22, file);
    gguf_write::write(&mut w, &metadata, &infos, |i, bytes| {
        fill(&infos[i], splitmix64(seed ^ i as u64), bytes)
    })
    .map_err(|e| format!("{}: {}", out.display(), crate::fsutil::io_reason(&e)))?;
    drop(w);
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(Written {
        parameters: infos.iter().map(TensorInfo::values).sum(),
        bytes,
        n_vocab,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_8b_has_its_published_size() {
        let infos = tensors(&LlamaShape::LLAMA3_8B, 128_256);
        assert_eq!(infos.len(), 2 + 9 * 32 + 1);
        let params: usize = infos.iter().map(TensorInfo::values).sum();
        assert_eq!(params, 8_030_261_248);
        // Q4_K_M: 6 bits for attn_v and ffn_down in 16 of 32 layers, and for the output matrix.
        let q6 = infos.iter().filter(|t| t.kind == TensorType::Q6K).count();
        assert_eq!(q6, 2 * 16 + 1);
        let bytes: usize = infos.iter().map(|t| t.kind.bytes(t.values())).sum();
        // With Llama 3's tokenizer (7.8 MB of metadata) that is the 4.92 GB of published Q4_K_M files.
        assert_eq!(bytes, 4_912_898_048);
    }
}
