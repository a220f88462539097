//! The host-side pieces of the forward pass: device matmuls on transposed weights, RMSNorm,
//! RoPE on adjacent pairs, causal grouped-query attention, SwiGLU (equations in the parent
//! module's doc).

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
    let half = head_dim / 2;
    let table: Vec<(f32, f32)> = (0..seq_len)
        .flat_map(|t| {
            (0..half).map(move |i| {
                let a = t as f64 * (base as f64).powf(-((2 * i) as f64) / head_dim as f64);
                (a.cos() as f32, a.sin() as f32)
            })
        })
        .collect();
    x.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
        let cs = &table[(r % seq_len) * half..(r % seq_len + 1) * half];
        for head in row.chunks_exact_mut(head_dim) {
            for (pair, &(c, s)) in head.chunks_exact_mut(2).zip(cs) {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
        }
    });
}

/// Causal grouped-query attention. `q` is `[B·T, H·d_h]`, `k` and `v` are `[B·T, K·d_h]`
/// (B sequences of T positions); returns `[B·T, H·d_h]`. Query head h reads key/value head
/// `h / (H / K)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_seq: usize,
    seq_len: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
) -> Vec<f32> {
    let (qw, kw) = (n_head * head_dim, n_kv_head * head_dim);
    let group = n_head / n_kv_head;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let heads: Vec<Vec<f32>> = (0..n_seq * n_head)
        .into_par_iter()
        .map(|bh| {
            let (b, h) = (bh / n_head, bh % n_head);
            let kv = h / group;
            let gather = |src: &[f32], width: usize, head: usize| -> Vec<f32> {
                (0..seq_len)
                    .flat_map(|t| {
                        let row = (b * seq_len + t) * width + head * head_dim;
                        src[row..row + head_dim].iter().copied()
                    })
                    .collect()
            };
            let (qh, kh, vh) = (gather(q, qw, h), gather(k, kw, kv), gather(v, kw, kv));
            let mut out = vec![0.0f32; seq_len * head_dim];
            let mut p = vec![0.0f32; seq_len];
            for t in 0..seq_len {
                let qt = &qh[t * head_dim..(t + 1) * head_dim];
                let mut max = f32::NEG_INFINITY;
                for (s, ps) in p[..=t].iter_mut().enumerate() {
                    let ks = &kh[s * head_dim..(s + 1) * head_dim];
                    *ps = dot(qt, ks) * scale;
                    max = max.max(*ps);
                }
                let mut sum = 0.0f32;
                for ps in &mut p[..=t] {
                    *ps = (*ps - max).exp();
                    sum += *ps;
                }
                let ot = &mut out[t * head_dim..(t + 1) * head_dim];
                for (s, ps) in p[..=t].iter().enumerate() {
                    let w = ps / sum;
                    for (o, vv) in ot.iter_mut().zip(&vh[s * head_dim..(s + 1) * head_dim]) {
                        *o += w * vv;
                    }
                }
            }
            out
        })
        .collect();
    let mut out = vec![0.0f32; n_seq * seq_len * qw];
    for (bh, head) in heads.iter().enumerate() {
        let (b, h) = (bh / n_head, bh % n_head);
        for t in 0..seq_len {
            let row = (b * seq_len + t) * qw + h * head_dim;
            out[row..row + head_dim].copy_from_slice(&head[t * head_dim..(t + 1) * head_dim]);
        }
    }
    out
}

/// `a · b` with eight independent partial sums, so that the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
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
    x.par_iter_mut()
        .zip(y.par_iter())
        .for_each(|(a, b)| *a += b);
}
