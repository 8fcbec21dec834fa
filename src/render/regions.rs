//! What the UNet's cross-attention attends to: the text tokens, and for the positive pass Omost's
//! regions — every region's tokens concatenated into one key sequence, each token visible only to the
//! pixels its region covers and its logits scaled by H·W / (pixels covered), all in one softmax
//! (`OmostCrossAttnProcessor` in `lib_omost/pipeline.py`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Tensor};

use crate::canvas::GRID;

/// The additive bias and per-key logit scale of Omost's masked cross-attention at one resolution.
pub struct RegionBias {
    /// `[H·W, L]`: 0 where the query pixel lies in the key token's region, −∞ elsewhere.
    pub bias: Tensor,
    /// `[L, 1]`: H·W / (pixels of the key token's region at this resolution).
    pub key_scale: Tensor,
}

/// The tokens the cross-attention layers attend to.
pub struct CrossAttnContext {
    /// `[B, L, D]`.
    tokens: Tensor,
    /// Each region's 90×90 mask and how many tokens it owns (in `tokens` order); `None` = plain
    /// attention (the negative pass).
    regions: Option<Vec<(Vec<f32>, usize)>>,
    cache: Mutex<HashMap<(usize, usize), Arc<RegionBias>>>,
}

impl CrossAttnContext {
    /// Ordinary cross-attention over `tokens` `[B, L, D]`.
    pub fn plain(tokens: Tensor) -> Self {
        CrossAttnContext {
            tokens,
            regions: None,
            cache: Mutex::default(),
        }
    }

    /// Omost's regional attention: `regions` are (90×90 row-major mask, tokens `[B, L_i, D]`), the
    /// global region first.
    pub fn regional(regions: Vec<(Vec<f32>, Tensor)>) -> Result<Self> {
        let mut layout = Vec::with_capacity(regions.len());
        let mut tokens = Vec::with_capacity(regions.len());
        for (mask, cond) in regions {
            if mask.len() != GRID * GRID {
                candle_core::bail!("region mask has {} values, not {}", mask.len(), GRID * GRID);
            }
            layout.push((mask, cond.dim(1)?));
            tokens.push(cond);
        }
        Ok(CrossAttnContext {
            tokens: Tensor::cat(&tokens, 1)?,
            regions: Some(layout),
            cache: Mutex::default(),
        })
    }

    /// The same context in `dtype`.
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        Ok(CrossAttnContext {
            tokens: self.tokens.to_dtype(dtype)?,
            regions: self.regions.clone(),
            cache: Mutex::default(),
        })
    }

    /// The concatenated tokens `[B, L, D]`.
    pub fn tokens(&self) -> &Tensor {
        &self.tokens
    }

    /// The masking at a block of `height`×`width` pixels, or `None` for plain attention. Built once per
    /// resolution and kept.
    pub fn region_bias(
        &self,
        height: usize,
        width: usize,
        dtype: DType,
        device: &Device,
    ) -> Result<Option<Arc<RegionBias>>> {
        let Some(regions) = &self.regions else {
            return Ok(None);
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(&(height, width)) {
            return Ok(Some(found.clone()));
        }
        let pixels = height * width;
        let total: usize = regions.iter().map(|(_, n)| n).sum();
        let mut bias = vec![0f32; pixels * total];
        let mut scale = Vec::with_capacity(total);
        let mut first = 0;
        for (mask, count) in regions {
            let resized = resize_nearest_exact(mask, height, width);
            let covered: f32 = resized.iter().sum();
            // A region too small to cover a pixel at this resolution is masked everywhere; its scale
            // must stay finite so that masked logits are exactly −∞ and not NaN.
            let s = if covered > 0.0 {
                pixels as f32 / covered
            } else {
                0.0
            };
            scale.extend(std::iter::repeat_n(s, *count));
            for (p, &m) in resized.iter().enumerate() {
                if m <= 0.5 {
                    bias[p * total + first..p * total + first + count].fill(f32::NEG_INFINITY);
                }
            }
            first += count;
        }
        let built = Arc::new(RegionBias {
            bias: Tensor::from_vec(bias, (pixels, total), device)?.to_dtype(dtype)?,
            key_scale: Tensor::from_vec(scale, (total, 1), device)?.to_dtype(dtype)?,
        });
        cache.insert((height, width), built.clone());
        Ok(Some(built))
    }
}

/// PyTorch's `interpolate(mode="nearest-exact")` of a 90×90 mask to `height`×`width`:
/// source index `min(floor((dst + 0.5) · 90 / size), 89)`, in f32 as PyTorch computes it.
pub fn resize_nearest_exact(mask: &[f32], height: usize, width: usize) -> Vec<f32> {
    let source = |dst: usize, size: usize| -> usize {
        let scale = GRID as f32 / size as f32;
        (((dst as f32 + 0.5) * scale).floor() as usize).min(GRID - 1)
    };
    let cols: Vec<usize> = (0..width).map(|x| source(x, width)).collect();
    (0..height)
        .flat_map(|y| {
            let row = source(y, height) * GRID;
            cols.iter().map(move |&c| mask[row + c])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_exact_picks_pixel_centres() {
        // Left half of the grid set.
        let mask: Vec<f32> = (0..GRID * GRID)
            .map(|i| if i % GRID < 45 { 1.0 } else { 0.0 })
            .collect();
        let r = resize_nearest_exact(&mask, 2, 4);
        assert_eq!(r, vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
        // The spec's example: top half at 72×56 covers 36 of 72 rows, scale exactly 2.
        let top: Vec<f32> = (0..GRID * GRID)
            .map(|i| if i / GRID < 45 { 1.0 } else { 0.0 })
            .collect();
        let r = resize_nearest_exact(&top, 72, 56);
        assert_eq!(r.iter().sum::<f32>(), 36.0 * 56.0);
    }
}
