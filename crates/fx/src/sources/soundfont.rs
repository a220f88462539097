//! SoundFont-rendered instruments: real sampled instruments playing procedurally written music,
//! as dry sources `sf2-<instrument>` ([`INSTRUMENTS`]). The samples come from the TimGM6mb
//! General-MIDI SoundFont (Debian `timgm6mb-soundfont`, GPL-2; `genlab data fetch timgm6mb`);
//! the synthesizer is the `rustysynth` crate (pure Rust SF2 player), with its reverb and chorus
//! off so the sources are dry.
//!
//! **The score** (all from the seed): tempo uniform in 80–140 BPM, 4/4; a key (12 roots ×
//! major/natural minor); a four-bar progression starting on the tonic, each other bar a chord on
//! a random scale degree (triads built in the scale), looped. Each instrument plays a part that
//! suits it ([`Part`]):
//!
//! - **chords** (piano): the root in octave 3 on beats 1 and 3, the triad in octave 4 on every
//!   beat, velocity 60–100;
//! - **pad** (strings, organ): the triad held for the whole bar, velocity 70–90;
//! - **arpeggio** (guitar): chord tones in eighth notes, up then down over two octaves;
//! - **bass** (electric bass): root in octave 2 in eighth notes, every fourth one the fifth;
//! - **melody** (flute): a random walk on the scale in octave 5, half-, one- or two-beat notes
//!   with occasional rests, on a chord tone on each downbeat (never a rest there);
//! - **drums** (GM percussion channel): kick on 1 and 3, snare on 2 and 4, closed hi-hat eighths,
//!   an open hi-hat and ghost snares at random.
//!
//! Notes are 90% of their slot long (so they re-articulate) and take effect at the
//! synthesizer's 64-sample block boundary. The render is stereo (the SoundFont's own panning),
//! scaled to a peak of −3 dBFS. rustysynth runs at 16–192 kHz; lower rates are rendered at the
//! smallest multiple of the rate that is ≥ 16 kHz and brought down by [`crate::engine::resample`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use genlab_core::data::{Cache, DatasetInfo};
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use rand::Rng;
use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};

use crate::engine::buffer::AudioBuffer;
use crate::engine::resample::Resampler;
use crate::sources::{Memo, memoized};

/// The registry dataset this source reads.
pub const DATASET: DatasetInfo = crate::sources::datasets::TIMGM6MB;
/// The SoundFont file inside the dataset directory.
pub const FILE: &str = "TimGM6mb.sf2";

/// Peak level of every render: −3 dBFS.
const PEAK: f32 = 0.707_945_8;
/// MIDI channel of melodic parts, and the General-MIDI percussion channel.
const MELODIC: i32 = 0;
const PERCUSSION: i32 = 9;
/// rustysynth's sample-rate range.
const MIN_SYNTH_RATE: u32 = 16_000;
const MAX_SYNTH_RATE: u32 = 192_000;

/// What an instrument plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Bass note and beat chords.
    Chords,
    /// Held triads.
    Pad,
    /// Broken chords in eighths.
    Arpeggio,
    /// Roots and fifths in eighths.
    Bass,
    /// A single-voice line.
    Melody,
    /// Kick, snare and hi-hats on the percussion channel.
    Drums,
}

/// One SoundFont instrument source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instrument {
    /// Source name without the `sf2-` prefix.
    pub name: &'static str,
    /// General-MIDI program, 0-based (ignored for drums).
    pub program: u8,
    /// What it plays.
    pub part: Part,
}

/// The instruments: GM programs 0 (acoustic grand piano), 24 (nylon guitar), 48 (string
/// ensemble), 16 (drawbar organ), 33 (finger bass), 73 (flute) and the standard drum kit.
pub const INSTRUMENTS: [Instrument; 7] = [
    Instrument {
        name: "piano",
        program: 0,
        part: Part::Chords,
    },
    Instrument {
        name: "guitar",
        program: 24,
        part: Part::Arpeggio,
    },
    Instrument {
        name: "strings",
        program: 48,
        part: Part::Pad,
    },
    Instrument {
        name: "organ",
        program: 16,
        part: Part::Pad,
    },
    Instrument {
        name: "bass",
        program: 33,
        part: Part::Bass,
    },
    Instrument {
        name: "flute",
        program: 73,
        part: Part::Melody,
    },
    Instrument {
        name: "drums",
        program: 0,
        part: Part::Drums,
    },
];

