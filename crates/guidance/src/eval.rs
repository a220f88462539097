//! Evaluating a trained model on its own guided samples (`genlab guidance eval`).
//!
//! A model of the 8×8 digits' shape (64 tokens of 17 grey levels, 10 classes) is scored as the
//! reproduction scores it ([`crate::repro::digits`]): FD-digits to all real digits, the
//! classifier's accuracy on the requested classes, k-NN precision and recall — beside the FD of
//! an equally large random subset of the real digits (the floor: what FD-digits reads for real
//! data at this sample size) and the classifier's own held-out accuracy (the ceiling).
//!
//! Any model also gets per-class token statistics of its samples, compared with reference
//! sequences of the same class (the user's held-out file, or the built-in digits):
//!
//! ```text
//! distinct      fraction of distinct sequences among the samples
//! entropy       mean over positions ℓ of H(q^ℓ), q^ℓ the samples' token distribution at ℓ (nats)
//! marginal TV   mean over ℓ of ½ Σ_j |q^ℓ_j − r^ℓ_j|, r^ℓ the reference's
//! floor         the same TV for as many sequences drawn (with replacement) from the reference
//!               itself: what finite sampling alone gives
//! unigram TV    ½ Σ_j |q_j − r_j| over all positions pooled
//! copied        fraction of samples that occur verbatim in the reference
//! ```

use std::collections::HashSet;

use genlab_core::data::Points;
use genlab_core::metrics::DigitClassifier;
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use serde::Serialize;

use crate::model::{ModelSpec, TokenModel};
use crate::repro::digits::{DigitScorer, Scores, draw};
use crate::sampler::SampleConfig;
use crate::tokens::TokenData;

/// Whether a model has the digits' shape (64 tokens of 17 levels, 10 classes).
pub fn is_digit_model(spec: &ModelSpec) -> bool {
    (spec.seq_len, spec.vocab, spec.classes) == (64, 17, 10)
}

/// The digit scores of a model's samples.
#[derive(Debug, Clone, Serialize)]
pub struct DigitEval {
    /// FD-digits, accuracy, precision, recall of all samples.
    pub scores: Scores,
    /// Accuracy per requested class.
    pub class_accuracy: Vec<f64>,
    /// FD-digits of as many real digits (a seeded random subset) to all real digits.
    pub fd_floor: f64,
    /// The classifier's held-out accuracy on real digits.
    pub classifier_accuracy: f64,
}

/// Scores `samples` (labelled with their requested classes) with `classifier` against `real`
/// digits; `rng` draws the floor's subset.
pub fn digit_eval(
    classifier: DigitClassifier,
    real: &Points,
    samples: &Points,
    rng: &mut SeededRng,
) -> Result<DigitEval> {
    let classifier_accuracy = classifier.held_out_accuracy;
    let predicted = classifier.predict(samples)?;
    let scorer = DigitScorer::new(classifier, real)?;
    let scores = scorer.score(samples)?;
    let labels = samples.labels.as_ref().expect("samples are labelled");
    let class_accuracy = (0..10u32)
        .map(|c| {
            let mine: Vec<bool> = labels
                .iter()
                .zip(&predicted)
                .filter(|(l, _)| **l == c)
                .map(|(_, p)| *p == c)
                .collect();
            mine.iter().filter(|&&hit| hit).count() as f64 / mine.len().max(1) as f64
        })
        .collect();
    let n = samples.len().min(real.len());
    let subset = real.select(&rng.permutation(real.len())[..n]);
    let fd_floor = scorer.score(&subset)?.fd;
    Ok(DigitEval {
        scores,
        class_accuracy,
        fd_floor,
        classifier_accuracy,
    })
}

/// Token statistics of one class's samples.
#[derive(Debug, Clone, Serialize)]
pub struct ClassStats {
    /// The class.
    pub class: u32,
    /// Samples drawn.
    pub samples: usize,
    /// Fraction of distinct sequences.
    pub distinct: f64,
    /// Mean per-position entropy of the samples (nats).
    pub entropy: f64,
    /// The three most frequent tokens with their frequencies.
    pub top_tokens: Vec<(u32, f64)>,
    /// The comparison with the reference sequences of this class, when there are any.
    pub reference: Option<Comparison>,
}

/// Samples of one class against the reference sequences of that class.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Reference sequences of the class.
    pub sequences: usize,
    /// Mean per-position entropy of the reference (nats).
    pub entropy: f64,
    /// Mean per-position total variation, samples vs reference.
    pub marginal_tv: f64,
    /// The same for a bootstrap draw of the reference of the samples' size.
    pub marginal_tv_floor: f64,
    /// Total variation of the pooled token frequencies.
    pub unigram_tv: f64,
    /// Fraction of samples found verbatim in the reference.
    pub copied: f64,
}

