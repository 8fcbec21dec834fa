//! SDXL's noise levels the way Omost's `KModel` computes them (`lib_omost/pipeline.py`): the σ of each of
//! the 1000 training timesteps, the Karras schedule the sampler walks down, and the discrete timestep fed
//! to the UNet for a σ. Float widths follow PyTorch's exactly (betas in f64, everything after in f32): the
//! sampling σs match PyTorch's bit for bit; a few training σs differ by one ulp, because PyTorch's
//! `x ** 0.5` is not a correctly rounded square root.

/// Number of SDXL training timesteps.
pub const TRAIN_STEPS: usize = 1000;

/// The 1000 training noise levels and their logs.
#[derive(Clone, Debug)]
pub struct NoiseSchedule {
    sigmas: Vec<f32>,
    log_sigmas: Vec<f32>,
}

impl NoiseSchedule {
    /// SDXL's scaled-linear betas (0.00085 → 0.012): `betas = linspace(√0.00085, √0.012, 1000, f64)²`,
    /// `ᾱ = cumprod(1 − betas)` cast to f32, `σ = √((1 − ᾱ)/ᾱ)`.
    pub fn sdxl() -> Self {
        let betas = linspace_f64(0.00085f64.sqrt(), 0.012f64.sqrt(), TRAIN_STEPS)
            .into_iter()
            .map(|b| b * b);
        let mut product = 1.0f64;
        let sigmas: Vec<f32> = betas
            .map(|beta| {
                product *= 1.0 - beta;
                let alpha_bar = product as f32;
                ((1.0 - alpha_bar) / alpha_bar).sqrt()
            })
            .collect();
        let log_sigmas = sigmas.iter().map(|s| s.ln()).collect();
        NoiseSchedule { sigmas, log_sigmas }
    }

    /// The smallest training σ (timestep 0).
    pub fn sigma_min(&self) -> f32 {
        self.sigmas[0]
    }

    /// The largest training σ (timestep 999).
    pub fn sigma_max(&self) -> f32 {
        self.sigmas[TRAIN_STEPS - 1]
    }

    /// k-diffusion's `get_sigmas_karras(n, rho)` between σ_min and σ_max, with a final 0 (n + 1 values).
    pub fn karras(&self, n: usize, rho: f32) -> Vec<f32> {
        // PyTorch rounds these powers once from the exact result (a 0-dim tensor's power is taken in
        // f64; the vectorised one is correctly rounded), so they are taken in f64 here too.
        let pow = |x: f32, e: f64| (x as f64).powf(e) as f32;
        let min_inv_rho = pow(self.sigma_min(), 1.0 / rho as f64);
        let max_inv_rho = pow(self.sigma_max(), 1.0 / rho as f64);
        let mut sigmas: Vec<f32> = linspace_f32(0.0, 1.0, n)
            .into_iter()
            .map(|ramp| pow(max_inv_rho + ramp * (min_inv_rho - max_inv_rho), rho as f64))
            .collect();
        sigmas.push(0.0);
        sigmas
    }

    /// The σ values a run of `steps` steps at denoising `strength` (0..=1] walks through: Omost takes the
    /// last `steps + 1` of a Karras schedule of `int(steps / strength)` steps.
    pub fn sampling_sigmas(&self, steps: usize, strength: f64) -> Vec<f32> {
        let total = ((steps as f64 / strength) as usize).max(steps);
        let all = self.karras(total, 7.0);
        all[all.len() - (steps + 1)..].to_vec()
    }

    /// The training timestep whose σ is nearest to `sigma` in log space (the first on a tie), as fed to
    /// the UNet.
    pub fn timestep(&self, sigma: f32) -> usize {
        let log_sigma = sigma.ln();
        let mut best = 0;
        for (i, l) in self.log_sigmas.iter().enumerate() {
            if (log_sigma - l).abs() < (log_sigma - self.log_sigmas[best]).abs() {
                best = i;
            }
        }
        best
    }
}

/// `torch.linspace(start, end, n, dtype=float64)`: the first half counts up from `start`, the second
/// half down from `end`.
fn linspace_f64(start: f64, end: f64, n: usize) -> Vec<f64> {
    let step = (end - start) / (n as f64 - 1.0);
    let half = n / 2;
    (0..n)
        .map(|i| {
            if i < half {
                start + step * i as f64
            } else {
                end - step * (n - 1 - i) as f64
            }
        })
        .collect()
}

