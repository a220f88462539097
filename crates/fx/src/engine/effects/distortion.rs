//! Distortion: the tanh soft clipper `y = tanh(k·x)`, `k = 10^(drive_dB/20)`. Small signals are
//! amplified by `k`, large ones saturate at ±1 (odd harmonics, louder output — match loudness
//! afterwards if the level change is unwanted). This is pedalboard's `Distortion` (JUCE `Gain` then a
//! `WaveShaper` with `std::tanh`): the product `x·k` is rounded to `f32`, then `tanh` is evaluated
//! in `f64` by [`crate::engine::vecmath::tanh`] (vectorised) and rounded, which equals glibc's
//! `tanhf` except on near-ties (≤ 1 ulp).

use std::ops::Range;

use super::{Effect, Gain};

/// A memoryless tanh waveshaper, driven by a gain of `drive_dB`.
#[derive(Debug, Clone, Default)]
pub struct Distortion {
    drive: Gain,
}

impl Effect for Distortion {
    fn set(&mut self, values: &[f64]) {
        self.drive.set(values);
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let k = self.drive.factor();
        for ch in channels {
            crate::engine::vecmath::tanh_scaled_in_place(&mut ch[range.clone()], k);
        }
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_of_driven_input_and_bounded() {
        let mut d = Distortion::default();
        d.set(&[20.0]);
        let mut ch = vec![vec![0.0, 0.001, 0.05, -0.5, 3.0]];
        d.process(&mut ch, 0..5);
        assert_eq!(ch[0][0], 0.0);
        assert!((ch[0][1] - 0.01f32.tanh()).abs() < 1e-7);
        assert!((ch[0][2] - 0.5f32.tanh()).abs() < 1e-6);
        assert!(ch[0].iter().all(|y| y.abs() <= 1.0));
        // Odd symmetry.
        assert!((ch[0][3] + 5.0f32.tanh()).abs() < 1e-6);
    }
}
