//! Synthetic (dry, wet, chain) examples for training and evaluating chain estimators, as
//! LLM2Fx-Tools builds its training set: a dry source, a random chain of `N` distinct effects
//! on the step grid ([`crate::engine::sampler`]), and the chain rendered over the source.
//!
//! Held-out evaluation uses *source types* that training never saw: the caller picks the
//! source names of each split from [`known_sources`] (procedural, and when fetched, recorded
//! music and SoundFont instruments). Every example is seeded from `(seed, index)`, so a split
//! is reproducible and examples can be generated in any order.
//!
//! The wet signal keeps the chain's tail (reverb and echoes ring out past the dry length); the
//! dry signal is not padded — estimators align the two by zero-padding the dry end.

use std::path::PathBuf;

use genlab_core::data::Cache;
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use rand::Rng;

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{Chain, RenderOptions, render};
use crate::engine::sampler::sample_chain;
use crate::sources::{dry_source, known_sources};

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSpec {
    /// Source names to draw from, uniformly (each in [`known_sources`]).
    pub sources: Vec<String>,
    /// Number of examples.
    pub n: usize,
    /// Smallest and largest chain length; each example draws `N` uniformly in between.
    pub min_effects: usize,
    /// See `min_effects`.
    pub max_effects: usize,
    /// Sample rate of sources and renders.
    pub sample_rate: u32,
    /// Dry length in seconds.
    pub seconds: f64,
    /// Allow the stereo-only effects (panner, widener).
    pub stereo: bool,
    /// The data cache, for the recorded and SoundFont sources (`None`: procedural only).
    pub cache_dir: Option<PathBuf>,
}

/// One training or evaluation example.
#[derive(Debug, Clone)]
pub struct Example {
    /// The source name the dry signal came from.
    pub source: String,
    /// The dry input.
    pub dry: AudioBuffer,
    /// The chain applied (the target of estimation).
    pub chain: Chain,
    /// The chain rendered over `dry`, tail included.
    pub wet: AudioBuffer,
}

/// Generates example `index` of `spec` under `seed`. Depends only on `(spec, seed, index)`.
pub fn example(spec: &DatasetSpec, seed: u64, index: usize) -> Result<Example> {
    validate(spec)?;
    let mut rng = SeededRng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let name = &spec.sources[rng.rng().random_range(0..spec.sources.len())];
    let n = rng.rng().random_range(spec.min_effects..=spec.max_effects);
    let chain = sample_chain(&mut rng, n, spec.stereo)?;
    let source_seed = rng.rng().random::<u64>();
    let cache = spec.cache_dir.as_ref().map(Cache::at);
    let dry = dry_source(
        name,
        spec.sample_rate,
        spec.seconds,
        source_seed,
        cache.as_ref(),
    )?;
    let wet = render(&chain, &dry, RenderOptions::default())?.audio;
    wet.check_finite("rendered example")?;
    Ok(Example {
        source: name.clone(),
        dry,
        chain,
        wet,
    })
}

/// Generates the `spec.n` examples of `spec` under `seed` (in parallel; same result as calling
/// [`example`] for each index).
pub fn generate(spec: &DatasetSpec, seed: u64) -> Result<Vec<Example>> {
    use rayon::prelude::*;
    validate(spec)?;
    (0..spec.n)
        .into_par_iter()
        .map(|i| example(spec, seed, i))
        .collect()
}

fn validate(spec: &DatasetSpec) -> Result<()> {
    if spec.sources.is_empty() {
        return Err(Error::InvalidInput(
            "a dataset needs at least one source".into(),
        ));
    }
    let known = known_sources();
    if let Some(bad) = spec.sources.iter().find(|s| !known.contains(s)) {
        return Err(Error::InvalidInput(format!(
            "unknown source `{bad}` (known: {})",
            known.join(", ")
        )));
    }
    if spec.min_effects == 0 || spec.min_effects > spec.max_effects {
        return Err(Error::InvalidInput(format!(
            "chain length range {}..={} is empty or starts at 0",
            spec.min_effects, spec.max_effects
        )));
    }
    if !(spec.seconds > 0.0 && spec.seconds.is_finite()) || spec.sample_rate == 0 {
        return Err(Error::InvalidInput(format!(
            "need a positive duration and sample rate, got {} s at {} Hz",
            spec.seconds, spec.sample_rate
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> DatasetSpec {
        crate::testutil::pluck_and_drum(6, 3, 16_000, 0.25)
    }

    #[test]
    fn seeded_and_order_free() {
        let all = generate(&spec(), 7).unwrap();
        assert_eq!(all.len(), 6);
        let third = example(&spec(), 7, 2).unwrap();
        assert_eq!(all[2].chain, third.chain);
        assert_eq!(all[2].wet.channels, third.wet.channels);
        let other = generate(&spec(), 8).unwrap();
        assert!(all.iter().zip(&other).any(|(a, b)| a.chain != b.chain));
        for e in &all {
            assert!((1..=3).contains(&e.chain.stages.len()));
            assert!(["pluck", "drum"].contains(&e.source.as_str()));
            assert!(e.wet.len() >= e.dry.len());
            assert_eq!(e.dry.len(), 4000);
        }
    }

    #[test]
    fn bad_specs_are_refused() {
        let mut s = spec();
        s.sources = vec!["violin".into()];
        assert!(generate(&s, 0).is_err());
        let mut s = spec();
        s.min_effects = 0;
        assert!(generate(&s, 0).is_err());
        let mut s = spec();
        s.min_effects = 4;
        assert!(generate(&s, 0).is_err());
        let mut s = spec();
        s.seconds = f64::NAN;
        assert!(generate(&s, 0).is_err());
    }
}