/// Every source name this module provides (`sf2-piano`, …).
pub fn names() -> Vec<String> {
    INSTRUMENTS
        .iter()
        .map(|i| format!("sf2-{}", i.name))
        .collect()
}

/// A note: MIDI key and velocity, on and off times in beats.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Note {
    key: i32,
    velocity: i32,
    start: f64,
    end: f64,
}

/// The generated piece: tempo and the instrument's notes.
#[derive(Debug, Clone, PartialEq)]
struct Score {
    bpm: f64,
    notes: Vec<Note>,
}

const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];

/// Scale degree `d` (any integer; 7 steps = an octave) as a semitone offset from the tonic.
fn degree(scale: &[i32; 7], d: i32) -> i32 {
    scale[d.rem_euclid(7) as usize] + 12 * d.div_euclid(7)
}

/// Writes the instrument's part for `beats` beats from `rng` (see the module doc).
fn compose(part: Part, beats: f64, rng: &mut SeededRng) -> Score {
    let r = rng.rng();
    let bpm = r.random_range(80.0..140.0);
    let tonic = r.random_range(0..12);
    let scale = if r.random_bool(0.5) { MAJOR } else { MINOR };
    let progression: Vec<i32> = std::iter::once(0)
        .chain((0..3).map(|_| r.random_range(1..7)))
        .collect();
    let bars = (beats / 4.0).ceil() as usize;
    let mut notes = Vec::new();
    let mut push = |key: i32, velocity: i32, start: f64, length: f64| {
        notes.push(Note {
            key,
            velocity,
            start,
            end: start + 0.9 * length,
        })
    };
    // Key of scale degree `d` counted from octave `octave`'s tonic.
    let key = |octave: i32, d: i32| 12 * (octave + 1) + tonic + degree(&scale, d);
    let mut walk = 7; // melody position in scale degrees above the octave-4 tonic
    for bar in 0..bars {
        let root = progression[bar % 4];
        let triad = [root, root + 2, root + 4];
        let t0 = 4.0 * bar as f64;
        match part {
            Part::Chords => {
                for beat in 0..4 {
                    let t = t0 + beat as f64;
                    if beat % 2 == 0 {
                        push(key(3, root), r.random_range(70..100), t, 2.0);
                    }
                    let v = r.random_range(60..95);
                    for d in triad {
                        push(key(4, d), v, t, 1.0);
                    }
                }
            }
            Part::Pad => {
                let v = r.random_range(70..90);
                for d in triad {
                    push(key(4, d), v, t0, 4.0);
                }
            }
            Part::Arpeggio => {
                let up = [triad[0], triad[1], triad[2], triad[0] + 7];
                for step in 0..8 {
                    let d = if step < 4 { up[step] } else { up[7 - step] + 7 };
                    push(
                        key(3, d),
                        r.random_range(65..95),
                        t0 + 0.5 * step as f64,
                        0.5,
                    );
                }
            }
            Part::Bass => {
                for step in 0..8 {
                    let d = if step % 4 == 3 { root + 4 } else { root };
                    let v = if step % 2 == 0 { 100 } else { 80 };
                    push(
                        key(2, d),
                        v + r.random_range(-10..10),
                        t0 + 0.5 * step as f64,
                        0.5,
                    );
                }
            }
            Part::Melody => {
                let mut t = t0;
                while t < t0 + 4.0 {
                    let length: f64 = [0.5, 1.0, 1.0, 2.0][r.random_range(0..4)];
                    let length = length.min(t0 + 4.0 - t);
                    walk += r.random_range(-2..=2);
                    walk = walk.clamp(0, 12);
                    if t == t0 {
                        // Land on the chord tone nearest the walk.
                        walk = *[triad[0], triad[1], triad[2], triad[0] + 7, triad[1] + 7]
                            .iter()
                            .min_by_key(|&&d| (d - walk).abs())
                            .unwrap_or(&walk);
                    }
                    if t == t0 || r.random_bool(0.85) {
                        push(key(5, walk - 7), r.random_range(70..100), t, length);
                    }
                    t += length;
                }
            }
            Part::Drums => {
                const KICK: i32 = 36;
                const SNARE: i32 = 38;
                const CLOSED_HAT: i32 = 42;
                const OPEN_HAT: i32 = 46;
                for step in 0..8 {
                    let t = t0 + 0.5 * step as f64;
                    if step % 4 == 0 {
                        push(KICK, 110, t, 0.5);
                    }
                    if step % 4 == 2 {
                        push(SNARE, 100, t, 0.5);
                    } else if r.random_bool(0.15) {
                        push(SNARE, 45, t, 0.5);
                    }
                    let hat = if r.random_bool(0.1) {
                        OPEN_HAT
                    } else {
                        CLOSED_HAT
                    };
                    push(hat, r.random_range(55..85), t, 0.5);
                }
            }
        }
    }
    notes.retain(|n| n.start < beats);
    Score { bpm, notes }
}

