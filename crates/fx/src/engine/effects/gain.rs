//! Gain: `y = g·x` with `g = 10^(gain_dB/20)` — pedalboard's `Gain` (JUCE `dsp::Gain<float>`), with `g`
//! computed as JUCE's `Decibels::decibelsToGain` does: `powf(10, 0.05·dB)` in `f32` (before
//! 2026-12-05 in `f64`, then rounded: 1 ulp away from pedalboard's on some values).

use std::ops::Range;

use super::dynamics::decibels_to_gain;
use super::{Effect, map_samples};

/// A fixed gain.
#[derive(Debug, Clone, Default)]
pub struct Gain {
    factor: f32,
}

impl Gain {
    /// The amplitude factor `g`.
    pub(super) fn factor(&self) -> f32 {
        self.factor
    }
}

impl Effect for Gain {
    fn set(&mut self, values: &[f64]) {
        self.factor = decibels_to_gain(values[0] as f32);
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let g = self.factor;
        map_samples(channels, range, |x| x * g);
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_in_db_is_exact() {
        for db in [-20.0, -6.0, 0.0, 3.0, 20.0] {
            let mut g = Gain::default();
            g.set(&[db]);
            let x: Vec<f32> = (0..100).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
            let mut ch = vec![x.clone(), x.clone(), x.clone()];
            g.process(&mut ch, 0..100);
            let factor = 10f32.powf(std::hint::black_box(db as f32) * 0.05);
            for c in &ch {
                for (y, x) in c.iter().zip(&x) {
                    assert_eq!(*y, *x * factor);
                }
            }
            let e = |v: &[f32]| v.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            let measured = 10.0 * (e(&ch[0]) / e(&x)).log10();
            assert!((measured - db).abs() < 1e-5, "{measured} vs {db}");
        }
    }
}
