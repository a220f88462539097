//! Limiter: pedalboard's `Limiter`, which is JUCE's `dsp::Limiter` — "two compressors and a
//! hard clipper at 0 dB" (read in JUCE at the commit pedalboard pins, `ddaa0911`,
//! `modules/juce_dsp/widgets/juce_Limiter.{h,cpp}`), each compressor JUCE's
//! [`super::dynamics::JuceCompressor`] (per-channel peak envelope, hard knee):
//!
//! - stage 1: threshold −10 dB, ratio 4, attack 2 ms, release 200 ms (fixed)
//! - stage 2: threshold `threshold_dB`, ratio 1000, attack 0.001 ms (an envelope that jumps to
//!   every new peak), release `release_ms`
//! - make-up: `y ← y · G`, `G = f32(10^(10·(1 - 1/4)/40)) · 10^(-threshold_dB/20)` — the
//!   second factor undoes the threshold, the first (+3.75 dB) half of stage 1's gain
//!   reduction at 0 dBFS; JUCE smooths `G` over 1 ms only when it changes during playback
//!   (a fresh or reset limiter starts at its target, as pedalboard always does)
//! - clip: `y ← clamp(y, -1, 1)`.
//!
//! So the output is driven towards full scale whatever the threshold — the threshold sets how
//! hard the signal is pushed into the ceiling, not the output level. No look-ahead (latency 0,
//! no tail).
//!
//! Until 2026-12-05 genlab had its own look-ahead brickwall limiter here (1.5 ms look-ahead,
//! output ceiling at the threshold, no make-up); LLM2Fx-Tools' data are rendered by
//! pedalboard's `Limiter`, so genlab now computes what it computes.

use std::ops::Range;

use super::Effect;
use super::dynamics::{JuceCompressor, decibels_to_gain};

/// Limiter state: the two compressors and the make-up gain.
#[derive(Debug, Clone)]
pub struct Limiter {
    first: JuceCompressor,
    second: JuceCompressor,
    makeup: f32,
}

/// JUCE's `std::pow(10.0, 10.0·(1 - 1/4)/40)` as a float: stage 1's compensation.
fn stage_one_compensation() -> f32 {
    let ratio_inverse = 0.25f32 as f64;
    10f64.powf(10.0 * (1.0 - ratio_inverse) / 40.0) as f32
}

impl Limiter {
    /// A limiter for `channels` channels (call `set` before use).
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let mut first = JuceCompressor::new(sample_rate, channels);
        first.set(-10.0, 4.0, 2.0, 200.0);
        Limiter {
            first,
            second: JuceCompressor::new(sample_rate, channels),
            makeup: 1.0,
        }
    }

    /// The make-up gain `G` for a threshold of `threshold_db`.
    pub fn makeup(threshold_db: f32) -> f32 {
        stage_one_compensation() * decibels_to_gain(-threshold_db)
    }
}

impl Effect for Limiter {
    fn set(&mut self, v: &[f64]) {
        let (threshold, release) = (v[0] as f32, v[1] as f32);
        self.second.set(threshold, 1000.0, 0.001, release);
        self.makeup = Self::makeup(threshold);
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        self.first.process(channels, range.clone());
        self.second.process(channels, range.clone());
        let g = self.makeup;
        super::map_samples(channels, range, |x| (x * g).clamp(-1.0, 1.0));
    }

    fn reset(&mut self) {
        self.first.reset();
        self.second.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_clipped_at_full_scale_and_peaks_are_pushed_towards_it() {
        let sr = 44100.0;
        let mut lim = Limiter::new(sr, 2);
        lim.set(&[-12.0, 50.0]);
        let n = 20000;
        let x: Vec<Vec<f32>> = (0..2)
            .map(|c| {
                (0..n)
                    .map(|i| {
                        let bed = 0.05 * ((i as f32) * 0.05 + c as f32).sin();
                        let spike = if i > 1000 && (i * 7 + c * 3) % 997 < 5 {
                            2.0
                        } else {
                            0.0
                        };
                        bed + if i % 2 == 0 { spike } else { -spike }
                    })
                    .collect()
            })
            .collect();
        let mut y = x.clone();
        lim.process(&mut y, 0..n);
        assert!(y.iter().flatten().all(|v| v.abs() <= 1.0));
        assert!(y.iter().flatten().any(|v| v.abs() == 1.0));
        // Before the first spike the quiet bed (below both thresholds) only gets the make-up.
        let g = Limiter::makeup(-12.0);
        assert!((g - 10f32.powf((12.0 + 3.75) / 20.0)).abs() < 1e-5, "{g}");
        for i in 0..1000 {
            assert_eq!(y[0][i], x[0][i] * g, "sample {i}");
        }
        assert_eq!(lim.latency(), 0);
        // Reset returns to the fresh state.
        lim.reset();
        let mut z = x.clone();
        lim.process(&mut z, 0..n);
        assert_eq!(y, z);
    }

    #[test]
    fn equals_two_juce_compressors_then_gain_and_clip() {
        // Oracle: the definition, composed from the stage processors one whole buffer at a
        // time (the effect runs them chunk by chunk).
        let fs = 22050.0;
        let x = crate::testutil::lcg_noise(3, 2, 5000);
        let mut y = x.clone();
        let mut lim = Limiter::new(fs, 2);
        lim.set(&[-6.0, 20.0]);
        for a in (0..5000).step_by(64) {
            lim.process(&mut y, a..(a + 64).min(5000));
        }
        let mut want = x.clone();
        let mut first = JuceCompressor::new(fs, 2);
        first.set(-10.0, 4.0, 2.0, 200.0);
        first.process(&mut want, 0..5000);
        let mut second = JuceCompressor::new(fs, 2);
        second.set(-6.0, 1000.0, 0.001, 20.0);
        second.process(&mut want, 0..5000);
        let g = Limiter::makeup(-6.0);
        for (a, b) in y.iter().flatten().zip(want.iter().flatten()) {
            assert_eq!(*a, (b * g).clamp(-1.0, 1.0));
        }
    }
}
