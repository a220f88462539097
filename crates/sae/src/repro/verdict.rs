//! The claim as conditions on OrtSAE (method) vs BatchTopK (baseline), each judged on one seed
//! (the per-seed table) and over the seeds (the verdict: `paired` for the lower-is-better
//! metrics, `across_seeds` of the per-seed bounds).

use genlab_core::Result;
use genlab_core::report::{
    Arms, Better, Verdict, across_seeds, all_of, compare, paired, sig3, within_factor,
};

/// EV_BatchTopK ≤ EV_OrtSAE / 0.95: OrtSAE loses at most 5% of BatchTopK's EV.
const EV_FACTOR: f64 = 1.0 / 0.95;
/// Matched L0: each arm's L0 within 10% of the other's.
const L0_FACTOR: f64 = 1.1;

/// One condition of the claim.
#[derive(Debug, Clone, Copy)]
enum Condition {
    /// The method's metric is lower.
    Lower(&'static str),
    /// `metric(bounded) ≤ factor × metric(other)`, where `bounded` is the method arm when
    /// `method_bounded`, else the baseline.
    Bound {
        metric: &'static str,
        method_bounded: bool,
        factor: f64,
    },
}

/// Which absorption measurement a part is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absorption {
    /// The synthetic ground truth's partial absorption of parents.
    Synthetic,
    /// The real LM's first-letter absorption (crate::metrics::letters).
    Letters,
}

/// The claim's conditions, with the absorption measurement of the part.
fn conditions(absorption: Absorption) -> Vec<Condition> {
    let mut c = vec![Condition::Lower(match absorption {
        Absorption::Synthetic => "absorption_partial",
        Absorption::Letters => "letter_absorption",
    })];
    c.extend([
        Condition::Lower("mean_maxcos"),
        Condition::Bound {
            metric: "ev",
            method_bounded: false,
            factor: EV_FACTOR,
        },
        Condition::Bound {
            metric: "l0",
            method_bounded: true,
            factor: L0_FACTOR,
        },
        Condition::Bound {
            metric: "l0",
            method_bounded: false,
            factor: L0_FACTOR,
        },
    ]);
    c
}

impl Condition {
    /// The condition on one seed's arms.
    fn on_seed(self, arms: &Arms, method: &str, baseline: &str) -> Result<Verdict> {
        match self {
            Condition::Lower(metric) => compare(arms, metric, method, baseline, Better::Lower),
            Condition::Bound {
                metric,
                method_bounded,
                factor,
            } => {
                let (bounded, other) = if method_bounded {
                    (method, baseline)
                } else {
                    (baseline, method)
                };
                within_factor(arms, metric, bounded, other, factor)
            }
        }
    }

    /// The condition over the seeds.
    fn over_seeds(self, per_seed: &[(u64, Arms)], method: &str, baseline: &str) -> Result<Verdict> {
        match self {
            Condition::Lower(metric) => {
                let pairs = per_seed
                    .iter()
                    .map(|(_, arms)| {
                        Ok((value(arms, method, metric)?, value(arms, baseline, metric)?))
                    })
                    .collect::<Result<Vec<_>>>()?;
                paired(metric, method, baseline, Better::Lower, &pairs)
            }
            Condition::Bound { metric, factor, .. } => {
                let each = per_seed
                    .iter()
                    .map(|(_, arms)| self.on_seed(arms, method, baseline))
                    .collect::<Result<Vec<_>>>()?;
                let mut v = across_seeds(&each)?;
                v.detail = format!(
                    "{} {metric} ≤ {} × {} {metric}: {}",
                    v.method_arm,
                    sig3(factor),
                    v.baseline_arm,
                    v.detail
                );
                Ok(v)
            }
        }
    }
}

fn value(arms: &Arms, arm: &str, metric: &str) -> Result<f64> {
    arms.get(arm)
        .and_then(|m| m.get(metric))
        .copied()
        .ok_or_else(|| {
            genlab_core::Error::InvalidInput(format!("verdict: arm `{arm}` has no `{metric}`"))
        })
}

/// Each condition judged over the seeds of `per_seed` (method vs baseline).
pub fn over_seeds(
    per_seed: &[(u64, Arms)],
    method: &str,
    baseline: &str,
    absorption: Absorption,
) -> Result<Vec<Verdict>> {
    conditions(absorption)
        .into_iter()
        .map(|c| c.over_seeds(per_seed, method, baseline))
        .collect()
}

/// One seed's verdict: every condition on that seed alone (for the per-seed table).
pub fn on_seed(
    seed: u64,
    arms: &Arms,
    method: &str,
    baseline: &str,
    absorption: Absorption,
) -> Result<Verdict> {
    let parts = conditions(absorption)
        .into_iter()
        .map(|c| c.on_seed(arms, method, baseline))
        .collect::<Result<Vec<_>>>()?;
    Ok(all_of(&format!("seed {seed}"), parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn arms(absorption: (f64, f64), maxcos: (f64, f64)) -> Arms {
        let arm = |a, c| {
            BTreeMap::from([
                ("absorption_partial".to_string(), a),
                ("letter_absorption".to_string(), 0.1),
                ("mean_maxcos".to_string(), c),
                ("ev".to_string(), 0.5),
                ("l0".to_string(), 8.0),
            ])
        };
        BTreeMap::from([
            ("new".to_string(), arm(absorption.0, maxcos.0)),
            ("old".to_string(), arm(absorption.1, maxcos.1)),
        ])
    }

    /// Absorption lower on two seeds and higher on a third, with a noisy mean: the verdict
    /// fails, and names absorption — not the max-cos part that holds on every seed.
    #[test]
    fn headline_names_the_failing_condition() {
        let per_seed = vec![
            (0, arms((0.17, 0.23), (0.385, 0.391))),
            (1, arms((0.33, 0.32), (0.385, 0.391))),
            (2, arms((0.19, 0.20), (0.382, 0.389))),
        ];
        let parts = over_seeds(&per_seed, "new", "old", Absorption::Synthetic).unwrap();
        assert_eq!(parts.len(), 5);
        let v = all_of("synthetic", parts);
        assert!(!v.holds);
        assert_eq!(v.metric, "absorption_partial");
        assert!(v.effect.contains("absorption_partial"), "{}", v.effect);
        let seed1 = on_seed(1, &per_seed[1].1, "new", "old", Absorption::Synthetic).unwrap();
        assert!(!seed1.holds && seed1.metric == "absorption_partial");
        // Judged on a letter absorption that ties (the real LM's), absorption is the part
        // that fails, not max-cos: equal is not lower.
        let real = all_of(
            "real",
            over_seeds(&per_seed, "new", "old", Absorption::Letters).unwrap(),
        );
        assert!(!real.holds && real.metric == "letter_absorption");
    }
}
