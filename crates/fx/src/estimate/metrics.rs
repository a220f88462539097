//! Chain-estimation metrics (LLM2Fx-Tools' four families plus validity), per example and
//! aggregated. For a true chain `C` and an estimate `Ĉ` (names `S`, `Ŝ`; each effect appears at
//! most once in a chain):
//!
//! - **validity**: the estimator returned a chain (an error — e.g. unparseable model output —
//!   is invalid and scored as the empty chain);
//! - **presence**: `TP = |S ∩ Ŝ|`, `FP = |Ŝ \ S|`, `FN = |S \ Ŝ|`; precision, recall and F1 are
//!   micro-averaged (counts summed over examples, then `P = TP/(TP+FP)`, `R = TP/(TP+FN)`,
//!   `F1 = 2PR/(P+R)`, each 0 when its denominator is 0); exact-set accuracy `[S = Ŝ]`;
//! - **order**, over the `m` effects in both chains, ranked by position in each: Spearman
//!   `ρ = 1 − 6Σd²/(m(m²−1))` and Kendall `τ = (concordant − discordant)/(m(m−1)/2)` (no ties),
//!   defined when `m ≥ 2` and averaged over those examples; exact-order accuracy
//!   `[names(C) = names(Ĉ)]` over examples with `|C| ≥ 2`;
//! - **parameters**: for each correctly detected effect, the mean over its parameters of
//!   `|u − û|`, `u` the spec normalisation to `[0, 1]` (log-space for log parameters); the MAE
//!   averages these over all matched effects;
//! - **signal**: MRSTFT (auraloss resolutions) between the target and `Ĉ` rendered over the dry
//!   input, in the analysis window of [`Pair`] (so no-op and random chains are scored alike).
//!
//! [`evaluate`] runs any [`ChainEstimator`] over examples in parallel (rayon).

use genlab_core::Result;
use rayon::prelude::*;

use crate::engine::chain::{Chain, Stage};
use crate::engine::spec::EFFECTS;
use crate::estimate::ChainEstimator;
use crate::estimate::dataset::Example;
use crate::estimate::objective::{ChainObjective, Pair};

/// Presence counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// False negatives.
    pub fn_: usize,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }

    /// `TP/(TP+FP)` (0 if nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// `TP/(TP+FN)` (0 if nothing was present).
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// Harmonic mean of precision and recall (0 if both are 0).
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// One example's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct ExampleScore {
    /// Length of the true chain.
    pub n_true: usize,
    /// The estimator returned a chain.
    pub valid: bool,
    /// Presence counts.
    pub counts: Counts,
    /// Presence counts per effect (spec order).
    pub per_effect: Vec<Counts>,
    /// `S = Ŝ`.
    pub exact_set: bool,
    /// Same names in the same order.
    pub exact_order: bool,
    /// Spearman ρ over common effects (≥ 2 of them).
    pub spearman: Option<f64>,
    /// Kendall τ over common effects (≥ 2 of them).
    pub kendall: Option<f64>,
    /// Normalised parameter MAE of each correctly detected effect.
    pub param_errors: Vec<f64>,
    /// MRSTFT of the re-rendered estimate to the target (filled by [`evaluate`]).
    pub mrstft: f64,
    /// Seconds the estimator took.
    pub seconds: f64,
}

fn position_of(chain: &Chain, name: &str) -> Option<usize> {
    chain.stages.iter().position(|s| s.spec.name == name)
}

/// Spearman ρ of two rankings without ties (`a`, `b` are ranks of the same items).
pub fn spearman(a: &[usize], b: &[usize]) -> f64 {
    let m = a.len() as f64;
    let d2: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64 - y as f64).powi(2))
        .sum();
    1.0 - 6.0 * d2 / (m * (m * m - 1.0))
}

/// Kendall τ of two rankings without ties.
pub fn kendall(a: &[usize], b: &[usize]) -> f64 {
    let m = a.len();
    let mut s = 0i64;
    for i in 0..m {
        for j in i + 1..m {
            let x = (a[i] as i64 - a[j] as i64).signum();
            let y = (b[i] as i64 - b[j] as i64).signum();
            s += x * y;
        }
    }
    s as f64 / (m * (m - 1) / 2) as f64
}

/// Ranks `0..n` of `positions` (positions are distinct).
fn ranks(positions: &[usize]) -> Vec<usize> {
    positions
        .iter()
        .map(|p| positions.iter().filter(|q| *q < p).count())
        .collect()
}

/// Mean over parameters of `|u − û|` (spec normalisation) for two stages of the same effect.
pub fn param_mae(truth: &Stage, estimate: &Stage) -> f64 {
    let params = truth.spec.params;
    let sum: f64 = params
        .iter()
        .zip(truth.values.iter().zip(&estimate.values))
        .map(|(p, (t, e))| (p.normalise(t.at(0.0)) - p.normalise(e.at(0.0))).abs())
        .sum();
    sum / params.len().max(1) as f64
}

