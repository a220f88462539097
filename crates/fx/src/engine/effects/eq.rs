//! Three-band equalizer: low shelf → peaking → high shelf, one RBJ biquad each per channel —
//! pedalboard's `LowShelfFilter → PeakFilter → HighShelfFilter` as LLM2Fx-Tools chains them.
//! pedalboard runs JUCE's `dsp::IIR::Filter<float>`: coefficients computed in `f32`
//! ([`Coeffs32`]), transposed direct form II in `f32` ([`State32`]); so does genlab, so the two
//! agree to float rounding (they did to ~10⁻⁴ when genlab ran the sections in `f64`). Corner
//! frequencies are clamped to `[0.01, fs/2 - 100]` Hz as pedalboard's `clampCutoffFrequency`
//! does (genlab limited them to `0.45·fs` before 2026-12-05: a 20 kHz shelf at 44.1 kHz was
//! moved to 19.8 kHz). Gains are JUCE's `decibelsToGain` (`10^(dB/20)` in `f32`).
//!
//! Not reproduced: JUCE flushes a filter state whose magnitude is ≤ 10⁻⁸ to zero at the end of
//! every processed buffer (pedalboard's buffers are 8192 samples by default), a change below
//! 10⁻⁸ of the signal.
//!
//! Coefficients change at control rate; filter states are kept across changes. Speed: the
//! three sections of up to two channels run in one loop, six recursions whose latencies
//! overlap.

use std::ops::Range;

use super::Effect;
use super::dynamics::decibels_to_gain;
use crate::engine::biquad::{Coeffs, Coeffs32, State32};

/// One filter cascade per channel.
#[derive(Debug, Clone)]
pub struct Equalizer {
    sample_rate: f64,
    coeffs: [Coeffs32; 3],
    states: Vec<[State32; 3]>,
}

impl Equalizer {
    /// An equalizer for `channels` channels (flat until `set`).
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let flat = Coeffs32::peak(sample_rate, 1000.0, 1.0, 1.0);
        Equalizer {
            sample_rate,
            coeffs: [flat; 3],
            states: vec![[State32::default(); 3]; channels],
        }
    }

    /// pedalboard's corner clamp: `[0.01, fs/2 - 100]` Hz, in `f32`.
    fn corner(&self, hz: f64) -> f32 {
        let fs = self.sample_rate as f32;
        (hz as f32).clamp(1e-2, fs / 2.0 - 1e2)
    }

    /// The three `f32` sections for parameters `v` (spec order), as run.
    pub fn sections(&self, v: &[f64]) -> [Coeffs32; 3] {
        let fs = self.sample_rate;
        let g = |db: f64| decibels_to_gain(db as f32);
        [
            Coeffs32::low_shelf(fs, self.corner(v[1]), v[2] as f32, g(v[0])),
            Coeffs32::peak(fs, self.corner(v[4]), v[5] as f32, g(v[3])),
            Coeffs32::high_shelf(fs, self.corner(v[7]), v[8] as f32, g(v[6])),
        ]
    }

    /// The three sections for parameters `v`, widened to `f64` (for frequency responses).
    pub fn coeffs(&self, v: &[f64]) -> [Coeffs; 3] {
        self.sections(v).map(Coeffs::from)
    }
}

/// `x` through the three sections, in place.
#[inline(always)]
fn cascade_one(c: &[Coeffs32; 3], s: &mut [State32; 3], x: &mut [f32]) {
    for v in x {
        let y = s[0].tick(&c[0], *v);
        let y = s[1].tick(&c[1], y);
        *v = s[2].tick(&c[2], y);
    }
}

/// Two channels through their three sections each, in one loop.
#[inline(always)]
fn cascade_two(c: &[Coeffs32; 3], s: &mut [[State32; 3]], x0: &mut [f32], x1: &mut [f32]) {
    let (s0, s1) = s.split_at_mut(1);
    let (s0, s1) = (&mut s0[0], &mut s1[0]);
    for (a, b) in x0.iter_mut().zip(x1.iter_mut()) {
        let ya = s0[0].tick(&c[0], *a);
        let yb = s1[0].tick(&c[0], *b);
        let ya = s0[1].tick(&c[1], ya);
        let yb = s1[1].tick(&c[1], yb);
        *a = s0[2].tick(&c[2], ya);
        *b = s1[2].tick(&c[2], yb);
    }
}

impl Effect for Equalizer {
    fn set(&mut self, v: &[f64]) {
        self.coeffs = self.sections(v);
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let c = self.coeffs;
        let mut k = 0;
        while k < channels.len() {
            if k + 1 < channels.len() {
                let (a, b) = channels[k..].split_at_mut(1);
                cascade_two(
                    &c,
                    &mut self.states[k..k + 2],
                    &mut a[0][range.clone()],
                    &mut b[0][range.clone()],
                );
                k += 2;
            } else {
                cascade_one(&c, &mut self.states[k], &mut channels[k][range.clone()]);
                k += 1;
            }
        }
    }

