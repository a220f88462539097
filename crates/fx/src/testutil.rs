//! Test support shared by the modules that read fetched data.

use genlab_core::data::{Cache, DatasetInfo};
use genlab_core::{Error, Result};

use crate::engine::buffer::AudioBuffer;
use crate::estimate::dataset::DatasetSpec;

/// The environment's cache when `dataset` is fetched there; otherwise `None`, after printing
/// why the calling test is skipped (tests of fetched data pass trivially where it is absent).
pub(crate) fn cached(dataset: DatasetInfo) -> Option<Cache> {
    let cache = Cache::from_env();
    if dataset.is_fetched(&cache) {
        Some(cache)
    } else {
        eprintln!(
            "skipped: `{}` is not in {} (run `genlab data fetch {}`)",
            dataset.name,
            cache.dir().display(),
            dataset.name
        );
        None
    }
}

/// A source that reads the data cache: [`crate::sources::recorded::source`] or
/// [`crate::sources::soundfont::source`] (name, cache, sample rate, seconds, seed).
pub(crate) type CachedSource = fn(&str, &Cache, u32, f64, u64) -> Result<AudioBuffer>;

/// Renders `name` at `seed` and checks the render is seeded: the same seed gives the same
/// audio, the next seed other audio. Returns the render.
pub(crate) fn seeded_render(
    source: CachedSource,
    name: &str,
    cache: &Cache,
    (sample_rate, seconds, seed): (u32, f64, u64),
) -> AudioBuffer {
    let a = source(name, cache, sample_rate, seconds, seed).unwrap();
    assert_eq!(
        a,
        source(name, cache, sample_rate, seconds, seed).unwrap(),
        "{name}"
    );
    assert_ne!(
        a,
        source(name, cache, sample_rate, seconds, seed + 1).unwrap(),
        "{name}"
    );
    a
}

/// Checks the errors `source` gives an empty cache: for `name`, the missing `dataset` and how
/// to fetch it; for the unknown name `unknown`, the known names (`known` among them). Returns
/// the empty cache, and the folder that holds it, for more checks.
pub(crate) fn assert_clear_errors(
    source: CachedSource,
    dataset: DatasetInfo,
    [name, unknown, known]: [&str; 3],
) -> (tempfile::TempDir, Cache) {
    let empty = tempfile::tempdir().unwrap();
    let cache = Cache::at(empty.path());
    let err = source(name, &cache, 44100, 1.0, 0).unwrap_err();
    assert!(matches!(&err, Error::MissingData { name, .. } if name == dataset.name));
    let fetch = format!("genlab data fetch {}", dataset.name);
    assert!(err.to_string().contains(&fetch), "{err}");
    let err = source(unknown, &cache, 44100, 1.0, 0).unwrap_err();
    assert!(err.to_string().contains(known), "{err}");
    (empty, cache)
}

/// A small procedural data set: `n` examples of pluck and drum, 1 to `max_effects` effects,
/// stereo, at `sample_rate` for `seconds`.
pub(crate) fn pluck_and_drum(
    n: usize,
    max_effects: usize,
    sample_rate: u32,
    seconds: f64,
) -> DatasetSpec {
    DatasetSpec {
        sources: vec!["pluck".into(), "drum".into()],
        n,
        min_effects: 1,
        max_effects,
        sample_rate,
        seconds,
        stereo: true,
        cache_dir: None,
    }
}

/// Seeded uniform noise in `[-0.5, 0.5)` from a 32-bit linear congruential generator started
/// at `seed`: `channels` channels of `len` samples, drawn one channel after the other.
pub(crate) fn lcg_noise(seed: u32, channels: usize, len: usize) -> Vec<Vec<f32>> {
    let mut state = seed;
    (0..channels)
        .map(|_| {
            (0..len)
                .map(|_| {
                    state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                    (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect()
        })
        .collect()
}
