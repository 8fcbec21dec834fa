//! Tensor helpers for the parity tests.

use candle_core::{Tensor, D};

/// The largest absolute element-wise difference between two tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(D::Minus1))
        .and_then(|d| d.to_scalar::<f32>())
        .expect("difference")
}
