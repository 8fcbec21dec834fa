//! Omost's SDXL pipeline (`lib_omost/pipeline.py` + `gradio_app.diffusion_fn`): encode every canvas
//! condition into 77-token chunks, sample with regional cross-attention and classifier-free guidance
//! (two UNet passes per step, as Omost runs them), decode, and optionally run the hi-res fix.

use candle_core::{DType, Device, Tensor, D};

use super::bags::{chunks, padded, CHUNK};
use super::clip::{first_line, ClipTextEncoder};
use super::image::{blurred_sketch, RgbImage};
use super::noise::NoiseRng;
use super::regions::CrossAttnContext;
use super::sampler::{sample, Sampler};
use super::schedule::{hires_size, NoiseSchedule};
use super::single_file::Component;
use super::tokenizer::ClipTokenizer;
use super::unet::{AddedCond, UNet};
use super::vae::{Tiling, Vae};
use super::weights::SdxlWeights;
use crate::canvas::{Condition, Sketch};

/// Omost's default negative prompt.
pub const DEFAULT_NEGATIVE: &str = "lowres, bad anatomy, bad hands, cropped, worst quality";

/// Why a render stopped.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

impl From<candle_core::Error> for RenderError {
    fn from(e: candle_core::Error) -> Self {
        RenderError::Failed(first_line(&e))
    }
}

/// Which pooled text vector feeds SDXL's `add_embedding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooled {
    /// CLIP-G's projected `text_embeds`, as SDXL was trained.
    Projected,
    /// The unprojected pooler output, as Omost (loading CLIP-G as `CLIPTextModel`) feeds it.
    Omost,
}

impl Pooled {
    /// The name on the command line and in metadata.
    pub fn name(self) -> &'static str {
        match self {
            Pooled::Projected => "projected",
            Pooled::Omost => "omost",
        }
    }

    /// The mode called `name` (see [`Pooled::name`]).
    pub fn from_name(name: &str) -> Option<Pooled> {
        [Pooled::Projected, Pooled::Omost]
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// One condition encoded: `[1, 77·chunks, D]` tokens and the pooled vector of its first chunk.
pub struct EncodedText {
    pub tokens: Tensor,
    pub pooled: Tensor,
}

/// The tokenizer and both text encoders.
pub struct TextEncoders {
    tokenizer: ClipTokenizer,
    clip_l: ClipTextEncoder,
    clip_g: ClipTextEncoder,
    pad_l: u32,
    pad_g: u32,
    device: Device,
}

impl TextEncoders {
    /// Builds CLIP-L and CLIP-G from `weights`.
    pub fn load(weights: &SdxlWeights, dtype: DType, device: &Device) -> Result<Self, String> {
        Ok(TextEncoders {
            tokenizer: ClipTokenizer::new().map_err(|e| e.to_string())?,
            clip_l: weights.text_encoder(Component::ClipL, dtype, device)?,
            clip_g: weights.text_encoder(Component::ClipG, dtype, device)?,
            pad_l: weights.pad_id(Component::ClipL),
            pad_g: weights.pad_id(Component::ClipG),
            device: device.clone(),
        })
    }

    /// Encodes one condition with Omost's greedy bagging.
    pub fn encode(
        &self,
        prefixes: &[String],
        suffixes: &[String],
        pooled: Pooled,
    ) -> candle_core::Result<EncodedText> {
        let chunks = chunks(&self.tokenizer, prefixes, suffixes);
        let ids = |pad: u32| -> candle_core::Result<Tensor> {
            let flat: Vec<u32> = chunks.iter().flat_map(|c| padded(c, pad)).collect();
            Tensor::from_vec(flat, (chunks.len(), CHUNK), &self.device)
        };
        let l = self.clip_l.forward(&ids(self.pad_l)?)?;
        let g = self.clip_g.forward(&ids(self.pad_g)?)?;
        let tokens = Tensor::cat(&[&l.penultimate, &g.penultimate], D::Minus1)?;
        let (n, len, d) = tokens.dims3()?;
        let pooled = match (pooled, &g.projected) {
            (Pooled::Projected, Some(p)) => p.clone(),
            _ => g.pooled,
        };
        Ok(EncodedText {
            tokens: tokens.reshape((1, n * len, d))?,
            pooled: pooled.narrow(0, 0, 1)?,
        })
    }
}

/// Everything the sampler conditions on, from a canvas and a negative prompt.
pub struct Conditioning {
    pub positive: CrossAttnContext,
    pub positive_pooled: Tensor,
    pub negative: CrossAttnContext,
    pub negative_pooled: Tensor,
}

impl Conditioning {
    /// Omost's `all_conds_from_canvas`: each condition (global first) with its 90×90 mask; the pooled
    /// vector from the global condition; the negative prompt cropped to one 77-token chunk.
    pub fn from_canvas(
        encoders: &TextEncoders,
        conditions: &[Condition],
        negative: &str,
        pooled: Pooled,
    ) -> candle_core::Result<Self> {
        let mut regions = Vec::with_capacity(conditions.len());
        let mut positive_pooled = None;
        for c in conditions {
            let e = encoders.encode(&c.prefixes, &c.suffixes, pooled)?;
            positive_pooled.get_or_insert(e.pooled);
            regions.push((c.mask(), e.tokens));
        }
        let positive_pooled = positive_pooled
            .ok_or_else(|| candle_core::Error::Msg("the canvas has no conditions".into()))?;
        let neg = encoders.encode(&[negative.to_owned()], &[], pooled)?;
        Ok(Conditioning {
            positive: CrossAttnContext::regional(regions)?,
            positive_pooled,
            negative: CrossAttnContext::plain(neg.tokens),
            negative_pooled: neg.pooled,
        })
    }

    /// Casts everything to `dtype`.
    pub fn to_dtype(&self, dtype: DType) -> candle_core::Result<Conditioning> {
        Ok(Conditioning {
            positive: self.positive.to_dtype(dtype)?,
            positive_pooled: self.positive_pooled.to_dtype(dtype)?,
            negative: self.negative.to_dtype(dtype)?,
            negative_pooled: self.negative_pooled.to_dtype(dtype)?,
        })
    }
}

/// The hi-res fix: upscale the decoded image, re-encode it and denoise part of the way again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hires {
    pub scale: f64,
    pub steps: usize,
    pub denoise: f64,
}

