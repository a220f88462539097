//! Mid/side stereo widener: `M = (L + R)/2`, `S = (L - R)/2`, `L' = M + w·S`, `R' = M - w·S`.
//! `w = 0` folds to mono, `w = 1` is the identity, `w > 1` widens.

use std::ops::Range;

use super::Effect;

/// Side gain.
#[derive(Debug, Clone, Default)]
pub struct StereoWidener {
    width: f32,
}

impl Effect for StereoWidener {
    fn set(&mut self, v: &[f64]) {
        self.width = v[0] as f32;
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let (l, r) = channels.split_at_mut(1);
        for (a, b) in l[0][range.clone()].iter_mut().zip(&mut r[0][range]) {
            let mid = 0.5 * (*a + *b);
            let side = 0.5 * (*a - *b) * self.width;
            *a = mid + side;
            *b = mid - side;
        }
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_side_identities() {
        let input = vec![vec![0.5f32, 0.25, -1.0], vec![0.1f32, 0.25, 0.5]];
        let run = |w: f64| {
            let mut s = StereoWidener::default();
            s.set(&[w]);
            let mut ch = input.clone();
            s.process(&mut ch, 0..3);
            ch
        };
        let same = run(1.0);
        for (a, b) in same.iter().flatten().zip(input.iter().flatten()) {
            assert!((a - b).abs() < 1e-7);
        }
        let mono = run(0.0);
        assert_eq!(mono[0], mono[1]);
        let wide = run(1.5);
        // Mid is untouched, side scaled by 1.5.
        for n in 0..3 {
            let mid = 0.5 * (wide[0][n] + wide[1][n]);
            let side = 0.5 * (wide[0][n] - wide[1][n]);
            assert!((mid - 0.5 * (input[0][n] + input[1][n])).abs() < 1e-7);
            assert!((side - 0.75 * (input[0][n] - input[1][n])).abs() < 1e-6);
        }
    }
}
