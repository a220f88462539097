//! k-NN precision and recall (Kynkäänniemi et al. 2019, <https://arxiv.org/abs/1904.06991>):
//! each set's support is estimated as the union of balls around its samples, each reaching to
//! the sample's k-th nearest neighbour within the set.
//!
//! ```text
//! r_k(x_i)   = distance from x_i to its k-th nearest other sample of its own set
//! precision  = 1/m Σ_j [ ∃ i: ‖y_j − x_i‖ ≤ r_k(x_i) ]      (real X, generated Y)
//! recall     = 1/n Σ_i [ ∃ j: ‖x_i − y_j‖ ≤ r_k(y_j) ]
//! ```
//!
//! Use it when a single distance hides whether a generator fails by producing implausible
//! samples (low precision) or by missing part of the data (low recall). Both lie in [0, 1]
//! and depend on k (the paper uses k = 3) and on the sample sizes, so compare runs only at
//! equal k, n and m. Cost O((n + m)² d), parallel over samples.

use rayon::prelude::*;

use super::{Columns, check_pair};
use crate::data::Points;
use crate::error::{Error, Result};

/// `(precision, recall)` of `fake` against `real` with k-NN balls of neighbour rank `k`,
/// which must satisfy 1 ≤ k < both set sizes.
pub fn knn_precision_recall(real: &Points, fake: &Points, k: usize) -> Result<(f64, f64)> {
    check_pair(real, fake, 1, "k-NN precision/recall")?;
    if k == 0 || k >= real.len() || k >= fake.len() {
        return Err(Error::InvalidInput(format!(
            "k-NN precision/recall: k = {k} must be at least 1 and below both set sizes \
             ({} real, {} fake)",
            real.len(),
            fake.len()
        )));
    }
    let (real, fake) = (Columns::of(real), Columns::of(fake));
    Ok((coverage(&real, &fake, k), coverage(&fake, &real, k)))
}

/// The share of `probe` inside the union of `support`'s k-NN balls.
fn coverage(support: &Columns, probe: &Columns, k: usize) -> f64 {
    // Squared radii: the distances from a sample to its whole set include its own 0, so the
    // k-th nearest other sample is at sorted position k (0-based), duplicates included.
    let sq_radii: Vec<f64> = (0..support.len)
        .into_par_iter()
        .map_init(Vec::new, |dists, i| {
            support.sq_dists(i, support, 0, dists);
            *dists.select_nth_unstable_by(k, f64::total_cmp).1
        })
        .collect();
    let inside = (0..probe.len)
        .into_par_iter()
        .map_init(Vec::new, |dists, j| {
            probe.sq_dists(j, support, 0, dists);
            dists.iter().zip(&sq_radii).any(|(d, r)| d <= r)
        })
        .filter(|&covered| covered)
        .count();
    inside as f64 / probe.len as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::line;

    fn cluster(centre: f32, n: usize) -> Points {
        let data = (0..n)
            .flat_map(|i| [centre + 0.01 * i as f32, 0.02 * (i % 3) as f32])
            .collect();
        Points::new(2, data, None).unwrap()
    }

    #[test]
    fn identical_sets_are_fully_covered() {
        let a = cluster(0.0, 20);
        assert_eq!(knn_precision_recall(&a, &a, 3).unwrap(), (1.0, 1.0));
    }

    #[test]
    fn far_apart_clusters_are_not_covered() {
        let (a, b) = (cluster(0.0, 20), cluster(100.0, 20));
        assert_eq!(knn_precision_recall(&a, &b, 3).unwrap(), (0.0, 0.0));
    }

    #[test]
    fn hand_computed_case() {
        // Real {0, 1, 2, 3} with k = 1: every radius is 1, so fake 0.5 is covered and fake 10
        // is not: precision 1/2. Fake {0.5, 10}: both radii are 9.5, which reach every real
        // sample from 0.5: recall 1.
        let (real, fake) = (line(&[0.0, 1.0, 2.0, 3.0]), line(&[0.5, 10.0]));
        assert_eq!(knn_precision_recall(&real, &fake, 1).unwrap(), (0.5, 1.0));
        // With k = 1 the radius is the distance to the nearest *other* sample, even when it
        // coincides: real {0, 0, 5} has radii 0, 0, 5. Fake 0 (on a zero-radius ball's edge)
        // and 4 are covered, −0.1 is not.
        let real = line(&[0.0, 0.0, 5.0]);
        let fake = line(&[0.0, -0.1, 4.0]);
        let (precision, _) = knn_precision_recall(&real, &fake, 1).unwrap();
        assert_eq!(precision, 2.0 / 3.0);
    }

    #[test]
    fn rejects_bad_inputs() {
        let a = cluster(0.0, 5);
        for k in [0, 5, 9] {
            let msg = knn_precision_recall(&a, &a, k).unwrap_err().to_string();
            assert!(msg.contains(&format!("k = {k}")), "{msg}");
        }
        assert!(knn_precision_recall(&a, &cluster(0.0, 3), 3).is_err());
        assert!(knn_precision_recall(&a, &line(&[0.0; 5]), 2).is_err());
    }
}
