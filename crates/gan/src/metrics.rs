//! What the paper measures, on class-balanced samples (`per_class` of every class):
//!
//! ```text
//! 2-D mixtures
//!   acc_y      = fraction of samples generated for class y inside component y's 3σ disc
//!   accuracy   = mean_y acc_y                  (conditional accuracy, the Top-1 analogue)
//!   NF         = #{y : acc_y < 0.5}             (failed classes)
//!   class ED   = mean_y E(p_g(·|y), p_data(·|y)) (energy distance per class; the iFID analogue)
//!   ED         = E(p_g, p_data)                 (all classes pooled; the FID analogue)
//!   coverage   = fraction of components whose 3σ disc holds ≥ n/(4N) of all samples
//! 8×8 digits (the core digit classifier; its features give FD-digits)
//!   accuracy   = fraction classified as the requested class;  NF = #{y : acc_y < 0.5}
//!   class FD   = mean_y FD(features of class-y samples, of class-y real digits)
//!   FD         = FD-digits of all samples against all real digits
//! ```
//!
//! E is the unbiased energy distance of [`genlab_core::metrics::energy_distance`]; the pooled
//! one is computed on at most 2000 points a side (every k-th point) to bound its O(n²) cost.

use std::collections::BTreeMap;

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::metrics::{DigitClassifier, Gaussian, energy_distance, frechet_distance};

use crate::mixture::ClassMixture;

/// Per-class accuracy below this counts as a failed class.
pub const FAILED_BELOW: f64 = 0.5;

/// The scores of one sample set; `class_distance` is the per-class energy distance (mixtures)
/// or per-class FD (digits), `distance` the pooled one.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Mean over classes of the per-class conditional accuracy.
    pub accuracy: f64,
    /// Failed classes (accuracy < 0.5).
    pub failed: f64,
    /// Mean per-class distance (energy distance / FD-digits).
    pub class_distance: f64,
    /// Pooled distance (energy distance / FD-digits).
    pub distance: f64,
    /// Fraction of covered modes (mixtures; NaN for digits).
    pub coverage: f64,
}

impl Scores {
    /// The metric names of [`Scores::metrics`].
    pub const NAMES: [&str; 5] = [
        "accuracy",
        "failed",
        "class_distance",
        "distance",
        "coverage",
    ];

    /// The scores as an arm's metrics.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let v = [
            self.accuracy,
            self.failed,
            self.class_distance,
            self.distance,
            self.coverage,
        ];
        Scores::NAMES
            .iter()
            .zip(v)
            .filter(|(_, v)| !v.is_nan())
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

/// Rows of `p` grouped by label, `classes` groups.
fn by_class(p: &Points, classes: usize) -> Vec<Points> {
    let labels = p.labels.as_deref().unwrap_or(&[]);
    (0..classes as u32)
        .map(|c| {
            let idx: Vec<usize> = (0..p.len())
                .filter(|&i| labels.get(i) == Some(&c))
                .collect();
            p.select(&idx)
        })
        .collect()
}

/// At most `cap` rows of `p`, every k-th.
fn thin(p: &Points, cap: usize) -> Points {
    let step = p.len().div_ceil(cap).max(1);
    p.select(&(0..p.len()).step_by(step).collect::<Vec<_>>())
}

/// NF from per-class accuracies.
fn failed(per_class: &[f64]) -> f64 {
    per_class.iter().filter(|&&a| a < FAILED_BELOW).count() as f64
}

/// Per-class accuracies of labelled `samples` on mixture `m`.
pub fn class_accuracies(m: &ClassMixture, samples: &Points) -> Vec<f64> {
    by_class(samples, m.classes)
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let hits = p.rows().filter(|x| m.inside(x, k)).count();
            hits as f64 / p.len().max(1) as f64
        })
        .collect()
}

/// Fraction of components whose 3σ disc holds at least n/(4N) of the pooled samples.
pub fn coverage(m: &ClassMixture, samples: &Points) -> f64 {
    let need = samples.len() as f64 / (4.0 * m.classes as f64);
    let covered = (0..m.classes)
        .filter(|&k| samples.rows().filter(|x| m.inside(x, k)).count() as f64 >= need)
        .count();
    covered as f64 / m.classes as f64
}

