//! Real recorded dry sources from the data cache: the five music tracks of `moh-music`
//! (Debian `asterisk-moh-opsound-wav`, CC BY-SA 3.0: 1,107 s of music, mono, 8 kHz, 16-bit;
//! fetched with `genlab data fetch moh-music`).
//!
//! - **music**: a crop of `seconds` at a uniformly random position in the whole collection (a
//!   track is drawn with probability proportional to the room it has for the crop, then an
//!   offset uniformly inside it), so every admissible second of music is equally likely;
//! - **`music-<track>`**: the same inside one named track ([`TRACKS`]), so evaluation can hold out
//!   a whole recording.
//!
//! A crop is taken at the output rate straight from the 8 kHz track by the band-limited
//! resampler ([`crate::engine::resample`]; the recordings hold nothing above 4 kHz, so neither does the
//! crop), duplicated to stereo, and scaled to a peak of −3 dBFS (the tracks' own levels differ by
//! 11 dB). A crop quieter than −40 dBFS RMS (fade-ins, endings) is redrawn, up to 16 times, so
//! sources are not silence. Everything follows from the seed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use genlab_core::data::{Cache, DatasetInfo};
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use rand::Rng;

use crate::engine::buffer::AudioBuffer;
use crate::engine::resample::Resampler;
use crate::engine::wav;
use crate::sources::{Memo, memoized};

/// The registry dataset this source reads.
pub const DATASET: DatasetInfo = crate::sources::datasets::MOH_MUSIC;

/// Short track names (used in `music-<track>`) and their files in the dataset directory.
pub const TRACKS: [(&str, &str); 5] = [
    ("cold_day", "macroform-cold_day.wav"),
    ("robot_dity", "macroform-robot_dity.wav"),
    ("the_simplicity", "macroform-the_simplicity.wav"),
    ("morning_coffee", "manolo_camp-morning_coffee.wav"),
    ("system", "reno_project-system.wav"),
];

/// Peak level of every crop: −3 dBFS.
const PEAK: f32 = 0.707_945_8;
/// Crops below this RMS (dBFS) are redrawn.
const QUIET_DBFS: f64 = -40.0;
/// Draws before the last quiet crop is accepted as it is.
const DRAWS: usize = 16;

/// Every source name this module provides: `music` and one `music-<track>` per track.
pub fn names() -> Vec<String> {
    std::iter::once("music".to_string())
        .chain(TRACKS.iter().map(|(t, _)| format!("music-{t}")))
        .collect()
}

/// One decoded track: mono samples at its own rate.
#[derive(Debug)]
struct Track {
    rate: u32,
    samples: Vec<f32>,
}

/// Tracks decoded once per process (the five files are 17 MB of WAV).
static TRACK_CACHE: Memo<Track> = Mutex::new(None);

fn load(path: PathBuf) -> Result<Arc<Track>> {
    memoized(&TRACK_CACHE, path, decode)
}

fn decode(path: &Path) -> Result<Track> {
    let audio = wav::read(path)?;
    if audio.n_channels() != 1 {
        return Err(Error::parse(
            path,
            None,
            format!(
                "expected a mono recording, found {} channels",
                audio.n_channels()
            ),
        ));
    }
    Ok(Track {
        rate: audio.sample_rate,
        samples: audio.channels.into_iter().next().unwrap_or_default(),
    })
}

