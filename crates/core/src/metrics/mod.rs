//! Sample-based distances between point sets (the laptop-scale stand-ins for FID) and the
//! feature-space metrics used on digits.
//!
//! ```text
//! energy distance   E(X, Y) = 2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖
//! MMD² (RBF)        E k(X, X') + E k(Y, Y') − 2 E k(X, Y),  k(a, b) = exp(−‖a − b‖² / 2h²)
//! sliced W₂²        E_θ W₂²(θᵀX, θᵀY),  θ uniform on the unit sphere
//! Fréchet           ‖μ_X − μ_Y‖² + Tr(Σ_X + Σ_Y − 2 (Σ_X^{1/2} Σ_Y Σ_X^{1/2})^{1/2})
//! k-NN precision    fraction of Y inside some X-sample's k-NN ball (recall: roles swapped)
//! ```
//!
//! Pair loops run on rayon; per-row sums are combined in a fixed order, so results do not
//! depend on the thread count.

mod energy;
mod frechet;
mod knn;
mod mmd;
mod swd;

pub use energy::{energy_distance, energy_distance_biased};
pub use frechet::{Gaussian, frechet_distance, frechet_points};
pub use knn::knn_precision_recall;
pub use mmd::{median_bandwidth, mmd_rbf, mmd_rbf_with_bandwidth};
pub use swd::sliced_wasserstein;

use rayon::prelude::*;

use crate::data::Points;
use crate::error::{Error, Result};

/// Checks that two sets are comparable and each has at least `min` samples.
fn check_pair(x: &Points, y: &Points, min: usize) -> Result<()> {
    if x.d != y.d {
        return Err(Error::InvalidInput(format!(
            "point sets differ in dimension: {} vs {}",
            x.d, y.d
        )));
    }
    if x.len() < min || y.len() < min {
        return Err(Error::InvalidInput(format!(
            "need at least {min} samples per set, got {} and {}",
            x.len(),
            y.len()
        )));
    }
    Ok(())
}

/// ‖a − b‖², accumulated in f64.
fn sq_dist(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(p, q)| ((p - q) as f64).powi(2)).sum()
}

/// Σ_i Σ_j f(‖x_i − y_j‖²) over all pairs (or over i ≠ j when `distinct`, for x = y), with
/// rows summed in parallel and combined in order.
fn pair_sum(x: &Points, y: &Points, distinct: bool, f: impl Fn(f64) -> f64 + Sync) -> f64 {
    let per_row: Vec<f64> = (0..x.len())
        .into_par_iter()
        .map(|i| {
            let xi = x.row(i);
            let mut s = 0.0;
            for j in 0..y.len() {
                if !(distinct && i == j) {
                    s += f(sq_dist(xi, y.row(j)));
                }
            }
            s
        })
        .collect();
    per_row.iter().sum()
}