/// Scores labelled, class-balanced `samples` against labelled `real` points of mixture `m`.
pub fn score_mixture(m: &ClassMixture, samples: &Points, real: &Points) -> Result<Scores> {
    let acc = class_accuracies(m, samples);
    let (gen_classes, real_classes) = (by_class(samples, m.classes), by_class(real, m.classes));
    let mut class_ed = 0.0;
    for (g, r) in gen_classes.iter().zip(&real_classes) {
        class_ed += energy_distance(g, r)?;
    }
    Ok(Scores {
        accuracy: acc.iter().sum::<f64>() / acc.len() as f64,
        failed: failed(&acc),
        class_distance: class_ed / m.classes as f64,
        distance: energy_distance(&thin(samples, 2000), &thin(real, 2000))?,
        coverage: coverage(m, samples),
    })
}

/// The real-digit side of the digit metrics, computed once.
pub struct DigitScorer {
    classifier: DigitClassifier,
    all: Gaussian,
    per_class: Vec<Gaussian>,
}

impl DigitScorer {
    /// Fits the feature Gaussians of the labelled `real` digits (0–16 pixel scale).
    pub fn new(classifier: DigitClassifier, real: &Points) -> Result<Self> {
        let all = classifier.feature_gaussian(real)?;
        let per_class = by_class(real, 10)
            .iter()
            .map(|p| classifier.feature_gaussian(p))
            .collect::<Result<_>>()?;
        Ok(DigitScorer {
            classifier,
            all,
            per_class,
        })
    }

    /// Scores labelled, class-balanced digit samples.
    pub fn score(&self, samples: &Points) -> Result<Scores> {
        let predicted = self.classifier.predict(samples)?;
        let labels = samples.labels.as_deref().unwrap_or(&[]);
        let mut acc = Vec::with_capacity(10);
        let mut class_fd = 0.0;
        for (c, p) in by_class(samples, 10).iter().enumerate() {
            let hits = (0..samples.len())
                .filter(|&i| labels[i] == c as u32 && predicted[i] == c as u32)
                .count();
            acc.push(hits as f64 / p.len().max(1) as f64);
            class_fd += frechet_distance(
                &Gaussian::fit(&self.classifier.features(p)?)?,
                &self.per_class[c],
            )?;
        }
        Ok(Scores {
            accuracy: acc.iter().sum::<f64>() / 10.0,
            failed: failed(&acc),
            class_distance: class_fd / 10.0,
            distance: self.classifier.fd(samples, &self.all)?,
            coverage: f64::NAN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    #[test]
    fn real_data_scores_near_perfect_and_a_class_blind_sampler_fails() {
        let m = ClassMixture::ring(8);
        let mut rng = SeededRng::new(2);
        let real = m.sample(4000, &mut rng);
        let labels: Vec<u32> = (0..8u32)
            .flat_map(|c| std::iter::repeat_n(c, 100))
            .collect();
        let good = m.sample_classes(&labels, &mut rng);
        let s = score_mixture(&m, &good, &real).unwrap();
        assert!(
            s.accuracy > 0.97 && s.failed == 0.0 && s.coverage == 1.0,
            "{s:?}"
        );
        assert!(
            s.class_distance.abs() < 0.02 && s.distance.abs() < 0.01,
            "{s:?}"
        );
        // Right marginal, labels shuffled by one class: every class fails, coverage stays full.
        let mut shifted = good.clone();
        shifted.labels = Some(labels.iter().map(|&c| (c + 1) % 8).collect());
        let s = score_mixture(&m, &shifted, &real).unwrap();
        assert!(
            s.accuracy == 0.0 && s.failed == 8.0 && s.coverage == 1.0,
            "{s:?}"
        );
        assert!(s.class_distance > 1.0 && s.distance.abs() < 0.01, "{s:?}");
    }

    #[test]
    fn coverage_counts_modes_that_hold_a_quarter_share() {
        let m = ClassMixture::ring(4);
        // 10 points at μ_0, 3 at μ_1 (≥ 13/16 → covered), none at μ_2, μ_3.
        let mut data = Vec::new();
        for k in [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1] {
            data.extend_from_slice(&m.centre(k));
        }
        let p = Points::new(2, data, None).unwrap();
        assert_eq!(coverage(&m, &p), 0.5);
    }
}
