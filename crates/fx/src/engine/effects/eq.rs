//! Three-band equalizer: low shelf → peaking → high shelf, one RBJ biquad each per channel
//! (coefficients in [`crate::engine::biquad`]). Corner frequencies are limited to `0.45·fs` so a 20 kHz
//! shelf stays defined at low sample rates. Coefficients change at control rate; filter states
//! are kept across changes.

use std::ops::Range;

use super::Effect;
use crate::engine::biquad::{Biquad, Coeffs};

/// One filter cascade per channel.
#[derive(Debug, Clone)]
pub struct Equalizer {
    sample_rate: f64,
    bands: Vec<[Biquad; 3]>,
}

impl Equalizer {
    /// An equalizer for `channels` channels (flat until `set`).
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let flat = Coeffs::peaking(sample_rate, 1000.0, 1.0, 0.0);
        Equalizer {
            sample_rate,
            bands: vec![[Biquad::new(flat), Biquad::new(flat), Biquad::new(flat)]; channels],
        }
    }

    /// The three sections for parameters `v` (spec order).
    pub fn coeffs(&self, v: &[f64]) -> [Coeffs; 3] {
        let fs = self.sample_rate;
        let f = |hz: f64| hz.min(0.45 * fs);
        [
            Coeffs::low_shelf(fs, f(v[1]), v[2], v[0]),
            Coeffs::peaking(fs, f(v[4]), v[5], v[3]),
            Coeffs::high_shelf(fs, f(v[7]), v[8], v[6]),
        ]
    }
}

impl Effect for Equalizer {
    fn set(&mut self, v: &[f64]) {
        let c = self.coeffs(v);
        for bands in &mut self.bands {
            for (b, c) in bands.iter_mut().zip(c) {
                b.coeffs = c;
            }
        }
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        for (ch, bands) in channels.iter_mut().zip(&mut self.bands) {
            for b in bands.iter_mut() {
                b.process(&mut ch[range.clone()]);
            }
        }
    }

    fn reset(&mut self) {
        for b in self.bands.iter_mut().flatten() {
            b.reset();
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
    use crate::engine::biquad::tests::measured_gain_db;

    #[test]
    fn mid_band_gain_at_its_centre_measured_with_a_sine() {
        let fs = 44100.0;
        let eq = Equalizer::new(fs, 1);
        // Only the mid band active; flat shelves.
        let v = [0.0, 100.0, 0.7, 7.0, 2000.0, 1.4, 0.0, 8000.0, 0.7];
        let [lo, mid, hi] = eq.coeffs(&v);
        let mut cascade = [Biquad::new(lo), Biquad::new(mid), Biquad::new(hi)];
        let total: f64 = cascade
            .iter()
            .map(|b| b.coeffs.magnitude_db(fs, 2000.0))
            .sum();
        assert!((total - 7.0).abs() < 1e-9);
        let m = measured_gain_db(cascade[1].clone(), fs, 2000.0);
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
        for b in &mut cascade {
            b.reset();
        }
    }

    #[test]
    fn high_corner_is_limited_below_nyquist() {
        let eq = Equalizer::new(22050.0, 2);
        let c = eq.coeffs(&[0.0, 100.0, 0.7, 0.0, 1000.0, 0.7, 6.0, 20000.0, 0.7]);
        assert!(
            c.iter()
                .all(|c| [c.b0, c.b1, c.b2, c.a1, c.a2].iter().all(|v| v.is_finite()))
        );
        assert!((c[2].magnitude_db(22050.0, 11025.0) - 6.0).abs() < 1e-6);
    }
}