/// `torch.linspace(start, end, n)` in float32: the step is an f32, and each value is rounded once from
/// the exact `start + step·i` (first half) or `end − step·(n−1−i)` (second half).
fn linspace_f32(start: f32, end: f32, n: usize) -> Vec<f32> {
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f32;
    let half = n / 2;
    (0..n)
        .map(|i| {
            if i < half {
                (start as f64 + step as f64 * i as f64) as f32
            } else {
                (end as f64 - step as f64 * (n - 1 - i) as f64) as f32
            }
        })
        .collect()
}

/// The hi-res pass's image size, as Omost computes it: `int(round(side * scale / 64) * 64)` with
/// Python's round-half-to-even.
pub fn hires_size(width: u32, height: u32, scale: f64) -> (u32, u32) {
    let side = |v: u32| ((v as f64 * scale / 64.0).round_ties_even() * 64.0) as u32;
    (side(width), side(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_the_training_schedule() {
        let s = NoiseSchedule::sdxl();
        assert_eq!(s.sigma_min(), 0.029_167_533);
        assert_eq!(s.sigma_max(), 14.614_642);
    }

    #[test]
    fn omost_25_steps_match_the_spec_table() {
        let s = NoiseSchedule::sdxl();
        let sigmas = s.sampling_sigmas(25, 1.0);
        // omost-spec.md §3.3, to 4 decimals.
        let table = [
            14.6146, 12.283, 10.2778, 8.56, 7.0944, 5.8494, 4.7965, 3.9105, 3.1686, 2.5508, 2.0392,
            1.6183, 1.2741, 0.9947, 0.7695, 0.5895, 0.4469, 0.335, 0.248, 0.1811, 0.1303, 0.0923,
            0.0642, 0.0437, 0.0292, 0.0,
        ];
        assert_eq!(sigmas.len(), 26);
        for (got, want) in sigmas.iter().zip(table) {
            assert!((*got as f64 - want).abs() < 6e-5, "{got} vs {want}");
        }
        // The first value is one f32 step above σ_max, as in PyTorch.
        assert_eq!(sigmas[0], 14.614_643);
        let timesteps: Vec<usize> = sigmas[..25].iter().map(|&x| s.timestep(x)).collect();
        assert_eq!(
            timesteps,
            [
                999, 970, 938, 905, 868, 829, 786, 739, 687, 630, 568, 500, 427, 352, 278, 207,
                146, 96, 59, 34, 18, 9, 4, 1, 0
            ]
        );
    }

    /// Bit-level agreement with PyTorch (`scripts/oracle/make_schedule_fixture.py`): the sampling σs and
    /// timesteps exactly; the training σs within one ulp.
    #[test]
    fn matches_pytorch_to_the_ulp() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/karras_torch.json"))
                .expect("fixture");
        let s = NoiseSchedule::sdxl();
        let ulps = |a: f32, b: f32| (a.to_bits() as i64 - b.to_bits() as i64).abs();
        let training: Vec<f32> =
            serde_json::from_value(fixture["training_sigmas"].clone()).expect("sigmas");
        let mut exact = 0;
        let mut total = 0;
        for (i, (g, w)) in s.sigmas.iter().zip(&training).enumerate() {
            assert!(ulps(*g, *w) <= 1, "training σ[{i}]: {g} vs {w}");
            exact += (ulps(*g, *w) == 0) as usize;
            total += 1;
        }
        for case in fixture["runs"].as_array().expect("runs") {
            let steps = case["steps"].as_u64().expect("steps") as usize;
            let strength = case["strength"].as_f64().expect("strength");
            let want: Vec<f32> = serde_json::from_value(case["sigmas"].clone()).expect("sigmas");
            let want_t: Vec<usize> =
                serde_json::from_value(case["timesteps"].clone()).expect("timesteps");
            let got = s.sampling_sigmas(steps, strength);
            assert_eq!(got.len(), want.len());
            assert_eq!(got, want, "{steps} steps at {strength}: bit for bit");
            let got_t: Vec<usize> = want[..steps].iter().map(|&x| s.timestep(x)).collect();
            assert_eq!(got_t, want_t, "{steps} steps at {strength}");
        }
        assert!(
            exact * 100 >= total * 95,
            "only {exact} of {total} training σs exact"
        );
    }

    #[test]
    fn hires_tail_and_size() {
        let s = NoiseSchedule::sdxl();
        let tail = s.sampling_sigmas(20, 0.4);
        assert_eq!(tail.len(), 21);
        for (got, want) in tail.iter().zip([0.6403, 0.5608, 0.4898]) {
            assert!((*got as f64 - want).abs() < 6e-5, "{got} vs {want}");
        }
        assert!((tail[19] - 0.0292).abs() < 6e-5 && tail[20] == 0.0);
        assert_eq!(hires_size(896, 1152, 1.25), (1152, 1408));
        assert_eq!(hires_size(896, 1152, 1.5), (1344, 1728));
    }
}
