//! The few dense kernels an SAE needs, on row-major host slices.
//!
//! The encoder is the only dense product (`B × m × d` multiply-adds per step); everything after
//! the sparsifying activation touches `k` of the `m` latents per row (see [`crate::loss`]).

use rayon::prelude::*;

/// Samples per tile of the encoder product.
const TILE: usize = 8;

/// `⟨a, b⟩` with eight partial sums (vectorisable; the summation order is fixed, so the result
/// is deterministic).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `y ← y + α x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// `‖a‖²` in f64.
pub fn sq_norm(a: &[f32]) -> f64 {
    a.iter().map(|&v| (v as f64) * (v as f64)).sum()
}

/// `out[n, m] = x[n, d] · w[m, d]ᵀ + bias[m]`, parallel over tiles of rows of `x`.
///
/// Computed as `out_r = bias + Σ_t x[r, t] · wᵀ[t, :]`: contiguous length-m AXPYs (no
/// horizontal sums), each `wᵀ` row reused across a tile of samples while it sits in L1.
pub fn matmul_nt_bias(x: &[f32], w: &[f32], bias: &[f32], d: usize) -> Vec<f32> {
    let m = bias.len();
    let n = x.len() / d;
    let mut wt = vec![0.0f32; d * m];
    for (j, row) in w.chunks_exact(d).enumerate() {
        for (t, &v) in row.iter().enumerate() {
            wt[t * m + j] = v;
        }
    }
    let mut out = vec![0.0f32; n * m];
    out.par_chunks_mut(TILE * m)
        .zip(x.par_chunks(TILE * d))
        .for_each(|(out, xs)| tile(out, xs, &wt, bias, d));
    out
}

/// One tile of [`matmul_nt_bias`], with AVX2 + FMA when the CPU has them (the workspace builds
/// for baseline x86-64, so the wide kernel is chosen at run time).
fn tile(out: &mut [f32], xs: &[f32], wt: &[f32], bias: &[f32], d: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for were just detected.
            unsafe { tile_avx2(out, xs, wt, bias, d) };
            return;
        }
    }
    tile_portable(out, xs, wt, bias, d);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn tile_avx2(out: &mut [f32], xs: &[f32], wt: &[f32], bias: &[f32], d: usize) {
    tile_portable(out, xs, wt, bias, d);
}

#[inline(always)]
fn tile_portable(out: &mut [f32], xs: &[f32], wt: &[f32], bias: &[f32], d: usize) {
    let m = bias.len();
    let rows = xs.len() / d;
    for r in 0..rows {
        out[r * m..(r + 1) * m].copy_from_slice(bias);
    }
    for (t, wt_row) in wt.chunks_exact(m).enumerate() {
        for r in 0..rows {
            let a = xs[r * d + t];
            if a != 0.0 {
                for (o, w) in out[r * m..(r + 1) * m].iter_mut().zip(wt_row) {
                    *o += a * w;
                }
            }
        }
    }
}

/// Every row of `w` (`[m, d]`) scaled to unit norm (zero rows stay zero).
pub fn normalised_rows(w: &[f32], d: usize) -> Vec<f32> {
    let mut out = w.to_vec();
    out.par_chunks_mut(d).for_each(|row| {
        let n = dot(row, row).sqrt();
        if n > 0.0 {
            row.iter_mut().for_each(|v| *v /= n);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_matches_naive_loops() {
        let (n, m, d) = (19, 7, 13);
        let x: Vec<f32> = (0..n * d)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.1)
            .collect();
        let w: Vec<f32> = (0..m * d)
            .map(|i| ((i * 5 % 9) as f32 - 4.0) * 0.2)
            .collect();
        let b: Vec<f32> = (0..m).map(|j| j as f32 * 0.01).collect();
        let out = matmul_nt_bias(&x, &w, &b, d);
        for i in 0..n {
            for j in 0..m {
                let mut s = b[j] as f64;
                for t in 0..d {
                    s += (x[i * d + t] * w[j * d + t]) as f64;
                }
                assert!((out[i * m + j] as f64 - s).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn normalised_rows_have_unit_norm() {
        let w = vec![3.0, 4.0, 0.0, 0.0, 1.0, 1.0];
        let u = normalised_rows(&w, 2);
        assert_eq!(&u[..2], &[0.6, 0.8]);
        assert_eq!(&u[2..4], &[0.0, 0.0]);
        assert!((dot(&u[4..], &u[4..]) - 1.0).abs() < 1e-6);
    }
}
