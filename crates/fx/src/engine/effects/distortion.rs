//! Distortion: the tanh soft clipper `y = tanh(k·x)`, `k = 10^(drive_dB/20)`. Small signals are
//! amplified by `k`, large ones saturate at ±1 (odd harmonics, louder output — match loudness
//! afterwards if the level change is unwanted).

use std::ops::Range;

use super::{Effect, Gain, map_samples};

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
        map_samples(channels, range, |x| (x * k).tanh());
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
