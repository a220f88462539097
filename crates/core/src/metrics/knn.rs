//! k-NN precision and recall (Kynkäänniemi et al. 2019, <https://arxiv.org/abs/1904.06991>).
//!
//! ```text
//! r_k(x)     = distance from x to its k-th nearest neighbour within its own set
//! precision  = 1/m Σ_j [ ∃ i: ‖y_j − x_i‖ ≤ r_k(x_i) ]    (real X, generated Y)
//! recall     = 1/n Σ_i [ ∃ j: ‖x_i − y_j‖ ≤ r_k(y_j) ]
//! ```

use rayon::prelude::*;

use super::{check_pair, sq_dist};
use crate::data::Points;
use crate::error::{Error, Result};

/// `(precision, recall)` of generated `fake` against `real`.
pub fn knn_precision_recall(real: &Points, fake: &Points, k: usize) -> Result<(f64, f64)> {
    check_pair(real, fake, 1)?;
    if k == 0 || k >= real.len() || k >= fake.len() {
        return Err(Error::InvalidInput(format!(
            "k = {k} needs 1 ≤ k < set sizes ({} and {})",
            real.len(),
            fake.len()
        )));
    }
    Ok((coverage(real, fake, k), coverage(fake, real, k)))
}

/// Fraction of `probe` inside the union of `support`'s k-NN balls.
fn coverage(support: &Points, probe: &Points, k: usize) -> f64 {
    let radii: Vec<f64> = (0..support.len())
        .into_par_iter()
        .map(|i| {
            let mut d: Vec<f64> = (0..support.len())
                .filter(|&j| j != i)
                .map(|j| sq_dist(support.row(i), support.row(j)))
                .collect();
            *d.select_nth_unstable_by(k - 1, f64::total_cmp).1
        })
        .collect();
    let inside = (0..probe.len())
        .into_par_iter()
        .filter(|&j| (0..support.len()).any(|i| sq_dist(probe.row(j), support.row(i)) <= radii[i]))
        .count();
    inside as f64 / probe.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(cx: f32, n: usize) -> Points {
        Points::new(
            2,
            (0..n)
                .flat_map(|i| [cx + 0.01 * i as f32, 0.02 * (i % 3) as f32])
                .collect(),
            None,
        )
        .unwrap()
    }

    #[test]
    fn identical_and_disjoint_sets() {
        let a = cluster(0.0, 20);
        assert_eq!(knn_precision_recall(&a, &a, 3).unwrap(), (1.0, 1.0));
        assert_eq!(
            knn_precision_recall(&a, &cluster(100.0, 20), 3).unwrap(),
            (0.0, 0.0)
        );
        assert!(knn_precision_recall(&a, &a, 20).is_err());
    }
}
