//! Writes a tiny random SDXL — the real topology and tensor names at a fraction of the size — in the
//! diffusers folder layout and as a single-file checkpoint, deterministically from a seed. Tests and the
//! PyTorch parity script (`scripts/oracle/make_sdxl_fixture.py`) use it; nothing is downloaded.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use serde_json::{json, Value};

use super::clip::{ClipConfig, ClipTextEncoder};
use super::noise::NoiseRng;
use super::single_file::{self, Component, Layout};
use super::unet::{UNet, UNetConfig};
use super::vae::{Vae, VaeConfig};

/// The seed `omost dev tiny-sdxl` uses by default (the parity fixtures were recorded with it).
pub const SEED: u64 = 20241128;

/// The tiny UNet's `config.json` (diffusers' `UNet2DConditionModel`): SDXL's three levels, attention on
/// the lower two, `text_time` added conditions; 16/32/64 channels.
pub fn unet_config_json() -> Value {
    json!({
        "_class_name": "UNet2DConditionModel",
        "sample_size": 8,
        "in_channels": 4,
        "out_channels": 4,
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        "mid_block_type": "UNetMidBlock2DCrossAttn",
        "block_out_channels": [16, 32, 64],
        "layers_per_block": 2,
        "transformer_layers_per_block": [1, 1, 2],
        "attention_head_dim": [1, 2, 4],
        "cross_attention_dim": 32,
        "norm_num_groups": 8,
        "norm_eps": 1e-5,
        "use_linear_projection": true,
        "addition_embed_type": "text_time",
        "addition_time_embed_dim": 8,
        "projection_class_embeddings_input_dim": 64,
        "flip_sin_to_cos": true,
        "freq_shift": 0,
        "act_fn": "silu",
        "center_input_sample": false
    })
}

/// The tiny VAE's `config.json`: four levels (8× down-scaling) of 16/16/32/32 channels.
pub fn vae_config_json() -> Value {
    json!({
        "_class_name": "AutoencoderKL",
        "in_channels": 3,
        "out_channels": 3,
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"],
        "block_out_channels": [16, 16, 32, 32],
        "layers_per_block": 1,
        "latent_channels": 4,
        "norm_num_groups": 8,
        "act_fn": "silu",
        "sample_size": 64,
        "scaling_factor": 0.13025,
        "force_upcast": true
    })
}

/// A tiny text encoder's `config.json` (`transformers`' CLIP text model) with the real vocabulary, so
/// the real tokenizer and Omost's bagging are exercised.
pub fn clip_config_json(clip_g: bool) -> Value {
    json!({
        "architectures": [if clip_g { "CLIPTextModelWithProjection" } else { "CLIPTextModel" }],
        "model_type": "clip_text_model",
        "vocab_size": 49408,
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 3,
        "num_attention_heads": 2,
        "max_position_embeddings": 77,
        "hidden_act": if clip_g { "gelu" } else { "quick_gelu" },
        "layer_norm_eps": 1e-5,
        "projection_dim": 16,
        "bos_token_id": 49406,
        "eos_token_id": 49407,
        "pad_token_id": if clip_g { 0 } else { 49407 },
        "torch_dtype": "float32"
    })
}

/// The single-file key layout of the tiny model.
pub fn layout() -> Layout {
    Layout {
        unet_layers_per_block: 2,
        unet_levels: 3,
        vae_levels: 4,
        clip_g_width: 16,
    }
}

/// Fills every variable a model creates with seeded values scaled like a trained network's
/// (weights ~ 1/√fan-in, norm scales near 1, small biases); variables are visited in name order so the
/// values depend only on the seed.
fn seeded_weights(
    build: impl FnOnce(VarBuilder) -> candle_core::Result<()>,
    seed: u64,
) -> candle_core::Result<BTreeMap<String, Tensor>> {
    let varmap = VarMap::new();
    build(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    let shapes: BTreeMap<String, Vec<usize>> = varmap
        .data()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(k, v)| (k.clone(), v.dims().to_vec()))
        .collect();
    let mut rng = NoiseRng::new(seed);
    let mut out = BTreeMap::new();
    for (name, dims) in shapes {
        let n: usize = dims.iter().product();
        let values: Vec<f32> = if name.ends_with("bias") {
            (0..n).map(|_| 0.05 * rng.normal() as f32).collect()
        } else if dims.len() == 1 {
            (0..n).map(|_| 1.0 + 0.1 * rng.normal() as f32).collect()
        } else {
            let fan_in: usize = dims[1..].iter().product();
            let std = 1.0 / (fan_in as f64).sqrt();
            (0..n).map(|_| (std * rng.normal()) as f32).collect()
        };
        out.insert(name, Tensor::from_vec(values, dims, &Device::Cpu)?);
    }
    Ok(out)
}

fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    crate::fsutil::write_atomic(path, text.as_bytes())
        .map_err(|e| format!("{}: {}", path.display(), crate::fsutil::io_reason(&e)))
}

