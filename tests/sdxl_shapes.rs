//! The real SDXL's size, without its weights: each model is built against a backend that hands out
//! zero-stride views (no memory), recording every tensor it asks for. The parameter counts must equal
//! those of stabilityai/stable-diffusion-xl-base-1.0 as diffusers and transformers load it, and every
//! tensor must map to a distinct single-file key.

use std::collections::{BTreeMap, HashSet};

use candle_core::Result;
use candle_nn::VarBuilder;
use omost_tui::render::clip::{ClipConfig, ClipTextEncoder};
use omost_tui::render::random::{self, Size};
use omost_tui::render::shapes::{self, parameter_count as params};
use omost_tui::render::single_file::{stored, Component, Layout};
use omost_tui::render::unet::{UNet, UNetConfig};
use omost_tui::render::vae::{Vae, VaeConfig};

fn record(build: impl FnOnce(VarBuilder) -> Result<()>) -> BTreeMap<String, Vec<usize>> {
    shapes::record(build).expect("builds")
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
    let config = UNetConfig::from_json(&random::sdxl_unet_config_json()).expect("config");
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

#[test]
fn random_sdxl_has_the_real_shapes_and_configs_our_loader_reads() {
    let parts = random::parts(Size::Full).expect("parts");
    let counts: Vec<(&str, usize)> = parts
        .iter()
        .map(|p| (p.folder, params(&p.shapes)))
        .collect();
    assert_eq!(
        counts,
        [
            ("unet", 2_567_463_684),
            ("vae", 83_653_863),
            ("text_encoder", 123_060_480),
            ("text_encoder_2", 694_659_840)
        ]
    );
    let vae: VaeConfig = serde_json::from_value(parts[1].config.clone()).expect("vae config");
    assert_eq!(vae, VaeConfig::sdxl());
    let l: ClipConfig = serde_json::from_value(parts[2].config.clone()).expect("clip-l config");
    let g: ClipConfig = serde_json::from_value(parts[3].config.clone()).expect("clip-g config");
    assert_eq!((l, g), (ClipConfig::sdxl_l(), ClipConfig::sdxl_g()));
}
