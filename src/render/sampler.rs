//! The samplers that walk the latent down a σ schedule, in k-diffusion's form (the model returns the
//! denoised latent `D(x, σ)`): Omost's DPM-Solver++(2M) (`sample_dpmpp_2m` in `lib_omost/pipeline.py`),
//! Euler, and DPM-Solver++(2M) SDE (k-diffusion's midpoint variant, η = 1). Step scalars are computed in
//! f32, as PyTorch computes them from its f32 σ tensor.

use candle_core::{Result, Tensor};

/// Which sampler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampler {
    /// Omost's default and only sampler.
    DpmPp2m,
    /// First-order Euler.
    Euler,
    /// The stochastic 2M variant; needs fresh noise each step.
    DpmPp2mSde,
}

impl Sampler {
    /// Every sampler.
    pub const ALL: [Sampler; 3] = [Sampler::DpmPp2m, Sampler::Euler, Sampler::DpmPp2mSde];

    /// The sampler called `name` (see [`Sampler::name`]).
    pub fn from_name(name: &str) -> Option<Sampler> {
        Sampler::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The sampler's name on the command line and in PNG metadata.
    pub fn name(self) -> &'static str {
        match self {
            Sampler::DpmPp2m => "dpmpp-2m",
            Sampler::Euler => "euler",
            Sampler::DpmPp2mSde => "dpmpp-2m-sde",
        }
    }
}

/// Runs `sampler` from `x` (already noised to `sigmas[0]`) down `sigmas` (ending in 0). `denoise(x, σ, i)`
/// is the model at step `i` (an error from it, such as a cancellation, stops sampling); `noise(shape)`
/// gives standard normal noise for the SDE sampler.
pub fn sample(
    sampler: Sampler,
    mut x: Tensor,
    sigmas: &[f32],
    denoise: &mut dyn FnMut(&Tensor, f32, usize) -> Result<Tensor>,
    noise: &mut dyn FnMut(&Tensor) -> Result<Tensor>,
) -> Result<Tensor> {
    let t = |sigma: f32| -sigma.ln();
    let mut old_denoised: Option<Tensor> = None;
    let mut h_last = 0f32;
    for i in 0..sigmas.len().saturating_sub(1) {
        let (sigma, sigma_next) = (sigmas[i], sigmas[i + 1]);
        let denoised = denoise(&x, sigma, i)?;
        match sampler {
            Sampler::Euler => {
                let d = ((&x - &denoised)? / sigma as f64)?;
                x = (&x + (d * (sigma_next - sigma) as f64)?)?;
            }
            Sampler::DpmPp2m => {
                let (t_now, t_next) = (t(sigma), t(sigma_next));
                let h = t_next - t_now;
                let ratio = (-t_next).exp() / (-t_now).exp();
                let d = match &old_denoised {
                    Some(old) if sigma_next != 0.0 => {
                        let r = (t_now - t(sigmas[i - 1])) / h;
                        let a = 1.0 + 1.0 / (2.0 * r);
                        let b = 1.0 / (2.0 * r);
                        ((&denoised * a as f64)? - (old * b as f64)?)?
                    }
                    _ => denoised.clone(),
                };
                x = ((&x * ratio as f64)? - (d * (-h).exp_m1() as f64)?)?;
            }
            Sampler::DpmPp2mSde => {
                if sigma_next == 0.0 {
                    x = denoised.clone();
                } else {
                    let h = t(sigma_next) - t(sigma);
                    let eta_h = h; // η = 1
                    let decay = -(-h - eta_h).exp_m1();
                    x = ((&x * (sigma_next / sigma * (-eta_h).exp()) as f64)?
                        + (&denoised * decay as f64)?)?;
                    if let Some(old) = &old_denoised {
                        let r = h_last / h;
                        x = (&x + ((&denoised - old)? * (0.5 * decay * (1.0 / r)) as f64)?)?;
                    }
                    let scale = sigma_next * (-(-2.0 * eta_h).exp_m1()).sqrt();
                    x = (&x + (noise(&x)? * scale as f64)?)?;
                    h_last = h;
                }
            }
        }
        old_denoised = Some(denoised);
    }
    Ok(x)
}