fn write_tensors(
    path: &Path,
    tensors: &BTreeMap<String, Tensor>,
    metadata: Option<HashMap<String, String>>,
) -> Result<(), String> {
    safetensors::tensor::serialize_to_file(
        tensors.iter().map(|(k, v)| (k.as_str(), v)),
        metadata,
        path,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes the tiny SDXL to `dir/diffusers/` (diffusers layout: `model_index.json`, `unet/`, `vae/`,
/// `text_encoder/`, `text_encoder_2/`) and `dir/tiny-sdxl.safetensors` (single file, original key
/// names, configs in the header metadata).
pub fn write(dir: &Path, seed: u64) -> Result<(), String> {
    let fail = |e: candle_core::Error| e.to_string();
    let unet_json = unet_config_json();
    let vae_json = vae_config_json();
    let unet_config = UNetConfig::from_json(&unet_json)?;
    let vae_config: VaeConfig =
        serde_json::from_value(vae_json.clone()).map_err(|e| e.to_string())?;
    let clip_configs: Vec<(Value, ClipConfig)> = [false, true]
        .iter()
        .map(|&g| {
            let j = clip_config_json(g);
            let c = serde_json::from_value(j.clone()).map_err(|e| e.to_string())?;
            Ok((j, c))
        })
        .collect::<Result<_, String>>()?;

    // (component, folder, weights file, config, tensors)
    type Files<'a> = (Component, &'a str, &'a str, Value, BTreeMap<String, Tensor>);
    let components: Vec<Files> = vec![
        (
            Component::Unet,
            "unet",
            "diffusion_pytorch_model.safetensors",
            unet_json.clone(),
            seeded_weights(|vb| UNet::load(vb, &unet_config).map(drop), seed).map_err(fail)?,
        ),
        (
            Component::Vae,
            "vae",
            "diffusion_pytorch_model.safetensors",
            vae_json.clone(),
            seeded_weights(|vb| Vae::load(vb, &vae_config).map(drop), seed + 1).map_err(fail)?,
        ),
        (
            Component::ClipL,
            "text_encoder",
            "model.safetensors",
            clip_configs[0].0.clone(),
            seeded_weights(
                |vb| ClipTextEncoder::load(vb.pp("text_model"), &clip_configs[0].1).map(drop),
                seed + 2,
            )
            .map_err(fail)?,
        ),
        (
            Component::ClipG,
            "text_encoder_2",
            "model.safetensors",
            clip_configs[1].0.clone(),
            seeded_weights(
                |vb| {
                    candle_nn::linear_no_bias(16, 16, vb.pp("text_projection"))?;
                    ClipTextEncoder::load(vb.pp("text_model"), &clip_configs[1].1).map(drop)
                },
                seed + 3,
            )
            .map_err(fail)?,
        ),
    ];

    let root = dir.join("diffusers");
    let mut single: BTreeMap<String, Tensor> = BTreeMap::new();
    let mut metadata = HashMap::new();
    for (component, folder, file, config, tensors) in &components {
        let d = root.join(folder);
        std::fs::create_dir_all(&d)
            .map_err(|e| format!("{}: {}", d.display(), crate::fsutil::io_reason(&e)))?;
        write_json(&d.join("config.json"), config)?;
        write_tensors(&d.join(file), tensors, None)?;
        metadata.insert(format!("omost.{folder}.config"), config.to_string());
        for (name, t) in tensors {
            place_single(&mut single, *component, name, t).map_err(fail)?;
        }
    }
    write_json(
        &root.join("model_index.json"),
        &json!({
            "_class_name": "StableDiffusionXLPipeline",
            "unet": ["diffusers", "UNet2DConditionModel"],
            "vae": ["diffusers", "AutoencoderKL"],
            "text_encoder": ["transformers", "CLIPTextModel"],
            "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]
        }),
    )?;
    write_tensors(&dir.join("tiny-sdxl.safetensors"), &single, Some(metadata))
}

/// Puts one diffusers tensor where a single-file checkpoint keeps it (inverting the read mapping).
fn place_single(
    single: &mut BTreeMap<String, Tensor>,
    component: Component,
    name: &str,
    t: &Tensor,
) -> candle_core::Result<()> {
    use single_file::Stored;
    match single_file::stored(component, name, &layout()) {
        Stored::Same(k) => {
            single.insert(k, t.clone());
        }
        Stored::Transposed(k) => {
            single.insert(k, t.t()?.contiguous()?);
        }
        Stored::Conv1x1(k) => {
            single.insert(k, t.unsqueeze(2)?.unsqueeze(3)?);
        }
        Stored::Rows(k, start, len) => {
            let mut shape = t.dims().to_vec();
            shape[0] = len * 3;
            let fused = match single.remove(&k) {
                Some(f) => f,
                None => Tensor::zeros(shape, t.dtype(), t.device())?,
            };
            let ranges: Vec<std::ops::Range<usize>> = std::iter::once(start..start + len)
                .chain(t.dims()[1..].iter().map(|&d| 0..d))
                .collect();
            let fused = fused.slice_assign(&ranges, t)?;
            single.insert(k, fused);
        }
    }
    Ok(())
}