/// SoundFonts parsed once per process (TimGM6mb is 6 MB).
static FONT_CACHE: Memo<SoundFont> = Mutex::new(None);

fn load(path: PathBuf) -> Result<Arc<SoundFont>> {
    memoized(&FONT_CACHE, path, |path| {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        SoundFont::new(&mut file).map_err(|e| Error::parse(path, None, format!("{e:?}")))
    })
}

/// Plays `score` on `instrument` with `font` at `rate` (within rustysynth's range): `n` frames.
fn perform(
    font: &Arc<SoundFont>,
    instrument: &Instrument,
    score: &Score,
    rate: u32,
    n: usize,
) -> Result<[Vec<f32>; 2]> {
    let mut settings = SynthesizerSettings::new(rate as i32);
    settings.enable_reverb_and_chorus = false;
    let mut synth = Synthesizer::new(font, &settings)
        .map_err(|e| Error::InvalidInput(format!("SoundFont synthesizer: {e:?}")))?;
    let channel = if instrument.part == Part::Drums {
        PERCUSSION
    } else {
        MELODIC
    };
    synth.process_midi_message(channel, 0xC0, instrument.program as i32, 0);
    let frame = |beats: f64| ((beats * 60.0 / score.bpm * rate as f64).round() as usize).min(n);
    // (frame, is-on, key, velocity); at equal frames note-offs go first so a repeated key
    // re-articulates.
    let mut events: Vec<(usize, bool, i32, i32)> = score
        .notes
        .iter()
        .flat_map(|note| {
            [
                (frame(note.start), true, note.key, note.velocity),
                (frame(note.end), false, note.key, 0),
            ]
        })
        .collect();
    events.sort_by_key(|&(f, on, key, _)| (f, on, key));
    let (mut left, mut right) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut at = 0;
    for (f, on, key, velocity) in events {
        if f > at {
            synth.render(&mut left[at..f], &mut right[at..f]);
            at = f;
        }
        if on {
            synth.note_on(channel, key, velocity);
        } else {
            synth.note_off(channel, key);
        }
    }
    if at < n {
        synth.render(&mut left[at..], &mut right[at..]);
    }
    Ok([left, right])
}