/// Scores an estimate against the truth (`None`: the estimator failed; scored as empty).
pub fn score(truth: &Chain, estimate: Option<&Chain>) -> ExampleScore {
    let empty = Chain::default();
    let est = estimate.unwrap_or(&empty);
    let mut per_effect = vec![Counts::default(); EFFECTS.len()];
    let mut common = Vec::new();
    let mut param_errors = Vec::new();
    for (k, e) in EFFECTS.iter().enumerate() {
        match (position_of(truth, e.name), position_of(est, e.name)) {
            (Some(i), Some(j)) => {
                per_effect[k].tp = 1;
                common.push((i, j));
                param_errors.push(param_mae(&truth.stages[i], &est.stages[j]));
            }
            (Some(_), None) => per_effect[k].fn_ = 1,
            (None, Some(_)) => per_effect[k].fp = 1,
            (None, None) => {}
        }
    }
    let mut counts = Counts::default();
    for c in &per_effect {
        counts.add(*c);
    }
    let (spearman_rho, kendall_tau) = if common.len() >= 2 {
        let a = ranks(&common.iter().map(|c| c.0).collect::<Vec<_>>());
        let b = ranks(&common.iter().map(|c| c.1).collect::<Vec<_>>());
        (Some(spearman(&a, &b)), Some(kendall(&a, &b)))
    } else {
        (None, None)
    };
    let names = |c: &Chain| c.stages.iter().map(|s| s.spec.name).collect::<Vec<_>>();
    ExampleScore {
        n_true: truth.stages.len(),
        valid: estimate.is_some(),
        counts,
        per_effect,
        exact_set: counts.fp == 0 && counts.fn_ == 0,
        exact_order: names(truth) == names(est),
        spearman: spearman_rho,
        kendall: kendall_tau,
        param_errors,
        mrstft: f64::NAN,
        seconds: 0.0,
    }
}

/// MRSTFT (auraloss) of `chain` rendered over the pair's dry input, to its target.
pub fn rendered_distance(pair: &Pair, chain: &Chain) -> Result<f64> {
    ChainObjective::auraloss(pair)?.distance(chain)
}

/// Runs `estimator` on every example (in parallel) and scores it; the analysis window keeps
/// `max_tail_seconds` of wet signal after the dry end.
pub fn evaluate(
    estimator: &dyn ChainEstimator,
    examples: &[Example],
    max_tail_seconds: f64,
) -> Result<Vec<ExampleScore>> {
    examples
        .par_iter()
        .map(|ex| {
            let started = std::time::Instant::now();
            let estimate = estimator.estimate(&ex.dry, &ex.wet).ok();
            let seconds = started.elapsed().as_secs_f64();
            let mut s = score(&ex.chain, estimate.as_ref().map(|e| &e.chain));
            let pair = Pair::new(&ex.dry, &ex.wet, Some(max_tail_seconds))?;
            let chain = estimate.map(|e| e.chain).unwrap_or_default();
            // A chain that cannot be rendered on this input (e.g. a panner on mono) is invalid.
            s.mrstft = match rendered_distance(&pair, &chain) {
                Ok(d) => d,
                Err(_) => {
                    s.valid = false;
                    rendered_distance(&pair, &Chain::default())?
                }
            };
            s.seconds = seconds;
            Ok(s)
        })
        .collect()
}

/// Aggregated metrics over a set of examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Examples.
    pub n: usize,
    /// Fraction of valid outputs.
    pub validity: f64,
    /// Micro presence precision.
    pub precision: f64,
    /// Micro presence recall.
    pub recall: f64,
    /// Micro presence F1.
    pub f1: f64,
    /// Exact-set accuracy.
    pub exact_set: f64,
    /// Mean Spearman ρ (examples with ≥ 2 common effects; NaN if none).
    pub spearman: f64,
    /// Mean Kendall τ (same examples).
    pub kendall: f64,
    /// Exact-order accuracy over examples with `|C| ≥ 2` (NaN if none).
    pub exact_order_n2: f64,
    /// Normalised parameter MAE over matched effects (NaN if none).
    pub param_mae: f64,
    /// Mean MRSTFT.
    pub mrstft: f64,
    /// Mean seconds per estimate.
    pub seconds: f64,
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs {
        s += x;
        n += 1;
    }
    if n == 0 { f64::NAN } else { s / n as f64 }
}

/// Aggregates `scores`.
pub fn summarise(scores: &[ExampleScore]) -> Summary {
    let mut counts = Counts::default();
    for s in scores {
        counts.add(s.counts);
    }
    let frac = |f: &dyn Fn(&ExampleScore) -> bool| mean(scores.iter().map(|s| f(s) as u8 as f64));
    Summary {
        n: scores.len(),
        validity: frac(&|s| s.valid),
        precision: counts.precision(),
        recall: counts.recall(),
        f1: counts.f1(),
        exact_set: frac(&|s| s.exact_set),
        spearman: mean(scores.iter().filter_map(|s| s.spearman)),
        kendall: mean(scores.iter().filter_map(|s| s.kendall)),
        exact_order_n2: mean(
            scores
                .iter()
                .filter(|s| s.n_true >= 2)
                .map(|s| s.exact_order as u8 as f64),
        ),
        param_mae: mean(scores.iter().flat_map(|s| s.param_errors.iter().copied())),
        mrstft: mean(scores.iter().map(|s| s.mrstft)),
        seconds: mean(scores.iter().map(|s| s.seconds)),
    }
}