impl Default for Hires {
    /// Omost's hi-res settings, off (scale 1): 20 steps at 0.4 when a scale turns it on.
    fn default() -> Self {
        Hires {
            scale: 1.0,
            steps: 20,
            denoise: 0.4,
        }
    }
}

/// Generation parameters (Omost's defaults from [`RenderSettings::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RenderSettings {
    pub width: usize,
    pub height: usize,
    pub steps: usize,
    pub cfg: f64,
    pub seed: u64,
    pub sampler: Sampler,
    /// Run when `scale > 1.05`, as Omost does.
    pub hires: Option<Hires>,
    /// Start from the blurred canvas sketch, denoising this much of the way (Omost suggests 0.95–0.99).
    pub from_sketch: Option<f64>,
    /// Decode in tiles: `None` decides by size (tiles above 1024² pixels).
    pub tiling: Option<Tiling>,
}

impl Default for RenderSettings {
    fn default() -> Self {
        RenderSettings {
            width: 896,
            height: 1152,
            steps: 25,
            cfg: 5.0,
            seed: 12345,
            sampler: Sampler::DpmPp2m,
            hires: None,
            from_sketch: None,
            tiling: None,
        }
    }
}

/// What the renderer is doing, for progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// A sampling step finished: `step` of `steps`, in the first pass or the hi-res pass.
    Step {
        hires: bool,
        step: usize,
        steps: usize,
    },
    /// Decoding latents to pixels.
    Decoding,
    /// Encoding pixels to latents (hi-res fix, sketch start).
    Encoding,
}

/// A finished render: the image and the noise its first pass started from.
pub struct Rendered {
    pub image: RgbImage,
    pub noise: Tensor,
}

/// The UNet and VAE on a device.
pub struct Renderer {
    pub unet: UNet,
    pub vae: Vae,
    schedule: NoiseSchedule,
    dtype: DType,
    device: Device,
}

