//! Reconstruction metrics, accumulated over chunks (SAEBench `core` definitions, re-derived).
//!
//! ```text
//! FVU = Σ_b ‖x_b − x̂_b‖² / Σ_b ‖x_b − x̄‖²        (dataset-level variance)
//! EV  = 1 − FVU ;  MSE = Σ_b ‖x_b − x̂_b‖² / (n d)
//! L0  = mean number of active latents ;  dead = fraction of latents that never fired
//! ```
//!
//! `Σ‖x_b − x̄‖² = Σ‖x_b‖² − n‖x̄‖²` lets one pass accumulate everything (sums in f64).

use crate::codes::Codes;

/// Running sums.
#[derive(Debug, Clone)]
pub struct ReconStats {
    d: usize,
    n: usize,
    sum_x: Vec<f64>,
    sum_sq: f64,
    sum_err: f64,
    active: usize,
    fired: Vec<bool>,
}

/// Final reconstruction numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconMetrics {
    /// Vectors seen.
    pub n: usize,
    /// Fraction of variance unexplained.
    pub fvu: f64,
    /// Explained variance 1 − FVU.
    pub ev: f64,
    /// Mean squared error per coordinate.
    pub mse: f64,
    /// Mean active latents per vector.
    pub l0: f64,
    /// Fraction of latents that never fired.
    pub dead_fraction: f64,
}

impl ReconStats {
    /// Empty sums for width `d` and `m` latents.
    pub fn new(d: usize, m: usize) -> ReconStats {
        ReconStats {
            d,
            n: 0,
            sum_x: vec![0.0; d],
            sum_sq: 0.0,
            sum_err: 0.0,
            active: 0,
            fired: vec![false; m],
        }
    }

    /// Adds `[n, d]` inputs, their reconstructions, and the codes.
    pub fn add(&mut self, x: &[f32], recon: &[f32], codes: &Codes) {
        for (row, rrow) in x.chunks_exact(self.d).zip(recon.chunks_exact(self.d)) {
            for ((s, &a), &r) in self.sum_x.iter_mut().zip(row).zip(rrow) {
                *s += a as f64;
                self.sum_sq += (a as f64).powi(2);
                self.sum_err += (a as f64 - r as f64).powi(2);
            }
            self.n += 1;
        }
        self.active += codes.latents.len();
        for &j in &codes.latents {
            self.fired[j as usize] = true;
        }
    }

    /// The metrics.
    pub fn finish(&self) -> ReconMetrics {
        let n = self.n.max(1) as f64;
        let mean_sq: f64 = self.sum_x.iter().map(|s| (s / n).powi(2)).sum();
        let var = self.sum_sq - n * mean_sq;
        let fvu = self.sum_err / var.max(f64::MIN_POSITIVE);
        ReconMetrics {
            n: self.n,
            fvu,
            ev: 1.0 - fvu,
            mse: self.sum_err / (n * self.d as f64),
            l0: self.active as f64 / n,
            dead_fraction: self.fired.iter().filter(|f| !**f).count() as f64
                / self.fired.len().max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(n: usize, lat: &[u32]) -> Codes {
        let per = lat.len() / n;
        Codes {
            offsets: (0..=n).map(|b| b * per).collect(),
            latents: lat.to_vec(),
            values: vec![1.0; lat.len()],
        }
    }

    #[test]
    fn predicting_the_mean_leaves_all_variance_and_exact_recon_none() {
        let x = [1.0, 2.0, 3.0, 6.0, 5.0, 1.0];
        let mean = [3.0, 3.0, 3.0, 3.0, 3.0, 3.0];
        let mut s = ReconStats::new(2, 4);
        s.add(&x, &mean, &codes(3, &[0, 1, 0]));
        let r = s.finish();
        assert!((r.fvu - 1.0).abs() < 1e-12 && r.ev.abs() < 1e-12);
        assert!((r.l0 - 1.0).abs() < 1e-12);
        assert_eq!(r.dead_fraction, 0.5);
        let mut s = ReconStats::new(2, 4);
        s.add(&x, &x, &codes(3, &[0, 1, 2]));
        assert_eq!(s.finish().fvu, 0.0);
    }

    #[test]
    fn a_constant_offset_gives_the_closed_form_fvu_across_chunks() {
        // x̂ = x + c: FVU = n d c² / Σ‖x − x̄‖².
        let x = [1.0f32, 2.0, 3.0, 6.0, 5.0, 1.0, 0.0, 4.0];
        let c = 0.5f32;
        let shifted: Vec<f32> = x.iter().map(|v| v + c).collect();
        let mut s = ReconStats::new(2, 1);
        s.add(&x[..4], &shifted[..4], &codes(2, &[]));
        s.add(&x[4..], &shifted[4..], &codes(2, &[]));
        let mean = [(1.0 + 3.0 + 5.0 + 0.0) / 4.0, (2.0 + 6.0 + 1.0 + 4.0) / 4.0];
        let var: f64 = x
            .chunks(2)
            .map(|r| ((r[0] - mean[0]) as f64).powi(2) + ((r[1] - mean[1]) as f64).powi(2))
            .sum();
        let expect = 4.0 * 2.0 * 0.25 / var;
        assert!((s.finish().fvu - expect).abs() < 1e-9);
    }
}
