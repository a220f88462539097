//! Seeded 2-D toy distributions with class labels, the standard testbeds of generative-model
//! papers. Scales match the common torchcfm / FFJORD versions so numbers are comparable:
//!
//! ```text
//! 8gaussians    8 modes on the circle of radius 2, std 0.15; label = mode index (0..8)
//! checkerboard  uniform on the 8 dark squares of a 4×4 board over [−2, 2]²; label = square
//! moons         two interleaved half circles (radius 1), noise std 0.05, then centred and
//!               scaled ×1.6 to span about [−2, 2]; label = moon (0, 1)
//! spiral        two interleaved Archimedean arms r = θ/π·0.5, θ ∈ [0.5, 3π], noise std 0.05;
//!               label = arm (0, 1)
//! ```

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::points::Points;

/// A 2-D mixture with labelled components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mixture {
    /// 8 Gaussians on a ring.
    EightGaussians,
    /// Checkerboard.
    Checkerboard,
    /// Two moons.
    TwoMoons,
    /// Two-arm spiral.
    Spiral,
}

impl Mixture {
    /// Every mixture.
    pub const ALL: [Mixture; 4] =
        [Mixture::EightGaussians, Mixture::Checkerboard, Mixture::TwoMoons, Mixture::Spiral];

    /// One-line description.
    pub fn description(&self) -> &'static str {
        match self {
            Mixture::EightGaussians => "8 Gaussians (std 0.15) on a circle of radius 2",
            Mixture::Checkerboard => "uniform on the dark squares of a 4×4 board over [-2,2]²",
            Mixture::TwoMoons => "two interleaved half circles with noise 0.05",
            Mixture::Spiral => "two interleaved spiral arms with noise 0.05",
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> u32 {
        match self {
            Mixture::EightGaussians | Mixture::Checkerboard => 8,
            Mixture::TwoMoons | Mixture::Spiral => 2,
        }
    }

    /// `n` labelled samples.
    pub fn sample(&self, n: usize, rng: &mut impl Rng) -> Points {
        let mut data = Vec::with_capacity(2 * n);
        let mut labels = Vec::with_capacity(n);
        let normal = |rng: &mut dyn rand::RngCore| -> f32 { StandardNormal.sample(rng) };
        for _ in 0..n {
            let (x, y, label) = match self {
                Mixture::EightGaussians => {
                    let k = rng.random_range(0..8u32);
                    let a = std::f32::consts::TAU * k as f32 / 8.0;
                    (2.0 * a.cos() + 0.15 * normal(rng), 2.0 * a.sin() + 0.15 * normal(rng), k)
                }
                Mixture::Checkerboard => {
                    // Dark squares: (column + row) even, 8 of the 16.
                    let k = rng.random_range(0..8u32);
                    let row = k / 2;
                    let col = 2 * (k % 2) + row % 2;
                    let x = -2.0 + col as f32 + rng.random::<f32>();
                    let y = -2.0 + row as f32 + rng.random::<f32>();
                    (x, y, k)
                }
                Mixture::TwoMoons => {
                    let k = rng.random_range(0..2u32);
                    let a = std::f32::consts::PI * rng.random::<f32>();
                    let (x, y) = if k == 0 { (a.cos(), a.sin()) } else { (1.0 - a.cos(), 0.5 - a.sin()) };
                    let x = (x - 0.5 + 0.05 * normal(rng)) * 1.6;
                    let y = (y - 0.25 + 0.05 * normal(rng)) * 1.6;
                    (x, y, k)
                }
                Mixture::Spiral => {
                    let k = rng.random_range(0..2u32);
                    let theta = 0.5 + (3.0 * std::f32::consts::PI - 0.5) * rng.random::<f32>().sqrt();
                    let r = theta / std::f32::consts::PI * 0.5;
                    let phase = if k == 0 { 0.0 } else { std::f32::consts::PI };
                    let x = r * (theta + phase).cos() + 0.05 * normal(rng);
                    let y = r * (theta + phase).sin() + 0.05 * normal(rng);
                    (x, y, k)
                }
            };
            data.push(x);
            data.push(y);
            labels.push(label);
        }
        Points { d: 2, data, labels: Some(labels) }
    }
}

impl std::fmt::Display for Mixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mixture::EightGaussians => "8gaussians",
            Mixture::Checkerboard => "checkerboard",
            Mixture::TwoMoons => "moons",
            Mixture::Spiral => "spiral",
        })
    }
}

impl std::str::FromStr for Mixture {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Mixture::ALL.into_iter().find(|m| m.to_string() == s).ok_or_else(|| {
            format!("unknown mixture `{s}` (expected 8gaussians, checkerboard, moons or spiral)")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn deterministic_labelled_and_to_scale() {
        for m in Mixture::ALL {
            let a = m.sample(4000, &mut ChaCha8Rng::seed_from_u64(5));
            let b = m.sample(4000, &mut ChaCha8Rng::seed_from_u64(5));
            assert_eq!(a, b);
            let labels = a.labels.as_ref().unwrap();
            assert!(labels.iter().all(|&l| l < m.classes()));
            assert!(a.data.iter().all(|v| v.abs() < 3.0), "{m} leaves its documented box");
            assert_eq!(m.to_string().parse::<Mixture>().unwrap(), m);
        }
        // 8 Gaussians: mean radius 2, every mode used.
        let p = Mixture::EightGaussians.sample(8000, &mut ChaCha8Rng::seed_from_u64(1));
        let r: f32 = p.rows().map(|r| (r[0] * r[0] + r[1] * r[1]).sqrt()).sum::<f32>() / 8000.0;
        assert!((r - 2.0).abs() < 0.02, "mean radius {r}");
        // Checkerboard: every point on a dark square.
        let c = Mixture::Checkerboard.sample(2000, &mut ChaCha8Rng::seed_from_u64(2));
        for row in c.rows() {
            let (col, r) = ((row[0] + 2.0).floor() as i32, (row[1] + 2.0).floor() as i32);
            assert_eq!((col + r) % 2, 0, "{row:?} on a light square");
        }
    }
}