/// The source called `name` ([`names`]): `seconds` of stereo audio at `sample_rate` from `seed`.
/// A cache without `timgm6mb` gives [`Error::MissingData`] (which names
/// `genlab data fetch timgm6mb`); an unknown name or an unusable rate or length gives
/// [`Error::InvalidInput`].
pub fn source(
    name: &str,
    cache: &Cache,
    sample_rate: u32,
    seconds: f64,
    seed: u64,
) -> Result<AudioBuffer> {
    let instrument = name
        .strip_prefix("sf2-")
        .and_then(|i| INSTRUMENTS.iter().find(|x| x.name == i))
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "unknown SoundFont source `{name}` (known: {})",
                names().join(", ")
            ))
        })?;
    if sample_rate == 0 || sample_rate > MAX_SYNTH_RATE || !seconds.is_finite() || seconds < 0.0 {
        return Err(Error::InvalidInput(format!(
            "source `{name}`: need a sample rate in 1..={MAX_SYNTH_RATE} Hz and a finite, \
             non-negative length (got {sample_rate} Hz, {seconds} s)"
        )));
    }
    if !DATASET.is_fetched(cache) {
        return Err(DATASET.missing(cache));
    }
    let font = load(cache.path(DATASET.name).join(FILE))?;
    let mut rng = SeededRng::new(seed);
    let n = (seconds * sample_rate as f64).round() as usize;
    let factor = MIN_SYNTH_RATE.div_ceil(sample_rate).max(1);
    let synth_rate = sample_rate * factor;
    let score = compose(instrument.part, seconds * 140.0 / 60.0 + 4.0, &mut rng);
    let rendered = perform(&font, instrument, &score, synth_rate, n * factor as usize)?;
    let mut channels: Vec<Vec<f32>> = if factor == 1 {
        rendered.into()
    } else {
        let r = Resampler::new(synth_rate, sample_rate)?;
        rendered
            .iter()
            .map(|c| {
                let mut y = r.process(c);
                y.truncate(n);
                y
            })
            .collect()
    };
    let peak = channels
        .iter()
        .flatten()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.0 {
        let g = PEAK / peak;
        channels.iter_mut().flatten().for_each(|v| *v *= g);
    }
    AudioBuffer::new(sample_rate, channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::loudness::levels;
    use crate::testutil::{assert_clear_errors, cached, seeded_render};

    #[test]
    fn scores_are_seeded_in_range_and_fill_the_time() {
        for inst in INSTRUMENTS {
            let s = compose(inst.part, 16.0, &mut SeededRng::new(5));
            assert_eq!(s, compose(inst.part, 16.0, &mut SeededRng::new(5)));
            assert_ne!(s, compose(inst.part, 16.0, &mut SeededRng::new(6)));
            assert!((80.0..140.0).contains(&s.bpm));
            assert!(
                s.notes.iter().all(|n| (0..128).contains(&n.key)
                    && (1..128).contains(&n.velocity)
                    && n.start < n.end
                    && n.start < 16.0),
                "{}",
                inst.name
            );
            // Something starts in every bar.
            for bar in 0..4 {
                let t0 = 4.0 * bar as f64;
                assert!(
                    s.notes.iter().any(|n| n.start >= t0 && n.start < t0 + 4.0),
                    "{} bar {bar}",
                    inst.name
                );
            }
        }
    }

    #[test]
    fn renders_are_deterministic_audible_and_the_right_length() {
        let Some(cache) = cached(DATASET) else { return };
        for inst in ["piano", "bass", "drums"] {
            let name = format!("sf2-{inst}");
            let a = seeded_render(source, &name, &cache, (22050, 2.0, 1));
            assert_eq!((a.sample_rate, a.n_channels(), a.len()), (22050, 2, 44100));
            assert!((a.peak() - PEAK).abs() < 1e-6, "{name}");
            assert!(levels(&a).rms_dbfs > -35.0, "{name} {:?}", levels(&a));
        }
        // Below the synthesizer's range: rendered at 16 kHz and resampled to 8 kHz.
        let low = source("sf2-flute", &cache, 8000, 1.0, 3).unwrap();
        assert_eq!(low.len(), 8000);
        assert!(low.channels.iter().flatten().all(|v| v.is_finite()));
        assert!(levels(&low).rms_dbfs > -40.0);
    }

    #[test]
    fn bad_names_rates_and_a_missing_cache_give_clear_errors() {
        let names = ["sf2-piano", "sf2-kazoo", "sf2-piano"];
        let (_empty, cache) = assert_clear_errors(source, DATASET, names);
        assert!(source("sf2-piano", &cache, 400_000, 1.0, 0).is_err());
        assert!(source("sf2-piano", &cache, 44100, -1.0, 0).is_err());
    }
}
