//! The samplers against Omost's own `sample_dpmpp_2m` (and k-diffusion's Euler and DPM++ 2M SDE) on a
//! fixed noise with an analytic denoiser (`scripts/oracle/make_sampler_fixture.py`).

#[path = "common/tensors.rs"]
mod tensors;

use candle_core::{Device, IndexOp, Tensor, D};
use omost_tui::render::sampler::{sample, Sampler};
use omost_tui::render::schedule::NoiseSchedule;
use tensors::max_abs_diff;

#[test]
fn samplers_match_omost_and_k_diffusion() {
    let dev = Device::Cpu;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sampler_reference.safetensors");
    let r = candle_core::safetensors::load(path, &dev).expect("reference");
    let get = |k: &str| {
        r.get(k)
            .unwrap_or_else(|| panic!("reference lacks {k}"))
            .clone()
    };
    let sigmas: Vec<f32> = get("sigmas").to_vec1().expect("sigmas");
    // Omost's KModel schedule for 12 steps is ours, bit for bit.
    assert_eq!(NoiseSchedule::sdxl().sampling_sigmas(12, 1.0), sigmas);

    let noise = get("noise");
    let step_noise = get("step_noise");
    for (sampler, key) in [
        (Sampler::DpmPp2m, "dpmpp_2m"),
        (Sampler::Euler, "euler"),
        (Sampler::DpmPp2mSde, "dpmpp_2m_sde"),
    ] {
        let x0 = (&noise * sigmas[0] as f64).expect("x0");
        let mut step = 0;
        let mut steps_seen = Vec::new();
        let out = sample(
            sampler,
            x0,
            &sigmas,
            &mut |x, sigma, i| {
                steps_seen.push(i);
                x * (0.5 / (sigma as f64 * sigma as f64 + 1.0))
            },
            &mut |_| {
                step += 1;
                step_noise.i(step - 1)
            },
        )
        .expect("samples");
        assert_eq!(steps_seen, (0..sigmas.len() - 1).collect::<Vec<_>>());
        let want = get(key);
        let scale = want
            .abs()
            .and_then(|a| a.flatten_all())
            .and_then(|a| a.max(D::Minus1))
            .and_then(|a| a.to_scalar::<f32>())
            .expect("scale");
        let d = max_abs_diff(&out, &want);
        assert!(
            d <= 1e-5 * scale.max(1.0),
            "{key}: differs by {d} (scale {scale})"
        );
    }
}

#[test]
fn an_error_from_the_model_stops_sampling() {
    let dev = Device::Cpu;
    let x = Tensor::zeros((1, 4, 2, 2), candle_core::DType::F32, &dev).expect("x");
    let sigmas = NoiseSchedule::sdxl().sampling_sigmas(5, 1.0);
    let mut calls = 0;
    let result = sample(
        Sampler::DpmPp2m,
        x,
        &sigmas,
        &mut |x, _, i| {
            calls += 1;
            if i == 2 {
                Err(candle_core::Error::Msg("cancelled".into()))
            } else {
                Ok(x.clone())
            }
        },
        &mut |x| x.zeros_like(),
    );
    assert!(result.is_err());
    assert_eq!(calls, 3);
}
