//! The class mixtures of the 2-D study: N Gaussian components, one per class, on a ring.
//!
//! ```text
//! μ_k = R (cos 2πk/N, sin 2πk/N),   x | y = k  ~  N(μ_k, σ² I),   y ~ Uniform{0..N}
//! R = 2, σ = 0.07 by default: neighbouring centres are 2R sin(π/N) apart —
//!     N = 8: 1.53 (22σ, separate)   N = 25: 0.50 (7σ, apart)   N = 50: 0.25 (3.6σ, 3σ discs overlap)
//! ```
//!
//! The paper's mixture study uses overlapping class modes, where an unconditional generator can
//! cover the data while putting samples of class y under a neighbour's mode. On a ring of fixed
//! σ the overlap grows with N, so one family of data sets goes from easy (N = 8) to overlapping
//! (N = 50). The layout is our choice (the paper's exact layout is not public); what the paper
//! measures on it — accuracy inside component y's 3σ region, failed classes — is reproduced as
//! defined ([`crate::metrics`]).

use genlab_core::data::Points;
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

/// N classes on a ring of radius `radius`, component std `std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMixture {
    /// Number of classes (components).
    pub classes: usize,
    /// Ring radius R.
    pub radius: f32,
    /// Component standard deviation σ.
    pub std: f32,
}

impl ClassMixture {
    /// The study's mixture: `classes` components on the ring of radius 2, σ = 0.07.
    pub fn ring(classes: usize) -> Self {
        ClassMixture {
            classes,
            radius: 2.0,
            std: 0.07,
        }
    }

    /// μ_k.
    pub fn centre(&self, k: usize) -> [f32; 2] {
        let angle = std::f32::consts::TAU * k as f32 / self.classes as f32;
        [self.radius * angle.cos(), self.radius * angle.sin()]
    }

    /// Distance between neighbouring centres, 2R sin(π/N).
    pub fn spacing(&self) -> f32 {
        2.0 * self.radius * (std::f32::consts::PI / self.classes as f32).sin()
    }

    /// `n` labelled samples with uniformly drawn classes.
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> Points {
        let labels: Vec<u32> = rng
            .indices(n, self.classes)
            .into_iter()
            .map(|k| k as u32)
            .collect();
        self.sample_classes(&labels, rng)
    }

    /// One sample of each class in `labels`.
    pub fn sample_classes(&self, labels: &[u32], rng: &mut SeededRng) -> Points {
        let noise = rng.normal_vec(2 * labels.len());
        let mut data = Vec::with_capacity(2 * labels.len());
        for (i, &k) in labels.iter().enumerate() {
            let [cx, cy] = self.centre(k as usize);
            data.push(cx + self.std * noise[2 * i]);
            data.push(cy + self.std * noise[2 * i + 1]);
        }
        Points {
            d: 2,
            data,
            labels: Some(labels.to_vec()),
        }
    }

    /// Whether `x` lies inside component `k`'s 3σ disc.
    pub fn inside(&self, x: &[f32], k: usize) -> bool {
        let [cx, cy] = self.centre(k);
        let (dx, dy) = (x[0] - cx, x[1] - cy);
        (dx * dx + dy * dy).sqrt() <= 3.0 * self.std
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_sit_in_their_component_at_the_gaussian_rate() {
        // P(‖ε‖ ≤ 3σ) for a 2-D standard Gaussian is 1 − e^{−9/2} ≈ 0.9889.
        let m = ClassMixture::ring(8);
        let p = m.sample(20_000, &mut SeededRng::new(1));
        let labels = p.labels.as_ref().unwrap();
        let hits = (0..p.len())
            .filter(|&i| m.inside(p.row(i), labels[i] as usize))
            .count();
        let rate = hits as f64 / p.len() as f64;
        assert!((rate - (1.0 - (-4.5f64).exp())).abs() < 0.004, "{rate}");
        // Each class drawn about equally often.
        let count0 = labels.iter().filter(|&&l| l == 0).count() as f64;
        assert!((count0 / 20_000.0 - 0.125).abs() < 0.01);
    }

    #[test]
    fn spacing_shrinks_with_the_class_count() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-3;
        assert!(close(ClassMixture::ring(8).spacing(), 1.5307));
        assert!(close(ClassMixture::ring(50).spacing(), 0.2512));
        let m = ClassMixture::ring(4);
        let [x, y] = m.centre(1);
        assert!(close(x, 0.0) && close(y, 2.0));
    }
}