impl Renderer {
    /// Builds the UNet (in `dtype`) and the VAE (in `vae_dtype`; f32 or bf16 — SDXL's VAE overflows f16).
    pub fn load(
        weights: &SdxlWeights,
        dtype: DType,
        vae_dtype: DType,
        device: &Device,
    ) -> Result<Self, String> {
        Ok(Renderer {
            unet: weights.unet(dtype, device)?,
            vae: weights.vae(vae_dtype, device)?,
            schedule: NoiseSchedule::sdxl(),
            dtype,
            device: device.clone(),
        })
    }

    /// Renders. `progress` is told of each stage; returning `false` cancels at the next step.
    pub fn render(
        &self,
        conditioning: &Conditioning,
        sketch: Option<&Sketch>,
        settings: &RenderSettings,
        progress: &mut dyn FnMut(Stage) -> bool,
    ) -> Result<RgbImage, RenderError> {
        self.render_from_noise(conditioning, sketch, settings, None, progress)
            .map(|r| r.image)
    }

    /// Renders from `start_noise` (`[1, C, H/8, W/8]`, f32) instead of the seed's noise when given; the
    /// seed still drives everything after the start (the SDE sampler, the hi-res pass), so a saved
    /// noise given back reproduces the image exactly. Returns the noise the first pass started from.
    pub fn render_from_noise(
        &self,
        conditioning: &Conditioning,
        sketch: Option<&Sketch>,
        settings: &RenderSettings,
        start_noise: Option<&Tensor>,
        progress: &mut dyn FnMut(Stage) -> bool,
    ) -> Result<Rendered, RenderError> {
        let (w, h) = (settings.width, settings.height);
        if w % 64 != 0 || h % 64 != 0 || w == 0 || h == 0 {
            return Err(RenderError::Failed(format!(
                "image size {w}×{h} must be a positive multiple of 64"
            )));
        }
        let device = self.device.clone();
        let cond = conditioning;
        let mut rng = NoiseRng::new(settings.seed);
        let f = self.vae.config().downscale();

        let (initial, strength) = match (settings.from_sketch, sketch) {
            (Some(strength), Some(sketch)) => {
                if !progress(Stage::Encoding) {
                    return Err(RenderError::Cancelled);
                }
                let pixels = blurred_sketch(sketch, w, h, &device)?;
                (Some(self.vae.encode(&pixels)?), strength)
            }
            _ => (None, 1.0),
        };
        let (latents, noise) = self.sample_pass(
            cond,
            initial,
            (h / f, w / f),
            settings.steps,
            strength,
            settings,
            &mut rng,
            false,
            start_noise,
            progress,
        )?;
        let mut image = self.decode(&latents, settings, progress)?;

        if let Some(hires) = settings.hires.filter(|hr| hr.scale > 1.05) {
            let (hw, hh) = hires_size(w as u32, h as u32, hires.scale);
            let (hw, hh) = (hw as usize, hh as usize);
            let upscaled = image.resize_lanczos(hw, hh);
            if !progress(Stage::Encoding) {
                return Err(RenderError::Cancelled);
            }
            let latents = self.vae.encode(&upscaled.to_tensor(&device)?)?;
            let (latents, _) = self.sample_pass(
                cond,
                Some(latents),
                (hh / f, hw / f),
                hires.steps,
                hires.denoise,
                settings,
                &mut rng,
                true,
                None,
                progress,
            )?;
            image = self.decode(&latents, settings, progress)?;
        }
        Ok(Rendered { image, noise })
    }

    /// One sampling pass from `initial` (or pure noise) at `strength`, Omost's way: σ from
    /// `karras(int(steps/strength))[-(steps+1):]`, `x = initial + noise·σ₀`. The first pass may start
    /// from `start_noise` (the seed's draw is still taken, so the stream after it is unchanged); the
    /// hi-res pass always draws its own. Returns the latents and the noise.
    #[allow(clippy::too_many_arguments)]
    fn sample_pass(
        &self,
        cond: &Conditioning,
        initial: Option<Tensor>,
        (lh, lw): (usize, usize),
        steps: usize,
        strength: f64,
        settings: &RenderSettings,
        rng: &mut NoiseRng,
        hires: bool,
        start_noise: Option<&Tensor>,
        progress: &mut dyn FnMut(Stage) -> bool,
    ) -> Result<(Tensor, Tensor), RenderError> {
        let sigmas = self.schedule.sampling_sigmas(steps, strength);
        let channels = self.unet.config().in_channels;
        let drawn = rng.tensor((1, channels, lh, lw), &self.device)?;
        let noise = match start_noise {
            Some(given) if given.dims() != drawn.dims() => {
                return Err(RenderError::Failed(format!(
                    "the initial noise has shape {:?}; this render needs {:?}",
                    given.dims(),
                    drawn.dims()
                )))
            }
            Some(given) => given.to_device(&self.device)?.to_dtype(DType::F32)?,
            None => drawn,
        };
        let x = match initial {
            Some(latent) => (latent + (&noise * sigmas[0] as f64)?)?,
            None => (&noise * sigmas[0] as f64)?,
        };
        let latents = self.denoise(cond, x, &sigmas, settings, rng, hires, progress)?;
        Ok((latents, noise))
    }