    fn reset(&mut self) {
        for s in self.states.iter_mut().flatten() {
            *s = State32::default();
        }
    }

    fn tail_seconds(&self, _v: &[f64]) -> f64 {
        // Ringing of a Q ≤ 6 section at ≥ 20 Hz dies out well within 50 ms.
        0.05
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::biquad::Biquad;
    use crate::engine::biquad::tests::measured_gain_db;

    #[test]
    fn mid_band_gain_at_its_centre_measured_with_a_sine() {
        let fs = 44100.0;
        let eq = Equalizer::new(fs, 1);
        // Only the mid band active; flat shelves.
        let v = [0.0, 100.0, 0.7, 7.0, 2000.0, 1.4, 0.0, 8000.0, 0.7];
        let [lo, mid, hi] = eq.coeffs(&v);
        let total: f64 = [lo, mid, hi]
            .iter()
            .map(|c| c.magnitude_db(fs, 2000.0))
            .sum();
        // f32 coefficients: the designed gain to ~1e-5 dB.
        assert!((total - 7.0).abs() < 1e-4, "{total}");
        let m = measured_gain_db(Biquad::new(mid), fs, 2000.0);
        assert!((m - 7.0).abs() < 0.1, "{m}");
        // And through the effect itself.
        let mut fx = Equalizer::new(fs, 1);
        fx.set(&v);
        let n = 22050;
        let x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 2000.0 * i as f64 / fs).sin() as f32 * 0.1)
            .collect();
        let mut ch = vec![x.clone()];
        fx.process(&mut ch, 0..n);
        let e = |s: &[f32]| s[n / 2..].iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
        let gain = 10.0 * (e(&ch[0]) / e(&x)).log10();
        assert!((gain - 7.0).abs() < 0.1, "{gain}");
    }

    #[test]
    fn f32_sections_are_the_f64_rbj_design_to_single_precision() {
        let fs = 44100.0;
        let eq = Equalizer::new(fs, 1);
        let v = [6.0, 120.0, 0.9, -5.0, 3000.0, 2.5, 4.0, 9000.0, 0.5];
        let ours = eq.coeffs(&v);
        let rbj = [
            Coeffs::low_shelf(fs, 120.0, 0.9, 6.0),
            Coeffs::peaking(fs, 3000.0, 2.5, -5.0),
            Coeffs::high_shelf(fs, 9000.0, 0.5, 4.0),
        ];
        for (a, b) in ours.iter().zip(&rbj) {
            for (x, y) in [a.b0, a.b1, a.b2, a.a1, a.a2]
                .iter()
                .zip([b.b0, b.b1, b.b2, b.a1, b.a2])
            {
                assert!((x - y).abs() < 1e-5 * y.abs().max(1.0), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn two_channel_loop_equals_one_channel_at_a_time() {
        let v = [3.0, 100.0, 0.7, -4.0, 1000.0, 0.7, 2.0, 8000.0, 0.7];
        let x = crate::testutil::lcg_noise(5, 3, 2000);
        let mut three = Equalizer::new(48000.0, 3);
        three.set(&v);
        let mut y = x.clone();
        three.process(&mut y, 0..700);
        three.process(&mut y, 700..2000);
        for (c, want_in) in x.iter().enumerate() {
            let mut one = Equalizer::new(48000.0, 1);
            one.set(&v);
            let mut z = vec![want_in.clone()];
            one.process(&mut z, 0..2000);
            assert_eq!(y[c], z[0], "channel {c}");
        }
    }

    #[test]
    fn corners_are_clamped_as_pedalboard_clamps_them() {
        let eq = Equalizer::new(22050.0, 2);
        let c = eq.coeffs(&[0.0, 100.0, 0.7, 0.0, 1000.0, 0.7, 6.0, 20000.0, 0.7]);
        assert!(
            c.iter()
                .all(|c| [c.b0, c.b1, c.b2, c.a1, c.a2].iter().all(|v| v.is_finite()))
        );
        assert_eq!(eq.corner(20000.0), 10925.0);
        let nyquist = c[2].magnitude_db(22050.0, 11025.0);
        // f32 coefficients of a shelf 100 Hz below Nyquist: within 0.01 dB.
        assert!((nyquist - 6.0).abs() < 1e-2, "{nyquist}");
        // At 44.1 kHz a 20 kHz shelf stays at 20 kHz.
        assert_eq!(Equalizer::new(44100.0, 1).corner(20000.0), 20000.0);
    }
}
