//! Sample-based distances between two point sets: how far a generated sample is from the data.
//! These are the laptop-scale stand-ins for FID that every generative experiment reports.
//!
//! ```text
//! energy distance  E(X, Y) = 2 E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖
//! MMD² (RBF)       E k(X, X') + E k(Y, Y') − 2 E k(X, Y),   k(a, b) = exp(−‖a − b‖² / 2h²)
//! sliced W₂²       E_θ W₂²(θᵀX, θᵀY),   θ uniform on the unit sphere
//! Fréchet          ‖μ_X − μ_Y‖² + Tr(Σ_X + Σ_Y − 2 (Σ_X^{1/2} Σ_Y Σ_X^{1/2})^{1/2})
//! k-NN precision   share of Y inside the union of X's k-NN balls   (recall: X and Y swapped)
//! ```
//!
//! When to use which:
//! - [`energy_distance`]: the default two-sample distance. No tuning parameter, zero exactly
//!   when the distributions agree, sensitive to both location and shape.
//! - [`mmd_rbf`]: the same kind of statistic with a local kernel, so more sensitive to
//!   fine structure (missed modes) at the bandwidth's scale.
//! - [`sliced_wasserstein`]: near-linear cost, for large sets or when a transport-style
//!   distance in the data's own units is wanted.
//! - [`frechet_points`]: compares only means and covariances; use on features (FD-digits), as
//!   FID does, not on raw low-dimensional points where it misses mixture structure.
//! - [`knn_precision_recall`]: separates fidelity (precision) from coverage (recall) when a
//!   single number hides which one failed.
//!
//! Energy distance and MMD share one estimator: the energy distance is the MMD for the kernel
//! −‖a − b‖. Pair loops run on rayon over rows; each row's sum is computed sequentially and the
//! row sums are added in row order, so results are bit-identical for any number of threads.

pub mod correlation;
pub mod digit_classifier;
pub mod energy;
pub mod frechet;
pub mod knn;
pub mod mmd;
pub mod swd;

pub use digit_classifier::DigitClassifier;
pub use energy::{energy_distance, energy_distance_biased};
pub use frechet::{Gaussian, frechet_distance, frechet_points};
pub use knn::knn_precision_recall;
pub use mmd::{median_bandwidth, mmd_rbf, mmd_rbf_with_bandwidth};
pub use swd::sliced_wasserstein;

use rayon::prelude::*;

use crate::data::Points;
use crate::error::{Error, Result};

/// Checks that `points` is well formed (a positive dimension that divides the data), holds only
/// finite values and has at least `min_samples` rows. `metric` names the caller in messages.
fn check_set(points: &Points, min_samples: usize, metric: &str) -> Result<()> {
    if points.d == 0 || !points.data.len().is_multiple_of(points.d) {
        return Err(Error::InvalidInput(format!(
            "{metric}: {} values do not form rows of dimension {}",
            points.data.len(),
            points.d
        )));
    }
    if let Some(i) = points.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "{metric}: value {} at row {}, column {} is not finite",
            points.data[i],
            i / points.d + 1,
            i % points.d + 1
        )));
    }
    if points.len() < min_samples {
        return Err(Error::InvalidInput(format!(
            "{metric} needs at least {min_samples} samples per set, got {}",
            points.len()
        )));
    }
    Ok(())
}

/// [`check_set`] on both sets, plus equal dimensions.
fn check_pair(x: &Points, y: &Points, min_samples: usize, metric: &str) -> Result<()> {
    check_set(x, min_samples, metric)?;
    check_set(y, min_samples, metric)?;
    if x.d != y.d {
        return Err(Error::InvalidInput(format!(
            "{metric}: point sets differ in dimension ({} vs {})",
            x.d, y.d
        )));
    }
    Ok(())
}

/// A point set stored coordinate-major in f64, so that the squared distances from one point
/// to a run of others are computed by loops over contiguous memory that the compiler
/// vectorises.
struct Columns {
    len: usize,
    /// `coords[k * len + i]` is coordinate `k` of point `i`.
    coords: Vec<f64>,
}

impl Columns {
    /// `points` transposed to f64 columns.
    fn of(points: &Points) -> Columns {
        let len = points.len();
        let mut coords = vec![0.0; points.d * len];
        for (i, row) in points.rows().enumerate() {
            for (k, &v) in row.iter().enumerate() {
                coords[k * len + i] = f64::from(v);
            }
        }
        Columns { len, coords }
    }

    /// Overwrites `out` with ‖self_i − other_j‖² for `j` in `from..other.len`.
    fn sq_dists(&self, i: usize, other: &Columns, from: usize, out: &mut Vec<f64>) {
        out.clear();
        out.resize(other.len - from, 0.0);
        // `.max(1)`: an empty set has no rows, and a step or chunk of 0 would panic.
        let own = self.coords.iter().skip(i).step_by(self.len.max(1));
        for (&a, column) in own.zip(other.coords.chunks_exact(other.len.max(1))) {
            for (acc, &b) in out.iter_mut().zip(&column[from..]) {
                let diff = a - b;
                *acc += diff * diff;
            }
        }
    }
}

