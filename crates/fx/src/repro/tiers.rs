//! The train phase: tier 2 (the regression baseline) and tier 3 (the tool-caller, with and
//! without the plan) learn from the same training pairs — tier 3 from their feature frames and
//! the very descriptors tier 2 reads (its descriptor token); tier 1 (analysis-by-synthesis)
//! needs no training, only its search settings. The hybrid arm refines tier 3's beams with
//! tier 1's search ([`crate::estimate::learned::hybrid`]).

use genlab_core::Result;
use genlab_core::train::Observer;

use super::{MAX_EFFECTS, MAX_TAIL_SECONDS, Sizes};
use crate::engine::buffer::AudioBuffer;
use crate::estimate::dataset::Example;
use crate::estimate::features::FEATURE_DIM;
use crate::estimate::learned::{HYBRID_BEAMS, beam_proposals, hybrid};
use crate::estimate::regression::{self, RegressionConfig, Regressor};
use crate::estimate::search::SearchOptions;
use crate::estimate::toolcaller::ToolCaller;
use crate::estimate::toolcaller::audio::FeatureConfig;
use crate::estimate::toolcaller::corpus::Corpus;
use crate::estimate::toolcaller::train::{TrainConfig, TrainRecord};
use crate::estimate::{ChainEstimator, Estimate};

/// Tier 3 as a [`ChainEstimator`]: the tool-caller's grammar-constrained decoding, greedy
/// (`beams` = 1) or the most probable of `beams` beams.
pub(super) struct Tier3 {
    model: ToolCaller,
    /// The arm name.
    pub name: String,
    /// How its training went.
    pub record: TrainRecord,
    /// Beam width of decoding (1: greedy).
    pub beams: usize,
}

impl Tier3 {
    /// The same model decoded with another beam width, under another name.
    pub fn decoded_with(&self, beams: usize, name: &str) -> Tier3 {
        Tier3 {
            model: self.model.clone(),
            name: name.into(),
            record: self.record.clone(),
            beams,
        }
    }
}

impl ChainEstimator for Tier3 {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        if self.beams <= 1 {
            let (chain, rationale) = self.model.estimate(dry, wet)?;
            return Ok(Estimate { chain, rationale });
        }
        let best = self.model.beams(Some(dry), wet, self.beams)?.remove(0);
        Ok(Estimate {
            rationale: best.decoded.rationale(),
            chain: best.decoded.chain,
        })
    }
}

/// The hybrid arm: tier 3's beams (and the empty chain) refined by tier 1's search, never
/// returned worse than the best start ([`hybrid`]).
pub(super) struct Hybrid<'a> {
    /// The tool-caller proposing.
    pub tier3: &'a Tier3,
    /// The search refining.
    pub options: SearchOptions,
}

impl ChainEstimator for Hybrid<'_> {
    fn name(&self) -> String {
        super::HYBRID.into()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        let proposals = beam_proposals(&self.tier3.model, dry, wet, HYBRID_BEAMS)?;
        let found = hybrid(dry, wet, proposals, &self.options)?;
        Ok(Estimate {
            chain: found.chain,
            rationale: found.rationale,
        })
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

/// The training pairs as the learned tiers read them: tier 3's feature frames and the pair
/// descriptors (tier 2's whole input, tier 3's descriptor token).
pub(super) fn corpus(train_set: &[Example]) -> Result<Corpus> {
    // The corpus computes descriptors with the estimators' tail window, which is this
    // experiment's: tier 2 reads exactly the descriptors `regression::features` would give.
    const { assert!(MAX_TAIL_SECONDS == crate::estimate::TAIL_SECONDS) };
    Corpus::from_examples(train_set, FeatureConfig::default())
}

/// Trains tier 2 on the descriptors of `corpus`; returns it with its loss history.
pub(super) fn train_tier2(
    corpus: &Corpus,
    config: &RegressionConfig,
    observer: &mut dyn Observer,
) -> Result<(Regressor, Vec<(u64, f64)>)> {
    let features: Vec<Vec<f32>> = corpus
        .descriptors
        .chunks(FEATURE_DIM)
        .map(<[f32]>::to_vec)
        .collect();
    observer.message(&format!(
        "training the regression baseline ({} steps)",
        config.steps
    ));
    regression::train(&features, &corpus.chains, config, observer)
}

/// Trains one tool-caller per `(plan, arm name)` variant on `corpus`.
pub(super) fn train_tier3(
    corpus: &Corpus,
    size: &Sizes,
    seed: u64,
    variants: &[(bool, &str)],
    observer: &mut dyn Observer,
) -> Result<Vec<Tier3>> {
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
                crate::estimate::toolcaller::train::train(corpus, &config, observer)?;
            Ok(Tier3 {
                model,
                name: name.to_string(),
                record,
                beams: super::TIER3_BEAMS,
            })
        })
        .collect()
}
