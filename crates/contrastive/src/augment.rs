//! Augmentations that make the two views of an example, drawn on the host from the run's RNG.
//!
//! ```text
//! vectors   x' = m ⊙ x + σ ε,     m_j ~ Bernoulli(1 − p),  ε ~ N(0, I)      (jitter + dropout)
//! images    shift by (dx, dy) ~ U{−s..s}² with zero fill, mirror with probability ½,
//!           then + σ ε, clipped to [0, 1]                                (crop, flip, noise)
//! ```

use genlab_core::train::SeededRng;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// An augmentation of the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Augment {
    /// Gaussian jitter and feature dropout on vectors.
    Vector {
        /// σ of the jitter.
        jitter: f32,
        /// Probability p of zeroing a feature.
        drop: f32,
    },
    /// Shift ("crop"), mirror and noise on 28×28 images.
    Image {
        /// Largest shift s in pixels.
        shift: usize,
        /// σ of the noise.
        noise: f32,
    },
}

impl Augment {
    /// The defaults: σ = 0.1, p = 0.2 for vectors; s = 2, σ = 0.05 for images.
    pub const VECTOR: Augment = Augment::Vector {
        jitter: 0.1,
        drop: 0.2,
    };
    /// See [`Augment::VECTOR`].
    pub const IMAGE: Augment = Augment::Image {
        shift: 2,
        noise: 0.05,
    };

    /// One augmented view of `row`, appended to `out`.
    pub fn view(&self, row: &[f32], rng: &mut SeededRng, out: &mut Vec<f32>) {
        let r = rng.rng();
        match *self {
            Augment::Vector { jitter, drop } => {
                for &x in row {
                    let keep = r.random::<f32>() >= drop;
                    let e: f32 = StandardNormal.sample(r);
                    out.push(if keep { x } else { 0.0 } + jitter * e);
                }
            }
            Augment::Image { shift, noise } => {
                let s = shift as i64;
                let dx = r.random_range(-s..=s);
                let dy = r.random_range(-s..=s);
                let flip = r.random::<bool>();
                for y in 0..28i64 {
                    for x in 0..28i64 {
                        let sx0 = if flip { 27 - x } else { x };
                        let (sx, sy) = (sx0 + dx, y + dy);
                        let v = if (0..28).contains(&sx) && (0..28).contains(&sy) {
                            row[(sy * 28 + sx) as usize]
                        } else {
                            0.0
                        };
                        let e: f32 = StandardNormal.sample(r);
                        out.push((v + noise * e).clamp(0.0, 1.0));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noiseless_vector_dropout_keeps_or_zeroes() {
        let mut rng = SeededRng::new(0);
        let row: Vec<f32> = (1..=1000).map(|i| i as f32).collect();
        let mut out = Vec::new();
        Augment::Vector {
            jitter: 0.0,
            drop: 0.2,
        }
        .view(&row, &mut rng, &mut out);
        assert!(out.iter().zip(&row).all(|(o, x)| *o == 0.0 || o == x));
        let dropped = out.iter().filter(|o| **o == 0.0).count();
        assert!((150..250).contains(&dropped), "{dropped}");
    }

    #[test]
    fn image_views_are_shifted_or_mirrored_copies() {
        let mut rng = SeededRng::new(1);
        let row: Vec<f32> = (0..784).map(|i| ((i % 28) as f32) / 27.0).collect();
        let mut out = Vec::new();
        Augment::Image {
            shift: 0,
            noise: 0.0,
        }
        .view(&row, &mut rng, &mut out);
        let mirrored: Vec<f32> = (0..784).map(|i| ((27 - i % 28) as f32) / 27.0).collect();
        assert!(out == row || out == mirrored);
    }
}
