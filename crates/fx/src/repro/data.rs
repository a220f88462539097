//! The data phase: training pairs over the training sources and held-out test pairs over
//! source types training never saw, both passed through the LP-Fx triviality filter.

use std::path::Path;

use genlab_core::data::Cache;
use genlab_core::{Error, Result};
use rayon::prelude::*;

use super::{MAX_EFFECTS, MAX_TAIL_SECONDS, REAL_TEST_SOURCES, SAMPLE_RATE, SECONDS};
use super::{TEST_SOURCES, TRAIN_SOURCES, TRIVIAL};
use crate::engine::chain::Chain;
use crate::engine::mrstft::{AURALOSS, Resolution};
use crate::estimate::dataset::{DatasetSpec, Example, example};
use crate::estimate::objective::{ChainObjective, Pair, SEARCH_RESOLUTIONS};
use crate::sources::dry_source;

fn spec(
    sources: &[&str],
    n: usize,
    min_effects: usize,
    max_effects: usize,
    cache_dir: Option<&Path>,
) -> DatasetSpec {
    DatasetSpec {
        sources: sources.iter().map(|s| s.to_string()).collect(),
        cache_dir: cache_dir.map(Path::to_path_buf),
        n,
        min_effects,
        max_effects,
        sample_rate: SAMPLE_RATE,
        seconds: SECONDS,
        stereo: true,
    }
}

/// MRSTFT(wet, dry) in the analysis window.
pub(super) fn change(ex: &Example, resolutions: &[Resolution]) -> Result<f64> {
    let pair = Pair::new(&ex.dry, &ex.wet, Some(MAX_TAIL_SECONDS))?;
    ChainObjective::new(&pair, resolutions)?.distance(&Chain::default())
}

/// The first `n` non-trivial examples `make(0), make(1), …` (indices scanned in parallel
/// batches, kept in index order, so the set is deterministic).
fn non_trivial(
    n: usize,
    make: &(dyn Fn(usize) -> Result<Example> + Sync),
    resolutions: &[Resolution],
) -> Result<Vec<Example>> {
    let mut kept = Vec::with_capacity(n);
    let mut start = 0;
    while kept.len() < n {
        if start > 20 * n + 100 {
            return Err(Error::InvalidInput("too few non-trivial examples".into()));
        }
        let batch = (n - kept.len()).max(16);
        let found: Vec<Option<Example>> = (start..start + batch)
            .into_par_iter()
            .map(|i| {
                let ex = make(i)?;
                Ok((change(&ex, resolutions)? >= TRIVIAL).then_some(ex))
            })
            .collect::<Result<_>>()?;
        kept.extend(found.into_iter().flatten().take(n - kept.len()));
        start += batch;
    }
    Ok(kept)
}

/// The training pairs every learned tier uses: `n` non-trivial pairs, N uniform in 1..=3,
/// sources uniform over the training sources (pluck, pad, drum, tones, noise). Filtered with
/// the search resolutions (cheaper; training labels only need "audibly processed").
pub fn training_set(n: usize, seed: u64) -> Result<Vec<Example>> {
    let spec = spec(&TRAIN_SOURCES, n, 1, MAX_EFFECTS, None);
    non_trivial(n, &|i| example(&spec, seed, i), &SEARCH_RESOLUTIONS)
}

/// The held-out test pairs: for each N in 1..=3 and each of `sources`, `per_n` non-trivial
/// pairs, filtered with the auraloss resolutions (the LP-Fx rule).
pub fn test_set(
    per_n: usize,
    seed: u64,
    sources: &[String],
    cache_dir: Option<&Path>,
) -> Result<Vec<Example>> {
    let mut out = Vec::with_capacity(sources.len() * per_n * MAX_EFFECTS);
    for n in 1..=MAX_EFFECTS {
        for (k, source) in sources.iter().enumerate() {
            let s = spec(&[source.as_str()], per_n, n, n, cache_dir);
            let set_seed = seed ^ (0x7e57 + n as u64) ^ ((k as u64) << 32);
            out.extend(non_trivial(
                per_n,
                &|i| example(&s, set_seed, i),
                &AURALOSS,
            )?);
        }
    }
    Ok(out)
}

/// The held-out sources of this run: the procedural ones, then each real-audio one whose data
/// is in the cache.
pub(super) fn test_sources(cache_dir: &Path) -> Vec<String> {
    let cache = Cache::at(cache_dir);
    TEST_SOURCES
        .iter()
        .map(|s| s.to_string())
        .chain(
            REAL_TEST_SOURCES
                .iter()
                .filter(|name| dry_source(name, SAMPLE_RATE, 0.05, 0, Some(&cache)).is_ok())
                .map(|s| s.to_string()),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triviality_filter_keeps_only_audible_changes_in_order() {
        let kept = training_set(10, 4).unwrap();
        assert_eq!(kept.len(), 10);
        for ex in &kept {
            assert!(change(ex, &SEARCH_RESOLUTIONS).unwrap() >= TRIVIAL);
        }
        let again = training_set(10, 4).unwrap();
        assert!(kept.iter().zip(&again).all(|(a, b)| a.chain == b.chain));
        let sources: std::collections::HashSet<_> =
            kept.iter().map(|e| e.source.as_str()).collect();
        assert!(
            sources.contains("tones") || sources.contains("noise"),
            "{sources:?}"
        );
        let procedural: Vec<String> = TEST_SOURCES.iter().map(|s| s.to_string()).collect();
        let test = test_set(2, 4, &procedural, None).unwrap();
        assert_eq!(test.len(), 12);
        assert!(test.iter().all(|e| procedural.contains(&e.source)));
        assert_eq!(test.iter().filter(|e| e.source == "arp").count(), 6);
        let lengths: Vec<usize> = test.iter().map(|e| e.chain.stages.len()).collect();
        assert_eq!(lengths, vec![1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    }

    /// The data phase's cost (run with `--ignored --nocapture`): 200 training pairs, and the
    /// pad source by the wavetable against the direct additive sum it replaced.
    #[test]
    #[ignore = "timing, prints CPU-bound seconds"]
    fn data_phase_cost() {
        let started = std::time::Instant::now();
        let set = training_set(200, 0).unwrap();
        println!(
            "200 training pairs: {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let pads = set.iter().filter(|e| e.source == "pad").count();
        let started = std::time::Instant::now();
        for seed in 0..50 {
            std::hint::black_box(dry_source("pad", SAMPLE_RATE, SECONDS, seed, None).unwrap());
        }
        let table = started.elapsed().as_secs_f64() / 50.0;
        let started = std::time::Instant::now();
        for _ in 0..50 {
            let n = (SECONDS * SAMPLE_RATE as f64) as usize;
            let sr = SAMPLE_RATE as f64;
            for detune in [1.0, 1.003] {
                let v: f64 = (0..n)
                    .map(|i| {
                        [220.0, 277.18, 329.63]
                            .iter()
                            .map(|f: &f64| {
                                let f = f * detune;
                                let k = ((0.5 * sr / f) as usize).min(40);
                                crate::sources::wavetable::partial_sum(
                                    std::f64::consts::TAU * f * i as f64 / sr,
                                    k,
                                    1,
                                )
                            })
                            .sum::<f64>()
                    })
                    .sum();
                std::hint::black_box(v);
            }
        }
        let direct = started.elapsed().as_secs_f64() / 50.0;
        println!(
            "pad (1 s, 16 kHz stereo): wavetable {:.2} ms, direct sum {:.2} ms; {pads} of 200 pairs are pads",
            1e3 * table,
            1e3 * direct
        );
    }
}
