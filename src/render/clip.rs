//! SDXL's text encoders, CLIP-L and CLIP-G (OpenCLIP bigG), as `transformers`' `CLIPTextModel` /
//! `CLIPTextModelWithProjection` compute them, loading their standard tensor names. Our own module, not
//! candle-transformers': its CLIP config cannot describe other sizes (so no tiny test models) and its
//! CLIP-G uses the tanh GELU where the model was trained with the exact one.
//!
//! SDXL reads the **penultimate** layer's hidden states; the pooled vector is the final-layer-norm state
//! at the first EOS token, projected by `text_projection` for CLIP-G as SDXL was trained (Omost feeds it
//! unprojected).

use std::path::Path;

use candle_core::{DType, Device, IndexOp, Module, Result, Tensor};
use candle_nn::{
    embedding, layer_norm, linear, linear_no_bias, Embedding, LayerNorm, Linear, VarBuilder,
};
use serde::Deserialize;

use super::tokenizer::EOS;

/// The activation in the MLP.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub enum Activation {
    /// CLIP-L: `x·σ(1.702·x)`.
    #[serde(rename = "quick_gelu")]
    QuickGelu,
    /// CLIP-G: the exact (erf) GELU.
    #[serde(rename = "gelu")]
    Gelu,
}

/// The parts of a `transformers` CLIP text `config.json` the encoder needs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ClipConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub max_position_embeddings: usize,
    pub hidden_act: Activation,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Size of `text_projection` (CLIP-G).
    pub projection_dim: Option<usize>,
}

fn default_eps() -> f64 {
    1e-5
}

impl ClipConfig {
    /// SDXL's CLIP-L (OpenAI ViT-L/14 text tower).
    pub fn sdxl_l() -> Self {
        ClipConfig {
            vocab_size: 49408,
            hidden_size: 768,
            intermediate_size: 3072,
            num_hidden_layers: 12,
            num_attention_heads: 12,
            max_position_embeddings: 77,
            hidden_act: Activation::QuickGelu,
            layer_norm_eps: 1e-5,
            projection_dim: None,
        }
    }

    /// SDXL's CLIP-G (OpenCLIP ViT-bigG/14 text tower).
    pub fn sdxl_g() -> Self {
        ClipConfig {
            vocab_size: 49408,
            hidden_size: 1280,
            intermediate_size: 5120,
            num_hidden_layers: 32,
            num_attention_heads: 20,
            max_position_embeddings: 77,
            hidden_act: Activation::Gelu,
            layer_norm_eps: 1e-5,
            projection_dim: Some(1280),
        }
    }

    /// Reads a `config.json`.
    pub fn from_file(path: &Path) -> std::result::Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What the encoder gives for a batch of 77-token chunks.
pub struct ClipOutput {
    /// Hidden states after the second-to-last layer, `[batch, 77, hidden]`.
    pub penultimate: Tensor,
    /// Final-layer-norm state at each row's first EOS, `[batch, hidden]`.
    pub pooled: Tensor,
    /// `pooled` through `text_projection`, `[batch, projection]`, when the model has one.
    pub projected: Option<Tensor>,
}

struct EncoderLayer {
    layer_norm1: LayerNorm,
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    layer_norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
    act: Activation,
}

impl EncoderLayer {
    fn load(vb: VarBuilder, c: &ClipConfig) -> Result<Self> {
        let d = c.hidden_size;
        let attn = vb.pp("self_attn");
        Ok(EncoderLayer {
            layer_norm1: layer_norm(d, c.layer_norm_eps, vb.pp("layer_norm1"))?,
            q: linear(d, d, attn.pp("q_proj"))?,
            k: linear(d, d, attn.pp("k_proj"))?,
            v: linear(d, d, attn.pp("v_proj"))?,
            out: linear(d, d, attn.pp("out_proj"))?,
            layer_norm2: layer_norm(d, c.layer_norm_eps, vb.pp("layer_norm2"))?,
            fc1: linear(d, c.intermediate_size, vb.pp("mlp").pp("fc1"))?,
            fc2: linear(c.intermediate_size, d, vb.pp("mlp").pp("fc2"))?,
            heads: c.num_attention_heads,
            act: c.hidden_act,
        })
    }

