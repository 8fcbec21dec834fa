//! 8-bit RGB images and the pixel operations the pipeline needs: tensor conversion as Omost does it,
//! PIL-style Lanczos resizing (hi-res fix) and Omost's blurred colour-sketch start.

use candle_core::{Device, Result, Tensor};

use crate::canvas::{Sketch, GRID};

/// A row-major RGB image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    pub width: usize,
    pub height: usize,
    /// `width · height · 3` bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// From decoded pixels `[1, 3, H, W]` in −1..1: `x·127.5 + 127.5`, clipped, truncated to u8 (Omost's
    /// conversion).
    pub fn from_tensor(t: &Tensor) -> Result<Self> {
        let (_, c, h, w) = t.dims4()?;
        if c != 3 {
            candle_core::bail!("expected 3 colour channels, got {c}");
        }
        let planes = t.squeeze(0)?.flatten_from(1)?.to_vec2::<f32>()?;
        let mut pixels = Vec::with_capacity(h * w * 3);
        for i in 0..h * w {
            for plane in &planes {
                pixels.push((plane[i] * 127.5 + 127.5).clamp(0.0, 255.0) as u8);
            }
        }
        Ok(RgbImage {
            width: w,
            height: h,
            pixels,
        })
    }

    /// To `[1, 3, H, W]` in −1..1 (`/127.5 − 1`).
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor> {
        let n = self.width * self.height;
        let mut planar = vec![0f32; 3 * n];
        for (i, px) in self.pixels.chunks_exact(3).enumerate() {
            for ch in 0..3 {
                planar[ch * n + i] = px[ch] as f32 / 127.5 - 1.0;
            }
        }
        Tensor::from_vec(planar, (1, 3, self.height, self.width), device)
    }

    /// Lanczos-3 resampling as PIL's `Image.resize(…, LANCZOS)` does it: separable, horizontal pass
    /// first, the kernel widened by the scale when shrinking, 8-bit between passes.
    pub fn resize_lanczos(&self, width: usize, height: usize) -> RgbImage {
        let horizontal = resample_axis(&self.pixels, self.width, self.height, width, true);
        let pixels = resample_axis(&horizontal, width, self.height, height, false);
        RgbImage {
            width,
            height,
            pixels,
        }
    }
}

fn lanczos(x: f64) -> f64 {
    let sinc = |x: f64| {
        if x == 0.0 {
            1.0
        } else {
            (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
        }
    };
    if x.abs() < 3.0 {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// Resamples one axis of an RGB buffer `w × h` to `out` along it (`horizontal`: width).
fn resample_axis(src: &[u8], w: usize, h: usize, out: usize, horizontal: bool) -> Vec<u8> {
    let input = if horizontal { w } else { h };
    let scale = input as f64 / out as f64;
    let filter_scale = scale.max(1.0);
    let support = 3.0 * filter_scale;
    let taps: Vec<(usize, Vec<f64>)> = (0..out)
        .map(|i| {
            let centre = (i as f64 + 0.5) * scale;
            let lo = ((centre - support + 0.5).floor().max(0.0)) as usize;
            let hi = ((centre + support + 0.5).floor() as usize).min(input);
            let mut weights: Vec<f64> = (lo..hi)
                .map(|j| lanczos((j as f64 - centre + 0.5) / filter_scale))
                .collect();
            let total: f64 = weights.iter().sum();
            if total != 0.0 {
                weights.iter_mut().for_each(|v| *v /= total);
            }
            (lo, weights)
        })
        .collect();
    let (ow, oh) = if horizontal { (out, h) } else { (w, out) };
    let mut dst = vec![0u8; ow * oh * 3];
    for y in 0..oh {
        for x in 0..ow {
            let (lo, weights) = if horizontal { &taps[x] } else { &taps[y] };
            for ch in 0..3 {
                let mut acc = 0.0;
                for (k, wgt) in weights.iter().enumerate() {
                    let (sx, sy) = if horizontal { (lo + k, y) } else { (x, lo + k) };
                    acc += wgt * src[(sy * w + sx) * 3 + ch] as f64;
                }
                dst[(y * ow + x) * 3 + ch] = acc.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    dst
}

/// Omost's (dormant) sketch start: the 90×90 colour sketch in −1..1, box-blurred (reflect padding 40,
/// 81×81 mean) and resized nearest-neighbour to `width`×`height`, as `[1, 3, H, W]`.
pub fn blurred_sketch(
    sketch: &Sketch,
    width: usize,
    height: usize,
    device: &Device,
) -> Result<Tensor> {
    const RADIUS: isize = 40;
    let g = GRID as isize;
    let reflect = |i: isize| -> usize {
        let r = if i < 0 {
            -i
        } else if i >= g {
            2 * (g - 1) - i
        } else {
            i
        };
        r as usize
    };
    let value = |x: usize, y: usize, ch: usize| sketch.pixel(x, y)[ch] as f64 / 127.5 - 1.0;
    let window = (2 * RADIUS + 1) as f64;
    let mut blurred = vec![0f64; 3 * GRID * GRID];
    for ch in 0..3 {
        // Separable mean: rows, then columns.
        let mut rows = vec![0f64; GRID * GRID];
        for y in 0..GRID {
            for x in 0..GRID {
                let s: f64 = (-RADIUS..=RADIUS)
                    .map(|d| value(reflect(x as isize + d), y, ch))
                    .sum();
                rows[y * GRID + x] = s / window;
            }
        }
        for y in 0..GRID {
            for x in 0..GRID {
                let s: f64 = (-RADIUS..=RADIUS)
                    .map(|d| rows[reflect(y as isize + d) * GRID + x])
                    .sum();
                blurred[ch * GRID * GRID + y * GRID + x] = s / window;
            }
        }
    }
    // PyTorch's legacy `nearest`: source = min(floor(dst · in / out), in − 1).
    let source = |dst: usize, size: usize| {
        (((dst as f32) * (GRID as f32 / size as f32)).floor() as usize).min(GRID - 1)
    };
    let mut out = Vec::with_capacity(3 * width * height);
    for ch in 0..3 {
        for y in 0..height {
            let sy = source(y, height);
            for x in 0..width {
                out.push(blurred[ch * GRID * GRID + sy * GRID + source(x, width)] as f32);
            }
        }
    }
    Tensor::from_vec(out, (1, 3, height, width), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanczos_keeps_flat_images_flat_and_sizes() {
        let img = RgbImage {
            width: 4,
            height: 3,
            pixels: vec![200; 36],
        };
        let big = img.resize_lanczos(10, 7);
        assert_eq!((big.width, big.height, big.pixels.len()), (10, 7, 210));
        assert!(big.pixels.iter().all(|&p| p == 200));
    }

    #[test]
    fn tensor_round_trip_is_exact_for_u8() {
        let img = RgbImage {
            width: 2,
            height: 1,
            pixels: vec![0, 127, 255, 1, 128, 254],
        };
        let t = img.to_tensor(&Device::Cpu).unwrap();
        // 127.5 · (v/127.5 − 1) + 127.5 can land a hair under v; Omost truncates, so compare within 1.
        let back = RgbImage::from_tensor(&t).unwrap();
        for (a, b) in img.pixels.iter().zip(&back.pixels) {
            assert!(a.abs_diff(*b) <= 1, "{a} {b}");
        }
    }
}
