//! The factor-structured synthetic set (method note §3.4): C classes over F binary latent
//! factors with a known sharing matrix, seen through a fixed random nonlinear map.
//!
//! ```text
//! class c ↦ A_c ⊂ {1..F}, |A_c| = k, drawn so that every pair shares ≤ k_max factors
//! S_ab = |A_a ∩ A_b|                                            (the true sharing matrix)
//! sample of class c:  z_f = m_f · 1[f ∈ A_c],  m_f ~ U(0.5, 1.5)
//!                     x = W₂ tanh(W₁ z + b₁) + σ ε,   W₁ ∈ R^{H×F}, W₂ ∈ R^{d×H}, ε ~ N(0, I)
//! ```
//!
//! W₁ ~ N(0, 1/k) (so pre-activations are O(1)), b₁ ~ N(0, 0.1²), W₂ ~ N(0, 1/H). Labels are
//! balanced (sample i has class i mod C before shuffling).

use genlab_core::data::Points;
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The sizes of the set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FactorConfig {
    /// Classes C.
    pub classes: usize,
    /// Latent factors F.
    pub factors: usize,
    /// Active factors per class k.
    pub active: usize,
    /// Most factors any two classes may share.
    pub max_shared: usize,
    /// Hidden width H of the map.
    pub hidden: usize,
    /// Observed dimension d.
    pub dim: usize,
    /// Noise σ.
    pub noise: f32,
    /// Training samples.
    pub train: usize,
    /// Test samples.
    pub test: usize,
}

impl FactorConfig {
    /// The note's set: C = 20, F = 32, k = 6, shares 0–4, R^32 → R^64, σ = 0.1, 10k / 2k.
    pub const DEFAULT: FactorConfig = FactorConfig {
        classes: 20,
        factors: 32,
        active: 6,
        max_shared: 4,
        hidden: 64,
        dim: 64,
        noise: 0.1,
        train: 10_000,
        test: 2_000,
    };
}

/// A drawn set with its ground truth.
#[derive(Debug, Clone)]
pub struct FactorSet {
    /// The sizes it was drawn with.
    pub config: FactorConfig,
    /// A_c for each class (sorted factor indices).
    pub class_factors: Vec<Vec<usize>>,
    /// S, `C × C` row-major.
    pub sharing: Vec<u32>,
    /// Labelled training samples.
    pub train: Points,
    /// Labelled test samples.
    pub test: Points,
}

/// Draws k-subsets of the factors until every pair of classes shares at most `max_shared`.
fn class_factors(c: &FactorConfig, rng: &mut SeededRng) -> Result<Vec<Vec<usize>>> {
    for _ in 0..1000 {
        let sets: Vec<Vec<usize>> = (0..c.classes)
            .map(|_| {
                let mut p = rng.permutation(c.factors)[..c.active].to_vec();
                p.sort_unstable();
                p
            })
            .collect();
        let ok = (0..c.classes)
            .all(|a| (a + 1..c.classes).all(|b| shared(&sets[a], &sets[b]) <= c.max_shared));
        if ok {
            return Ok(sets);
        }
    }
    Err(Error::InvalidInput(format!(
        "no {} classes of {} of {} factors share at most {} (try fewer classes or more factors)",
        c.classes, c.active, c.factors, c.max_shared
    )))
}

fn shared(a: &[usize], b: &[usize]) -> usize {
    a.iter().filter(|f| b.contains(f)).count()
}

/// Draws the set of the module doc from `seed`.
pub fn factor_set(config: &FactorConfig, seed: u64) -> Result<FactorSet> {
    let c = config;
    if c.classes < 2 || c.active == 0 || c.active > c.factors || c.dim == 0 {
        return Err(Error::InvalidInput(
            "factor set: need ≥ 2 classes and 1 ≤ k ≤ F".into(),
        ));
    }
    let mut rng = SeededRng::new(seed);
    let sets = class_factors(c, &mut rng)?;
    let sharing = (0..c.classes * c.classes)
        .map(|k| shared(&sets[k / c.classes], &sets[k % c.classes]) as u32)
        .collect();
    let w1: Vec<f32> = rng
        .normal_vec(c.hidden * c.factors)
        .iter()
        .map(|w| w / (c.active as f32).sqrt())
        .collect();
    let b1: Vec<f32> = rng.normal_vec(c.hidden).iter().map(|b| 0.1 * b).collect();
    let w2: Vec<f32> = rng
        .normal_vec(c.dim * c.hidden)
        .iter()
        .map(|w| w / (c.hidden as f32).sqrt())
        .collect();
    let draw = |n: usize, rng: &mut SeededRng| -> Result<Points> {
        let order = rng.permutation(n);
        let mut data = Vec::with_capacity(n * c.dim);
        let mut labels = Vec::with_capacity(n);
        for &i in &order {
            let class = i % c.classes;
            let mut z = vec![0f32; c.factors];
            for &f in &sets[class] {
                z[f] = rng.rng().random_range(0.5..1.5);
            }
            let h: Vec<f32> = (0..c.hidden)
                .map(|j| {
                    (b1[j]
                        + (0..c.factors)
                            .map(|f| w1[j * c.factors + f] * z[f])
                            .sum::<f32>())
                    .tanh()
                })
                .collect();
            let eps = rng.normal_vec(c.dim);
            for (o, e) in eps.iter().enumerate() {
                let x: f32 = (0..c.hidden).map(|j| w2[o * c.hidden + j] * h[j]).sum();
                data.push(x + c.noise * e);
            }
            labels.push(class as u32);
        }
        Points::new(c.dim, data, Some(labels))
    };
    let train = draw(c.train, &mut rng)?;
    let test = draw(c.test, &mut rng)?;
    Ok(FactorSet {
        config: *c,
        class_factors: sets,
        sharing,
        train,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_matrix_is_the_set_overlap_and_bounded() {
        let config = FactorConfig {
            train: 200,
            test: 40,
            ..FactorConfig::DEFAULT
        };
        let set = factor_set(&config, 7).unwrap();
        let c = config.classes;
        for a in 0..c {
            assert_eq!(set.sharing[a * c + a], config.active as u32);
            for b in 0..c {
                let s = set.sharing[a * c + b];
                assert_eq!(s, set.sharing[b * c + a]);
                assert_eq!(
                    s as usize,
                    shared(&set.class_factors[a], &set.class_factors[b])
                );
                if a != b {
                    assert!(s as usize <= config.max_shared);
                }
            }
        }
        let labels = set.train.labels.as_ref().unwrap();
        assert!((0..c as u32).all(|k| labels.iter().filter(|&&l| l == k).count() == 10));
        assert_eq!(set.train.d, 64);
        // Same seed, same set.
        assert_eq!(factor_set(&config, 7).unwrap().train, set.train);
    }
}
