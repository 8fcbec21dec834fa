//! SDXL's VAE (diffusers' `AutoencoderKL`, diffusers tensor names): decode latents to pixels — whole or
//! in overlapping tiles, so large images fit small GPUs — and encode pixels to the latent
//! distribution's mode (for the hi-res fix and the sketch start).

use std::path::Path;

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{group_norm, linear, Conv2d, GroupNorm, Linear, VarBuilder};
use serde::Deserialize;

use super::attention::attention;
use super::layers::{conv1x1, conv3x3, Downsample, ResnetBlock, Upsample};

/// The parts of a diffusers `vae/config.json` the VAE needs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct VaeConfig {
    #[serde(default = "default_rgb")]
    pub in_channels: usize,
    #[serde(default = "default_rgb")]
    pub out_channels: usize,
    pub block_out_channels: Vec<usize>,
    pub layers_per_block: usize,
    pub latent_channels: usize,
    #[serde(default = "default_groups")]
    pub norm_num_groups: usize,
    /// SDXL: 0.13025 (SD 1.x's 0.18215 gives washed-out SDXL images).
    pub scaling_factor: f64,
}

fn default_rgb() -> usize {
    3
}

fn default_groups() -> usize {
    32
}

impl VaeConfig {
    /// SDXL's VAE.
    pub fn sdxl() -> Self {
        VaeConfig {
            in_channels: 3,
            out_channels: 3,
            block_out_channels: vec![128, 256, 512, 512],
            layers_per_block: 2,
            latent_channels: 4,
            norm_num_groups: 32,
            scaling_factor: 0.13025,
        }
    }

    /// Reads a diffusers `vae/config.json`.
    pub fn from_file(path: &Path) -> std::result::Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Pixels per latent cell (8 for SDXL).
    pub fn downscale(&self) -> usize {
        1 << (self.block_out_channels.len() - 1)
    }
}

const EPS: f64 = 1e-6;

/// The single-head self-attention in the VAE's middle block.
struct MidAttention {
    group_norm: GroupNorm,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
}

impl MidAttention {
    fn load(vb: VarBuilder, channels: usize, groups: usize) -> Result<Self> {
        // Older diffusers files name the projections query/key/value/proj_attn.
        let legacy = !vb.contains_tensor("to_q.weight") && vb.contains_tensor("query.weight");
        let name = |new: &str, old: &str| {
            if legacy {
                old.to_owned()
            } else {
                new.to_owned()
            }
        };
        Ok(MidAttention {
            group_norm: group_norm(groups, channels, EPS, vb.pp("group_norm"))?,
            to_q: linear(channels, channels, vb.pp(name("to_q", "query")))?,
            to_k: linear(channels, channels, vb.pp(name("to_k", "key")))?,
            to_v: linear(channels, channels, vb.pp(name("to_v", "value")))?,
            to_out: linear(channels, channels, vb.pp(name("to_out.0", "proj_attn")))?,
        })
    }
}

impl Module for MidAttention {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = xs.dims4()?;
        let hs = self
            .group_norm
            .forward(xs)?
            .reshape((b, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?;
        let q = (self.to_q.forward(&hs)? * (c as f64).powf(-0.5))?;
        let k = self.to_k.forward(&hs)?;
        let v = self.to_v.forward(&hs)?;
        let out = self.to_out.forward(&attention(&q, &k, &v, None)?)?;
        let out = out.transpose(1, 2)?.reshape((b, c, h, w))?;
        out + xs
    }
}

/// ResNet, attention, ResNet.
struct MidBlock {
    resnet_0: ResnetBlock,
    attention: MidAttention,
    resnet_1: ResnetBlock,
}

impl MidBlock {
    fn load(vb: VarBuilder, channels: usize, groups: usize) -> Result<Self> {
        Ok(MidBlock {
            resnet_0: ResnetBlock::load(
                vb.pp("resnets").pp(0),
                channels,
                channels,
                None,
                groups,
                EPS,
            )?,
            attention: MidAttention::load(vb.pp("attentions").pp(0), channels, groups)?,
            resnet_1: ResnetBlock::load(
                vb.pp("resnets").pp(1),
                channels,
                channels,
                None,
                groups,
                EPS,
            )?,
        })
    }
}

impl Module for MidBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let xs = self.resnet_0.forward(xs, None)?;
        let xs = self.attention.forward(&xs)?;
        self.resnet_1.forward(&xs, None)
    }
}