/// The source called `name` ([`names`]): `seconds` of stereo audio at `sample_rate` from `seed`.
/// A cache without `moh-music` gives [`Error::MissingData`] (which names
/// `genlab data fetch moh-music`); an unknown name or a crop longer than the track gives
/// [`Error::InvalidInput`].
pub fn source(
    name: &str,
    cache: &Cache,
    sample_rate: u32,
    seconds: f64,
    seed: u64,
) -> Result<AudioBuffer> {
    let tracks: Vec<&str> = match name.strip_prefix("music") {
        Some("") => TRACKS.iter().map(|(_, f)| *f).collect(),
        Some(rest) => match TRACKS
            .iter()
            .find(|(t, _)| rest.strip_prefix('-') == Some(*t))
        {
            Some((_, f)) => vec![*f],
            None => return Err(unknown(name)),
        },
        None => return Err(unknown(name)),
    };
    if sample_rate == 0 || !seconds.is_finite() || seconds < 0.0 {
        return Err(Error::InvalidInput(format!(
            "source `{name}`: need a positive sample rate and a finite, non-negative length \
             (got {sample_rate} Hz, {seconds} s)"
        )));
    }
    if !DATASET.is_fetched(cache) {
        return Err(DATASET.missing(cache));
    }
    let dir = cache.path(DATASET.name);
    let loaded = tracks
        .iter()
        .map(|f| load(dir.join(f)))
        .collect::<Result<Vec<_>>>()?;
    let n = (seconds * sample_rate as f64).round() as u64;
    // Room for the crop in each track, in output samples.
    let room: Vec<u64> = loaded
        .iter()
        .map(|t| {
            let len = (t.samples.len() as u64 * sample_rate as u64) / t.rate as u64;
            (len + 1).saturating_sub(n)
        })
        .collect();
    let total: u64 = room.iter().sum();
    if total == 0 {
        return Err(Error::InvalidInput(format!(
            "source `{name}`: {seconds} s is longer than the recording"
        )));
    }
    let mut rng = SeededRng::new(seed);
    let mut crop = Vec::new();
    for _ in 0..DRAWS {
        let mut position = rng.rng().random_range(0..total);
        let which = room
            .iter()
            .position(|&r| {
                if position < r {
                    true
                } else {
                    position -= r;
                    false
                }
            })
            .unwrap_or(0);
        let track = &loaded[which];
        crop = if track.rate == sample_rate {
            track.samples[position as usize..(position + n) as usize].to_vec()
        } else {
            Resampler::new(track.rate, sample_rate)?.render(&track.samples, position..position + n)
        };
        let rms = (crop.iter().map(|&v| (v as f64).powi(2)).sum::<f64>()
            / crop.len().max(1) as f64)
            .sqrt();
        if 20.0 * rms.max(1e-12).log10() >= QUIET_DBFS {
            break;
        }
    }
    let peak = crop.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        let g = PEAK / peak;
        crop.iter_mut().for_each(|v| *v *= g);
    }
    AudioBuffer::new(sample_rate, vec![crop.clone(), crop])
}

fn unknown(name: &str) -> Error {
    Error::InvalidInput(format!(
        "unknown recorded source `{name}` (known: {})",
        names().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::loudness::levels;
    use crate::testutil::{assert_clear_errors, cached, seeded_render};

    #[test]
    fn crops_are_seeded_the_right_length_rate_and_level() {
        let Some(cache) = cached(DATASET) else { return };
        let a = seeded_render(source, "music", &cache, (22050, 1.5, 7));
        assert_eq!((a.sample_rate, a.n_channels(), a.len()), (22050, 2, 33075));
        assert_eq!(a.channels[0], a.channels[1]);
        assert!((a.peak() - PEAK).abs() < 1e-6);
        assert!(levels(&a).rms_dbfs > QUIET_DBFS - 3.0);
        // One named track, at 44.1 kHz and at the recording's own rate.
        for rate in [44100, 8000] {
            let b = source("music-morning_coffee", &cache, rate, 0.5, 3).unwrap();
            assert_eq!(b.len(), rate as usize / 2);
            assert!(b.channels[0].iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn a_crop_at_8k_is_the_recording_itself() {
        // At the recording's rate the crop is a scaled copy of consecutive track samples.
        let Some(cache) = cached(DATASET) else { return };
        let track = load(cache.path(DATASET.name).join(TRACKS[3].1)).unwrap();
        let b = source("music-morning_coffee", &cache, 8000, 0.25, 11).unwrap();
        let x = &b.channels[0];
        let start = track.samples.windows(x.len()).position(|w| {
            let g = x[0] / w[0];
            w[0] != 0.0 && w.iter().zip(x).all(|(a, b)| (a * g - b).abs() < 1e-5)
        });
        assert!(start.is_some(), "the crop is not a window of the track");
    }

    #[test]
    fn bad_names_lengths_and_a_missing_cache_give_clear_errors() {
        let names = ["music", "music-nope", "music-cold_day"];
        let (_empty, cache) = assert_clear_errors(source, DATASET, names);
        assert!(source("musical", &cache, 44100, 1.0, 0).is_err());
        assert!(source("music", &cache, 44100, f64::NAN, 0).is_err());
        if let Some(cache) = cached(DATASET) {
            let err = source("music-morning_coffee", &cache, 8000, 600.0, 0).unwrap_err();
            assert!(err.to_string().contains("longer than"), "{err}");
        }
    }
}