/// Presence counts per effect (spec order), summed over `scores`.
pub fn per_effect(scores: &[ExampleScore]) -> Vec<Counts> {
    let mut out = vec![Counts::default(); EFFECTS.len()];
    for s in scores {
        for (o, c) in out.iter_mut().zip(&s.per_effect) {
            o.add(*c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::effect;

    fn stage(name: &str, values: &[f64]) -> Stage {
        Stage::constant(effect(name).unwrap(), values)
    }

    fn chain(stages: &[Stage]) -> Chain {
        Chain {
            stages: stages.to_vec(),
        }
    }

    fn three() -> Vec<Stage> {
        vec![
            stage("gain", &[-6.0]),
            stage("delay", &[0.25, 0.3, 0.5]),
            stage("reverb", &[0.5, 0.5, 0.9, 0.3]),
        ]
    }

    #[test]
    fn identical_chains_score_perfectly() {
        let c = chain(&three());
        let s = score(&c, Some(&c));
        assert_eq!(
            s.counts,
            Counts {
                tp: 3,
                fp: 0,
                fn_: 0
            }
        );
        assert_eq!(s.counts.f1(), 1.0);
        assert_eq!(s.spearman, Some(1.0));
        assert_eq!(s.kendall, Some(1.0));
        assert!(s.exact_set && s.exact_order && s.valid);
        assert_eq!(s.param_errors, vec![0.0, 0.0, 0.0]);
        let sum = summarise(&[s]);
        assert_eq!((sum.f1, sum.exact_order_n2, sum.param_mae), (1.0, 1.0, 0.0));
    }

    #[test]
    fn reversed_order_gives_minus_one() {
        let mut rev = three();
        rev.reverse();
        let s = score(&chain(&three()), Some(&chain(&rev)));
        assert_eq!(s.kendall, Some(-1.0));
        assert_eq!(s.spearman, Some(-1.0));
        assert!(s.exact_set && !s.exact_order);
        // One swap of three: τ = (2 − 1)/3, ρ = 1 − 6·2/(3·8) = 0.5.
        let t = three();
        let swapped = chain(&[t[1].clone(), t[0].clone(), t[2].clone()]);
        let s = score(&chain(&t), Some(&swapped));
        assert!((s.kendall.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.spearman.unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_missing_effect_lowers_recall_by_hand() {
        // Example 1: truth {gain, delay, reverb}, estimate {gain, reverb}: TP 2, FN 1.
        // Example 2: truth {gain}, estimate {gain, equalizer}: TP 1, FP 1.
        // Micro: TP 3, FP 1, FN 1 → P = 3/4, R = 3/4, F1 = 3/4.
        let t = three();
        let a = score(&chain(&t), Some(&chain(&[t[0].clone(), t[2].clone()])));
        assert_eq!(
            a.counts,
            Counts {
                tp: 2,
                fp: 0,
                fn_: 1
            }
        );
        assert!((a.counts.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.counts.precision(), 1.0);
        assert_eq!(a.spearman, Some(1.0));
        let eq = stage("equalizer", &effect("equalizer").unwrap().defaults());
        let b = score(&chain(&t[..1]), Some(&chain(&[t[0].clone(), eq])));
        let sum = summarise(&[a, b]);
        assert_eq!((sum.precision, sum.recall, sum.f1), (0.75, 0.75, 0.75));
        assert_eq!(sum.exact_set, 0.0);
        // Exact order over N ≥ 2 only: the 3-chain misses an effect, so 0 of 1.
        assert_eq!(sum.exact_order_n2, 0.0);
        let per = per_effect(&[score(&chain(&t), None)]);
        assert_eq!(
            per[0],
            Counts {
                tp: 0,
                fp: 0,
                fn_: 1
            }
        );
    }

    #[test]
    fn parameter_error_uses_spec_normalisation() {
        // gain −20…20: 8 dB off = 0.2; compressor attack (log 1…1000 ms): 10 vs 100 ms = 1/3.
        let s = score(
            &chain(&[stage("gain", &[-6.0])]),
            Some(&chain(&[stage("gain", &[2.0])])),
        );
        assert!((s.param_errors[0] - 0.2).abs() < 1e-12);
        let c = |attack: f64| stage("compressor", &[-20.0, 4.0, attack, 100.0, 0.0]);
        let e = param_mae(&c(10.0), &c(100.0));
        assert!((e - (1.0 / 3.0) / 5.0).abs() < 1e-12, "{e}");
        // An invalid output counts as the empty chain.
        let bad = score(&chain(&three()), None);
        assert!(!bad.valid && bad.counts.tp == 0 && bad.counts.fn_ == 3);
    }
}
