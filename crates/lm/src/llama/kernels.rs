//! The host-side pieces of the forward pass: device matmuls on transposed weights, RMSNorm,
//! RoPE on adjacent pairs, causal grouped-query attention, SwiGLU (equations in the parent
//! module's doc).

use std::ops::Range;

use genlab_core::burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use genlab_core::tensor::to_vec;

/// `[rows, cols]` row-major values as a `[cols, rows]` tensor (a linear map's `Wᵀ`).
pub(super) fn transposed(w: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    let mut t = vec![0.0f32; w.len()];
    t.par_chunks_mut(rows).enumerate().for_each(|(c, col)| {
        for (r, v) in col.iter_mut().enumerate() {
            *v = w[r * cols + c];
        }
    });
    Tensor::from_data(TensorData::new(t, [cols, rows]), device)
}

/// `x [n, k] · w [k, m]` on the device.
pub(super) fn matmul(x: Vec<f32>, n: usize, w: &Tensor<2>, device: &Device) -> Vec<f32> {
    let [k, _] = w.dims();
    let xt = Tensor::<2>::from_data(TensorData::new(x, [n, k]), device);
    to_vec(xt.matmul(w.clone()))
}

/// `y = x / √(mean(x²) + ε) ⊙ g`, row by row.
pub(super) fn rms_norm(x: &[f32], g: &[f32], eps: f32) -> Vec<f32> {
    let d = g.len();
    let mut y = vec![0.0f32; x.len()];
    y.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .for_each(|(yr, xr)| {
            let ms = xr.iter().map(|v| (v * v) as f64).sum::<f64>() / d as f64;
            let s = (1.0 / (ms + eps as f64).sqrt()) as f32;
            for ((y, x), g) in yr.iter_mut().zip(xr).zip(g) {
                *y = x * s * g;
            }
        });
    y
}

/// RoPE on adjacent pairs, in place: `x` is `[rows, width]` (width = heads · d_h) and row r
/// sits at position `r mod seq_len`.
pub(super) fn rope(x: &mut [f32], width: usize, seq_len: usize, head_dim: usize, base: f32) {
    let table = rope_table(0..seq_len, head_dim, base);
    let half = head_dim / 2;
    x.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
        let t = r % seq_len;
        rotate(row, &table[t * half..(t + 1) * half], head_dim);
    });
}

/// RoPE for the rows of one sequence at positions `start, start + 1, …` (a continuation of a
/// cached prefix); the same angles as [`rope`].
pub(super) fn rope_from(x: &mut [f32], width: usize, start: usize, head_dim: usize, base: f32) {
    let rows = x.len() / width;
    let table = rope_table(start..start + rows, head_dim, base);
    let half = head_dim / 2;
    x.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
        rotate(row, &table[r * half..(r + 1) * half], head_dim);
    });
}

/// `(cos, sin)` of `t · base^{−2i/d_h}` for each position t and i < d_h/2.
fn rope_table(positions: Range<usize>, head_dim: usize, base: f32) -> Vec<(f32, f32)> {
    let half = head_dim / 2;
    positions
        .flat_map(|t| {
            (0..half).map(move |i| {
                let a = t as f64 * (base as f64).powf(-((2 * i) as f64) / head_dim as f64);
                (a.cos() as f32, a.sin() as f32)
            })
        })
        .collect()
}

/// Rotates each head of `row` by the angles `cs`.
fn rotate(row: &mut [f32], cs: &[(f32, f32)], head_dim: usize) {
    for head in row.chunks_exact_mut(head_dim) {
        for (pair, &(c, s)) in head.chunks_exact_mut(2).zip(cs) {
            let (a, b) = (pair[0], pair[1]);
            pair[0] = a * c - b * s;
            pair[1] = a * s + b * c;
        }
    }
}

/// `a · b` with eight independent partial sums, so that the compiler can vectorise it.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_inline(a, b)
}

#[inline(always)]
pub(super) fn dot_inline(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `SiLU(gate) ⊙ up`, from the fused `[rows, 2 d_ff]` projection.
pub(super) fn swiglu(gate_up: &[f32], d_ff: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; gate_up.len() / 2];
    out.par_chunks_mut(d_ff)
        .zip(gate_up.par_chunks(2 * d_ff))
        .for_each(|(o, gu)| {
            let (g, u) = gu.split_at(d_ff);
            for ((o, g), u) in o.iter_mut().zip(g).zip(u) {
                *o = g / (1.0 + (-g).exp()) * u;
            }
        });
    out
}

/// `x += y`, element-wise.
pub(super) fn add(x: &mut [f32], y: &[f32]) {
    if x.len() < 1 << 14 {
        x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
    } else {
        x.par_iter_mut()
            .zip(y.par_iter())
            .for_each(|(a, b)| *a += b);
    }
}
