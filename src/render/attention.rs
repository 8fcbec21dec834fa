//! `softmax(q·kᵀ + bias)·v`, the attention core of the UNet and the VAE. On the CPU in f32 it runs in
//! blocks of queries, so the score matrix never exceeds 16 MB (a 1024² image's 4096-token
//! self-attention would otherwise write 134 MB per head pair, and the VAE's 16384-token one 1 GB), with
//! our own softmax: vectorised exp (AVX2 when the CPU has it), the bias added in the same pass, in place.
//! Elsewhere (GPU, half precision) it is candle's matmul, add and softmax.

use candle_core::{CpuStorage, DType, Layout, Result, Tensor};

/// Scores per query block on the CPU (rows × keys × heads): 16 MB of f32, the fastest of 2¹⁶…2²⁴ in
/// `cargo bench --bench render_step`.
const BLOCK_SCORES: usize = 1 << 22;

/// Attention for `q` `[BH, N, d]` (already scaled), `k`, `v` `[BH, L, d]`, and an optional additive
/// `bias` `[N, L]` shared by every batch-head.
pub fn attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    let kt = k.t()?;
    if !(q.device().is_cpu() && q.dtype() == DType::F32) {
        let scores = q.matmul(&kt)?;
        let scores = match bias {
            Some(b) => scores.broadcast_add(b)?,
            None => scores,
        };
        return candle_nn::ops::softmax_last_dim(&scores)?.matmul(v);
    }
    let (bh, n, _) = q.dims3()?;
    let l = k.dim(1)?;
    let kt = kt.contiguous()?;
    let block = (BLOCK_SCORES / (l * bh).max(1)).clamp(1, n);
    let mut outputs = Vec::with_capacity(n.div_ceil(block));
    for start in (0..n).step_by(block) {
        let rows = block.min(n - start);
        let scores = q.narrow(1, start, rows)?.matmul(&kt)?;
        match bias {
            Some(b) => {
                scores.inplace_op2(&b.narrow(0, start, rows)?.contiguous()?, &SoftmaxInPlace)?
            }
            None => scores.inplace_op1(&SoftmaxInPlace)?,
        }
        outputs.push(scores.matmul(v)?);
    }
    if outputs.len() == 1 {
        return Ok(outputs.remove(0));
    }
    Tensor::cat(&outputs, 1)
}

/// Row-wise softmax over the last dimension of a contiguous f32 tensor, optionally after adding a bias
/// whose rows repeat every `bias.rows` rows.
struct SoftmaxInPlace;

fn f32_slice<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&data[start..end]),
        _ => candle_core::bail!("softmax: expected a contiguous f32 tensor"),
    }
}

fn f32_slice_mut<'a>(storage: &'a mut CpuStorage, layout: &Layout) -> Result<&'a mut [f32]> {
    match (storage, layout.contiguous_offsets()) {
        (CpuStorage::F32(data), Some((start, end))) => Ok(&mut data[start..end]),
        _ => candle_core::bail!("softmax: expected a contiguous f32 tensor"),
    }
}

impl candle_core::InplaceOp1 for SoftmaxInPlace {
    fn name(&self) -> &'static str {
        "omost-softmax"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let cols = layout.dims().last().copied().unwrap_or(1);
        softmax_rows(f32_slice_mut(storage, layout)?, cols, None);
        Ok(())
    }
}

impl candle_core::InplaceOp2 for SoftmaxInPlace {
    fn name(&self) -> &'static str {
        "omost-softmax-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let cols = l1.dims().last().copied().unwrap_or(1);
        let bias = f32_slice(s2, l2)?;
        if l2.dims().last() != Some(&cols) || bias.is_empty() {
            candle_core::bail!(
                "softmax: bias shape {:?} does not fit scores {:?}",
                l2.dims(),
                l1.dims()
            );
        }
        softmax_rows(f32_slice_mut(s1, l1)?, cols, Some(bias));
        Ok(())
    }
}

