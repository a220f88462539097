//! Dry audio to process: procedural instruments, recorded music and SoundFont instruments, and
//! the registry datasets the real ones come from.
//!
//! - [`procedural`], [`extra`], [`synth`]: seeded synthetic sources (pluck, pad, drum, sweep;
//!   tones, noise, arp; randomised synth and keys chords), the additive ones read from
//!   [`wavetable`]s.
//! - [`recorded`], [`soundfont`]: excerpts of fetched recordings and SoundFont renders.
//! - [`datasets`]: the registry recipes (`genlab data fetch moh-music | timgm6mb`).
//!
//! [`dry_source`] looks any of them up by name ([`known_sources`]).

pub mod datasets;
pub mod extra;
pub mod procedural;
pub mod recorded;
pub mod soundfont;
pub mod synth;
pub mod wavetable;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use genlab_core::data::Cache;
use genlab_core::{Error, Result};

use crate::engine::buffer::AudioBuffer;
use extra::{EXTRA_SOURCES, HELD_OUT_SOURCES, extra_source};
use procedural::{SOURCES, source};
use synth::{SYNTH_SOURCES, synth_source};

/// Every source name [`dry_source`] knows, procedural first.
pub fn known_sources() -> Vec<String> {
    SOURCES
        .iter()
        .chain(&EXTRA_SOURCES)
        .chain(&SYNTH_SOURCES)
        .chain(&HELD_OUT_SOURCES)
        .map(|s| s.to_string())
        .chain(recorded::names())
        .chain(soundfont::names())
        .collect()
}

/// The dry source `name`, `seconds` long at `sample_rate`, from `seed`. The recorded and
/// SoundFont sources read `cache` (a clear [`Error::MissingData`] when it lacks their data,
/// [`Error::InvalidInput`] when there is no cache at all).
pub fn dry_source(
    name: &str,
    sample_rate: u32,
    seconds: f64,
    seed: u64,
    cache: Option<&Cache>,
) -> Result<AudioBuffer> {
    if let Some(audio) = source(name, sample_rate, seconds, seed)
        .or_else(|| extra_source(name, sample_rate, seconds, seed))
        .or_else(|| synth_source(name, sample_rate, seconds, seed))
    {
        return Ok(audio);
    }
    let recorded = recorded::names().iter().any(|n| n == name);
    if !recorded && !soundfont::names().iter().any(|n| n == name) {
        return Err(Error::InvalidInput(format!(
            "unknown source `{name}` (known: {})",
            known_sources().join(", ")
        )));
    }
    let cache = cache
        .ok_or_else(|| Error::InvalidInput(format!("source `{name}` needs the data cache")))?;
    if recorded {
        recorded::source(name, cache, sample_rate, seconds, seed)
    } else {
        soundfont::source(name, cache, sample_rate, seconds, seed)
    }
}

/// Files decoded once per process, by path (the recorded tracks, the SoundFont).
type Memo<T> = Mutex<Option<HashMap<PathBuf, Arc<T>>>>;

/// `decode(path)`, or its earlier result from `memo`. A poisoned lock only skips the memo.
fn memoized<T>(
    memo: &Memo<T>,
    path: PathBuf,
    decode: impl FnOnce(&Path) -> Result<T>,
) -> Result<Arc<T>> {
    if let Some(found) = memo
        .lock()
        .ok()
        .and_then(|m| m.as_ref().and_then(|m| m.get(&path).cloned()))
    {
        return Ok(found);
    }
    let decoded = Arc::new(decode(&path)?);
    if let Ok(mut m) = memo.lock() {
        m.get_or_insert_with(HashMap::new)
            .insert(path, decoded.clone());
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Procedural sources need no cache; real ones say what is missing.
    #[test]
    fn sources_resolve_by_name() {
        for name in ["pluck", "tones", "arp"] {
            assert_eq!(dry_source(name, 8000, 0.1, 1, None).unwrap().len(), 800);
        }
        let no_cache = dry_source("music", 8000, 0.1, 1, None).unwrap_err();
        assert!(no_cache.to_string().contains("cache"), "{no_cache}");
        let empty = tempfile::tempdir().unwrap();
        let missing = dry_source("sf2-piano", 8000, 0.1, 1, Some(&Cache::at(empty.path())));
        assert!(
            matches!(missing, Err(Error::MissingData { .. })),
            "{missing:?}"
        );
        let unknown = dry_source("violin", 8000, 0.1, 1, None).unwrap_err();
        assert!(unknown.to_string().contains("sf2-piano"), "{unknown}");
    }
}
