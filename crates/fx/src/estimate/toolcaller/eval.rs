//! Scores of a tool-caller on a corpus (the method note §2(c) definitions, computed here for the
//! model's own training reports):
//!
//! - **presence F1**: micro-averaged over examples and the 9 effects, from the predicted and
//!   true effect sets; **exact set**: fraction with equal sets;
//! - **exact order (N ≥ 2)**: fraction of chains of two or more effects whose predicted effect
//!   sequence equals the true one; chance, given the set, is the mean of `1/N!`;
//!   **order given set**: the same among examples whose set was right;
//! - **exact order on order-identifiable chains**: many orders cannot be told apart from audio
//!   at all, because the effects commute. Two effects commute when both are linear and one of
//!   them applies the same filter to every channel — gain, equalizer and delay are scalar LTI
//!   systems, which commute with every LTI system (reverb, panner and widener mix or weight
//!   channels, and distortion, compressor and limiter are nonlinear). A chain is
//!   order-identifiable when no two of its effects commute; exact order is also reported on
//!   those N ≥ 2 chains, where it is the fair measure of order awareness;
//! - **parameter MAE**: mean `|u − û|` over the parameters of effects in both chains, with `u`
//!   the spec's `[0, 1]` normalisation;
//! - **validity**: fraction of decoded sequences the grammar accepts (1 by construction).

use genlab_core::Result;
use serde::{Deserialize, Serialize};

use super::ToolCaller;
use super::corpus::Corpus;
use crate::engine::chain::Chain;

/// Scores of the module doc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Examples scored.
    pub n: usize,
    /// Micro F1 of effect presence.
    pub presence_f1: f64,
    /// Fraction with the exact effect set.
    pub exact_set: f64,
    /// Examples with N ≥ 2.
    pub n_multi: usize,
    /// Exact effect order among N ≥ 2.
    pub exact_order: f64,
    /// Chance of the exact order given the right set, among N ≥ 2 (mean 1/N!).
    pub order_chance: f64,
    /// Exact order among N ≥ 2 examples with the right set.
    pub order_given_set: f64,
    /// Order-identifiable examples (N ≥ 2, no two effects commute).
    pub n_identifiable: usize,
    /// Exact order among order-identifiable examples.
    pub exact_order_identifiable: f64,
    /// Chance of that given the set (mean 1/N! over them).
    pub identifiable_chance: f64,
    /// Mean absolute error of normalised parameters of matched effects.
    pub param_mae: f64,
    /// Fraction of valid decoded sequences.
    pub validity: f64,
}

const LINEAR: [&str; 6] = [
    "gain",
    "equalizer",
    "delay",
    "reverb",
    "panner",
    "stereo_widener",
];
const SCALAR: [&str; 3] = ["gain", "equalizer", "delay"];

/// Whether processing with `a` then `b` always equals `b` then `a` (see the module doc).
pub fn commute(a: &str, b: &str) -> bool {
    LINEAR.contains(&a) && LINEAR.contains(&b) && (SCALAR.contains(&a) || SCALAR.contains(&b))
}

/// True for chains of two or more effects of which no two commute.
pub fn order_identifiable(c: &Chain) -> bool {
    let n = names(c);
    n.len() >= 2
        && n.iter()
            .enumerate()
            .all(|(i, a)| n[i + 1..].iter().all(|b| !commute(a, b)))
}

fn names(c: &Chain) -> Vec<&'static str> {
    c.stages.iter().map(|s| s.spec.name).collect()
}