    /// Walks the noised latent `x` down `sigmas` with the UNet as Omost's `KModel` wraps it
    /// (`x / √(σ²+1)` in, integer timestep, CFG over separate positive and negative passes).
    #[allow(clippy::too_many_arguments)]
    pub fn denoise(
        &self,
        cond: &Conditioning,
        x: Tensor,
        sigmas: &[f32],
        settings: &RenderSettings,
        rng: &mut NoiseRng,
        hires: bool,
        progress: &mut dyn FnMut(Stage) -> bool,
    ) -> Result<Tensor, RenderError> {
        let cond = cond.to_dtype(self.dtype)?;
        let (_, _, lh, lw) = x.dims4()?;
        let f = self.vae.config().downscale() as f32;
        let (ph, pw) = (lh as f32 * f, lw as f32 * f);
        let time_ids = [ph, pw, 0.0, 0.0, ph, pw];
        let positive = AddedCond {
            text_embeds: &cond.positive_pooled,
            time_ids,
        };
        let negative = AddedCond {
            text_embeds: &cond.negative_pooled,
            time_ids,
        };
        let total = sigmas.len() - 1;
        let mut cancelled = false;
        let mut denoise = |x: &Tensor, sigma: f32, i: usize| -> candle_core::Result<Tensor> {
            let x_in = (x / ((sigma as f64).powi(2) + 1.0).sqrt())?.to_dtype(self.dtype)?;
            let t = self.schedule.timestep(sigma) as f32;
            let eps_pos = self
                .unet
                .forward(&x_in, t, &cond.positive, &positive)?
                .to_dtype(DType::F32)?;
            // With guidance 1 the negative pass cancels out exactly; skip it.
            let eps = if settings.cfg == 1.0 {
                eps_pos
            } else {
                let eps_neg = self
                    .unet
                    .forward(&x_in, t, &cond.negative, &negative)?
                    .to_dtype(DType::F32)?;
                (&eps_neg + ((eps_pos - &eps_neg)? * settings.cfg)?)?
            };
            let denoised = (x - (eps * sigma as f64)?)?;
            if !progress(Stage::Step {
                hires,
                step: i + 1,
                steps: total,
            }) {
                // Travels out through the sampler as an error; `cancelled` says what it was.
                cancelled = true;
                candle_core::bail!("cancelled");
            }
            Ok(denoised)
        };
        let mut fresh_noise = |like: &Tensor| rng.tensor(like.shape(), like.device());
        let result = sample(settings.sampler, x, sigmas, &mut denoise, &mut fresh_noise);
        match result {
            Err(_) if cancelled => Err(RenderError::Cancelled),
            other => Ok(other?),
        }
    }

    fn decode(
        &self,
        latents: &Tensor,
        settings: &RenderSettings,
        progress: &mut dyn FnMut(Stage) -> bool,
    ) -> Result<RgbImage, RenderError> {
        if !progress(Stage::Decoding) {
            return Err(RenderError::Cancelled);
        }
        let (_, _, lh, lw) = latents.dims4()?;
        let f = self.vae.config().downscale();
        let tiling = settings
            .tiling
            .or_else(|| (lh * lw * f * f > 1024 * 1024).then(Tiling::default));
        let pixels = match tiling {
            Some(t) => self.vae.decode_tiled(latents, t)?,
            None => self.vae.decode(latents)?,
        };
        Ok(RgbImage::from_tensor(&pixels)?)
    }
}
