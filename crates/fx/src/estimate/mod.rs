//! Chain estimation: (dry, wet) → an ordered chain with parameters and a rationale.
//!
//! Every tier implements [`ChainEstimator`] (dry, wet) → [`Estimate`]; [`NoOp`] and
//! [`RandomChain`] are the trivial baselines every table reports for scale.
//!
//! - [`objective`]: the analysis window and the analysis-by-synthesis objective (MRSTFT of a
//!   candidate chain's render) with coordinate search on the step grid.
//! - [`features`], [`detect`]: interpretable descriptors and effect detectors.
//! - [`search`], [`rationale`]: tier 1, analysis-by-synthesis over orders with a written
//!   rationale; [`confirm`]: the full-rate confirmation of a reduced-rate search;
//!   [`spectrum`]: the search's single-precision MRSTFT.
//! - [`regression`]: tier 2, the fixed-order regression baseline.
//! - [`toolcaller`]: tier 3, the autoregressive tool-caller.
//! - `fixed_set` (tests only): a genlab-rendered evaluation set with a minimum presence F1.
//! - [`dataset`], [`metrics`]: seeded (dry, wet, chain) examples and the chain metrics.
//! - [`learned`]: pairs from the user's dry audio, saved models and the four estimation
//!   methods (search, regression, tool-caller, hybrid) the CLI offers; [`summary`]: the
//!   batch summary page.

pub mod confirm;
pub mod dataset;
pub mod detect;
pub mod features;
#[cfg(test)]
mod fixed_set;
pub mod learned;
pub mod metrics;
pub mod objective;
pub mod rationale;
pub mod regression;
pub mod search;
pub mod spectrum;
pub mod summary;
pub mod toolcaller;

use genlab_core::{Error, Result};

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::Chain;

/// The wet tail (seconds after the dry signal ends) an estimate compares when the dry file is
/// analysed whole.
pub const TAIL_SECONDS: f64 = 0.5;

/// Cuts `dry` and `wet` to the analysis window, the first `max_seconds` of dry (and of wet,
/// when dry is cut); returns the wet tail to compare after the dry end: none after a cut (a
/// cut dry file cannot explain the wet signal past the cut), else [`TAIL_SECONDS`].
pub fn analysis_window(dry: &mut AudioBuffer, wet: &mut AudioBuffer, max_seconds: f64) -> f64 {
    let len = (max_seconds * dry.sample_rate as f64) as usize;
    if dry.len() > len {
        for ch in dry.channels.iter_mut().chain(wet.channels.iter_mut()) {
            ch.truncate(len);
        }
        0.0
    } else {
        TAIL_SECONDS
    }
}

/// An estimated chain and why it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The ordered chain of effects with grid parameters.
    pub chain: Chain,
    /// Human-readable explanation.
    pub rationale: String,
}

/// Anything that turns (dry, wet) into a chain: analysis-by-synthesis, regression, the
/// autoregressive tool-caller, and the trivial baselines.
pub trait ChainEstimator: Send + Sync {
    /// Short name for tables (e.g. `tier 1: analysis-by-synthesis`).
    fn name(&self) -> String;
    /// Estimates the chain that turns `dry` into `wet`.
    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate>;
}

/// The no-op baseline: always the empty chain (its MRSTFT is that of the dry signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NoOp;

impl ChainEstimator for NoOp {
    fn name(&self) -> String {
        "baseline: no-op".into()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        check_pair(dry, wet)?;
        Ok(Estimate {
            chain: Chain::default(),
            rationale: "the empty chain (baseline)".into(),
        })
    }
}

/// The random-chain baseline: `N` uniform in `1..=max_effects`, then a chain drawn like the
/// training data ([`crate::engine::sampler::sample_chain`]), seeded from `seed` and a hash of the wet
/// signal (deterministic, independent of evaluation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandomChain {
    /// Longest chain drawn.
    pub max_effects: usize,
    /// Base seed.
    pub seed: u64,
}

impl ChainEstimator for RandomChain {
    fn name(&self) -> String {
        "baseline: random chain".into()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        use rand::Rng;
        check_pair(dry, wet)?;
        // FNV-1a over the wet samples' bits.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in wet.channels.iter().flatten() {
            h = (h ^ x.to_bits() as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut rng = genlab_core::train::SeededRng::new(self.seed ^ h);
        let n = rng.rng().random_range(1..=self.max_effects.max(1));
        let chain = crate::engine::sampler::sample_chain(&mut rng, n, dry.n_channels() == 2)?;
        Ok(Estimate {
            chain,
            rationale: format!("{n} random effects (baseline)"),
        })
    }
}

/// Checks that `dry` and `wet` can be compared: same rate and channels, finite, non-empty.
pub fn check_pair(dry: &AudioBuffer, wet: &AudioBuffer) -> Result<()> {
    if dry.sample_rate != wet.sample_rate || dry.n_channels() != wet.n_channels() {
        return Err(Error::InvalidInput(format!(
            "dry ({} Hz, {} ch) and wet ({} Hz, {} ch) must have the same rate and channels",
            dry.sample_rate,
            dry.n_channels(),
            wet.sample_rate,
            wet.n_channels()
        )));
    }
    if dry.is_empty() || wet.is_empty() {
        return Err(Error::InvalidInput(
            "dry and wet audio must not be empty".into(),
        ));
    }
    dry.check_finite("dry audio")?;
    wet.check_finite("wet audio")
}