    fn forward(&self, xs: &Tensor, causal: &Tensor) -> Result<Tensor> {
        let (b, n, d) = xs.dims3()?;
        let head_dim = d / self.heads;
        let h = self.layer_norm1.forward(xs)?;
        let split = |t: Tensor| -> Result<Tensor> {
            t.reshape((b, n, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split((self.q.forward(&h)? * (head_dim as f64).powf(-0.5))?)?;
        let k = split(self.k.forward(&h)?)?;
        let v = split(self.v.forward(&h)?)?;
        let scores = q.matmul(&k.t()?)?.broadcast_add(causal)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let attn = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        let xs = (xs + self.out.forward(&attn)?)?;
        let h = self.fc1.forward(&self.layer_norm2.forward(&xs)?)?;
        let h = match self.act {
            Activation::QuickGelu => (&h * candle_nn::ops::sigmoid(&(&h * 1.702)?)?)?,
            Activation::Gelu => h.gelu_erf()?,
        };
        xs + self.fc2.forward(&h)?
    }
}

/// A CLIP text encoder.
pub struct ClipTextEncoder {
    token_embedding: Embedding,
    position_embedding: Embedding,
    layers: Vec<EncoderLayer>,
    final_layer_norm: LayerNorm,
    projection: Option<Linear>,
    device: Device,
}

impl ClipTextEncoder {
    /// Builds the encoder from `transformers` tensor names (`text_model.…`, `text_projection.weight`; the
    /// `text_model.` prefix may be absent, as transformers 5 writes them).
    pub fn load(vb: VarBuilder, c: &ClipConfig) -> Result<Self> {
        let prefixed = vb.contains_tensor("text_model.embeddings.token_embedding.weight");
        let tm = if prefixed {
            vb.pp("text_model")
        } else {
            vb.clone()
        };
        let emb = tm.pp("embeddings");
        let layers = (0..c.num_hidden_layers)
            .map(|i| EncoderLayer::load(tm.pp("encoder").pp("layers").pp(i), c))
            .collect::<Result<Vec<_>>>()?;
        let projection = match c.projection_dim {
            Some(p) if vb.contains_tensor("text_projection.weight") => {
                Some(linear_no_bias(c.hidden_size, p, vb.pp("text_projection"))?)
            }
            _ => None,
        };
        Ok(ClipTextEncoder {
            token_embedding: embedding(c.vocab_size, c.hidden_size, emb.pp("token_embedding"))?,
            position_embedding: embedding(
                c.max_position_embeddings,
                c.hidden_size,
                emb.pp("position_embedding"),
            )?,
            layers,
            final_layer_norm: layer_norm(
                c.hidden_size,
                c.layer_norm_eps,
                tm.pp("final_layer_norm"),
            )?,
            projection,
            device: vb.device().clone(),
        })
    }

    /// Loads `config.json` and the weights (`model.safetensors`, else `model.fp16.safetensors`) of a
    /// diffusers text-encoder folder, in `dtype`.
    pub fn from_folder(
        folder: &Path,
        dtype: DType,
        device: &Device,
    ) -> std::result::Result<Self, String> {
        let config = ClipConfig::from_file(&folder.join("config.json"))?;
        let weights = ["model.safetensors", "model.fp16.safetensors"]
            .iter()
            .map(|f| folder.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                format!(
                    "{}: no model.safetensors or model.fp16.safetensors",
                    folder.display()
                )
            })?;
        let fail = |e: candle_core::Error| format!("{}: {}", weights.display(), first_line(&e));
        let tensors = candle_core::safetensors::load(&weights, device).map_err(fail)?;
        let vb = VarBuilder::from_tensors(tensors, dtype, device);
        ClipTextEncoder::load(vb, &config).map_err(fail)
    }

    /// Encodes token ids `[batch, 77]` (u32).
    pub fn forward(&self, ids: &Tensor) -> Result<ClipOutput> {
        let (b, n) = ids.dims2()?;
        let positions = Tensor::arange(0u32, n as u32, &self.device)?;
        let mut xs = self
            .token_embedding
            .forward(ids)?
            .broadcast_add(&self.position_embedding.forward(&positions)?)?;
        let causal = causal_mask(n, xs.dtype(), &self.device)?;
        // `hidden_states[-2]`: the input of the last layer (the embeddings for a one-layer model).
        let mut penultimate = xs.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            if i + 1 == self.layers.len() {
                penultimate = xs.clone();
            }
            xs = layer.forward(&xs, &causal)?;
        }
        let last = self.final_layer_norm.forward(&xs)?;
        // The first EOS of each row.
        let eos: Vec<u32> = ids
            .to_vec2::<u32>()?
            .iter()
            .map(|row| row.iter().position(|&t| t == EOS).unwrap_or(row.len() - 1) as u32)
            .collect();
        let rows = (0..b)
            .map(|r| last.i((r, eos[r] as usize)))
            .collect::<Result<Vec<_>>>()?;
        let pooled = Tensor::stack(&rows, 0)?;
        let projected = self
            .projection
            .as_ref()
            .map(|p| p.forward(&pooled))
            .transpose()?;
        Ok(ClipOutput {
            penultimate,
            pooled,
            projected,
        })
    }
}

/// A candle error's message without the backtrace it carries when `RUST_BACKTRACE` is set.
pub fn first_line(e: &candle_core::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// `[n, n]` additive mask: 0 on and below the diagonal, −∞ above.
fn causal_mask(n: usize, dtype: DType, device: &Device) -> Result<Tensor> {
    let mask: Vec<f32> = (0..n)
        .flat_map(|i| (0..n).map(move |j| if j > i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (n, n), device)?.to_dtype(dtype)
}
