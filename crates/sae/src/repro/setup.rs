//! What the synthetic and the real-LM parts share: arm names, the OrtSAE chunk size, one
//! arm's measurements, and timed training.

use std::collections::BTreeMap;
use std::time::Instant;

use genlab_core::Result;
use genlab_core::train::Observer;

use crate::acts::ActivationSource;
use crate::eval::RowsEvaluation;
use crate::train::{TrainConfig, Trained, train};

/// The baseline arm.
pub const BASELINE: &str = "BatchTopK";
/// Offset of the γ-tuning seed from the base seed.
pub const TUNING_SEED_OFFSET: u64 = 1000;
/// OrtSAE chunk size.
pub const CHUNK: usize = 128;

/// The name of the OrtSAE arm at penalty weight `g`.
pub fn gamma_arm(g: f32) -> String {
    format!("OrtSAE γ={g}")
}

/// One trained arm's measurements.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Metric name → value.
    pub metrics: BTreeMap<String, f64>,
    /// Each decoder row's max |cos| to another row.
    pub maxcos: Vec<f32>,
}

impl Measured {
    /// The held-out reconstruction metrics of `e` and the training time, to which a part adds
    /// its own metrics.
    pub fn new(e: RowsEvaluation, train_seconds: f64) -> Measured {
        let m = e.metrics;
        Measured {
            metrics: BTreeMap::from([
                ("ev".to_string(), m.explained_variance),
                ("l0".to_string(), m.l0),
                ("dead_fraction".to_string(), m.dead_fraction),
                ("mean_maxcos".to_string(), m.mean_max_cos),
                ("train_seconds".to_string(), train_seconds),
            ]),
            maxcos: e.max_cos,
        }
    }

    /// Adds `metric`.
    pub fn insert(&mut self, metric: &str, value: f64) {
        self.metrics.insert(metric.into(), value);
    }
}

/// Trains an SAE and returns it with the wall-clock seconds it took.
pub fn timed_train(
    source: &mut dyn ActivationSource,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<(Trained, f64)> {
    let started = Instant::now();
    let trained = train(source, config, observer)?;
    Ok((trained, started.elapsed().as_secs_f64()))
}
