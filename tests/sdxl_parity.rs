//! The renderer against PyTorch: the tiny random SDXL that `omost dev tiny-sdxl` writes, run through
//! diffusers and Omost's own pipeline code by `scripts/oracle/make_sdxl_fixture.py`
//! (tests/fixtures/tiny-sdxl/sdxl_reference.safetensors). f32 on the CPU.

#[path = "common/tensors.rs"]
mod tensors;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use omost_tui::canvas;
use omost_tui::render::noise::NoiseRng;
use omost_tui::render::pipeline::{
    Conditioning, Pooled, RenderSettings, Renderer, TextEncoders, DEFAULT_NEGATIVE,
};
use omost_tui::render::regions::CrossAttnContext;
use omost_tui::render::schedule::NoiseSchedule;
use omost_tui::render::unet::{AddedCond, Attention};
use omost_tui::render::vae::Tiling;
use omost_tui::render::weights::{SdxlSource, SdxlWeights};
use tensors::max_abs_diff;

/// The tiny SDXL, written once per test binary.
fn tiny() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("omost-sdxl-parity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        omost_tui::render::tiny::write(&dir, omost_tui::render::tiny::SEED).expect("tiny SDXL");
        dir
    })
}

fn reference() -> &'static HashMap<String, Tensor> {
    static REF: OnceLock<HashMap<String, Tensor>> = OnceLock::new();
    REF.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tiny-sdxl/sdxl_reference.safetensors");
        candle_core::safetensors::load(path, &Device::Cpu).expect("reference")
    })
}

fn get(key: &str) -> Tensor {
    reference()
        .get(key)
        .unwrap_or_else(|| panic!("reference lacks {key}"))
        .clone()
}

fn weights(single_file: bool) -> SdxlWeights {
    let path = if single_file {
        tiny().join("tiny-sdxl.safetensors")
    } else {
        tiny().join("diffusers")
    };
    SdxlWeights::open(SdxlSource::resolve(path.to_str().expect("utf-8 path")).expect("source"))
        .expect("open")
}

#[test]
fn unet_forward_matches_diffusers() {
    let unet = weights(false).unet(DType::F32, &Device::Cpu).expect("unet");
    let context = CrossAttnContext::plain(get("unet_context"));
    let text_embeds = get("unet_text_embeds");
    let added = AddedCond {
        text_embeds: &text_embeds,
        time_ids: [64.0, 64.0, 0.0, 0.0, 64.0, 64.0],
    };
    let eps = unet
        .forward(&get("unet_x"), 500.0, &context, &added)
        .expect("forward");
    let d = max_abs_diff(&eps, &get("unet_eps"));
    eprintln!("UNet output differs: max |Δ| = {d:e}");
    assert!(d < 1e-4, "UNet output differs by {d}");
}

fn masks() -> Vec<Vec<f32>> {
    let m = get("attn_masks");
    (0..3)
        .map(|i| {
            m.get(i)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1())
                .expect("mask")
        })
        .collect()
}

fn attn2() -> Attention {
    let path = tiny().join("diffusers/unet/diffusion_pytorch_model.safetensors");
    let tensors = candle_core::safetensors::load(path, &Device::Cpu).expect("unet weights");
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    Attention::load(
        vb.pp("down_blocks.1.attentions.0.transformer_blocks.0.attn2"),
        32,
        Some(32),
        2,
    )
    .expect("attn2")
}

fn regional(masks: Vec<Vec<f32>>, conds: Vec<Tensor>) -> CrossAttnContext {
    CrossAttnContext::regional(masks.into_iter().zip(conds).collect()).expect("context")
}

fn attend(attn: &Attention, ctx: &CrossAttnContext, hidden: &Tensor) -> Tensor {
    let bias = ctx
        .region_bias(6, 5, DType::F32, &Device::Cpu)
        .expect("bias");
    attn.forward(hidden, Some(ctx.tokens()), bias.as_deref())
        .expect("attention")
}

#[test]
fn masked_cross_attention_matches_omost_processor() {
    let conds = vec![get("attn_cond0"), get("attn_cond1"), get("attn_cond2")];
    let out = attend(&attn2(), &regional(masks(), conds), &get("attn_hidden"));
    let d = max_abs_diff(&out, &get("attn_out"));
    eprintln!("masked attention differs: max |Δ| = {d:e}");
    assert!(d < 1e-5, "masked attention differs by {d}");
}

#[test]
fn global_region_alone_is_plain_attention() {
    let attn = attn2();
    let hidden = get("attn_hidden");
    let cond = get("attn_cond1");
    let masked = attend(
        &attn,
        &regional(vec![masks()[0].clone()], vec![cond.clone()]),
        &hidden,
    );
    let plain = attend(&attn, &CrossAttnContext::plain(cond), &hidden);
    let d = max_abs_diff(&masked, &plain);
    eprintln!("global-only masked attention differs from plain: max |Δ| = {d:e}");
    assert!(
        d < 1e-6,
        "global-only masked attention differs from plain by {d}"
    );
}

