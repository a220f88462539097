//! Constant-power panner for stereo: `θ = (pan + 1)·π/4`, `L' = L·cos θ`, `R' = R·sin θ`.
//! For a centred source (`L = R = s`) the power `L'² + R'² = s²` for every pan; at `pan = 0`
//! each side is at -3 dB.

use std::ops::Range;

use super::Effect;

/// Channel gains.
#[derive(Debug, Clone, Default)]
pub struct Panner {
    left: f32,
    right: f32,
}

impl Effect for Panner {
    fn set(&mut self, v: &[f64]) {
        let theta = (v[0] + 1.0) * std::f64::consts::FRAC_PI_4;
        self.left = theta.cos() as f32;
        self.right = theta.sin() as f32;
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        for x in &mut channels[0][range.clone()] {
            *x *= self.left;
        }
        for x in &mut channels[1][range] {
            *x *= self.right;
        }
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_power_pan_law() {
        for pan in [-1.0, -0.5, 0.0, 0.3, 1.0] {
            let mut p = Panner::default();
            p.set(&[pan]);
            let mut ch = vec![vec![0.8f32; 4], vec![0.8f32; 4]];
            p.process(&mut ch, 0..4);
            let power = ch[0][0] * ch[0][0] + ch[1][0] * ch[1][0];
            assert!((power - 0.64).abs() < 1e-6, "pan {pan}: {power}");
        }
        let mut p = Panner::default();
        p.set(&[-1.0]);
        let mut ch = vec![vec![1.0f32], vec![1.0f32]];
        p.process(&mut ch, 0..1);
        assert_eq!(ch[0][0], 1.0);
        assert!(ch[1][0].abs() < 1e-7);
        p.set(&[0.0]);
        let mut ch = vec![vec![1.0f32], vec![1.0f32]];
        p.process(&mut ch, 0..1);
        assert!((20.0 * ch[0][0].log10() + 3.0103).abs() < 1e-3);
    }
}
