//! The SDXL UNet (diffusers' `UNet2DConditionModel` with `addition_embed_type="text_time"`), loading
//! diffusers' tensor names. Our own module rather than candle-transformers': that one cannot mask the
//! cross-attention, ignores SDXL's `add_embedding` (pooled text and size micro-conditioning) and computes
//! the sinusoidal time embedding in half precision. Here the embeddings are computed in f32.

mod config;
mod transformer;

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{conv2d, group_norm, linear, Conv2d, GroupNorm, Linear, VarBuilder};

pub use config::UNetConfig;
pub use transformer::Attention;

use super::layers::{conv3x3, Downsample, ResnetBlock, Upsample};
use super::regions::CrossAttnContext;

/// diffusers' `get_timestep_embedding` in f32: `[cos | sin]` (flipped) of `t · exp(−ln(10⁴)·i/(half − shift))`.
pub fn timestep_embedding(
    values: &[f32],
    dim: usize,
    flip_sin_to_cos: bool,
    shift: f64,
    device: &Device,
) -> Result<Tensor> {
    let half = dim / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(10000f32.ln()) * i as f32 / (half as f32 - shift as f32)).exp())
        .collect();
    let mut out: Vec<f32> = Vec::with_capacity(values.len() * dim);
    for &t in values {
        let args: Vec<f32> = freqs.iter().map(|f| t * f).collect();
        let (sin, cos): (Vec<f32>, Vec<f32>) = args.iter().map(|a| (a.sin(), a.cos())).unzip();
        if flip_sin_to_cos {
            out.extend(cos.iter().chain(&sin));
        } else {
            out.extend(sin.iter().chain(&cos));
        }
    }
    Tensor::from_vec(out, (values.len(), dim), device)
}

/// `linear_1`, SiLU, `linear_2`.
struct TimestepEmbedding {
    linear_1: Linear,
    linear_2: Linear,
}

impl TimestepEmbedding {
    fn load(vb: VarBuilder, in_dim: usize, out_dim: usize) -> Result<Self> {
        Ok(TimestepEmbedding {
            linear_1: linear(in_dim, out_dim, vb.pp("linear_1"))?,
            linear_2: linear(out_dim, out_dim, vb.pp("linear_2"))?,
        })
    }
}

impl Module for TimestepEmbedding {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.linear_2.forward(&self.linear_1.forward(xs)?.silu()?)
    }
}

/// One resolution level of the down or up path: ResNets, optionally each followed by a transformer,
/// then a resampler.
struct Level<R> {
    resnets: Vec<ResnetBlock>,
    attentions: Vec<transformer::Transformer2D>,
    resample: Option<R>,
}

/// The SDXL UNet.
pub struct UNet {
    config: UNetConfig,
    dtype: DType,
    conv_in: Conv2d,
    time_embedding: TimestepEmbedding,
    add_embedding: TimestepEmbedding,
    down: Vec<Level<Downsample>>,
    mid_resnets: [ResnetBlock; 2],
    mid_attention: transformer::Transformer2D,
    up: Vec<Level<Upsample>>,
    conv_norm_out: GroupNorm,
    conv_out: Conv2d,
}

/// The extra conditioning SDXL's UNet takes besides the text tokens.
pub struct AddedCond<'a> {
    /// Pooled text `[B, P]`.
    pub text_embeds: &'a Tensor,
    /// `(original h, original w, crop top, crop left, target h, target w)` in pixels.
    pub time_ids: [f32; 6],
}