#[test]
fn a_pixel_ignores_tokens_of_regions_that_do_not_cover_it() {
    let attn = attn2();
    let hidden = get("attn_hidden");
    let conds = vec![get("attn_cond0"), get("attn_cond1"), get("attn_cond2")];
    let before = attend(&attn, &regional(masks(), conds.clone()), &hidden);
    let mut changed = conds;
    changed[2] = (&changed[2] * -3.0).expect("scale");
    let after = attend(&attn, &regional(masks(), changed), &hidden);
    // Region 2 covers rows 30..90, columns 50..90 of the 90×90 grid; at 6×5 (nearest-exact), pixel
    // (row, col) samples grid (⌊(row+0.5)·15⌋, ⌊(col+0.5)·18⌋).
    let covered = |p: usize| {
        let (row, col) = (p / 5, p % 5);
        let (gy, gx) = (
            ((row as f32 + 0.5) * 15.0) as usize,
            ((col as f32 + 0.5) * 18.0) as usize,
        );
        (30..90).contains(&gy) && (50..90).contains(&gx)
    };
    let (mut same, mut differ) = (0, 0);
    for p in 0..30 {
        let d = max_abs_diff(
            &before.get(0).unwrap().get(p).unwrap(),
            &after.get(0).unwrap().get(p).unwrap(),
        );
        if covered(p) {
            assert!(d > 1e-4, "pixel {p} is covered but did not change");
            differ += 1;
        } else {
            assert_eq!(d, 0.0, "pixel {p} is outside region 2 but changed by {d}");
            same += 1;
        }
    }
    assert!(same > 0 && differ > 0);
}

#[test]
fn vae_matches_diffusers() {
    let vae = weights(false).vae(DType::F32, &Device::Cpu).expect("vae");
    let decoded = vae.decode(&get("vae_latent")).expect("decode");
    let d = max_abs_diff(&decoded, &get("vae_decoded"));
    eprintln!("VAE decode differs: max |Δ| = {d:e}");
    assert!(d < 1e-4, "VAE decode differs by {d}");
    let encoded = vae.encode(&get("vae_pixels")).expect("encode");
    let d = max_abs_diff(&encoded, &get("vae_encoded"));
    eprintln!("VAE encode differs: max |Δ| = {d:e}");
    assert!(d < 1e-4, "VAE encode differs by {d}");
}

fn dragon_conditions() -> Vec<canvas::Condition> {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/dragon.md"),
    )
    .expect("dragon");
    canvas::parse(&text)
        .expect("parse")
        .canvas
        .conditions()
        .expect("conditions")
}

fn regional_run(single_file: bool, pooled: Pooled) -> (Tensor, Renderer) {
    let w = weights(single_file);
    let encoders = TextEncoders::load(&w, DType::F32, &Device::Cpu).expect("encoders");
    let cond = Conditioning::from_canvas(&encoders, &dragon_conditions(), DEFAULT_NEGATIVE, pooled)
        .expect("encode");
    let renderer = Renderer::load(&w, DType::F32, DType::F32, &Device::Cpu).expect("renderer");
    let sigmas = NoiseSchedule::sdxl().sampling_sigmas(4, 1.0);
    let x = (get("run_noise") * sigmas[0] as f64).expect("noise");
    let settings = RenderSettings::default();
    let latents = renderer
        .denoise(
            &cond,
            x,
            &sigmas,
            &settings,
            &mut NoiseRng::new(0),
            false,
            &mut |_| true,
        )
        .expect("denoise");
    (latents, renderer)
}

#[test]
fn regional_dpmpp_2m_run_matches_omost_pipeline() {
    let (latents, renderer) = regional_run(false, Pooled::Projected);
    let d = max_abs_diff(&latents, &get("run_projected_latent"));
    eprintln!("4-step regional run differs: max |Δ| = {d:e}");
    assert!(d < 1e-3, "4-step regional run differs by {d}");
    let pixels = renderer.vae.decode(&latents).expect("decode");
    let d = max_abs_diff(&pixels, &get("run_projected_pixels"));
    eprintln!("decoded run differs: max |Δ| = {d:e}");
    assert!(d < 1e-3, "decoded run differs by {d}");
}

#[test]
fn omost_unprojected_pooled_run_matches_and_single_file_agrees() {
    let (latents, _) = regional_run(true, Pooled::Omost);
    let d = max_abs_diff(&latents, &get("run_omost_latent"));
    eprintln!("single-file run with Omost's pooled vector differs: max |Δ| = {d:e}");
    assert!(
        d < 1e-3,
        "single-file run with Omost's pooled vector differs by {d}"
    );
}

#[test]
fn tiled_decode_equals_whole_decode_when_one_tile_covers_it_and_blends_otherwise() {
    let vae = weights(false).vae(DType::F32, &Device::Cpu).expect("vae");
    let latent = NoiseRng::new(3)
        .tensor((1, 4, 24, 16), &Device::Cpu)
        .expect("latent");
    let whole = vae.decode(&latent).expect("decode");
    let one_tile = vae
        .decode_tiled(
            &latent,
            Tiling {
                tile: 24,
                overlap: 4,
            },
        )
        .expect("tiled");
    assert_eq!(max_abs_diff(&whole, &one_tile), 0.0);
    let tiled = vae
        .decode_tiled(
            &latent,
            Tiling {
                tile: 12,
                overlap: 4,
            },
        )
        .expect("tiled");
    assert_eq!(tiled.dims(), &[1, 3, 192, 128]);
    // Tiles see less context than the whole latent, so they differ, but only as much as a seam blend.
    let mean = (&tiled - &whole)
        .and_then(|d| d.abs())
        .and_then(|d| d.mean_all())
        .and_then(|d| d.to_scalar::<f32>())
        .expect("mean");
    let scale = whole
        .abs()
        .and_then(|d| d.mean_all())
        .and_then(|d| d.to_scalar::<f32>())
        .expect("scale");
    eprintln!("tiled decode: mean |Δ| = {mean:e} against mean |x| = {scale:e}");
    assert!(
        mean.is_finite() && mean < 0.5 * scale,
        "tiled decode is far off: {mean} vs {scale}"
    );
}
