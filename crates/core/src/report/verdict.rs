//! Verdicts, computed from measured arms — never written by hand. Each function reads the
//! numbers it compares out of the arms table, so a report's verdict can be re-derived from
//! its own `arms`.

use serde::{Deserialize, Serialize};

use super::json::Arms;
use super::seeds::sig3;
use crate::error::{Error, Result};

/// Whether a claim held, by how much, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The claim held on the measured data.
    pub holds: bool,
    /// The metric compared.
    pub metric: String,
    /// The method's arm.
    pub method_arm: String,
    /// The baseline (or reference) arm.
    pub baseline_arm: String,
    /// Positive when the method wins; see each constructor for the unit.
    pub margin: f64,
    /// Our effect in words, as the report shows it beside the paper's (e.g. "max-cos 0.278
    /// vs 0.424 (−34%)").
    #[serde(default)]
    pub effect: String,
    /// The comparison in words, with its numbers.
    pub detail: String,
}

impl Verdict {
    /// A verdict on `metric`, `method_arm` vs `baseline_arm`, not yet decided (it does not
    /// hold until a constructor fills in the comparison).
    pub fn on(metric: &str, method_arm: &str, baseline_arm: &str) -> Verdict {
        Verdict {
            metric: metric.into(),
            method_arm: method_arm.into(),
            baseline_arm: baseline_arm.into(),
            ..Verdict::default()
        }
    }
}

/// Which direction of a metric is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (distances, errors, steps).
    Lower,
    /// Larger is better (accuracy, recall).
    Higher,
}

impl Better {
    /// How much better `method` is than `baseline` (positive = the method wins).
    pub fn gain(self, method: f64, baseline: f64) -> f64 {
        match self {
            Better::Lower => baseline - method,
            Better::Higher => method - baseline,
        }
    }

    /// "lower" or "higher", for verdict texts.
    pub fn word(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
}

/// A method-vs-baseline effect in words: "`metric` m vs b (±r%)", r relative to the baseline.
pub(super) fn versus(metric: &str, method: f64, baseline: f64) -> String {
    let relative = 100.0 * (method - baseline) / baseline.abs().max(f64::MIN_POSITIVE);
    format!(
        "{metric} {} vs {} ({relative:+.1}%)",
        sig3(method),
        sig3(baseline)
    )
}

fn value(arms: &Arms, arm: &str, metric: &str) -> Result<f64> {
    arms.get(arm)
        .ok_or_else(|| Error::InvalidInput(format!("verdict: no arm `{arm}`")))?
        .get(metric)
        .copied()
        .ok_or_else(|| {
            Error::InvalidInput(format!("verdict: arm `{arm}` has no metric `{metric}`"))
        })
}

/// Method vs baseline on one metric; margin = relative improvement (positive = method better).
pub fn compare(
    arms: &Arms,
    metric: &str,
    method_arm: &str,
    baseline_arm: &str,
    better: Better,
) -> Result<Verdict> {
    let (m, b) = (
        value(arms, method_arm, metric)?,
        value(arms, baseline_arm, metric)?,
    );
    let margin = better.gain(m, b) / b.abs().max(f64::MIN_POSITIVE);
    let holds = margin > 0.0 && margin.is_finite();
    let word = better.word();
    Ok(Verdict {
        holds,
        margin,
        effect: versus(metric, m, b),
        detail: format!(
            "{method_arm} {metric} = {m:.4} vs {baseline_arm} {b:.4} ({word} is better; relative margin {:+.1}%)",
            100.0 * margin
        ),
        ..Verdict::on(metric, method_arm, baseline_arm)
    })
}

/// `value(arm) ≤ factor × value(reference)`; margin = 1 − value / (factor·reference), the
/// fraction of the bound left unused (positive when the claim holds).
pub fn within_factor(
    arms: &Arms,
    metric: &str,
    arm: &str,
    reference_arm: &str,
    factor: f64,
) -> Result<Verdict> {
    let (x, r) = (
        value(arms, arm, metric)?,
        value(arms, reference_arm, metric)?,
    );
    let bound = factor * r;
    let holds = x <= bound && x.is_finite();
    Ok(Verdict {
        holds,

        margin: 1.0 - x / bound,
        effect: format!(
            "{metric} {} = {}× {reference_arm} (bound {}×)",
            sig3(x),
            sig3(x / r),
            sig3(factor)
        ),
        detail: format!(
            "{arm}: {metric} = {} {} {} × {reference_arm} {} = {}",
            sig3(x),
            if holds { "≤" } else { ">" },
            sig3(factor),
            sig3(r),
            sig3(bound)
        ),
        ..Verdict::on(metric, arm, reference_arm)
    })
}

/// A claim made of several conditions: holds iff all hold. The headline part (metric, arms,
/// margin) is the failing part with the smallest margin, or the smallest margin of all when
/// every part holds — a part that holds never stands for a claim that fails.
pub fn all_of(name: &str, parts: Vec<Verdict>) -> Verdict {
    let holds = !parts.is_empty() && parts.iter().all(|v| v.holds);
    let worst = parts
        .iter()
        .filter(|v| holds || !v.holds)
        .min_by(|a, b| a.margin.total_cmp(&b.margin));
    let detail = parts
        .iter()
        .map(|v| format!("[{}] {}", if v.holds { "ok" } else { "FAIL" }, v.detail))
        .collect::<Vec<_>>()
        .join("; ");
    Verdict {
        holds,
        metric: worst.map(|v| v.metric.clone()).unwrap_or_default(),
        method_arm: worst.map(|v| v.method_arm.clone()).unwrap_or_default(),
        baseline_arm: worst.map(|v| v.baseline_arm.clone()).unwrap_or_default(),
        margin: worst.map(|v| v.margin).unwrap_or(f64::NAN),
        effect: worst.map(|v| v.effect.clone()).unwrap_or_default(),
        detail: format!("{name}: {detail}"),
    }
}

/// Mean and sample standard deviation (n − 1; 0 for a single value).
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn arms() -> Arms {
        BTreeMap::from([
            (
                "new".into(),
                BTreeMap::from([("fd".into(), 8.0), ("acc".into(), 0.9)]),
            ),
            (
                "old".into(),
                BTreeMap::from([("fd".into(), 10.0), ("acc".into(), 0.95)]),
            ),
        ])
    }

