//! Squared maximum mean discrepancy with a Gaussian RBF kernel (unbiased U-statistic).
//!
//! ```text
//! MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/(nm) Σ k(x_i, y_j)
//! k(a, b) = exp(−‖a − b‖² / (2h²)),  h = median pairwise distance of the pooled sample
//! ```

use super::{check_pair, pair_sum, sq_dist};
use crate::data::Points;
use crate::error::{Error, Result};

/// MMD² with the median-heuristic bandwidth.
pub fn mmd_rbf(x: &Points, y: &Points) -> Result<f64> {
    check_pair(x, y, 2)?;
    mmd_rbf_with_bandwidth(x, y, median_bandwidth(x, y))
}

/// MMD² with bandwidth `h`.
pub fn mmd_rbf_with_bandwidth(x: &Points, y: &Points, h: f64) -> Result<f64> {
    check_pair(x, y, 2)?;
    if !(h > 0.0 && h.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "RBF bandwidth must be positive, got {h}"
        )));
    }
    let k = |d2: f64| (-d2 / (2.0 * h * h)).exp();
    let (n, m) = (x.len() as f64, y.len() as f64);
    let xx = pair_sum(x, x, true, k) / (n * (n - 1.0));
    let yy = pair_sum(y, y, true, k) / (m * (m - 1.0));
    let xy = pair_sum(x, y, false, k) / (n * m);
    Ok(xx + yy - 2.0 * xy)
}

/// Median pairwise distance among the first 1000 points of the pooled sample (x first), or 1
/// when all of them coincide.
pub fn median_bandwidth(x: &Points, y: &Points) -> f64 {
    let pooled: Vec<&[f32]> = x.rows().chain(y.rows()).take(1000).collect();
    let mut d: Vec<f64> = Vec::with_capacity(pooled.len() * pooled.len() / 2);
    for i in 0..pooled.len() {
        for j in i + 1..pooled.len() {
            d.push(sq_dist(pooled[i], pooled[j]).sqrt());
        }
    }
    if d.is_empty() {
        return 1.0;
    }
    let mid = d.len() / 2;
    let median = *d.select_nth_unstable_by(mid, f64::total_cmp).1;
    if median > 0.0 { median } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_value() {
        // x = {0, 1}, y = {0, 2} in 1-D, h = 1: k(d²) = exp(−d²/2).
        let x = Points::new(1, vec![0.0, 1.0], None).unwrap();
        let y = Points::new(1, vec![0.0, 2.0], None).unwrap();
        let k = |d2: f64| (-d2 / 2.0).exp();
        let xx = 2.0 * k(1.0) / 2.0;
        let yy = 2.0 * k(4.0) / 2.0;
        let xy = (k(0.0) + k(4.0) + k(1.0) + k(1.0)) / 4.0;
        let expected = xx + yy - 2.0 * xy;
        assert!((mmd_rbf_with_bandwidth(&x, &y, 1.0).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn median_of_known_distances() {
        // Pooled 1-D points {0, 1, 3}: distances 1, 3, 2 → median 2.
        let x = Points::new(1, vec![0.0, 1.0], None).unwrap();
        let y = Points::new(1, vec![3.0], None).unwrap();
        assert_eq!(median_bandwidth(&x, &y), 2.0);
        assert!(mmd_rbf_with_bandwidth(&x, &x, 0.0).is_err());
    }
}
