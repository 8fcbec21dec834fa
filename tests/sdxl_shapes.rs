//! The real SDXL's size, without its weights: each model is built against a backend that hands out
//! zero-stride views (no memory), recording every tensor it asks for. The parameter counts must equal
//! those of stabilityai/stable-diffusion-xl-base-1.0 as diffusers and transformers load it, and every
//! tensor must map to a distinct single-file key.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;
use omost_tui::render::clip::{ClipConfig, ClipTextEncoder};
use omost_tui::render::single_file::{stored, Component, Layout};
use omost_tui::render::unet::{UNet, UNetConfig};
use omost_tui::render::vae::{Vae, VaeConfig};

#[derive(Default)]
struct Recorder(Mutex<BTreeMap<String, Vec<usize>>>);

impl SimpleBackend for &'static Recorder {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        self.0
            .lock()
            .unwrap()
            .insert(name.to_owned(), s.dims().to_vec());
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }
    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> Result<Tensor> {
        candle_core::bail!("unexpected unchecked get of {name}")
    }
    fn contains_tensor(&self, name: &str) -> bool {
        // Answer as the published files would: new-style VAE attention names, CLIP with `text_model.`.
        name.starts_with("text_model.")
            || name == "text_projection.weight"
            || name.ends_with("to_q.weight")
    }
}

fn record(build: impl FnOnce(VarBuilder) -> Result<()>) -> BTreeMap<String, Vec<usize>> {
    let recorder: &'static Recorder = Box::leak(Box::default());
    build(VarBuilder::from_backend(
        Box::new(recorder),
        DType::F32,
        Device::Cpu,
    ))
    .expect("builds");
    recorder.0.lock().unwrap().clone()
}

fn params(tensors: &BTreeMap<String, Vec<usize>>) -> usize {
    tensors.values().map(|d| d.iter().product::<usize>()).sum()
}

fn assert_distinct_single_file_keys(component: Component, tensors: &BTreeMap<String, Vec<usize>>) {
    let mut seen = HashSet::new();
    for name in tensors.keys() {
        let s = stored(component, name, &Layout::sdxl());
        let key = format!("{s:?}");
        assert!(
            seen.insert(key.clone()),
            "{name} maps onto an already used key {key}"
        );
    }
}

#[test]
fn sdxl_base_unet_from_its_published_config() {
    let config = UNetConfig::from_json(&serde_json::json!({
        "_class_name": "UNet2DConditionModel", "act_fn": "silu", "addition_embed_type": "text_time",
        "addition_embed_type_num_heads": 64, "addition_time_embed_dim": 256, "attention_head_dim": [5, 10, 20],
        "block_out_channels": [320, 640, 1280], "center_input_sample": false, "class_embed_type": null,
        "cross_attention_dim": 2048, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "flip_sin_to_cos": true, "freq_shift": 0, "in_channels": 4, "layers_per_block": 2,
        "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 32,
        "num_attention_heads": null, "out_channels": 4, "projection_class_embeddings_input_dim": 2816,
        "sample_size": 128, "transformer_layers_per_block": [1, 2, 10],
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": true
    }))
    .expect("config");
    assert_eq!(config, UNetConfig::sdxl());
    let tensors = record(|vb| UNet::load(vb, &config).map(drop));
    assert_eq!(params(&tensors), 2_567_463_684);
    assert_distinct_single_file_keys(Component::Unet, &tensors);
}

#[test]
fn sdxl_vae_and_text_encoders() {
    let vae = record(|vb| Vae::load(vb, &VaeConfig::sdxl()).map(drop));
    assert_eq!(params(&vae), 83_653_863);
    assert_distinct_single_file_keys(Component::Vae, &vae);
    let clip_l = record(|vb| ClipTextEncoder::load(vb, &ClipConfig::sdxl_l()).map(drop));
    assert_eq!(params(&clip_l), 123_060_480);
    assert_distinct_single_file_keys(Component::ClipL, &clip_l);
    let clip_g = record(|vb| ClipTextEncoder::load(vb, &ClipConfig::sdxl_g()).map(drop));
    assert_eq!(params(&clip_g), 694_659_840);
    assert_distinct_single_file_keys(Component::ClipG, &clip_g);
}