/// Scores of predicted chains against true ones.
pub fn score(predicted: &[Chain], truth: &[Chain]) -> Scores {
    let (mut tp, mut fp, mut fneg) = (0usize, 0usize, 0usize);
    let (mut exact_set, mut n_multi, mut exact_order, mut chance) = (0usize, 0usize, 0usize, 0.0);
    let (mut multi_set, mut multi_set_order) = (0usize, 0usize);
    let (mut err, mut params) = (0.0, 0usize);
    let (mut n_ident, mut ident_order, mut ident_chance) = (0usize, 0usize, 0.0);
    for (p, t) in predicted.iter().zip(truth) {
        let (pn, tn) = (names(p), names(t));
        let hits = pn.iter().filter(|x| tn.contains(x)).count();
        tp += hits;
        fp += pn.len() - hits;
        fneg += tn.len() - hits;
        let same_set = hits == pn.len() && hits == tn.len();
        exact_set += same_set as usize;
        if tn.len() >= 2 {
            n_multi += 1;
            exact_order += (pn == tn) as usize;
            let p_order = 1.0 / (1..=tn.len()).product::<usize>() as f64;
            chance += p_order;
            if order_identifiable(t) {
                n_ident += 1;
                ident_order += (pn == tn) as usize;
                ident_chance += p_order;
            }
            if same_set {
                multi_set += 1;
                multi_set_order += (pn == tn) as usize;
            }
        }
        for ts in &t.stages {
            if let Some(ps) = p.stages.iter().find(|s| s.spec.name == ts.spec.name) {
                for (spec, (a, b)) in ts.spec.params.iter().zip(ts.values.iter().zip(&ps.values)) {
                    err += (spec.normalise(a.at(0.0)) - spec.normalise(b.at(0.0))).abs();
                    params += 1;
                }
            }
        }
    }
    let ratio = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    Scores {
        n: truth.len(),
        presence_f1: ratio(2 * tp, 2 * tp + fp + fneg),
        exact_set: ratio(exact_set, truth.len()),
        n_multi,
        exact_order: ratio(exact_order, n_multi),
        order_chance: if n_multi == 0 {
            f64::NAN
        } else {
            chance / n_multi as f64
        },
        order_given_set: ratio(multi_set_order, multi_set),
        n_identifiable: n_ident,
        exact_order_identifiable: ratio(ident_order, n_ident),
        identifiable_chance: if n_ident == 0 {
            f64::NAN
        } else {
            ident_chance / n_ident as f64
        },
        param_mae: if params == 0 {
            f64::NAN
        } else {
            err / params as f64
        },
        validity: 1.0,
    }
}

/// Decodes every example of `corpus` (blind: without the dry features) and scores it.
pub fn evaluate(model: &ToolCaller, corpus: &Corpus, blind: bool) -> Result<Scores> {
    let clips: Vec<_> = (0..corpus.len()).map(|i| corpus.clip(i, blind)).collect();
    let decoded = model.decode_features(&clips, &corpus.permitted)?;
    let predicted: Vec<Chain> = decoded.into_iter().map(|d| d.chain).collect();
    Ok(score(&predicted, &corpus.chains))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::chain::Stage;
    use crate::engine::spec::effect;

    fn chain(names: &[&str]) -> Chain {
        Chain {
            stages: names
                .iter()
                .map(|n| {
                    let e = effect(n).unwrap();
                    Stage::constant(e, &e.defaults())
                })
                .collect(),
        }
    }

    #[test]
    fn known_scores() {
        let truth = [
            chain(&["gain", "reverb"]),
            chain(&["delay", "distortion", "limiter"]),
            chain(&["equalizer"]),
        ];
        let predicted = [
            chain(&["reverb", "gain"]),
            chain(&["delay", "distortion", "limiter"]),
            chain(&["equalizer", "gain"]),
        ];
        let s = score(&predicted, &truth);
        // 6 hits, 1 false positive, 0 misses: F1 = 12/13.
        assert!((s.presence_f1 - 12.0 / 13.0).abs() < 1e-12);
        assert!((s.exact_set - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s.n_multi, 2);
        assert_eq!(s.exact_order, 0.5);
        assert!((s.order_chance - (0.5 + 1.0 / 6.0) / 2.0).abs() < 1e-12);
        assert_eq!(s.order_given_set, 0.5);
        assert_eq!(s.param_mae, 0.0);
        // gain–reverb commute; delay, distortion, limiter do not pairwise.
        assert_eq!(s.n_identifiable, 1);
        assert_eq!(s.exact_order_identifiable, 1.0);
        assert!((s.identifiable_chance - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn commuting_pairs() {
        assert!(commute("gain", "reverb") && commute("panner", "equalizer"));
        assert!(commute("delay", "gain"));
        assert!(!commute("panner", "reverb") && !commute("stereo_widener", "panner"));
        assert!(!commute("gain", "distortion") && !commute("compressor", "limiter"));
        assert!(order_identifiable(&chain(&[
            "reverb",
            "panner",
            "compressor"
        ])));
        assert!(!order_identifiable(&chain(&[
            "reverb",
            "gain",
            "compressor"
        ])));
        assert!(!order_identifiable(&chain(&["reverb"])));
    }
}