/// Softmax of each `cols`-long row of `data`; with `bias`, row `i` first gets bias row `i mod rows`.
pub fn softmax_rows(data: &mut [f32], cols: usize, bias: Option<&[f32]>) {
    use rayon::prelude::*;
    let bias_rows = bias.map(|b| b.len() / cols).unwrap_or(1).max(1);
    let simd = simd_available();
    data.par_chunks_mut(cols).enumerate().for_each(|(i, row)| {
        let bias_row = bias.map(|b| &b[(i % bias_rows) * cols..][..cols]);
        if simd {
            // SAFETY: `simd_available` checked that the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            unsafe {
                softmax_row_avx2(row, bias_row)
            }
        } else {
            softmax_row(row, bias_row)
        }
    });
}

fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn softmax_row_avx2(row: &mut [f32], bias: Option<&[f32]>) {
    softmax_row(row, bias)
}

/// Independent accumulators, so the reductions vectorise.
const LANES: usize = 16;

#[inline(always)]
fn softmax_row(row: &mut [f32], bias: Option<&[f32]>) {
    if let Some(b) = bias {
        for (v, b) in row.iter_mut().zip(b) {
            *v += b;
        }
    }
    let mut lane_max = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            lane_max[i] = if c[i] > lane_max[i] {
                c[i]
            } else {
                lane_max[i]
            };
        }
    }
    let max = chunks
        .remainder()
        .iter()
        .chain(&lane_max)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = exp_non_positive(*v - max);
    }
    let mut lane_sum = [0f32; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            lane_sum[i] += c[i];
        }
    }
    let sum: f32 = lane_sum.iter().chain(chunks.remainder()).sum();
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// `eˣ` for `x ≤ 0` (exactly 0 for −∞ and below −87.3), Cephes' polynomial, within 2 ulp of `f32::exp`;
/// branch-free so that it vectorises.
#[inline(always)]
fn exp_non_positive(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer without a libm call.
    const ROUND: f32 = 12_582_912.0;
    let xc = x.max(-87.3);
    let n = (xc * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5e-1;
    let y = p * r * r + r + 1.0;
    // 2ⁿ from the bits of n + 127 + 2²³ (an exact integer there), without a saturating float→int cast,
    // which does not vectorise.
    let biased = (n + (127.0 + 8_388_608.0))
        .to_bits()
        .wrapping_sub(0x4B00_0000);
    let two_n = f32::from_bits(biased << 23);
    if x < -87.3 {
        0.0
    } else {
        y * two_n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn exp_matches_libm_within_two_ulp() {
        let mut x = 0.0f32;
        while x > -87.0 {
            let (ours, libm) = (exp_non_positive(x), x.exp());
            assert!(
                (ours - libm).abs() <= 2.0 * f32::EPSILON * libm,
                "exp({x}) = {ours} vs {libm}"
            );
            x -= 0.0137;
        }
        assert_eq!(exp_non_positive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_non_positive(0.0), 1.0);
    }

    #[test]
    fn blocked_attention_equals_plain_attention() {
        let dev = Device::Cpu;
        let q = Tensor::randn(0f32, 1.0, (3, 1000, 8), &dev).unwrap();
        let k = Tensor::randn(0f32, 1.0, (3, 700, 8), &dev).unwrap();
        let v = Tensor::randn(0f32, 1.0, (3, 700, 8), &dev).unwrap();
        let mask: Vec<f32> = (0..1000 * 700)
            .map(|i| {
                if (i * 7) % 5 == 0 {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let bias = Tensor::from_vec(mask, (1000, 700), &dev).unwrap();
        for b in [None, Some(&bias)] {
            let ours = attention(&q, &k, &v, b).unwrap();
            let scores = q.matmul(&k.t().unwrap()).unwrap();
            let scores = match b {
                Some(b) => scores.broadcast_add(b).unwrap(),
                None => scores,
            };
            let reference = candle_nn::ops::softmax_last_dim(&scores)
                .unwrap()
                .matmul(&v)
                .unwrap();
            let d = (ours - reference)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap();
            assert!(d.to_scalar::<f32>().unwrap() < 1e-5);
        }
    }
}
