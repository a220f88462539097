//! More procedural dry sources for training chain estimators, beyond [`crate::sources::procedural`]
//! (stereo, seeded), so learned estimators see more than three timbres before being tested on
//! a source type they never saw:
//!
//! - **tones**: four pure tones in a row (frequencies log-uniform in 100 Hz – 2 kHz, amplitudes
//!   uniform in 0.2–0.6), each with 10 ms linear attack and release, at a random left/right
//!   balance `g_L = cos φ, g_R = sin φ`, `φ ∈ π/4 ± 0.3`;
//! - **noise**: three bursts of one-pole low-passed Gaussian noise
//!   (`y[n] = y[n−1] + a(x[n] − y[n−1])`, `a` log-uniform in 0.05–1) with exponential decay
//!   (time constant 50–300 ms), independent noise per channel (decorrelated stereo).
//!
//! - **arp** (held out: for testing only): eight notes of a two-harmonic tone
//!   (`sin(2πft) + ½ sin(4πft)`, `f` from a minor-pentatonic scale over two octaves from
//!   220 Hz) with random velocities (0.3–0.9), exponential decay (time constant 60–200 ms) and
//!   alternating left/right placement (`g = 0.8 ± 0.2`), so dynamics and stereo width are
//!   observable.
//!
//! [`crate::estimate::dataset`] draws examples over these by name.

use genlab_core::train::SeededRng;
use rand::Rng;

use crate::engine::buffer::AudioBuffer;

/// Extra training sources.
pub const EXTRA_SOURCES: [&str; 2] = ["tones", "noise"];
/// Extra sources kept for testing (never used in training).
pub const HELD_OUT_SOURCES: [&str; 1] = ["arp"];

/// The named source, `seconds` long at `sample_rate`, from `seed`; `None` for an unknown name.
pub fn extra_source(name: &str, sample_rate: u32, seconds: f64, seed: u64) -> Option<AudioBuffer> {
    let n = (seconds * sample_rate as f64).round() as usize;
    let sr = sample_rate as f64;
    let mut rng = SeededRng::new(seed);
    let channels = match name {
        "tones" => tones(n, sr, &mut rng),
        "noise" => (0..2).map(|_| noise(n, sr, &mut rng.fork())).collect(),
        "arp" => arp(n, sr, &mut rng),
        _ => return None,
    };
    AudioBuffer::new(sample_rate, channels).ok()
}

fn tones(n: usize, sr: f64, rng: &mut SeededRng) -> Vec<Vec<f32>> {
    let mut left = vec![0.0f32; n];
    let mut right = vec![0.0f32; n];
    let notes = 4;
    let len = n / notes;
    let ramp = ((0.01 * sr) as usize).max(1);
    for k in 0..notes {
        let r = rng.rng();
        let f = 100.0 * 20f64.powf(r.random::<f64>());
        let amp = r.random_range(0.2..0.6);
        let phi = std::f64::consts::FRAC_PI_4 + r.random_range(-0.3..0.3);
        let (gl, gr) = (
            phi.cos() * std::f64::consts::SQRT_2,
            phi.sin() * std::f64::consts::SQRT_2,
        );
        for i in 0..len {
            let env = (i as f64 / ramp as f64).min(1.0) * ((len - i) as f64 / ramp as f64).min(1.0);
            let v = amp * env * (std::f64::consts::TAU * f * i as f64 / sr).sin();
            left[k * len + i] = (gl * v) as f32;
            right[k * len + i] = (gr * v) as f32;
        }
    }
    vec![left, right]
}

fn arp(n: usize, sr: f64, rng: &mut SeededRng) -> Vec<Vec<f32>> {
    const SCALE: [f64; 5] = [0.0, 3.0, 5.0, 7.0, 10.0];
    let mut out = vec![vec![0.0f32; n]; 2];
    let notes = 8;
    let len = n / notes;
    for k in 0..notes {
        let r = rng.rng();
        let step = SCALE[r.random_range(0..5)] + 12.0 * r.random_range(0..2) as f64;
        let f = 220.0 * 2f64.powf(step / 12.0);
        let velocity = r.random_range(0.3..0.9);
        let tau = r.random_range(0.06..0.2) * sr;
        let side = if k % 2 == 0 { 0.2 } else { -0.2 };
        let gains = [0.8 + side, 0.8 - side];
        for i in 0..len {
            let t = i as f64 / sr;
            let v = velocity
                * (-(i as f64) / tau).exp()
                * ((std::f64::consts::TAU * f * t).sin()
                    + 0.5 * (2.0 * std::f64::consts::TAU * f * t).sin())
                / 1.5;
            for (ch, g) in out.iter_mut().zip(gains) {
                ch[k * len + i] = (g * v) as f32;
            }
        }
    }
    out
}

fn noise(n: usize, sr: f64, rng: &mut SeededRng) -> Vec<f32> {
    let white = rng.normal_vec(n);
    let bursts = 3;
    let len = n / bursts;
    let mut out = vec![0.0f32; n];
    for b in 0..bursts {
        let r = rng.rng();
        let a = 0.05 * 20f64.powf(r.random::<f64>());
        let tau = r.random_range(0.05..0.3) * sr;
        let mut y = 0.0f64;
        for i in 0..len {
            let j = b * len + i;
            y += a * (white[j] as f64 - y);
            out[j] = (0.5 * y * (-(i as f64) / tau).exp()).clamp(-1.0, 1.0) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::loudness::levels;

    #[test]
    fn extra_sources_are_seeded_bounded_stereo_and_audible() {
        for name in EXTRA_SOURCES.iter().chain(&HELD_OUT_SOURCES) {
            let a = extra_source(name, 16000, 1.0, 1).unwrap();
            assert_eq!(a, extra_source(name, 16000, 1.0, 1).unwrap());
            assert_ne!(a, extra_source(name, 16000, 1.0, 2).unwrap());
            assert_eq!((a.n_channels(), a.len()), (2, 16000));
            assert!(a.peak() <= 1.0, "{name}");
            assert!(levels(&a).rms_dbfs > -40.0, "{name}: {:?}", levels(&a));
            assert_ne!(a.channels[0], a.channels[1], "{name} is not mono");
        }
        assert!(extra_source("violin", 16000, 1.0, 1).is_none());
    }
}
