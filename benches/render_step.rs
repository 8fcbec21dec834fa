//! One UNet step of the tiny SDXL (`omost dev tiny-sdxl`) at a 1024×1024 image's latent size, three
//! ways: plain attention over the 77-token negative prompt, plain attention over the README dragon's
//! 1771 tokens, and Omost's regional attention over the same tokens with the dragon's five masks.
//! `scripts/bench-render` runs it (`cargo bench --bench render_step -- --bench`) next to PyTorch
//! diffusers on the same config and threads and prints the ratios. Without `--bench` (as `cargo test`
//! runs it) it does one small smoke pass.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use omost_tui::canvas;
use omost_tui::render::noise::NoiseRng;
use omost_tui::render::regions::CrossAttnContext;
use omost_tui::render::unet::AddedCond;
use omost_tui::render::weights::{SdxlSource, SdxlWeights};

/// Chunks per dragon condition (Omost's bagging of the README canvas).
const DRAGON_CHUNKS: [usize; 5] = [4, 5, 5, 5, 4];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let iters = std::env::var("ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (latent, iters) = if full { (128, iters) } else { (16, 1) };
    let dir = std::env::temp_dir().join(format!("omost-bench-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    omost_tui::render::tiny::write(&dir, omost_tui::render::tiny::SEED).expect("tiny SDXL");
    let source =
        SdxlSource::resolve(dir.join("diffusers").to_str().expect("path")).expect("source");
    let unet = SdxlWeights::open(source)
        .and_then(|w| w.unet(DType::F32, &Device::Cpu))
        .expect("unet");
    let dim = unet.config().cross_attention_dim;

    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/dragon.md"))
        .expect("dragon");
    let conditions = canvas::parse(&text)
        .expect("parse")
        .canvas
        .conditions()
        .expect("conditions");
    let mut rng = NoiseRng::new(1);
    let dev = Device::Cpu;
    let tokens: Vec<Tensor> = DRAGON_CHUNKS
        .iter()
        .map(|&n| rng.tensor((1, 77 * n, dim), &dev).expect("tokens"))
        .collect();
    let regional = CrossAttnContext::regional(
        conditions
            .iter()
            .map(|c| c.mask())
            .zip(tokens.clone())
            .collect(),
    )
    .expect("regional");
    let same_tokens = CrossAttnContext::plain(Tensor::cat(&tokens, 1).expect("cat"));
    let negative = CrossAttnContext::plain(rng.tensor((1, 77, dim), &dev).expect("negative"));
    let pooled = rng.tensor((1, 16), &dev).expect("pooled");
    let px = (latent * 8) as f32;
    let added = AddedCond {
        text_embeds: &pooled,
        time_ids: [px, px, 0.0, 0.0, px, px],
    };
    let x = rng.tensor((1, 4, latent, latent), &dev).expect("latent");

    let mut results = Vec::new();
    for (name, ctx) in [
        ("plain_77", &negative),
        ("plain_1771", &same_tokens),
        ("regional_1771", &regional),
    ] {
        let _ = unet.forward(&x, 500.0, ctx, &added).expect("warm-up");
        let mut times: Vec<f64> = (0..iters)
            .map(|_| {
                let t = Instant::now();
                let _ = unet.forward(&x, 500.0, ctx, &added).expect("forward");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        results.push(format!("\"{name}\": {median:.3}"));
        eprintln!("candle {name}: {median:.1} ms per UNet call (median of {iters})");
    }
    println!("{{\"latent\": {latent}, {}}}", results.join(", "));
    let _ = std::fs::remove_dir_all(&dir);
}