    #[test]
    fn compare_lower_and_higher() {
        let v = compare(&arms(), "fd", "new", "old", Better::Lower).unwrap();
        assert!(v.holds && (v.margin - 0.2).abs() < 1e-12);
        let v = compare(&arms(), "acc", "new", "old", Better::Higher).unwrap();
        assert!(!v.holds && v.margin < 0.0);
        assert!(
            compare(&arms(), "nope", "new", "old", Better::Lower)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    #[test]
    fn within_factor_bound() {
        let v = within_factor(&arms(), "fd", "old", "new", 1.25).unwrap();
        assert!(v.holds && v.margin.abs() < 1e-12); // 10 ≤ 1.25 × 8 exactly
        assert!(
            !within_factor(&arms(), "fd", "old", "new", 1.2)
                .unwrap()
                .holds
        );
    }

    #[test]
    fn aggregation() {
        let ok = within_factor(&arms(), "fd", "new", "old", 1.0).unwrap();
        let bad = within_factor(&arms(), "fd", "old", "new", 1.0).unwrap();
        let all = all_of("both", vec![ok, bad]);
        assert!(!all.holds && all.margin < 0.0);
        assert!(!all_of("none", vec![]).holds);
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 2f64.sqrt()));
    }

    /// A failing part with a larger margin than a holding one is still the headline.
    #[test]
    fn failing_part_is_the_headline() {
        let part = |holds, margin, metric: &str| Verdict {
            holds,
            metric: metric.into(),
            method_arm: "m".into(),
            baseline_arm: "b".into(),
            margin,
            ..Verdict::default()
        };
        let all = all_of(
            "x",
            vec![part(true, 0.01, "held"), part(false, 0.5, "failed")],
        );
        assert!(!all.holds);
        assert_eq!((all.metric.as_str(), all.margin), ("failed", 0.5));
        let all = all_of("x", vec![part(true, 0.3, "a"), part(true, 0.1, "b")]);
        assert_eq!((all.metric.as_str(), all.margin), ("b", 0.1));
    }
}
