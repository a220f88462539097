//! The Linear Datamodeling Score (Park et al. 2023 §2; the protocol of MadryLab/trak's
//! `tests/utils.py::eval_correlations`).
//!
//! ```text
//! S_1 … S_M ⊂ S random subsets of size ⌊αN⌉ (α = 0.5)
//! y_j(z)  = f(z; θ*(S_j))                 measured: retrain on S_j, evaluate the query
//! ŷ_j(z)  = Σ_{i ∈ S_j} τ(z)_i            predicted by the attribution scores (additive)
//! LDS(z)  = Spearman ρ((y_j(z))_j, (ŷ_j(z))_j);   reported as mean ± s.e. over queries
//! ```
//!
//! Spearman's ρ is Pearson's correlation of the ranks, ties given their average rank. Masks,
//! retrained outputs and scores are all plain data, so the same seed gives the same LDS to the
//! last digit.

use genlab_core::metrics::correlation;
use genlab_core::train::SeededRng;

use crate::error::{Result, check_len};

/// `m` random subsets of `0..n`, each of size ⌊αn⌉, as membership masks.
pub fn subsets(n: usize, m: usize, alpha: f64, rng: &mut SeededRng) -> Vec<Vec<bool>> {
    let size = ((alpha * n as f64).round() as usize).clamp(1, n);
    (0..m)
        .map(|_| {
            let mut mask = vec![false; n];
            for &i in &rng.permutation(n)[..size] {
                mask[i] = true;
            }
            mask
        })
        .collect()
}

/// Spearman's ρ between measured and predicted outputs; 0 where either side is constant (the
/// LDS convention: a query whose outputs or predictions do not vary counts as uncorrelated).
fn spearman(measured: &[f64], predicted: &[f64]) -> f64 {
    let rho = correlation::spearman(measured, predicted);
    if rho.is_nan() { 0.0 } else { rho }
}

/// LDS per query: `scores` is `n_query × N` (row-major), `outputs[j][q]` the measured output
/// of query q under the model retrained on subset j.
pub fn lds(scores: &[f64], masks: &[Vec<bool>], outputs: &[Vec<f64>]) -> Result<Vec<f64>> {
    check_len(
        "measured outputs (one row per subset)",
        masks.len(),
        outputs.len(),
    )?;
    let n = masks.first().map_or(0, |m| m.len());
    let nq = outputs.first().map_or(0, |o| o.len());
    check_len("scores (n_query × N)", nq * n, scores.len())?;
    Ok((0..nq)
        .map(|q| {
            let row = &scores[q * n..(q + 1) * n];
            let predicted: Vec<f64> = masks
                .iter()
                .map(|m| {
                    row.iter()
                        .zip(m)
                        .filter(|(_, in_s)| **in_s)
                        .map(|(s, _)| s)
                        .sum()
                })
                .collect();
            let measured: Vec<f64> = outputs.iter().map(|o| o[q]).collect();
            spearman(&measured, &predicted)
        })
        .collect())
}

/// Mean and standard error of the mean.
pub fn mean_se(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = if x.len() > 1 {
        x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, (var / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_is_zero_for_a_constant_side_and_one_for_monotone_maps() {
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b: Vec<f64> = a.iter().map(|v: &f64| v.exp()).collect();
        assert!((spearman(&a, &b) - 1.0).abs() < 1e-12);
        let rev: Vec<f64> = a.iter().rev().copied().collect();
        assert!((spearman(&a, &rev) + 1.0).abs() < 1e-12);
    }

    /// Outputs made by a true linear datamodel y_j = Σ_{i∈S_j} w_i (+ small noise): scoring
    /// with w gives LDS ≈ 1, random scores give LDS ≈ 0.
    #[test]
    fn perfect_scores_give_one_and_random_scores_give_zero() {
        let (n, m, nq) = (200, 100, 20);
        let mut rng = SeededRng::new(8);
        let masks = subsets(n, m, 0.5, &mut rng);
        assert!(
            masks
                .iter()
                .all(|mk| mk.iter().filter(|b| **b).count() == 100)
        );
        let w: Vec<f64> = rng
            .normal_vec(nq * n)
            .into_iter()
            .map(|v| v as f64)
            .collect();
        let outputs: Vec<Vec<f64>> = masks
            .iter()
            .map(|mk| {
                (0..nq)
                    .map(|q| {
                        let noise = rng.normal_vec(1)[0] as f64 * 0.1;
                        (0..n).filter(|&i| mk[i]).map(|i| w[q * n + i]).sum::<f64>() + noise
                    })
                    .collect()
            })
            .collect();
        let (perfect, _) = mean_se(&lds(&w, &masks, &outputs).unwrap());
        assert!(perfect > 0.99, "perfect scores: LDS {perfect}");
        let noise: Vec<f64> = rng
            .normal_vec(nq * n)
            .into_iter()
            .map(|v| v as f64)
            .collect();
        let (rand_lds, se) = mean_se(&lds(&noise, &masks, &outputs).unwrap());
        assert!(
            rand_lds.abs() < 0.1 && se < 0.05,
            "random scores: LDS {rand_lds} ± {se}"
        );
        assert!(lds(&w[1..], &masks, &outputs).is_err());
    }
}
