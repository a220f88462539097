//! Randomised wavetable instruments for training chain estimators on more varied material
//! than the fixed pad (stereo, seeded; every voice is a table read,
//! [`crate::sources::wavetable`], so a clip costs a few operations per sample and voice):
//!
//! - **synth**: two chords in a row, each of 3–4 band-limited sawtooth voices from a random
//!   root (MIDI 45–64) and quality (major, minor, sus4, major 7th, minor 7th); brightness from
//!   the harmonic cap `K ∈ 6..=40`; the right channel detuned by `1 + δ`, `δ ∈ [0, 0.006]`;
//!   linear attack 5–400 ms and release 50–500 ms per chord; peak 0.3–0.8;
//! - **keys**: 3–6 struck chords (onsets evenly spaced with ±20 % jitter) of 2–4 voices with
//!   partials falling as `1/k²` (`K ∈ 4..=24`), each decaying as `e^{−t/τ}`,
//!   `τ ∈ 0.1..0.8 s`, with 3 ms attack, panned `g = 0.5 ± 0.3`; peak 0.3–0.8.
//!
//! Neither is a held-out test source of `repro fx`.

use genlab_core::train::SeededRng;
use rand::Rng;

use crate::engine::buffer::AudioBuffer;
use crate::sources::wavetable::{Voice, soft};

/// The sources of this module.
pub const SYNTH_SOURCES: [&str; 2] = ["synth", "keys"];

/// Chord qualities, in semitones above the root.
const QUALITIES: [&[f64]; 5] = [
    &[0.0, 4.0, 7.0],
    &[0.0, 3.0, 7.0],
    &[0.0, 5.0, 7.0],
    &[0.0, 4.0, 7.0, 11.0],
    &[0.0, 3.0, 7.0, 10.0],
];

fn midi(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// A random chord's frequencies (3–4 voices, or the first `max_voices`).
fn chord(rng: &mut SeededRng, max_voices: usize) -> Vec<f64> {
    let r = rng.rng();
    let root = r.random_range(45..=64) as f64;
    let quality = QUALITIES[r.random_range(0..QUALITIES.len())];
    quality
        .iter()
        .take(max_voices)
        .map(|s| midi(root + s))
        .collect()
}

/// The named source, `seconds` long at `sample_rate`, from `seed`; `None` for an unknown name.
pub fn synth_source(name: &str, sample_rate: u32, seconds: f64, seed: u64) -> Option<AudioBuffer> {
    let n = (seconds * sample_rate as f64).round() as usize;
    let sr = sample_rate as f64;
    let mut rng = SeededRng::new(seed);
    let mut channels = match name {
        "synth" => synth(n, sr, &mut rng),
        "keys" => keys(n, sr, &mut rng),
        _ => return None,
    };
    let peak = channels
        .iter()
        .flatten()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let target = rng.rng().random_range(0.3..0.8) as f32;
    if peak > 0.0 {
        channels
            .iter_mut()
            .flatten()
            .for_each(|v| *v *= target / peak);
    }
    AudioBuffer::new(sample_rate, channels).ok()
}

fn synth(n: usize, sr: f64, rng: &mut SeededRng) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; n]; 2];
    let chords = 2;
    let len = n / chords;
    for c in 0..chords {
        let notes = chord(rng, 4);
        let r = rng.rng();
        let cap = r.random_range(6..=40);
        let delta = r.random_range(0.0..0.006);
        let attack = (r.random_range(0.005..0.4) * sr).max(1.0);
        let release = (r.random_range(0.05..0.5) * sr).max(1.0);
        for (ch, detune) in out.iter_mut().zip([1.0, 1.0 + delta]) {
            let voices: Vec<Voice> = notes
                .iter()
                .map(|f| Voice::saw(f * detune, sr, cap))
                .collect();
            let scale = 1.0 / voices.len() as f64;
            for i in 0..len {
                let env = (i as f64 / attack).min(1.0) * ((len - i) as f64 / release).min(1.0);
                let v: f64 = voices.iter().map(|v| v.at(i)).sum();
                ch[c * len + i] = (scale * v * env) as f32;
            }
        }
    }
    out
}

fn keys(n: usize, sr: f64, rng: &mut SeededRng) -> Vec<Vec<f32>> {
    let mut out = vec![vec![0.0f32; n]; 2];
    let strikes = rng.rng().random_range(3..=6);
    let spacing = n as f64 / strikes as f64;
    let attack = (0.003 * sr).max(1.0);
    for s in 0..strikes {
        let voices = rng.rng().random_range(2..=4);
        let notes = chord(rng, voices);
        let r = rng.rng();
        let onset = ((s as f64 + r.random_range(-0.2f64..0.2).max(-(s as f64))) * spacing) as usize;
        let tau = r.random_range(0.1..0.8) * sr;
        let cap = r.random_range(4..=24);
        let pan = 0.5 + r.random_range(-0.3..0.3);
        let voices: Vec<Voice> = notes
            .iter()
            .map(|f| Voice {
                table: soft(((0.5 * sr / f) as usize).min(cap)),
                cycles: f / sr,
            })
            .collect();
        for i in 0..n.saturating_sub(onset) {
            let env = (i as f64 / attack).min(1.0) * (-(i as f64) / tau).exp();
            if env < 1e-4 && i as f64 > attack {
                break;
            }
            let v: f64 = voices.iter().map(|v| v.at(i)).sum::<f64>() * env;
            out[0][onset + i] += ((1.0 - pan) * v) as f32;
            out[1][onset + i] += (pan * v) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::loudness::levels;

    #[test]
    fn synth_sources_are_seeded_varied_bounded_and_audible() {
        for name in SYNTH_SOURCES {
            let a = synth_source(name, 16_000, 1.0, 1).unwrap();
            assert_eq!(a, synth_source(name, 16_000, 1.0, 1).unwrap());
            assert_ne!(a, synth_source(name, 16_000, 1.0, 2).unwrap(), "{name}");
            assert_eq!((a.n_channels(), a.len()), (2, 16_000));
            assert!(a.peak() <= 0.8 + 1e-6 && a.peak() >= 0.3 - 1e-6, "{name}");
            assert!(levels(&a).rms_dbfs > -40.0, "{name}: {:?}", levels(&a));
            assert_ne!(a.channels[0], a.channels[1], "{name} is not stereo");
        }
        assert!(synth_source("violin", 16_000, 1.0, 1).is_none());
    }
}
