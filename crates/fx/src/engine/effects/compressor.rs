//! Compressor: pedalboard's `Compressor`, which is JUCE's `dsp::Compressor`
//! ([`super::dynamics`]): a peak envelope follower per channel (channels are not linked) with
//! attack/release ballistics, then the hard-knee static curve applied to the envelope:
//!
//! - `env_c[n] = a + κ·(env_c[n-1] - a)`, `a = |x_c[n]|`, `κ = exp(-2π·1000/(fs·t_ms))` with
//!   the attack time while `a` exceeds the envelope and the release time otherwise
//! - `y_c[n] = x_c[n] · (env_c[n]/T)^(1/R - 1)` when `env_c[n] ≥ T = 10^(threshold_dB/20)`,
//!   else `y_c[n] = x_c[n]`; so a steady level `L ≥ T` dB comes out at `T + (L - T)/R`
//! - genlab's one addition, the make-up gain: `y ← y · 10^(makeup_dB/20)` (pedalboard has none;
//!   at the default 0 dB the output is pedalboard's exactly).
//!
//! Until 2026-12-05 genlab used Giannoulis et al.'s design instead (linked channels, smoothing
//! of the gain reduction in dB, `κ = exp(-1/(τ·fs))`); LLM2Fx-Tools' data are rendered by
//! pedalboard, so genlab now computes what pedalboard computes (measured agreement in
//! `bench/README.md`: ≤ 1 ulp, from `powf` rounding).

use std::ops::Range;

use super::Effect;
use super::dynamics::{JuceCompressor, decibels_to_gain};

/// Compressor state and coefficients.
#[derive(Debug, Clone)]
pub struct Compressor {
    core: JuceCompressor,
    makeup: f32,
}

impl Compressor {
    /// A compressor at rest (call `set` before use); its per-channel envelopes are sized by the
    /// first processed buffer.
    pub fn new(sample_rate: f64) -> Self {
        Compressor {
            core: JuceCompressor::new(sample_rate, 0),
            makeup: 1.0,
        }
    }
}

impl Effect for Compressor {
    fn set(&mut self, v: &[f64]) {
        self.core
            .set(v[0] as f32, v[1] as f32, v[2] as f32, v[3] as f32);
        self.makeup = if v[4] == 0.0 {
            1.0
        } else {
            decibels_to_gain(v[4] as f32)
        };
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        self.core.process(channels, range.clone());
        if self.makeup != 1.0 {
            let m = self.makeup;
            super::map_samples(channels, range, |x| x * m);
        }
    }

    fn reset(&mut self) {
        self.core.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(level: f32, v: &[f64]) -> f32 {
        let mut c = Compressor::new(44100.0);
        c.set(v);
        let mut ch = vec![vec![level; 44100], vec![-level; 44100]];
        c.process(&mut ch, 0..44100);
        assert_eq!(ch[0][44099], -ch[1][44099]);
        ch[0][44099]
    }

    #[test]
    fn static_curve_above_threshold_follows_the_ratio() {
        for (thr, ratio, makeup) in [(-20.0, 4.0, 0.0), (-30.0, 2.0, 6.0), (-10.0, 20.0, 3.0)] {
            for in_db in [-8.0f64, -3.0, 0.0] {
                if in_db <= thr {
                    continue;
                }
                let out = settle(
                    crate::engine::effects::db_to_amplitude(in_db) as f32,
                    &[thr, ratio, 5.0, 50.0, makeup],
                );
                let out_db = 20.0 * (out as f64).log10();
                let want = thr + (in_db - thr) / ratio + makeup;
                assert!(
                    (out_db - want).abs() < 1e-3,
                    "in {in_db}: {out_db} vs {want}"
                );
            }
        }
        // Below the threshold only the make-up gain applies.
        let out = settle(0.01, &[-20.0, 4.0, 5.0, 50.0, 6.0]);
        assert!((20.0 * (out as f64 / 0.01).log10() - 6.0).abs() < 1e-4);
    }

    #[test]
    fn channels_are_compressed_independently() {
        // A loud left channel does not turn the quiet right channel down (JUCE's design).
        let mut c = Compressor::new(44100.0);
        c.set(&[-20.0, 4.0, 1.0, 100.0, 0.0]);
        let mut ch = vec![vec![0.9f32; 4410], vec![0.05f32; 4410]];
        c.process(&mut ch, 0..4410);
        assert!(ch[0][4409] < 0.5);
        assert_eq!(ch[1][4409], 0.05);
    }

    #[test]
    fn attack_time_sets_the_envelope_step_response() {
        // A step from silence to 1.0: the envelope after n samples is 1 - κⁿ with
        // κ = exp(-2π·1000/(fs·t_ms)), i.e. 1 - 1/e after t/(2π) ms; the output is then
        // x·(env/T)^(1/R-1).
        let (fs, thr, ratio, attack_ms) = (10000.0, -20.0f64, 4.0f64, 10.0f64);
        let mut c = Compressor::new(fs);
        c.set(&[thr, ratio, attack_ms, 100.0, 0.0]);
        let mut ch = vec![vec![1.0f32; 1000]];
        c.process(&mut ch, 0..1000);
        let kappa = (-2.0 * std::f64::consts::PI * 1000.0 / (fs * attack_ms)).exp();
        let t = 10f64.powf(thr / 20.0);
        for n in [16usize, 100, 999] {
            let env = 1.0 - kappa.powi(n as i32 + 1);
            let want = if env < t {
                1.0
            } else {
                (env / t).powf(1.0 / ratio - 1.0)
            };
            assert!(
                (ch[0][n] as f64 - want).abs() < 1e-5,
                "n {n}: {} vs {want}",
                ch[0][n]
            );
        }
    }
}