/// Per-class statistics of `samples` (one class each), against `reference` when given;
/// `rng` draws the floor's bootstrap.
pub fn token_stats(
    samples: &TokenData,
    reference: Option<&TokenData>,
    rng: &mut SeededRng,
) -> Result<Vec<ClassStats>> {
    if let Some(r) = reference {
        check_reference(samples, r)?;
    }
    let v = samples.vocab;
    (0..samples.classes as u32)
        .map(|class| {
            let mine = rows_of(samples, class);
            let q = Marginals::of(&mine, samples.seq_len, v);
            let distinct = mine.iter().collect::<HashSet<_>>().len() as f64;
            let mut top: Vec<(u32, f64)> = q
                .unigram()
                .into_iter()
                .enumerate()
                .map(|(j, f)| (j as u32, f))
                .collect();
            top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            top.truncate(3);
            let comparison = match reference {
                Some(r) => compare(&mine, &rows_of(r, class), &q, samples.seq_len, v, rng),
                None => None,
            };
            Ok(ClassStats {
                class,
                samples: mine.len(),
                distinct: distinct / mine.len().max(1) as f64,
                entropy: q.entropy(),
                top_tokens: top,
                reference: comparison,
            })
        })
        .collect()
}

fn check_reference(samples: &TokenData, r: &TokenData) -> Result<()> {
    if r.seq_len != samples.seq_len {
        return Err(Error::InvalidInput(format!(
            "the reference sequences have {} tokens, the model's {}",
            r.seq_len, samples.seq_len
        )));
    }
    if r.vocab > samples.vocab || r.classes > samples.classes {
        return Err(Error::InvalidInput(format!(
            "the reference uses tokens up to {} and classes up to {}, beyond the model's \
             vocabulary {} and {} classes",
            r.vocab - 1,
            r.classes - 1,
            samples.vocab,
            samples.classes
        )));
    }
    Ok(())
}

fn compare(
    mine: &[&[u32]],
    theirs: &[&[u32]],
    q: &Marginals,
    d: usize,
    v: usize,
    rng: &mut SeededRng,
) -> Option<Comparison> {
    if theirs.is_empty() || mine.is_empty() {
        return None;
    }
    let r = Marginals::of(theirs, d, v);
    let boot: Vec<&[u32]> = rng
        .indices(mine.len(), theirs.len())
        .into_iter()
        .map(|i| theirs[i])
        .collect();
    let known: HashSet<&[u32]> = theirs.iter().copied().collect();
    let copied = mine.iter().filter(|x| known.contains(*x)).count();
    Some(Comparison {
        sequences: theirs.len(),
        entropy: r.entropy(),
        marginal_tv: q.tv(&r),
        marginal_tv_floor: Marginals::of(&boot, d, v).tv(&r),
        unigram_tv: tv(&q.unigram(), &r.unigram()),
        copied: copied as f64 / mine.len() as f64,
    })
}

fn rows_of(data: &TokenData, class: u32) -> Vec<&[u32]> {
    (0..data.len())
        .filter(|&i| data.labels[i] == class)
        .map(|i| data.row(i))
        .collect()
}

/// Per-position token frequencies, d × V.
struct Marginals {
    v: usize,
    freq: Vec<f64>,
}

impl Marginals {
    fn of(rows: &[&[u32]], d: usize, v: usize) -> Self {
        // Counts first, one division each: equal proportions give equal frequencies exactly.
        let mut counts = vec![0usize; d * v];
        for row in rows {
            for (l, &t) in row.iter().enumerate() {
                counts[l * v + t as usize] += 1;
            }
        }
        let n = rows.len().max(1) as f64;
        let freq = counts.into_iter().map(|c| c as f64 / n).collect();
        Marginals { v, freq }
    }

    fn positions(&self) -> impl Iterator<Item = &[f64]> {
        self.freq.chunks(self.v)
    }

    fn entropy(&self) -> f64 {
        let h: f64 = self
            .positions()
            .map(|p| {
                p.iter()
                    .filter(|&&x| x > 0.0)
                    .map(|&x| -x * x.ln())
                    .sum::<f64>()
            })
            .sum();
        // A certain position has H = −1·ln 1 = −0: report 0.
        (h / (self.freq.len() / self.v).max(1) as f64).max(0.0)
    }

