//! Judging generated networks against the trained zoo, with no fine-tuning.
//!
//! ```text
//! accuracy        test accuracy of each network; mean ± std per set
//! above           fraction of generated networks with accuracy > mean_zoo − 2 std_zoo
//! novelty         d(g) = min_i ‖align(g) − z_i‖₂ over the aligned training zoo z, against the
//!                 same distance for held-out trained networks (a copy of a training network
//!                 has d = 0: memorisation is a failure)
//! disagreement    mean over pairs of the fraction of test digits two networks label differently
//! error IoU       mean over pairs of |E_a ∩ E_b| / |E_a ∪ E_b|, E = the misclassified digits
//! ```

use rayon::prelude::*;

use crate::error::WResult;
use crate::matching::align_mlp;
use crate::mlp::{Mlp, predictions};
use crate::spec::MlpSpec;
use crate::zoo::Digits;

/// Test predictions and accuracy of a set of networks.
#[derive(Debug, Clone)]
pub struct Scores {
    /// Accuracy of each network.
    pub accuracy: Vec<f64>,
    /// Predicted label of each test digit, per network.
    pub predictions: Vec<Vec<u32>>,
}

/// Scores every network on the test digits.
pub fn score(nets: &[Mlp], data: &Digits) -> Scores {
    let n = data.y_test.len();
    let predictions: Vec<Vec<u32>> = nets
        .par_iter()
        .map(|net| {
            predictions(
                &net.logits(&data.x_test, n),
                *net.widths.last().expect("widths"),
            )
        })
        .collect();
    let accuracy = predictions
        .iter()
        .map(|p| p.iter().zip(&data.y_test).filter(|(a, b)| a == b).count() as f64 / n as f64)
        .collect();
    Scores {
        accuracy,
        predictions,
    }
}

/// The fraction of `accuracy` strictly above `threshold`.
pub fn fraction_above(accuracy: &[f64], threshold: f64) -> f64 {
    accuracy.iter().filter(|&&a| a > threshold).count() as f64 / accuracy.len().max(1) as f64
}

/// Mean pairwise disagreement of the predictions.
pub fn disagreement(predictions: &[Vec<u32>]) -> f64 {
    mean_over_pairs(predictions.len(), |i, j| {
        let (a, b) = (&predictions[i], &predictions[j]);
        a.iter().zip(b).filter(|(x, y)| x != y).count() as f64 / a.len().max(1) as f64
    })
}

/// Mean pairwise IoU of the error sets (a pair with no errors at all counts as 1).
pub fn error_iou(predictions: &[Vec<u32>], labels: &[u32]) -> f64 {
    mean_over_pairs(predictions.len(), |i, j| {
        let (mut inter, mut union) = (0usize, 0usize);
        for ((a, b), y) in predictions[i].iter().zip(&predictions[j]).zip(labels) {
            let (ea, eb) = (a != y, b != y);
            inter += (ea && eb) as usize;
            union += (ea || eb) as usize;
        }
        if union == 0 {
            1.0
        } else {
            inter as f64 / union as f64
        }
    })
}

fn mean_over_pairs(n: usize, f: impl Fn(usize, usize) -> f64 + Sync) -> f64 {
    if n < 2 {
        return f64::NAN;
    }
    // Per-row sums in parallel, added in a fixed order: the same total at any thread count.
    let rows: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| (i + 1..n).map(|j| f(i, j)).sum::<f64>())
        .collect();
    let total: f64 = rows.iter().sum();
    total / (n * (n - 1) / 2) as f64
}

/// Euclidean distance of two weight vectors.
pub fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| ((x - y) as f64).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Novelty distances (module doc): each network of `nets` aligned to `reference` by weight
/// matching, then its distance to the nearest of the `aligned_zoo` networks (flattened).
pub fn novelty(
    spec: &MlpSpec,
    reference: &Mlp,
    aligned_zoo: &[Vec<f32>],
    nets: &[Mlp],
    seed: u64,
) -> WResult<Vec<f64>> {
    nets.par_iter()
        .map(|net| {
            let (aligned, _) = align_mlp(spec, reference, net, 100, seed)?;
            let flat = aligned.flat();
            Ok(aligned_zoo
                .iter()
                .map(|z| distance(z, &flat))
                .fold(f64::INFINITY, f64::min))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_measures_on_a_hand_example() {
        let labels = [0, 1, 2, 3];
        let preds = vec![vec![0, 1, 2, 0], vec![0, 1, 0, 0], vec![0, 1, 2, 3]];
        // disagreements: (0,1) 1/4, (0,2) 1/4, (1,2) 2/4
        assert!((disagreement(&preds) - (0.25 + 0.25 + 0.5) / 3.0).abs() < 1e-12);
        // error sets {3}, {2,3}, {}: IoU 1/2, 0, 0
        assert!((error_iou(&preds, &labels) - 0.5 / 3.0).abs() < 1e-12);
        assert!((fraction_above(&[0.9, 0.95, 0.97], 0.94) - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_permuted_copy_has_zero_novelty() {
        let mut rng = genlab_core::train::SeededRng::new(9);
        let widths = [6, 8, 8, 3];
        let spec = MlpSpec::new(&widths);
        let a = Mlp::init(&widths, &mut rng);
        let other = Mlp::init(&widths, &mut rng);
        let pspec = spec.perm_spec();
        let perms: Vec<Vec<usize>> = pspec
            .perms
            .iter()
            .map(|p| rng.permutation(p.size))
            .collect();
        let copy = Mlp::from_params(&spec, &pspec.apply(&a.to_params(&spec), &perms)).unwrap();
        let d = novelty(&spec, &a, &[a.flat()], &[copy, other], 0).unwrap();
        assert_eq!(d[0], 0.0);
        assert!(d[1] > 1.0, "an independent network is far: {}", d[1]);
    }
}
