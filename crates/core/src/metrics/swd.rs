//! Sliced Wasserstein-2: the squared 1-D W₂ between projections, averaged over random unit
//! directions. In 1-D, W₂² between empirical measures is the mean squared difference of the
//! quantile functions; sets of different sizes are compared at a common grid of max(n, m)
//! quantile levels.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::check_pair;
use crate::data::Points;
use crate::error::{Error, Result};

/// Squared sliced Wasserstein-2 over `n_projections` seeded directions.
pub fn sliced_wasserstein(x: &Points, y: &Points, n_projections: usize, seed: u64) -> Result<f64> {
    check_pair(x, y, 1)?;
    if n_projections == 0 {
        return Err(Error::InvalidInput(
            "sliced Wasserstein needs at least one projection".into(),
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0.0;
    for _ in 0..n_projections {
        let mut theta: Vec<f64> = (0..x.d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let norm = theta
            .iter()
            .map(|t| t * t)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        theta.iter_mut().for_each(|t| *t /= norm);
        let project = |p: &Points| -> Vec<f64> {
            let mut v: Vec<f64> = p
                .rows()
                .map(|r| r.iter().zip(&theta).map(|(a, t)| *a as f64 * t).sum())
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        total += w2_sorted(&project(x), &project(y));
    }
    Ok(total / n_projections as f64)
}

/// W₂² between two sorted 1-D samples via their quantile functions on a common grid.
fn w2_sorted(a: &[f64], b: &[f64]) -> f64 {
    let k = a.len().max(b.len());
    let q = |s: &[f64], i: usize| s[((i as f64 + 0.5) / k as f64 * s.len() as f64) as usize];
    (0..k).map(|i| (q(a, i) - q(b, i)).powi(2)).sum::<f64>() / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_in_one_dimension_is_its_square() {
        let x = Points::new(1, vec![0.0, 1.0, 5.0, -2.0], None).unwrap();
        let y = Points::new(1, x.data.iter().map(|v| v + 0.5).collect(), None).unwrap();
        assert!((sliced_wasserstein(&x, &y, 8, 1).unwrap() - 0.25).abs() < 1e-12);
        assert!(sliced_wasserstein(&x, &x, 8, 1).unwrap().abs() < 1e-15);
        assert!(sliced_wasserstein(&x, &y, 0, 1).is_err());
    }

    #[test]
    fn unequal_sizes_of_the_same_quantiles() {
        let a = Points::new(1, vec![0.0, 1.0], None).unwrap();
        let b = Points::new(1, vec![0.0, 0.0, 1.0, 1.0], None).unwrap();
        assert!(sliced_wasserstein(&a, &b, 3, 0).unwrap().abs() < 1e-15);
    }
}
