//! What an experiment runs on: the training data, and how samples are scored against
//! held-out data (lower is better).

use std::path::Path;

use genlab_core::Result;
use genlab_core::data::{Mixture, Points, digits};
use genlab_core::metrics::{DigitClassifier, Gaussian, energy_distance_biased};
use genlab_core::train::SeededRng;

/// The data and its score.
pub(super) struct Task {
    /// Metric name for tables and plots.
    pub metric: &'static str,
    /// Short key in arm metrics (`final_2step_<key>`).
    pub key: &'static str,
    /// Training data.
    pub data: Points,
    /// How samples are scored.
    pub scorer: Scorer,
}

/// How samples are scored.
pub(super) enum Scorer {
    /// V-statistic energy distance to fresh draws from the mixture.
    Energy(Mixture),
    /// FD-digits against the features of all real digits.
    Fd(Box<DigitClassifier>, Gaussian),
}

impl Task {
    /// The 8-Gaussian mixture: 20 000 training points drawn from `rng`.
    pub fn mixture(rng: &mut SeededRng) -> Task {
        let mixture = Mixture::EightGaussians;
        Task {
            metric: "energy distance",
            key: "energy",
            data: mixture.sample(20_000, rng.rng()),
            scorer: Scorer::Energy(mixture),
        }
    }

    /// The 8×8 digits, scored by the digit classifier cached in `cache_dir`.
    pub fn digits(cache_dir: &Path) -> Result<Task> {
        let classifier = DigitClassifier::load_or_train(cache_dir)?;
        let data = digits();
        let reference = classifier.feature_gaussian(&data)?;
        Ok(Task {
            metric: "FD-digits",
            key: "fd",
            data,
            scorer: Scorer::Fd(Box::new(classifier), reference),
        })
    }

    /// Dimension of the data.
    pub fn dim(&self) -> usize {
        self.data.d
    }

    /// Held-out data for one seed (digits: the metric's fixed reference, so none is drawn).
    pub fn held_out(&self, n: usize, rng: &mut SeededRng) -> Points {
        match &self.scorer {
            Scorer::Energy(m) => m.sample(n, rng.rng()),
            Scorer::Fd(..) => Points::new(self.dim(), vec![], None).expect("empty points"),
        }
    }

    /// The score of `samples` (lower is better).
    pub fn score(&self, samples: &Points, held_out: &Points) -> Result<f64> {
        match &self.scorer {
            Scorer::Energy(_) => energy_distance_biased(samples, held_out),
            Scorer::Fd(classifier, reference) => classifier.fd(samples, reference),
        }
    }
}
