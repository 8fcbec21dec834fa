//! Writes SDXL with random weights in its real shapes — a diffusers folder (fp16) that both our renderer
//! and diffusers load — for speed measurements, which do not depend on the values
//! (`omost dev random-sdxl`, `scripts/gpu-bench`). The shapes come from building our own models against
//! a recording backend ([`super::shapes`]), plus the tokenizer and scheduler files diffusers reads;
//! values are drawn in parallel from a counter-based generator,
//! so 3.5 billion of them take seconds and depend only on the seed and the tensor's name.

use std::borrow::Cow;
use std::path::Path;

use rayon::prelude::*;
use safetensors::{Dtype, View};
use serde_json::{json, Value};

use super::clip::{ClipConfig, ClipTextEncoder};
use super::shapes::{self, Shapes};
use super::tiny;
use super::unet::{UNet, UNetConfig};
use super::vae::{Vae, VaeConfig};
use crate::chunk_rng::{seed_for, ChunkStream};

/// The published `config.json` of stabilityai/stable-diffusion-xl-base-1.0's UNet.
pub fn sdxl_unet_config_json() -> Value {
    json!({
        "_class_name": "UNet2DConditionModel", "act_fn": "silu", "addition_embed_type": "text_time",
        "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
        "block_out_channels": [320, 640, 1280], "center_input_sample": false, "class_embed_type": null,
        "cross_attention_dim": 2048, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
        "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32,
        "num_attention_heads": null, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
        "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": true
    })
}

/// The published `vae/config.json` of SDXL base.
pub fn sdxl_vae_config_json() -> Value {
    json!({
        "_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
        "force_upcast": true, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2,
        "norm_num_groups": 32, "out_channels": 3, "sample_size": 1024, "scaling_factor": 0.13025,
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
    })
}

/// The published text encoders' `config.json`: CLIP-L (`text_encoder`) or CLIP-G (`text_encoder_2`).
pub fn sdxl_clip_config_json(clip_g: bool) -> Value {
    let (hidden, inter, layers, heads) = if clip_g {
        (1280, 5120, 32, 20)
    } else {
        (768, 3072, 12, 12)
    };
    let mut config = json!({
        "architectures": [if clip_g { "CLIPTextModelWithProjection" } else { "CLIPTextModel" }],
        "model_type": "clip_text_model", "vocab_size": 49408, "hidden_size": hidden,
        "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
        "max_position_embeddings": 77, "hidden_act": if clip_g { "gelu" } else { "quick_gelu" },
        "layer_norm_eps": 1e-5, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1,
        "torch_dtype": "float16"
    });
    if clip_g {
        config["projection_dim"] = json!(1280);
    }
    config
}

/// Which SDXL to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// The real SDXL base: 2.6 B UNet parameters, 3.5 B in all (7 GB in fp16).
    Full,
    /// The tiny topology of [`tiny`] (for tests of this writer).
    Tiny,
}

/// One component as it is written: its folder, weights file, config and tensors.
pub struct Part {
    pub folder: &'static str,
    pub file: &'static str,
    pub config: Value,
    pub shapes: Shapes,
}

/// The four components of an SDXL of this size, with every tensor's shape.
pub fn parts(size: Size) -> Result<Vec<Part>, String> {
    let (unet, vae, clip_l, clip_g) = match size {
        Size::Full => (
            sdxl_unet_config_json(),
            sdxl_vae_config_json(),
            sdxl_clip_config_json(false),
            sdxl_clip_config_json(true),
        ),
        Size::Tiny => (
            tiny::unet_config_json(),
            tiny::vae_config_json(),
            tiny::clip_config_json(false),
            tiny::clip_config_json(true),
        ),
    };
    let fail = |e: candle_core::Error| e.to_string();
    let unet_config = UNetConfig::from_json(&unet)?;
    let vae_config: VaeConfig = serde_json::from_value(vae.clone()).map_err(|e| e.to_string())?;
    let clip = |j: &Value| -> Result<ClipConfig, String> {
        serde_json::from_value(j.clone()).map_err(|e| e.to_string())
    };
    let (mut l, g) = (clip(&clip_l)?, clip(&clip_g)?);
    l.projection_dim = None; // CLIP-L (`CLIPTextModel`) has no projection, whatever its config says
    Ok(vec![
        Part {
            folder: "unet",
            file: "diffusion_pytorch_model.safetensors",
            config: unet,
            shapes: shapes::record(|vb| UNet::load(vb, &unet_config).map(drop)).map_err(fail)?,
        },
        Part {
            folder: "vae",
            file: "diffusion_pytorch_model.safetensors",
            config: vae,
            shapes: shapes::record(|vb| Vae::load(vb, &vae_config).map(drop)).map_err(fail)?,
        },
        Part {
            folder: "text_encoder",
            file: "model.safetensors",
            config: clip_l,
            shapes: shapes::record(|vb| ClipTextEncoder::load(vb, &l).map(drop)).map_err(fail)?,
        },
        Part {
            folder: "text_encoder_2",
            file: "model.safetensors",
            config: clip_g,
            // With `projection_dim` set, the recorded names include `text_projection`.
            shapes: shapes::record(|vb| ClipTextEncoder::load(vb, &g).map(drop)).map_err(fail)?,
        },
    ])
}