struct Encoder {
    conv_in: Conv2d,
    down: Vec<(Vec<ResnetBlock>, Option<Downsample>)>,
    mid: MidBlock,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl Encoder {
    fn load(vb: VarBuilder, c: &VaeConfig) -> Result<Self> {
        let ch = &c.block_out_channels;
        let groups = c.norm_num_groups;
        let mut down = Vec::new();
        let mut in_c = ch[0];
        for (i, &out_c) in ch.iter().enumerate() {
            let vb = vb.pp("down_blocks").pp(i);
            let resnets = (0..c.layers_per_block)
                .map(|j| {
                    let from = if j == 0 { in_c } else { out_c };
                    ResnetBlock::load(vb.pp("resnets").pp(j), from, out_c, None, groups, EPS)
                })
                .collect::<Result<_>>()?;
            let sampler = (i + 1 < ch.len())
                .then(|| Downsample::load(vb.pp("downsamplers").pp(0), out_c, true))
                .transpose()?;
            down.push((resnets, sampler));
            in_c = out_c;
        }
        let last = *ch.last().unwrap_or(&0);
        Ok(Encoder {
            conv_in: conv3x3(c.in_channels, ch[0], vb.pp("conv_in"))?,
            down,
            mid: MidBlock::load(vb.pp("mid_block"), last, groups)?,
            norm_out: group_norm(groups, last, EPS, vb.pp("conv_norm_out"))?,
            conv_out: conv3x3(last, 2 * c.latent_channels, vb.pp("conv_out"))?,
        })
    }
}

impl Module for Encoder {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = self.conv_in.forward(xs)?;
        for (resnets, sampler) in &self.down {
            for r in resnets {
                xs = r.forward(&xs, None)?;
            }
            if let Some(s) = sampler {
                xs = s.forward(&xs)?;
            }
        }
        let xs = self.mid.forward(&xs)?;
        self.conv_out.forward(&self.norm_out.forward(&xs)?.silu()?)
    }
}

struct Decoder {
    conv_in: Conv2d,
    mid: MidBlock,
    up: Vec<(Vec<ResnetBlock>, Option<Upsample>)>,
    norm_out: GroupNorm,
    conv_out: Conv2d,
}

impl Decoder {
    fn load(vb: VarBuilder, c: &VaeConfig) -> Result<Self> {
        let reversed: Vec<usize> = c.block_out_channels.iter().rev().copied().collect();
        let groups = c.norm_num_groups;
        let mut up = Vec::new();
        let mut prev = reversed[0];
        for (i, &out_c) in reversed.iter().enumerate() {
            let vb = vb.pp("up_blocks").pp(i);
            let resnets = (0..=c.layers_per_block)
                .map(|j| {
                    let from = if j == 0 { prev } else { out_c };
                    ResnetBlock::load(vb.pp("resnets").pp(j), from, out_c, None, groups, EPS)
                })
                .collect::<Result<_>>()?;
            let sampler = (i + 1 < reversed.len())
                .then(|| Upsample::load(vb.pp("upsamplers").pp(0), out_c))
                .transpose()?;
            up.push((resnets, sampler));
            prev = out_c;
        }
        let first = c.block_out_channels[0];
        Ok(Decoder {
            conv_in: conv3x3(c.latent_channels, reversed[0], vb.pp("conv_in"))?,
            mid: MidBlock::load(vb.pp("mid_block"), reversed[0], groups)?,
            up,
            norm_out: group_norm(groups, first, EPS, vb.pp("conv_norm_out"))?,
            conv_out: conv3x3(first, c.out_channels, vb.pp("conv_out"))?,
        })
    }
}

impl Module for Decoder {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = self.mid.forward(&self.conv_in.forward(xs)?)?;
        for (resnets, sampler) in &self.up {
            for r in resnets {
                xs = r.forward(&xs, None)?;
            }
            if let Some(s) = sampler {
                xs = s.forward(&xs)?;
            }
        }
        self.conv_out.forward(&self.norm_out.forward(&xs)?.silu()?)
    }
}

/// Tiling for [`Vae::decode_tiled`], in latent cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Tile edge (SDXL: 64 latent cells = 512 pixels).
    pub tile: usize,
    /// Overlap between neighbouring tiles, blended linearly.
    pub overlap: usize,
}

impl Default for Tiling {
    fn default() -> Self {
        Tiling {
            tile: 64,
            overlap: 16,
        }
    }
}