    fn tv(&self, other: &Marginals) -> f64 {
        let total: f64 = self
            .positions()
            .zip(other.positions())
            .map(|(a, b)| tv(a, b))
            .sum();
        total / (self.freq.len() / self.v).max(1) as f64
    }

    fn unigram(&self) -> Vec<f64> {
        let d = (self.freq.len() / self.v).max(1) as f64;
        let mut u = vec![0.0; self.v];
        for p in self.positions() {
            for (a, b) in u.iter_mut().zip(p) {
                *a += b / d;
            }
        }
        u
    }
}

/// ½ Σ |p − q|, with rounding residue (below 10⁻¹²) reported as 0.
fn tv(p: &[f64], q: &[f64]) -> f64 {
    let d = 0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>();
    if d < 1e-12 { 0.0 } else { d }
}

/// `per_class` samples of every class of `model` under `config`, as token data.
pub fn draw_tokens(
    model: &TokenModel,
    per_class: usize,
    config: &SampleConfig,
    rng: &mut SeededRng,
) -> Result<(TokenData, Points)> {
    let (points, s) = draw(model, per_class, config, rng)?;
    let data = TokenData {
        seq_len: model.spec.seq_len,
        vocab: model.spec.vocab,
        classes: model.spec.classes,
        tokens: s.tokens,
        labels: points.labels.clone().expect("drawn with labels"),
    };
    Ok((data, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rows: &[(u32, &[u32])], vocab: usize, classes: usize) -> TokenData {
        TokenData {
            seq_len: rows[0].1.len(),
            vocab,
            classes,
            tokens: rows.iter().flat_map(|r| r.1.iter().copied()).collect(),
            labels: rows.iter().map(|r| r.0).collect(),
        }
    }

    /// Hand-computed statistics of a tiny case.
    #[test]
    fn statistics_by_hand() {
        // Class 0 samples: 01, 01, 11, 10; reference class 0: 01, 00.
        let s = data(
            &[
                (0, &[0, 1]),
                (0, &[0, 1]),
                (0, &[1, 1]),
                (0, &[1, 0]),
                (1, &[2, 2]),
            ],
            3,
            2,
        );
        let r = data(&[(0, &[0, 1]), (0, &[0, 0]), (1, &[2, 2])], 3, 2);
        let stats = token_stats(&s, Some(&r), &mut SeededRng::new(0)).unwrap();
        let c0 = &stats[0];
        assert_eq!(c0.samples, 4);
        assert!((c0.distinct - 0.75).abs() < 1e-12);
        // Position 0: q = (½, ½, 0); position 1: q = (¼, ¾, 0). H = (ln 2 + H(¼,¾)) / 2.
        let h = (2f64.ln() + (-(0.25f64 * 0.25f64.ln()) - 0.75 * 0.75f64.ln())) / 2.0;
        assert!((c0.entropy - h).abs() < 1e-12);
        let cmp = c0.reference.as_ref().unwrap();
        // Reference: position 0 = (1, 0, 0), position 1 = (½, ½, 0): TVs ½ and ¼.
        assert!((cmp.marginal_tv - 0.375).abs() < 1e-12);
        // Pooled: samples (3/8, 5/8, 0), reference (3/4, 1/4, 0): TV 3/8.
        assert!((cmp.unigram_tv - 0.375).abs() < 1e-12);
        assert!((cmp.copied - 0.5).abs() < 1e-12);
        assert_eq!(cmp.sequences, 2);
        assert_eq!(c0.top_tokens[0], (1, 0.625));
        // Class 1 matches its reference exactly: every TV 0, all copied.
        let c1 = stats[1].reference.as_ref().unwrap();
        assert_eq!(
            (c1.marginal_tv, c1.marginal_tv_floor, c1.copied),
            (0.0, 0.0, 1.0)
        );
        // No reference: no comparison.
        assert!(
            token_stats(&s, None, &mut SeededRng::new(0)).unwrap()[0]
                .reference
                .is_none()
        );
    }

    #[test]
    fn a_reference_of_another_shape_is_refused() {
        let s = data(&[(0, &[0, 1])], 2, 1);
        let longer = data(&[(0, &[0, 1, 1])], 2, 1);
        let err = token_stats(&s, Some(&longer), &mut SeededRng::new(0)).unwrap_err();
        assert!(err.to_string().contains("3 tokens, the model's 2"), "{err}");
        let more_classes = data(&[(3, &[0, 1])], 2, 4);
        let err = token_stats(&s, Some(&more_classes), &mut SeededRng::new(0)).unwrap_err();
        assert!(err.to_string().contains("classes up to 3"), "{err}");
    }
}