/// One tensor's fp16 values, as safetensors writes them.
struct F16Tensor {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &F16Tensor {
    fn dtype(&self) -> Dtype {
        Dtype::F16
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Values scaled like a trained network's (uniform, so the scale is its standard deviation): weights
/// 1/√fan-in, norm scales 1 ± 0.1, biases ± 0.02.
fn random_tensor(seed: u64, name: &str, dims: &[usize]) -> F16Tensor {
    const CHUNK: usize = 1 << 16;
    let n: usize = dims.iter().product();
    let (center, std) = if name.ends_with("bias") {
        (0.0, 0.02)
    } else if dims.len() == 1 {
        (1.0, 0.1)
    } else {
        let fan_in: usize = dims[1..].iter().product();
        (0.0, 1.0 / (fan_in as f64).sqrt())
    };
    let half_width = (std * 3f64.sqrt()) as f32;
    let base = seed_for(seed, name);
    let mut bytes = vec![0u8; n * 2];
    bytes
        .par_chunks_mut(CHUNK * 2)
        .enumerate()
        .for_each(|(chunk, out)| {
            let mut stream = ChunkStream::new(base, chunk);
            for value in out.chunks_exact_mut(2) {
                let unit = (stream.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0; // [-1, 1)
                let v = half::f16::from_f32(center as f32 + half_width * unit);
                value.copy_from_slice(&v.to_le_bytes());
            }
        });
    F16Tensor {
        shape: dims.to_vec(),
        bytes,
    }
}

/// Writes an SDXL of this size with random fp16 weights as a diffusers folder in `dir`
/// (`model_index.json`, `unet/`, `vae/`, `text_encoder/`, `text_encoder_2/`). Returns the number of
/// parameters written.
pub fn write(dir: &Path, size: Size, seed: u64) -> Result<usize, String> {
    let io =
        |p: &Path, e: std::io::Error| format!("{}: {}", p.display(), crate::fsutil::io_reason(&e));
    let mut total = 0;
    // The small files, written after the weights: each component's config, then what else
    // `StableDiffusionXLPipeline.from_pretrained` reads (tokenizers, a scheduler, the index).
    let mut files: Vec<(String, String)> = Vec::new();
    for part in parts(size)? {
        let folder = dir.join(part.folder);
        std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let config = serde_json::to_string_pretty(&part.config).map_err(|e| e.to_string())?;
        files.push((format!("{}/config.json", part.folder), config));
        let tensors: Vec<(String, F16Tensor)> = part
            .shapes
            .iter()
            .map(|(name, dims)| (name.clone(), random_tensor(seed, name, dims)))
            .collect();
        let weights = folder.join(part.file);
        safetensors::tensor::serialize_to_file(
            tensors.iter().map(|(k, v)| (k.as_str(), v)),
            None,
            &weights,
        )
        .map_err(|e| format!("{}: {e}", weights.display()))?;
        total += shapes::parameter_count(&part.shapes);
    }
    let (vocab, merges) = super::tokenizer::hf_files().map_err(|e| e.to_string())?;
    for (folder, pad) in [("tokenizer", "<|endoftext|>"), ("tokenizer_2", "!")] {
        let config = json!({
            "tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": true,
            "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "pad_token": pad
        });
        files.push((format!("{folder}/vocab.json"), vocab.clone()));
        files.push((format!("{folder}/merges.txt"), merges.clone()));
        files.push((
            format!("{folder}/tokenizer_config.json"),
            config.to_string(),
        ));
    }
    let scheduler = json!({
        "_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
        "steps_offset": 1, "timestep_spacing": "leading", "interpolation_type": "linear",
        "use_karras_sigmas": false
    });
    files.push((
        "scheduler/scheduler_config.json".into(),
        scheduler.to_string(),
    ));
    let index = json!({
        "_class_name": "StableDiffusionXLPipeline",
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "tokenizer_2": ["transformers", "CLIPTokenizer"],
        "scheduler": ["diffusers", "EulerDiscreteScheduler"]
    });
    files.push(("model_index.json".into(), index.to_string()));
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| io(&path, e))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_scaled_and_depend_on_seed_and_name() {
        let values = |t: &F16Tensor| -> Vec<f32> {
            t.bytes
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect()
        };
        let w = values(&random_tensor(1, "a.weight", &[300, 400]));
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let std = (w.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / w.len() as f32).sqrt();
        assert!(mean.abs() < 1e-3, "mean {mean}");
        assert!((std - 0.05).abs() < 1e-3, "std {std}"); // 1/√400
        let norm = values(&random_tensor(1, "n.weight", &[1000]));
        assert!(norm.iter().all(|v| (0.8..1.2).contains(v)));
        assert_eq!(w, values(&random_tensor(1, "a.weight", &[300, 400])));
        assert_ne!(w, values(&random_tensor(2, "a.weight", &[300, 400])));
        assert_ne!(w, values(&random_tensor(1, "b.weight", &[300, 400])));
    }
}