/// The VAE.
pub struct Vae {
    config: VaeConfig,
    encoder: Encoder,
    quant_conv: Conv2d,
    post_quant_conv: Conv2d,
    decoder: Decoder,
    dtype: DType,
}

impl Vae {
    /// Builds the VAE from diffusers tensor names.
    pub fn load(vb: VarBuilder, config: &VaeConfig) -> Result<Self> {
        let l = config.latent_channels;
        Ok(Vae {
            config: config.clone(),
            encoder: Encoder::load(vb.pp("encoder"), config)?,
            quant_conv: conv1x1(2 * l, 2 * l, vb.pp("quant_conv"))?,
            post_quant_conv: conv1x1(l, l, vb.pp("post_quant_conv"))?,
            decoder: Decoder::load(vb.pp("decoder"), config)?,
            dtype: vb.dtype(),
        })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// Decodes scaled latents `[B, 4, h, w]` (as the sampler leaves them) to pixels in −1..1, f32.
    pub fn decode(&self, latents: &Tensor) -> Result<Tensor> {
        let z = (latents.to_dtype(self.dtype)? / self.config.scaling_factor)?;
        self.decoder
            .forward(&self.post_quant_conv.forward(&z)?)?
            .to_dtype(DType::F32)
    }

    /// Decodes in overlapping tiles when the latent is larger than one tile; the overlaps are blended
    /// with linear ramps. Same result as [`Vae::decode`] (up to the seams' blend) in a fraction of the
    /// memory.
    pub fn decode_tiled(&self, latents: &Tensor, tiling: Tiling) -> Result<Tensor> {
        let (b, _, h, w) = latents.dims4()?;
        if h <= tiling.tile && w <= tiling.tile {
            return self.decode(latents);
        }
        let f = self.config.downscale();
        let stride = tiling.tile.saturating_sub(tiling.overlap).max(1);
        let starts = |size: usize| -> Vec<usize> {
            let mut s: Vec<usize> = (0..)
                .map(|i| i * stride)
                .take_while(|&p| p + tiling.tile < size)
                .collect();
            s.push(size.saturating_sub(tiling.tile));
            s.dedup();
            s
        };
        let device = latents.device();
        let mut sum = Tensor::zeros(
            (b, self.config.out_channels, h * f, w * f),
            DType::F32,
            device,
        )?;
        let mut weight = Tensor::zeros((1, 1, h * f, w * f), DType::F32, device)?;
        for &y in &starts(h) {
            for &x in &starts(w) {
                let (th, tw) = (tiling.tile.min(h), tiling.tile.min(w));
                let tile = self.decode(&latents.narrow(2, y, th)?.narrow(3, x, tw)?)?;
                let ramp = |start: usize, len: usize, size: usize| -> Vec<f32> {
                    let fade = (tiling.overlap * f) as f32;
                    (0..len * f)
                        .map(|i| {
                            let from_start = if start > 0 {
                                (i as f32 + 0.5) / fade
                            } else {
                                1.0
                            };
                            let from_end = if start + len < size {
                                ((len * f - i) as f32 - 0.5) / fade
                            } else {
                                1.0
                            };
                            from_start.min(from_end).clamp(1e-3, 1.0)
                        })
                        .collect()
                };
                let wy = Tensor::from_vec(ramp(y, th, h), (th * f, 1), device)?;
                let wx = Tensor::from_vec(ramp(x, tw, w), (1, tw * f), device)?;
                let wmap = wy.broadcast_mul(&wx)?.reshape((1, 1, th * f, tw * f))?;
                let placed = |t: &Tensor| -> Result<Tensor> {
                    t.pad_with_zeros(2, y * f, (h - y - th) * f)?
                        .pad_with_zeros(3, x * f, (w - x - tw) * f)
                };
                sum = (sum + placed(&tile.broadcast_mul(&wmap)?)?)?;
                weight = (weight + placed(&wmap)?)?;
            }
        }
        sum.broadcast_div(&weight)
    }

    /// Encodes pixels in −1..1 `[B, 3, H, W]` to the scaled mode of the latent distribution.
    pub fn encode(&self, pixels: &Tensor) -> Result<Tensor> {
        let moments = self
            .quant_conv
            .forward(&self.encoder.forward(&pixels.to_dtype(self.dtype)?)?)?;
        let mean = moments.narrow(1, 0, self.config.latent_channels)?;
        (mean * self.config.scaling_factor)?.to_dtype(DType::F32)
    }
}