/// Sums a slice in a fixed order with eight independent accumulators, which pipelines (and
/// vectorises) where one running sum would wait on every addition.
fn lane_sum(values: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let chunks = values.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// Σ_i Σ_{j ≥ first_partner(i)} f(‖a_i − b_j‖²), parallel over rows `i`, deterministic.
fn row_sums(
    a: &Columns,
    b: &Columns,
    first_partner: impl Fn(usize) -> usize + Sync,
    f: impl Fn(f64) -> f64 + Sync,
) -> f64 {
    let per_row: Vec<f64> = (0..a.len)
        .into_par_iter()
        .map_init(Vec::new, |buf, i| {
            a.sq_dists(i, b, first_partner(i), buf);
            buf.iter_mut().for_each(|v| *v = f(*v));
            lane_sum(buf)
        })
        .collect();
    per_row.iter().sum()
}

/// Whether within-set means exclude (U-statistic, unbiased) or include (V-statistic) the
/// diagonal pairs i = j.
#[derive(Clone, Copy)]
enum Estimator {
    Unbiased,
    Biased,
}

/// The kernel two-sample statistic for a kernel given as a function of squared distance:
///
/// ```text
/// mean_{i≠j} k(x_i, x_j) + mean_{i≠j} k(y_i, y_j) − 2 mean_{i,j} k(x_i, y_j)
/// ```
///
/// (with the diagonal included in the within-set means for [`Estimator::Biased`]). Callers
/// have validated the sets, with at least 2 samples each for the unbiased form.
fn kernel_discrepancy(
    x: &Points,
    y: &Points,
    kernel: impl Fn(f64) -> f64 + Sync,
    estimator: Estimator,
) -> f64 {
    let (cx, cy) = (Columns::of(x), Columns::of(y));
    let within_mean = |c: &Columns| {
        // Σ_{i≠j} = 2 Σ_{i<j}: the kernel is symmetric.
        let off_diagonal = 2.0 * row_sums(c, c, |i| i + 1, &kernel);
        let n = c.len as f64;
        match estimator {
            Estimator::Unbiased => off_diagonal / (n * (n - 1.0)),
            Estimator::Biased => (off_diagonal + n * kernel(0.0)) / (n * n),
        }
    };
    let cross_mean = row_sums(&cx, &cy, |_| 0, &kernel) / (cx.len as f64 * cy.len as f64);
    within_mean(&cx) + within_mean(&cy) - 2.0 * cross_mean
}

/// Unlabelled points of dimension `d` from row-major `values`, for the metrics' tests.
#[cfg(test)]
pub(crate) fn points(d: usize, values: &[f32]) -> Points {
    Points::new(d, values.to_vec(), None).unwrap()
}

/// Unlabelled 1-D points, for the metrics' tests.
#[cfg(test)]
pub(crate) fn line(values: &[f32]) -> Points {
    points(1, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_give_squared_distances() {
        let p = points(2, &[0.0, 0.0, 3.0, 4.0, 1.0, 1.0]);
        let c = Columns::of(&p);
        let mut out = Vec::new();
        c.sq_dists(0, &c, 0, &mut out);
        assert_eq!(out, vec![0.0, 25.0, 2.0]);
        c.sq_dists(1, &c, 2, &mut out);
        assert_eq!(out, vec![13.0]);
    }

    #[test]
    fn lane_sum_matches_exact_sum() {
        let v: Vec<f64> = (1..=21).map(f64::from).collect();
        assert_eq!(lane_sum(&v), 231.0);
        assert_eq!(lane_sum(&[]), 0.0);
    }

    #[test]
    fn validation_rejects_bad_sets() {
        let a = points(2, &[0.0, 1.0, 2.0, 3.0]);
        let b = points(1, &[0.0, 1.0]);
        let msg = check_pair(&a, &b, 1, "test").unwrap_err().to_string();
        assert!(msg.contains("dimension (2 vs 1)"), "{msg}");
        let msg = check_pair(&a, &a, 3, "test").unwrap_err().to_string();
        assert!(msg.contains("at least 3 samples"), "{msg}");
        // Public fields can bypass `Points::new`; that must not reach a division by zero.
        let zero_d = Points {
            d: 0,
            data: vec![],
            labels: None,
        };
        assert!(check_set(&zero_d, 1, "test").is_err());
        let nan = Points {
            d: 1,
            data: vec![0.0, f32::NAN],
            labels: None,
        };
        assert!(check_set(&nan, 1, "test").is_err());
        assert!(check_pair(&a, &a, 2, "test").is_ok());
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let data: Vec<f32> = (0..600).map(|i| ((i * 37) % 101) as f32 / 7.0).collect();
        let (x, y) = (points(3, &data[..300]), points(3, &data[300..]));
        let with_threads = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| kernel_discrepancy(&x, &y, f64::sqrt, Estimator::Unbiased))
        };
        assert_eq!(with_threads(1).to_bits(), with_threads(3).to_bits());
    }
}
