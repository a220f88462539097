//! The measure phase: every arm estimates every held-out pair, and the scores become arm
//! metrics — overall, over the N ≥ 2 pairs (the verdict's), and per true chain length.

use std::collections::BTreeMap;

use genlab_core::Result;
use genlab_core::train::Observer;

use super::{MAX_EFFECTS, MAX_TAIL_SECONDS, Phases};
use crate::estimate::ChainEstimator;
use crate::estimate::dataset::Example;
use crate::estimate::metrics::{ExampleScore, Summary, evaluate, summarise};

/// One arm's per-example scores, in test-set order.
pub(super) struct ArmScores {
    /// The arm name.
    pub name: String,
    /// One score per held-out pair.
    pub scores: Vec<ExampleScore>,
}

impl ArmScores {
    /// The summary over the pairs whose true chain has `n` effects.
    pub fn of_length(&self, n: usize) -> Summary {
        let sel: Vec<ExampleScore> = self
            .scores
            .iter()
            .filter(|s| s.n_true == n)
            .cloned()
            .collect();
        summarise(&sel)
    }
}

/// Runs each estimator over `test_set`, timing each as `eval <arm>`.
pub(super) fn evaluate_arms(
    estimators: &[&dyn ChainEstimator],
    test_set: &[Example],
    observer: &mut dyn Observer,
    phases: &mut Phases,
) -> Result<Vec<ArmScores>> {
    estimators
        .iter()
        .map(|estimator| {
            let name = estimator.name();
            observer.message(&format!(
                "evaluating {name} on {} held-out pairs",
                test_set.len()
            ));
            let scores = phases.time(&format!("eval {name}"), || {
                evaluate(*estimator, test_set, MAX_TAIL_SECONDS)
            })?;
            Ok(ArmScores { name, scores })
        })
        .collect()
}

/// Arm metrics: the overall summary, the N ≥ 2 summary (`n2_…`) and one per chain length
/// (`n1_only_…`, …).
pub(super) fn arm_metrics(scores: &[ExampleScore]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let mut put = |prefix: &str, s: &Summary| {
        for (k, v) in [
            ("validity", s.validity),
            ("precision", s.precision),
            ("recall", s.recall),
            ("f1", s.f1),
            ("exact_set", s.exact_set),
            ("spearman", s.spearman),
            ("kendall", s.kendall),
            ("exact_order_n2", s.exact_order_n2),
            ("param_mae", s.param_mae),
            ("mrstft", s.mrstft),
            ("seconds", s.seconds),
        ] {
            m.insert(format!("{prefix}{k}"), v);
        }
    };
    put("", &summarise(scores));
    let n2: Vec<ExampleScore> = scores.iter().filter(|s| s.n_true >= 2).cloned().collect();
    put("n2_", &summarise(&n2));
    for n in 1..=MAX_EFFECTS {
        let sel: Vec<ExampleScore> = scores.iter().filter(|s| s.n_true == n).cloned().collect();
        put(&format!("n{n}_only_"), &summarise(&sel));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_metrics_split_by_length() {
        let truth = crate::engine::sampler::sample_chain(
            &mut genlab_core::train::SeededRng::new(1),
            2,
            true,
        )
        .unwrap();
        let scores = vec![crate::estimate::metrics::score(&truth, Some(&truth))];
        let m = arm_metrics(&scores);
        assert_eq!(m["n2_exact_order_n2"], 1.0);
        assert_eq!(m["n2_only_f1"], 1.0);
        assert!(m["n1_only_f1"] == 0.0 && m["n1_only_exact_order_n2"].is_nan());
    }
}
