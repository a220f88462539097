//! The train phase: tier 2 (the regression baseline) and tier 3 (the tool-caller, with and
//! without the plan) learn from the same training pairs; tier 1 (analysis-by-synthesis) needs
//! no training, only its search settings.

use genlab_core::Result;
use genlab_core::train::Observer;
use rayon::prelude::*;

use super::{MAX_EFFECTS, MAX_TAIL_SECONDS, Sizes};
use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::Chain;
use crate::estimate::dataset::Example;
use crate::estimate::regression::{self, RegressionConfig, Regressor};
use crate::estimate::search::SearchOptions;
use crate::estimate::toolcaller::ToolCaller;
use crate::estimate::toolcaller::audio::FeatureConfig;
use crate::estimate::toolcaller::corpus::Corpus;
use crate::estimate::toolcaller::train::{TrainConfig, TrainRecord};
use crate::estimate::{ChainEstimator, Estimate};

/// Tier 3 as a [`ChainEstimator`]: the tool-caller's greedy, grammar-constrained decoding.
pub(super) struct Tier3 {
    model: ToolCaller,
    /// The arm name.
    pub name: String,
    /// How its training went.
    pub record: TrainRecord,
}

impl ChainEstimator for Tier3 {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        let (chain, rationale) = self.model.estimate(dry, wet)?;
        Ok(Estimate { chain, rationale })
    }
}

/// Tier 2's training settings at this size and seed.
pub(super) fn regression_config(size: &Sizes, seed: u64) -> RegressionConfig {
    RegressionConfig {
        steps: size.regression_steps,
        seed,
        max_tail_seconds: MAX_TAIL_SECONDS,
        ..RegressionConfig::default()
    }
}

/// Tier 1's search settings at this size.
pub(super) fn search_options(size: &Sizes) -> SearchOptions {
    SearchOptions {
        max_effects: MAX_EFFECTS,
        budget: size.search_budget,
        max_tail_seconds: MAX_TAIL_SECONDS,
        ..SearchOptions::default()
    }
}

/// Trains tier 2 on the descriptors of `train_set`; returns it with its loss history.
pub(super) fn train_tier2(
    train_set: &[Example],
    config: &RegressionConfig,
    observer: &mut dyn Observer,
) -> Result<(Regressor, Vec<(u64, f64)>)> {
    let features: Vec<Vec<f32>> = train_set
        .par_iter()
        .map(|e| regression::features(&e.dry, &e.wet, MAX_TAIL_SECONDS))
        .collect::<Result<_>>()?;
    let chains: Vec<Chain> = train_set.iter().map(|e| e.chain.clone()).collect();
    observer.message(&format!(
        "training the regression baseline ({} steps)",
        config.steps
    ));
    regression::train(&features, &chains, config, observer)
}

/// Trains one tool-caller per `(plan, arm name)` variant on `train_set`.
pub(super) fn train_tier3(
    train_set: &[Example],
    size: &Sizes,
    seed: u64,
    variants: &[(bool, &str)],
    observer: &mut dyn Observer,
) -> Result<Vec<Tier3>> {
    let corpus = Corpus::from_examples(train_set, FeatureConfig::default());
    variants
        .iter()
        .map(|&(plan, name)| {
            observer.message(&format!(
                "training {name} ({} steps)",
                size.tool_caller_steps
            ));
            let config = TrainConfig {
                steps: size.tool_caller_steps,
                batch: size.tool_caller_batch,
                ..TrainConfig::new(plan, seed)
            };
            let (model, record) =
                crate::estimate::toolcaller::train::train(&corpus, &config, observer)?;
            Ok(Tier3 {
                model,
                name: name.to_string(),
                record,
            })
        })
        .collect()
}
