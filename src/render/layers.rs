//! Building blocks shared by the UNet and the VAE, with diffusers' tensor names: the ResNet block,
//! the stride-2 downsampler and the nearest-neighbour upsampler.

use candle_core::{Module, Result, Tensor};
use candle_nn::{conv2d, group_norm, linear, Conv2d, Conv2dConfig, GroupNorm, Linear, VarBuilder};

/// A 3×3 convolution with padding 1 (the common case).
pub fn conv3x3(in_c: usize, out_c: usize, vb: VarBuilder) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    conv2d(in_c, out_c, 3, cfg, vb)
}

/// A 1×1 convolution.
pub fn conv1x1(in_c: usize, out_c: usize, vb: VarBuilder) -> Result<Conv2d> {
    conv2d(in_c, out_c, 1, Default::default(), vb)
}

/// diffusers' `ResnetBlock2D`: two GroupNorm–SiLU–conv stages, the time embedding added between them
/// (UNet only), and a 1×1 shortcut when the channel count changes.
pub struct ResnetBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    time_emb_proj: Option<Linear>,
    norm2: GroupNorm,
    conv2: Conv2d,
    conv_shortcut: Option<Conv2d>,
}

impl ResnetBlock {
    /// `temb_channels` is `None` for the VAE's blocks.
    pub fn load(
        vb: VarBuilder,
        in_c: usize,
        out_c: usize,
        temb_channels: Option<usize>,
        groups: usize,
        eps: f64,
    ) -> Result<Self> {
        Ok(ResnetBlock {
            norm1: group_norm(groups, in_c, eps, vb.pp("norm1"))?,
            conv1: conv3x3(in_c, out_c, vb.pp("conv1"))?,
            time_emb_proj: temb_channels
                .map(|t| linear(t, out_c, vb.pp("time_emb_proj")))
                .transpose()?,
            norm2: group_norm(groups, out_c, eps, vb.pp("norm2"))?,
            conv2: conv3x3(out_c, out_c, vb.pp("conv2"))?,
            conv_shortcut: (in_c != out_c)
                .then(|| conv1x1(in_c, out_c, vb.pp("conv_shortcut")))
                .transpose()?,
        })
    }

    /// `temb` is the SiLU'd time embedding `[B, temb_channels]` (UNet) or `None` (VAE).
    pub fn forward(&self, xs: &Tensor, temb: Option<&Tensor>) -> Result<Tensor> {
        let h = self.conv1.forward(&self.norm1.forward(xs)?.silu()?)?;
        let h = match (&self.time_emb_proj, temb) {
            (Some(proj), Some(t)) => {
                h.broadcast_add(&proj.forward(t)?.unsqueeze(2)?.unsqueeze(3)?)?
            }
            _ => h,
        };
        let h = self.conv2.forward(&self.norm2.forward(&h)?.silu()?)?;
        let shortcut = match &self.conv_shortcut {
            Some(c) => c.forward(xs)?,
            None => xs.clone(),
        };
        shortcut + h
    }
}

/// diffusers' `Downsample2D` with a convolution: 3×3, stride 2. The UNet pads by 1 on every side; the
/// VAE pads only right and bottom (`padding=0` in its config).
pub struct Downsample {
    conv: Conv2d,
    pad_right_bottom: bool,
}

impl Downsample {
    /// Loads `…downsamplers.0`.
    pub fn load(vb: VarBuilder, channels: usize, pad_right_bottom: bool) -> Result<Self> {
        let cfg = Conv2dConfig {
            padding: if pad_right_bottom { 0 } else { 1 },
            stride: 2,
            ..Default::default()
        };
        Ok(Downsample {
            conv: conv2d(channels, channels, 3, cfg, vb.pp("conv"))?,
            pad_right_bottom,
        })
    }
}

impl Module for Downsample {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        if self.pad_right_bottom {
            let xs = xs.pad_with_zeros(2, 0, 1)?.pad_with_zeros(3, 0, 1)?;
            self.conv.forward(&xs)
        } else {
            self.conv.forward(xs)
        }
    }
}

/// diffusers' `Upsample2D`: nearest-neighbour ×2, then a 3×3 convolution.
pub struct Upsample {
    conv: Conv2d,
}

impl Upsample {
    /// Loads `…upsamplers.0`.
    pub fn load(vb: VarBuilder, channels: usize) -> Result<Self> {
        Ok(Upsample {
            conv: conv3x3(channels, channels, vb.pp("conv"))?,
        })
    }
}

impl Module for Upsample {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = xs.dims4()?;
        self.conv.forward(&xs.upsample_nearest2d(h * 2, w * 2)?)
    }
}
