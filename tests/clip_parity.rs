//! CLIP-L and CLIP-G against `transformers` on tiny random encoders in SDXL's diffusers layout
//! (`scripts/oracle/make_clip_fixture.py`): penultimate hidden states, pooled EOS states and CLIP-G's
//! projected text embeddings, f32, on the README dragon's real token chunks.

#[path = "common/tensors.rs"]
mod tensors;

use std::path::PathBuf;

use candle_core::{DType, Device};
use omost_tui::render::clip::ClipTextEncoder;
use tensors::max_abs_diff;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-sdxl")
}

#[test]
fn text_encoders_match_transformers() {
    let dev = Device::Cpu;
    let reference =
        candle_core::safetensors::load(fixture_dir().join("clip_reference.safetensors"), &dev)
            .expect("reference");
    let get = |k: &str| {
        reference
            .get(k)
            .unwrap_or_else(|| panic!("reference lacks {k}"))
            .clone()
    };
    let ids = |k: &str| get(k).to_dtype(DType::U32).expect("ids");

    let clip_l =
        ClipTextEncoder::from_folder(&fixture_dir().join("text_encoder"), DType::F32, &dev)
            .expect("CLIP-L");
    let out_l = clip_l.forward(&ids("ids_l")).expect("forward");
    assert!(out_l.projected.is_none());
    let d = max_abs_diff(&out_l.penultimate, &get("penultimate_l"));
    assert!(d < 1e-4, "CLIP-L penultimate differs by {d}");
    let d = max_abs_diff(&out_l.pooled, &get("pooled_l"));
    assert!(d < 1e-4, "CLIP-L pooled differs by {d}");

    let clip_g =
        ClipTextEncoder::from_folder(&fixture_dir().join("text_encoder_2"), DType::F32, &dev)
            .expect("CLIP-G");
    let out_g = clip_g.forward(&ids("ids_g")).expect("forward");
    let d = max_abs_diff(&out_g.penultimate, &get("penultimate_g"));
    assert!(d < 1e-4, "CLIP-G penultimate differs by {d}");
    let d = max_abs_diff(&out_g.pooled, &get("pooled_g"));
    assert!(d < 1e-4, "CLIP-G pooled differs by {d}");
    let d = max_abs_diff(
        out_g.projected.as_ref().expect("CLIP-G projects"),
        &get("text_embeds_g"),
    );
    assert!(d < 1e-4, "CLIP-G text_embeds differ by {d}");
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = std::env::temp_dir().join(format!("omost-clip-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::copy(
        fixture_dir().join("text_encoder/config.json"),
        dir.join("config.json"),
    )
    .expect("config");
    let dev = Device::Cpu;
    let mut tensors = candle_core::safetensors::load(
        fixture_dir().join("text_encoder/model.fp16.safetensors"),
        &dev,
    )
    .expect("weights");
    tensors.remove("text_model.encoder.layers.1.mlp.fc2.weight");
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).expect("save");
    let err = ClipTextEncoder::from_folder(&dir, DType::F32, &dev)
        .err()
        .expect("must fail");
    assert!(
        err.contains("text_model.encoder.layers.1.mlp.fc2.weight"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}