impl UNet {
    /// Builds the UNet from diffusers tensor names (`conv_in`, `down_blocks.N.…`, `add_embedding`, …).
    pub fn load(vb: VarBuilder, config: &UNetConfig) -> Result<Self> {
        let c = config;
        let ch = &c.block_out_channels;
        let temb = c.time_embed_dim();
        let (groups, eps) = (c.norm_num_groups, c.norm_eps);
        let levels = ch.len();
        let transformer = |vb: VarBuilder, channels: usize, level: usize| {
            transformer::Transformer2D::load(
                vb,
                channels,
                c.heads[level],
                c.transformer_layers_per_block[level],
                c.cross_attention_dim,
                groups,
            )
        };

        let mut down = Vec::with_capacity(levels);
        let mut in_c = ch[0];
        for (i, &out_c) in ch.iter().enumerate() {
            let vb = vb.pp("down_blocks").pp(i);
            let mut resnets = Vec::new();
            let mut attentions = Vec::new();
            for j in 0..c.layers_per_block {
                let from = if j == 0 { in_c } else { out_c };
                resnets.push(ResnetBlock::load(
                    vb.pp("resnets").pp(j),
                    from,
                    out_c,
                    Some(temb),
                    groups,
                    eps,
                )?);
                if c.cross_attention[i] {
                    attentions.push(transformer(vb.pp("attentions").pp(j), out_c, i)?);
                }
            }
            let resample = (i + 1 < levels)
                .then(|| Downsample::load(vb.pp("downsamplers").pp(0), out_c, false))
                .transpose()?;
            down.push(Level {
                resnets,
                attentions,
                resample,
            });
            in_c = out_c;
        }

        let last = ch[levels - 1];
        let mid = vb.pp("mid_block");
        let mid_resnets = [
            ResnetBlock::load(mid.pp("resnets").pp(0), last, last, Some(temb), groups, eps)?,
            ResnetBlock::load(mid.pp("resnets").pp(1), last, last, Some(temb), groups, eps)?,
        ];
        let mid_attention = transformer(mid.pp("attentions").pp(0), last, levels - 1)?;

        let mut up = Vec::with_capacity(levels);
        let mut prev_out = last;
        for i in 0..levels {
            let level = levels - 1 - i;
            let out_c = ch[level];
            let skip_in = ch[level.saturating_sub(1)];
            let vb = vb.pp("up_blocks").pp(i);
            let mut resnets = Vec::new();
            let mut attentions = Vec::new();
            for j in 0..=c.layers_per_block {
                let skip = if j == c.layers_per_block {
                    skip_in
                } else {
                    out_c
                };
                let from = if j == 0 { prev_out } else { out_c };
                resnets.push(ResnetBlock::load(
                    vb.pp("resnets").pp(j),
                    from + skip,
                    out_c,
                    Some(temb),
                    groups,
                    eps,
                )?);
                if c.cross_attention[level] {
                    attentions.push(transformer(vb.pp("attentions").pp(j), out_c, level)?);
                }
            }
            let resample = (level > 0)
                .then(|| Upsample::load(vb.pp("upsamplers").pp(0), out_c))
                .transpose()?;
            up.push(Level {
                resnets,
                attentions,
                resample,
            });
            prev_out = out_c;
        }

        Ok(UNet {
            config: c.clone(),
            dtype: vb.dtype(),
            conv_in: conv3x3(c.in_channels, ch[0], vb.pp("conv_in"))?,
            time_embedding: TimestepEmbedding::load(vb.pp("time_embedding"), ch[0], temb)?,
            add_embedding: TimestepEmbedding::load(
                vb.pp("add_embedding"),
                c.projection_class_embeddings_input_dim,
                temb,
            )?,
            down,
            mid_resnets,
            mid_attention,
            up,
            conv_norm_out: group_norm(groups, ch[0], eps, vb.pp("conv_norm_out"))?,
            conv_out: conv2d(
                ch[0],
                c.out_channels,
                3,
                candle_nn::Conv2dConfig {
                    padding: 1,
                    ..Default::default()
                },
                vb.pp("conv_out"),
            )?,
        })
    }

    /// The model's hyper-parameters.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// The noise prediction for latents `xs` `[B, 4, h, w]` at integer-valued `timestep`.
    pub fn forward(
        &self,
        xs: &Tensor,
        timestep: f32,
        context: &CrossAttnContext,
        added: &AddedCond,
    ) -> Result<Tensor> {
        let c = &self.config;
        let (b, _, h, w) = xs.dims4()?;
        if h % 4 != 0 || w % 4 != 0 {
            candle_core::bail!(
                "latent size {w}×{h} must be a multiple of 4 (image a multiple of 32)"
            );
        }
        let device = xs.device();
        let t = timestep_embedding(
            &vec![timestep; b],
            c.block_out_channels[0],
            c.flip_sin_to_cos,
            c.freq_shift,
            device,
        )?;
        let emb = self.time_embedding.forward(&t.to_dtype(self.dtype)?)?;
        let ids = timestep_embedding(
            &added.time_ids,
            c.addition_time_embed_dim,
            c.flip_sin_to_cos,
            c.freq_shift,
            device,
        )?
        .reshape((1, ()))?
        .repeat((b, 1))?;
        let add_in = Tensor::cat(
            &[
                &added.text_embeds.to_dtype(self.dtype)?,
                &ids.to_dtype(self.dtype)?,
            ],
            D::Minus1,
        )?;
        let emb = (emb + self.add_embedding.forward(&add_in)?)?;
        let temb = emb.silu()?;

        let mut xs = self.conv_in.forward(xs)?;
        let mut skips = vec![xs.clone()];
        for level in &self.down {
            for (j, resnet) in level.resnets.iter().enumerate() {
                xs = resnet.forward(&xs, Some(&temb))?;
                if let Some(attn) = level.attentions.get(j) {
                    xs = attn.forward(&xs, context)?;
                }
                skips.push(xs.clone());
            }
            if let Some(down) = &level.resample {
                xs = down.forward(&xs)?;
                skips.push(xs.clone());
            }
        }

        xs = self.mid_resnets[0].forward(&xs, Some(&temb))?;
        xs = self.mid_attention.forward(&xs, context)?;
        xs = self.mid_resnets[1].forward(&xs, Some(&temb))?;

        for level in &self.up {
            for (j, resnet) in level.resnets.iter().enumerate() {
                let skip = skips
                    .pop()
                    .ok_or_else(|| candle_core::Error::Msg("UNet skip underflow".into()))?;
                xs = resnet.forward(&Tensor::cat(&[&xs, &skip], 1)?, Some(&temb))?;
                if let Some(attn) = level.attentions.get(j) {
                    xs = attn.forward(&xs, context)?;
                }
            }
            if let Some(up) = &level.resample {
                xs = up.forward(&xs)?;
            }
        }
        self.conv_out
            .forward(&self.conv_norm_out.forward(&xs)?.silu()?)
    }
}
