//! The learned part's sampling and scoring: a digits denoiser (64 tokens, 17 grey levels,
//! classes 0–9) sampled class-balanced, and the samples scored with the core digit classifier:
//!
//! ```text
//! accuracy    fraction of samples the classifier assigns to the requested class (alignment)
//! FD-digits   Fréchet distance between classifier features of samples and of all real digits
//! precision / recall   k-NN manifold estimates (k = 5) in the same feature space
//! ```

use std::collections::BTreeMap;

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::metrics::DigitClassifier;
use genlab_core::metrics::{Gaussian, knn_precision_recall};
use genlab_core::train::SeededRng;

use crate::guidance::Rule;
use crate::model::TokenModel;
use crate::sampler::{SampleConfig, Sampler, Samples, sample};
use crate::schedule::GuidanceSchedule;

/// The real-data side of the metrics, computed once.
pub struct DigitScorer {
    classifier: DigitClassifier,
    real_features: Points,
    real_gaussian: Gaussian,
}

/// Scores of one sample set.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Scores {
    /// FD-digits to all real digits.
    pub fd: f64,
    /// Fraction classified as the requested class.
    pub accuracy: f64,
    /// k-NN precision.
    pub precision: f64,
    /// k-NN recall.
    pub recall: f64,
}

impl Scores {
    /// The scores as an arm's metrics.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        BTreeMap::from([
            ("fd".into(), self.fd),
            ("accuracy".into(), self.accuracy),
            ("precision".into(), self.precision),
            ("recall".into(), self.recall),
        ])
    }
}

impl DigitScorer {
    /// Features and feature Gaussian of the `real` digits under `classifier`.
    pub fn new(classifier: DigitClassifier, real: &Points) -> Result<Self> {
        let real_features = classifier.features(real)?;
        let real_gaussian = classifier.feature_gaussian(real)?;
        Ok(DigitScorer {
            classifier,
            real_features,
            real_gaussian,
        })
    }

    /// Scores `samples` (token values as pixels; labels = requested classes).
    pub fn score(&self, samples: &Points) -> Result<Scores> {
        let fd = self.classifier.fd(samples, &self.real_gaussian)?;
        let features = self.classifier.features(samples)?;
        let (precision, recall) = knn_precision_recall(&self.real_features, &features, 5)?;
        Ok(Scores {
            fd,
            accuracy: self.classifier.accuracy(samples)?,
            precision,
            recall,
        })
    }
}

/// `per_class` samples of each class, as labelled points.
pub fn draw(
    model: &TokenModel,
    per_class: usize,
    config: &SampleConfig,
    rng: &mut SeededRng,
) -> Result<(Points, Samples)> {
    let classes: Vec<u32> = (0..model.spec.classes as u32)
        .flat_map(|c| std::iter::repeat_n(c, per_class))
        .collect();
    let s = sample(model, &classes, config, rng.rng())?;
    let data = s.tokens.iter().map(|&t| t as f32).collect();
    Ok((Points::new(model.spec.seq_len, data, Some(classes))?, s))
}

/// A constant-strength ancestral configuration.
pub fn ancestral(model: &TokenModel, rule: Rule, w: f64, steps: usize) -> SampleConfig {
    SampleConfig {
        sampler: Sampler::Ancestral,
        rule,
        schedule: GuidanceSchedule::Constant { w },
        steps,
        noise: model.spec.noise,
    }
}
