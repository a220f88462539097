//! Seeded 2-D toy distributions with class labels, the usual testbeds of generative-model
//! papers. Every mixture is centred at the origin and lies within about [−2, 2]²:
//!
//! ```text
//! name          classes  shape                                         E[x²+y²]
//! 8gaussians    8        modes on the circle of radius 2, std 0.15      4.045
//! checkerboard  8        uniform on the 8 dark squares of a 4×4 board   2.667
//!                        over [−2, 2]²
//! moons         2        two interleaved half circles, noise 0.05,      1.776
//!                        scaled ×4/3 to x ∈ [−2, 2], y ∈ [−1, 1]
//! spiral        2        two Archimedean arms r = θ/(1.5π), θ ≤ 3π,     2.005
//!                        so r ≤ 2, noise std 0.05
//! ```
//!
//! Sampling is deterministic given the RNG, so a seeded RNG gives a reproducible data set.

use std::f32::consts::{PI, TAU};
use std::fmt;
use std::str::FromStr;

use rand::Rng;
use rand_distr::StandardNormal;

use super::points::Points;

/// A labelled 2-D mixture; its [`Display`](fmt::Display) / [`FromStr`] name is the one the
/// command line uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mixture {
    /// `8gaussians`: 8 Gaussians of std 0.15 centred on the circle of radius 2 at angles
    /// 2πk/8; label k ∈ 0..8. Mean 0, E[x²+y²] = 4 + 2·0.15² = 4.045.
    EightGaussians,
    /// `checkerboard`: uniform on the 8 dark squares (column + row even) of a 4×4 board of unit
    /// squares over [−2, 2]²; label = dark-square index 0..8, row by row from the bottom.
    /// Each coordinate is uniform on [−2, 2]: mean 0, std 2/√3 ≈ 1.155.
    Checkerboard,
    /// `moons`: scikit-learn's two moons (unit half circles, the lower one shifted by (1, −0.5))
    /// with Gaussian noise of std 0.05, centred and scaled by 4/3 so that x ∈ [−2, 2] and
    /// y ∈ [−1, 1] (noise std ≈ 0.067 after scaling); label = moon 0 (upper) or 1 (lower).
    /// Mean 0, E[x²+y²] ≈ 1.776.
    TwoMoons,
    /// `spiral`: two interleaved Archimedean arms r = θ/(1.5π), θ = 3π·√u (u uniform, which
    /// spreads points evenly along each arm), the second arm rotated by π, Gaussian noise of
    /// std 0.05; r ≤ 2; label = arm 0 or 1. Mean 0, E[x²+y²] = 2 + 2·0.05² = 2.005.
    Spiral,
}

impl Mixture {
    /// Every mixture, in the order the command line lists them.
    pub const ALL: [Mixture; 4] = [
        Mixture::EightGaussians,
        Mixture::Checkerboard,
        Mixture::TwoMoons,
        Mixture::Spiral,
    ];

