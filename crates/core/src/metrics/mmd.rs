//! Maximum mean discrepancy (Gretton et al. 2012) with a Gaussian RBF kernel: the distance
//! between the two distributions' mean embeddings in the kernel's feature space.
//!
//! ```text
//! MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j)
//!          − 2/(nm) Σ_{i,j} k(x_i, y_j)
//! k(a, b) = exp(−‖a − b‖² / (2h²))
//! h       = median pairwise distance of (up to 1000 points of) the pooled sample
//! ```
//!
//! The unbiased estimator has expectation exactly MMD², so it can be slightly negative when
//! the distributions agree. The RBF kernel is characteristic (MMD = 0 only for equal
//! distributions) and looks mostly at structure on the scale of h, which makes MMD more
//! sensitive than the energy distance to missing or spurious small modes. Cost O((n + m)² d).

use super::{Columns, Estimator, check_pair, kernel_discrepancy};
use crate::data::Points;
use crate::error::{Error, Result};

/// At most this many pooled points enter the median heuristic (≈ 500 000 pairs).
const BANDWIDTH_POOL: usize = 1000;

/// Unbiased MMD² with the median-heuristic bandwidth [`median_bandwidth`].
pub fn mmd_rbf(x: &Points, y: &Points) -> Result<f64> {
    check_pair(x, y, 2, "MMD")?;
    mmd_rbf_with_bandwidth(x, y, median_bandwidth(x, y))
}

/// Unbiased MMD² with bandwidth `h > 0`; needs at least 2 samples per set.
pub fn mmd_rbf_with_bandwidth(x: &Points, y: &Points, h: f64) -> Result<f64> {
    check_pair(x, y, 2, "MMD")?;
    let scale = -0.5 / (h * h);
    if !(h > 0.0 && h.is_finite() && scale.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "MMD: the RBF bandwidth must be positive and finite with a nonzero square, got {h}"
        )));
    }
    Ok(kernel_discrepancy(
        x,
        y,
        |sq_dist| (scale * sq_dist).exp(),
        Estimator::Unbiased,
    ))
}

/// The median heuristic: the median pairwise Euclidean distance among a deterministic pool
/// of at most 1000 points, the first ones of each set (half from each where both have
/// enough, so that both distributions shape the bandwidth).
///
/// Falls back to the mean pairwise distance when more than half of the pooled pairs
/// coincide (median 0), and to 1 when all pooled points coincide (any bandwidth then gives
/// the same MMD). Returns NaN for sets that cannot be compared (mismatched or zero
/// dimension, non-finite values, fewer than two points in all), which
/// [`mmd_rbf_with_bandwidth`] rejects.
pub fn median_bandwidth(x: &Points, y: &Points) -> f64 {
    if check_pair(x, y, 0, "MMD").is_err() || x.len() + y.len() < 2 {
        return f64::NAN;
    }
    let from_x = x
        .len()
        .min((BANDWIDTH_POOL / 2).max(BANDWIDTH_POOL.saturating_sub(y.len())));
    let from_y = y.len().min(BANDWIDTH_POOL - from_x);
    let pooled = Points {
        d: x.d,
        data: [&x.data[..from_x * x.d], &y.data[..from_y * y.d]].concat(),
        labels: None,
    };
    let pool = Columns::of(&pooled);
    let mut dists = Vec::with_capacity(pool.len * (pool.len - 1) / 2);
    let mut row = Vec::new();
    for i in 0..pool.len {
        pool.sq_dists(i, &pool, i + 1, &mut row);
        dists.extend(row.iter().map(|d| d.sqrt()));
    }
    let count = dists.len();
    let (below, &mut upper, _) = dists.select_nth_unstable_by(count / 2, f64::total_cmp);
    let median = if count % 2 == 0 {
        let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    } else {
        upper
    };
    if median > 0.0 {
        return median;
    }
    let mean = dists.iter().sum::<f64>() / dists.len() as f64;
    if mean > 0.0 { mean } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::line;

    #[test]
    fn fixed_bandwidth_matches_hand_computation() {
        // x = {0, 1}, y = {1, 3}, h = 1, so k = exp(−d²/2):
        // within x: k(1) = e^{−1/2}; within y: k(4) = e^{−2};
        // cross: d = 1, 3, 0, 2 → (e^{−1/2} + e^{−9/2} + 1 + e^{−2}) / 4.
        let (x, y) = (line(&[0.0, 1.0]), line(&[1.0, 3.0]));
        let e = f64::exp;
        let expected = e(-0.5) + e(-2.0) - 2.0 * (e(-0.5) + e(-4.5) + 1.0 + e(-2.0)) / 4.0;
        let got = mmd_rbf_with_bandwidth(&x, &y, 1.0).unwrap();
        assert!((got - expected).abs() < 1e-15, "{got} vs {expected}");
        // h = 2 divides every exponent by 4.
        let expected = e(-0.125) + e(-0.5) - 2.0 * (e(-0.125) + e(-1.125) + 1.0 + e(-0.5)) / 4.0;
        assert!((mmd_rbf_with_bandwidth(&x, &y, 2.0).unwrap() - expected).abs() < 1e-15);
    }

    #[test]
    fn median_heuristic_on_known_distances() {
        // Pooled {0, 1, 3}: distances 1, 3, 2 → median 2.
        assert_eq!(median_bandwidth(&line(&[0.0, 1.0]), &line(&[3.0])), 2.0);
        // Pooled {0, 1, 3, 7}: distances 1, 3, 7, 2, 6, 4 → median (3 + 4) / 2.
        assert_eq!(
            median_bandwidth(&line(&[0.0, 1.0]), &line(&[3.0, 7.0])),
            3.5
        );
        // Pooled {0, 0, 0, 0, 4}: 6 of the 10 pairs coincide, so the median is 0 and the mean
        // distance 4·4 / 10 is used.
        assert_eq!(
            median_bandwidth(&line(&[0.0, 0.0, 0.0]), &line(&[0.0, 4.0])),
            1.6
        );
        assert_eq!(median_bandwidth(&line(&[2.0]), &line(&[2.0])), 1.0);
        assert!(
            median_bandwidth(
                &line(&[0.0, 1.0]),
                &Points::new(2, vec![0.0; 2], None).unwrap()
            )
            .is_nan()
        );
    }

    #[test]
    fn bandwidth_pool_takes_both_sets() {
        // 1500 points at 0 and 1500 at 10. The first 1000 pooled points would all be 0; the
        // balanced pool (500 + 500) has 250 000 pairs at distance 10 and 249 500 at 0.
        let (x, y) = (line(&[0.0; 1500]), line(&[10.0; 1500]));
        assert_eq!(median_bandwidth(&x, &y), 10.0);
        // Within-set kernels are all 1, cross ones e^{−100/200}.
        let expected = 2.0 - 2.0 * (-0.5f64).exp();
        assert!((mmd_rbf(&x, &y).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_inputs() {
        let (x, y) = (line(&[0.0, 1.0]), line(&[1.0, 3.0]));
        for h in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-200] {
            assert!(mmd_rbf_with_bandwidth(&x, &y, h).is_err());
        }
        let plane = Points::new(2, vec![0.0; 4], None).unwrap();
        assert!(mmd_rbf(&x, &plane).is_err());
        assert!(mmd_rbf(&x, &line(&[1.0])).is_err());
    }
}
