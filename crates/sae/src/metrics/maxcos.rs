//! Decoder geometry: each feature's largest |cosine| to any other feature, and its histogram
//! (the OrtSAE paper's density plot of "the maximum similarity between each decoder feature and
//! its closest counterpart").
//!
//! ```text
//! maxcos_i = max_{j ≠ i} |ŵ_iᵀ ŵ_j|
//! ```
//!
//! The absolute value treats an anti-parallel duplicate as a duplicate too; the OrtSAE penalty
//! uses squares, which agrees.

use crate::linalg::{matmul_nt_bias, normalised_rows};

/// `maxcos_i` for every decoder row of `w_dec` (`[m, d]`).
pub fn max_abs_cos(w_dec: &[f32], d: usize) -> Vec<f32> {
    let m = w_dec.len() / d;
    let unit = normalised_rows(w_dec, d);
    let gram = matmul_nt_bias(&unit, &unit, &vec![0.0; m], d);
    gram.chunks_exact(m)
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| c.abs())
                .fold(0.0f32, f32::max)
        })
        .collect()
}

/// Density histogram of values in [0, 1] over `bins` equal bins: `(bin centre, density)`.
pub fn histogram(values: &[f32], bins: usize) -> Vec<(f64, f64)> {
    let mut counts = vec![0usize; bins];
    for &v in values {
        let b = ((v.clamp(0.0, 1.0) as f64) * bins as f64) as usize;
        counts[b.min(bins - 1)] += 1;
    }
    let width = 1.0 / bins as f64;
    let n = values.len().max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(b, &c)| ((b as f64 + 0.5) * width, c as f64 / (n * width)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_cos_by_hand() {
        // Rows: e1, e2, (e1 + e2)/√2 scaled by 3, −e1.
        let w = [1.0, 0.0, 0.0, 1.0, 3.0, 3.0, -2.0, 0.0];
        let c = max_abs_cos(&w, 2);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!((c[0] - 1.0).abs() < 1e-6, "e1 vs −e1");
        assert!((c[1] - h).abs() < 1e-6);
        assert!((c[2] - h).abs() < 1e-6);
        assert!((c[3] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn histogram_integrates_to_one() {
        let h = histogram(&[0.0, 0.1, 0.55, 1.0, 0.99], 10);
        let area: f64 = h.iter().map(|(_, dens)| dens * 0.1).sum();
        assert!((area - 1.0).abs() < 1e-12);
        assert_eq!(h[9].1, 2.0 / (5.0 * 0.1));
    }
}