    /// A one-line description for listings.
    pub fn description(&self) -> &'static str {
        match self {
            Mixture::EightGaussians => "8 Gaussians (std 0.15) on the circle of radius 2",
            Mixture::Checkerboard => "uniform on the 8 dark squares of a 4x4 board over [-2,2]^2",
            Mixture::TwoMoons => "two interleaved half circles (noise 0.05), x in [-2,2]",
            Mixture::Spiral => "two interleaved spiral arms of radius 2 (noise 0.05)",
        }
    }

    /// Number of classes; labels are `0..classes()`.
    pub fn classes(&self) -> u32 {
        match self {
            Mixture::EightGaussians | Mixture::Checkerboard => 8,
            Mixture::TwoMoons | Mixture::Spiral => 2,
        }
    }

    /// `n` labelled 2-D samples drawn with `rng`.
    pub fn sample(&self, n: usize, rng: &mut impl Rng) -> Points {
        let mut data = Vec::with_capacity(2 * n);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let ([x, y], label) = self.draw(rng);
            data.extend_from_slice(&[x, y]);
            labels.push(label);
        }
        Points {
            d: 2,
            data,
            labels: Some(labels),
        }
    }

    /// One sample and its label.
    fn draw(&self, rng: &mut impl Rng) -> ([f32; 2], u32) {
        let label = rng.random_range(0..self.classes());
        let point = match self {
            Mixture::EightGaussians => {
                let angle = TAU * label as f32 / 8.0;
                [
                    2.0 * angle.cos() + 0.15 * normal(rng),
                    2.0 * angle.sin() + 0.15 * normal(rng),
                ]
            }
            Mixture::Checkerboard => {
                // Two dark squares per row; odd rows start one column to the right.
                let row = label / 2;
                let col = 2 * (label % 2) + row % 2;
                [
                    col as f32 - 2.0 + rng.random::<f32>(),
                    row as f32 - 2.0 + rng.random::<f32>(),
                ]
            }
            Mixture::TwoMoons => {
                let t = PI * rng.random::<f32>();
                let (x, y) = if label == 0 {
                    (t.cos(), t.sin())
                } else {
                    (1.0 - t.cos(), 0.5 - t.sin())
                };
                // (0.5, 0.25) is the mean of both moons together.
                let scale = 4.0 / 3.0;
                [
                    scale * (x - 0.5 + 0.05 * normal(rng)),
                    scale * (y - 0.25 + 0.05 * normal(rng)),
                ]
            }
            Mixture::Spiral => {
                let theta = 3.0 * PI * rng.random::<f32>().sqrt();
                let r = theta / (1.5 * PI);
                let angle = theta + PI * label as f32;
                [
                    r * angle.cos() + 0.05 * normal(rng),
                    r * angle.sin() + 0.05 * normal(rng),
                ]
            }
        };
        (point, label)
    }
}

/// A standard normal draw.
fn normal(rng: &mut impl Rng) -> f32 {
    rng.sample(StandardNormal)
}

impl fmt::Display for Mixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mixture::EightGaussians => "8gaussians",
            Mixture::Checkerboard => "checkerboard",
            Mixture::TwoMoons => "moons",
            Mixture::Spiral => "spiral",
        })
    }
}

