//! diffusers' `Transformer2DModel` as SDXL uses it (linear `proj_in`/`proj_out`), whose blocks run
//! self-attention, then cross-attention to the text — Omost-masked when the context has regions — then
//! a GEGLU feed-forward.

use candle_core::{Module, Result, Tensor, D};
use candle_nn::{
    group_norm, layer_norm, linear, linear_no_bias, GroupNorm, LayerNorm, Linear, VarBuilder,
};

use crate::render::attention::attention;
use crate::render::regions::{CrossAttnContext, RegionBias};

/// diffusers' `Attention` with the default processor (self-attention) or Omost's cross-attention
/// processor.
pub struct Attention {
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    to_out: Linear,
    heads: usize,
}

impl Attention {
    /// `context_dim` is `None` for self-attention.
    pub fn load(
        vb: VarBuilder,
        dim: usize,
        context_dim: Option<usize>,
        heads: usize,
    ) -> Result<Self> {
        let kv_dim = context_dim.unwrap_or(dim);
        Ok(Attention {
            to_q: linear_no_bias(dim, dim, vb.pp("to_q"))?,
            to_k: linear_no_bias(kv_dim, dim, vb.pp("to_k"))?,
            to_v: linear_no_bias(kv_dim, dim, vb.pp("to_v"))?,
            to_out: linear(dim, dim, vb.pp("to_out").pp("0"))?,
            heads,
        })
    }

    /// `xs` `[B, N, C]`; `context` `[B, L, D]` (self-attention when `None`); `regions` adds Omost's
    /// per-key scale and −∞ mask.
    pub fn forward(
        &self,
        xs: &Tensor,
        context: Option<&Tensor>,
        regions: Option<&RegionBias>,
    ) -> Result<Tensor> {
        let (b, n, c) = xs.dims3()?;
        let head_dim = c / self.heads;
        let kv_input = context.unwrap_or(xs);
        let l = kv_input.dim(1)?;
        let heads = |t: Tensor, len: usize| -> Result<Tensor> {
            t.reshape((b, len, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * self.heads, len, head_dim))
        };
        let scale = (head_dim as f64).powf(-0.5);
        let q = heads(self.to_q.forward(xs)?, n)?;
        let k = heads(self.to_k.forward(kv_input)?, l)?;
        let v = heads(self.to_v.forward(kv_input)?, l)?;
        let out = match regions {
            // (q·k_j)·scale·s_j = q·(k_j·scale·s_j): the per-key scale folds into the keys.
            Some(r) => {
                let k = (k.broadcast_mul(&r.key_scale)? * scale)?;
                attention(&q, &k, &v, Some(&r.bias))?
            }
            None => attention(&(q * scale)?, &k, &v, None)?,
        };
        let out = out
            .reshape((b, self.heads, n, head_dim))?
            .transpose(1, 2)?
            .reshape((b, n, c))?;
        self.to_out.forward(&out)
    }
}

/// GEGLU feed-forward: `net.0.proj` to 2 × inner, `value · gelu(gate)`, then `net.2`.
struct FeedForward {
    proj: Linear,
    out: Linear,
}

impl FeedForward {
    fn load(vb: VarBuilder, dim: usize) -> Result<Self> {
        let inner = dim * 4;
        Ok(FeedForward {
            proj: linear(dim, inner * 2, vb.pp("net").pp("0").pp("proj"))?,
            out: linear(inner, dim, vb.pp("net").pp("2"))?,
        })
    }
}

impl Module for FeedForward {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let h = self.proj.forward(xs)?;
        let half = h.dim(D::Minus1)? / 2;
        let value = h.narrow(D::Minus1, 0, half)?;
        let gate = h.narrow(D::Minus1, half, half)?;
        self.out.forward(&(value * gate.gelu_erf()?)?)
    }
}

struct BasicTransformerBlock {
    norm1: LayerNorm,
    attn1: Attention,
    norm2: LayerNorm,
    attn2: Attention,
    norm3: LayerNorm,
    ff: FeedForward,
}

impl BasicTransformerBlock {
    fn load(vb: VarBuilder, dim: usize, context_dim: usize, heads: usize) -> Result<Self> {
        Ok(BasicTransformerBlock {
            norm1: layer_norm(dim, 1e-5, vb.pp("norm1"))?,
            attn1: Attention::load(vb.pp("attn1"), dim, None, heads)?,
            norm2: layer_norm(dim, 1e-5, vb.pp("norm2"))?,
            attn2: Attention::load(vb.pp("attn2"), dim, Some(context_dim), heads)?,
            norm3: layer_norm(dim, 1e-5, vb.pp("norm3"))?,
            ff: FeedForward::load(vb.pp("ff"), dim)?,
        })
    }

    fn forward(
        &self,
        xs: &Tensor,
        context: &Tensor,
        regions: Option<&RegionBias>,
    ) -> Result<Tensor> {
        let xs = (xs + self.attn1.forward(&self.norm1.forward(xs)?, None, None)?)?;
        let xs = (&xs
            + self
                .attn2
                .forward(&self.norm2.forward(&xs)?, Some(context), regions)?)?;
        &xs + self.ff.forward(&self.norm3.forward(&xs)?)?
    }
}

/// diffusers' `Transformer2DModel` with linear projections.
pub struct Transformer2D {
    norm: GroupNorm,
    proj_in: Linear,
    blocks: Vec<BasicTransformerBlock>,
    proj_out: Linear,
}

impl Transformer2D {
    /// Loads `…attentions.N` with `depth` transformer blocks.
    pub fn load(
        vb: VarBuilder,
        channels: usize,
        heads: usize,
        depth: usize,
        context_dim: usize,
        groups: usize,
    ) -> Result<Self> {
        let blocks = (0..depth)
            .map(|i| {
                BasicTransformerBlock::load(
                    vb.pp("transformer_blocks").pp(i),
                    channels,
                    context_dim,
                    heads,
                )
            })
            .collect::<Result<_>>()?;
        Ok(Transformer2D {
            norm: group_norm(groups, channels, 1e-6, vb.pp("norm"))?,
            proj_in: linear(channels, channels, vb.pp("proj_in"))?,
            blocks,
            proj_out: linear(channels, channels, vb.pp("proj_out"))?,
        })
    }

    /// `xs` `[B, C, H, W]`.
    pub fn forward(&self, xs: &Tensor, context: &CrossAttnContext) -> Result<Tensor> {
        let (b, c, h, w) = xs.dims4()?;
        let regions = context.region_bias(h, w, xs.dtype(), xs.device())?;
        let tokens = context.tokens();
        let mut hs = self
            .norm
            .forward(xs)?
            .permute((0, 2, 3, 1))?
            .reshape((b, h * w, c))?;
        hs = self.proj_in.forward(&hs)?;
        for block in &self.blocks {
            hs = block.forward(&hs, tokens, regions.as_deref())?;
        }
        let hs = self
            .proj_out
            .forward(&hs)?
            .reshape((b, h, w, c))?
            .permute((0, 3, 1, 2))?;
        hs + xs
    }
}