impl FromStr for Mixture {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Mixture::ALL
            .into_iter()
            .find(|m| m.to_string() == s)
            .ok_or_else(|| {
                let names: Vec<String> = Mixture::ALL.iter().map(|m| m.to_string()).collect();
                format!("unknown mixture `{s}` (known: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn sample(m: Mixture, n: usize, seed: u64) -> Points {
        m.sample(n, &mut ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn same_seed_same_points_and_names_round_trip() {
        for m in Mixture::ALL {
            assert_eq!(sample(m, 500, 7), sample(m, 500, 7), "{m}");
            assert_ne!(sample(m, 500, 7), sample(m, 500, 8), "{m}");
            assert_eq!(m.to_string().parse::<Mixture>(), Ok(m));
        }
        let err = "circles".parse::<Mixture>().unwrap_err();
        assert!(
            err.contains("8gaussians") && err.contains("spiral"),
            "{err}"
        );
    }

    #[test]
    fn labels_cover_every_class() {
        for m in Mixture::ALL {
            let p = sample(m, 2000, 1);
            let mut counts = vec![0usize; m.classes() as usize];
            for &l in p.labels.as_ref().unwrap() {
                assert!(l < m.classes(), "{m}: label {l}");
                counts[l as usize] += 1;
            }
            let expected = 2000 / m.classes() as usize;
            assert!(
                counts.iter().all(|&c| c.abs_diff(expected) < expected / 4),
                "{m}: {counts:?}"
            );
        }
    }

    /// Mean and E[x²+y²] match the values documented at the top of the module.
    #[test]
    fn moments_match_documented_scale() {
        let documented = [
            (Mixture::EightGaussians, 4.045),
            (Mixture::Checkerboard, 8.0 / 3.0),
            (Mixture::TwoMoons, 1.776),
            (Mixture::Spiral, 2.005),
        ];
        for (m, second_moment) in documented {
            let p = sample(m, 40_000, 3);
            let (mean, _) = p.column_stats();
            assert!(mean.iter().all(|c| c.abs() < 0.03), "{m}: mean {mean:?}");
            let r2 = p
                .rows()
                .map(|r| (r[0] * r[0] + r[1] * r[1]) as f64)
                .sum::<f64>()
                / 40_000.0;
            assert!(
                (r2 - second_moment).abs() < 0.03 * second_moment,
                "{m}: E[r²] = {r2}"
            );
            // About [−2, 2]², plus Gaussian tails.
            assert!(p.data.iter().all(|v| v.abs() < 3.0), "{m} leaves [-3, 3]²");
        }
        let (_, std) = sample(Mixture::Checkerboard, 40_000, 4).column_stats();
        assert!(
            std.iter().all(|s| (s - 2.0 / 3f64.sqrt()).abs() < 0.02),
            "{std:?}"
        );
        let moons = sample(Mixture::TwoMoons, 40_000, 5);
        let max_x = moons.rows().map(|r| r[0].abs()).fold(0.0, f32::max);
        assert!((1.9..2.3).contains(&max_x), "moons span ±{max_x}");
    }

    #[test]
    fn each_point_sits_on_its_labelled_component() {
        let gauss = sample(Mixture::EightGaussians, 4000, 9);
        let mut sum_sq = 0.0;
        for (r, &l) in gauss.rows().zip(gauss.labels.as_ref().unwrap()) {
            let angle = TAU * l as f32 / 8.0;
            let (dx, dy) = (r[0] - 2.0 * angle.cos(), r[1] - 2.0 * angle.sin());
            assert!(dx.hypot(dy) < 0.75, "{r:?} is far from mode {l}");
            sum_sq += dx * dx + dy * dy;
        }
        let std = (sum_sq / 8000.0).sqrt();
        assert!(
            (std - 0.15).abs() < 0.005,
            "8gaussians: std {std} around the modes"
        );
        let board = sample(Mixture::Checkerboard, 2000, 9);
        for (r, &l) in board.rows().zip(board.labels.as_ref().unwrap()) {
            let (col, row) = ((r[0] + 2.0).floor() as u32, (r[1] + 2.0).floor() as u32);
            assert_eq!((col + row) % 2, 0, "{r:?} on a light square");
            assert_eq!(row * 2 + col / 2, l, "{r:?} labelled {l}");
        }
        let moons = sample(Mixture::TwoMoons, 2000, 9);
        for (r, &l) in moons.rows().zip(moons.labels.as_ref().unwrap()) {
            // Undo the scaling and shift; the upper moon is the unit circle around (0, 0), the
            // lower one the unit circle around (1, 0.5).
            let (x, y) = (r[0] * 0.75 + 0.5, r[1] * 0.75 + 0.25);
            let centre = if l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let radius = ((x - centre.0).powi(2) + (y - centre.1).powi(2)).sqrt();
            assert!((radius - 1.0).abs() < 0.3, "{r:?} is not on moon {l}");
        }
        // Spiral: the angle of a point on arm k is 1.5π·r + kπ (mod 2π), up to noise.
        let spiral = sample(Mixture::Spiral, 4000, 9);
        let on_arm = spiral
            .rows()
            .zip(spiral.labels.as_ref().unwrap())
            .filter(|(r, l)| {
                let radius = (r[0] * r[0] + r[1] * r[1]).sqrt();
                let off = 1.5 * PI * radius + PI * **l as f32 - r[1].atan2(r[0]);
                ((off + PI).rem_euclid(TAU) - PI).abs() < PI / 2.0
            })
            .count();
        assert!(
            on_arm > 3900,
            "only {on_arm} of 4000 spiral points lie on their arm"
        );
    }
}
