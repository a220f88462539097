//! Synthetic activations with a known dictionary (method note §2.4, in the spirit of SAELens'
//! `sae_lens.synthetic`): superposition, a parent → child hierarchy (drives absorption),
//! co-occurring pairs (drive composition), independent features, and noise.
//!
//! ```text
//! g_1 … g_G           random unit vectors in R^d (G > d: superposition)
//! parent p            fires with p_parent
//! child c of p        fires only when p fires, with p_child
//! pair (A, B, ρ)      fires with p_pair; a_B = ρ · a_A (fixed ratio)
//! independent i       fires with p_indep
//! a_i ~ Exp(1) + 0.5 ;  x = Σ_i a_i g_i + N(0, σ² I)
//! ```
//!
//! Defaults give G = 512 in d = 64 with mean ground-truth L0 ≈ 8.

use rand::Rng;
use serde::{Deserialize, Serialize};

use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};

use crate::acts::{ActivationSource, Position};
use crate::codes::Codes;
use crate::decoder_norm::normalise_rows;
use crate::linalg::axpy;

/// The generator's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticSpec {
    /// Width d.
    pub d: usize,
    /// Ground-truth features G.
    pub features: usize,
    /// Parent features.
    pub parents: usize,
    /// Fewest children per parent.
    pub children_min: usize,
    /// Most children per parent.
    pub children_max: usize,
    /// Parent firing probability.
    pub p_parent: f64,
    /// Child firing probability given its parent.
    pub p_child: f64,
    /// Co-occurring pairs.
    pub pairs: usize,
    /// Pair firing probability.
    pub p_pair: f64,
    /// Independent-feature firing probability.
    pub p_independent: f64,
    /// Noise σ.
    pub noise: f32,
    /// Seed of the dictionary and the structure.
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            d: 64,
            features: 512,
            parents: 40,
            children_min: 4,
            children_max: 6,
            p_parent: 0.05,
            p_child: 0.3,
            pairs: 50,
            p_pair: 0.015,
            p_independent: 0.01,
            noise: 0.05,
            seed: 0,
        }
    }
}

/// The drawn dictionary and structure.
#[derive(Debug, Clone)]
pub struct GroundTruth {
    /// Settings.
    pub spec: SyntheticSpec,
    /// `[G, d]` unit feature directions.
    pub dict: Vec<f32>,
    /// Parent features.
    pub parents: Vec<usize>,
    /// `children[i]`: children of `parents[i]`.
    pub children: Vec<Vec<usize>>,
    /// `(A, B, ρ)`.
    pub pairs: Vec<(usize, usize, f32)>,
    /// Independent features.
    pub independent: Vec<usize>,
}

impl GroundTruth {
    /// Draws a dictionary and assigns features to roles.
    pub fn new(spec: &SyntheticSpec) -> Result<GroundTruth> {
        let mut rng = SeededRng::new(spec.seed);
        let (g, d) = (spec.features, spec.d);
        if d == 0 || spec.children_min > spec.children_max {
            return Err(Error::InvalidInput(
                "synthetic: bad width or child range".into(),
            ));
        }
        let mut dict = rng.normal_vec(g * d);
        normalise_rows(&mut dict, d);
        let order = rng.permutation(g);
        let mut next = 0;
        let mut take = |n: usize| -> Result<Vec<usize>> {
            if next + n > g {
                return Err(Error::InvalidInput(format!(
                    "synthetic: {g} features are too few for the requested parents, children and pairs"
                )));
            }
            next += n;
            Ok(order[next - n..next].to_vec())
        };
        let parents = take(spec.parents)?;
        let mut children = Vec::with_capacity(parents.len());
        for _ in 0..parents.len() {
            let span = spec.children_max - spec.children_min + 1;
            let n = spec.children_min + (unit(&mut rng) * span as f32) as usize % span;
            children.push(take(n)?);
        }
        let mut pairs = Vec::with_capacity(spec.pairs);
        for _ in 0..spec.pairs {
            let ab = take(2)?;
            let ratio = 0.5 + unit(&mut rng);
            pairs.push((ab[0], ab[1], ratio));
        }
        let independent = order[next..].to_vec();
        Ok(GroundTruth {
            spec: spec.clone(),
            dict,
            parents,
            children,
            pairs,
            independent,
        })
    }

    /// Feature i's direction.
    pub fn feature(&self, i: usize) -> &[f32] {
        &self.dict[i * self.spec.d..(i + 1) * self.spec.d]
    }

    /// Expected number of active features per sample.
    pub fn expected_l0(&self) -> f64 {
        let s = &self.spec;
        let child_total: usize = self.children.iter().map(Vec::len).sum();
        s.parents as f64 * s.p_parent
            + child_total as f64 * s.p_parent * s.p_child
            + 2.0 * self.pairs.len() as f64 * s.p_pair
            + self.independent.len() as f64 * s.p_independent
    }

    /// `n` samples `[n, d]` and their true coefficients (per sample, by feature index).
    pub fn sample(&self, n: usize, rng: &mut SeededRng) -> (Vec<f32>, Codes) {
        let s = &self.spec;
        let d = s.d;
        let mut x = Vec::with_capacity(n * d);
        let mut codes = Codes {
            offsets: vec![0],
            ..Codes::default()
        };
        let mut active: Vec<(u32, f32)> = Vec::new();
        for _ in 0..n {
            active.clear();
            for (p, kids) in self.parents.iter().zip(&self.children) {
                if unit(rng) < s.p_parent as f32 {
                    active.push((*p as u32, magnitude(rng)));
                    for &c in kids {
                        if unit(rng) < s.p_child as f32 {
                            active.push((c as u32, magnitude(rng)));
                        }
                    }
                }
            }
            for &(a, b, ratio) in &self.pairs {
                if unit(rng) < s.p_pair as f32 {
                    let m = magnitude(rng);
                    active.push((a as u32, m));
                    active.push((b as u32, ratio * m));
                }
            }
            let u = rng.uniform_vec(self.independent.len());
            for (&i, &ui) in self.independent.iter().zip(&u) {
                if ui < s.p_independent as f32 {
                    active.push((i as u32, magnitude(rng)));
                }
            }
            active.sort_by_key(|a| a.0);
            let mut row: Vec<f32> = rng.normal_vec(d).iter().map(|v| v * s.noise).collect();
            for &(i, a) in &active {
                axpy(a, self.feature(i as usize), &mut row);
                codes.latents.push(i);
                codes.values.push(a);
            }
            codes.offsets.push(codes.latents.len());
            x.extend_from_slice(&row);
        }
        (x, codes)
    }
}

/// A uniform draw in [0, 1).
fn unit(rng: &mut SeededRng) -> f32 {
    rng.rng().random::<f32>()
}

/// `Exp(1) + 0.5`.
fn magnitude(rng: &mut SeededRng) -> f32 {
    -(1.0 - unit(rng)).ln() + 0.5
}

/// An endless stream of fresh synthetic samples.
#[derive(Debug, Clone)]
pub struct SyntheticStream<'a> {
    gt: &'a GroundTruth,
    rng: SeededRng,
}

impl<'a> SyntheticStream<'a> {
    /// Samples from `gt`, seeded with `seed`.
    pub fn new(gt: &'a GroundTruth, seed: u64) -> Self {
        SyntheticStream {
            gt,
            rng: SeededRng::new(seed),
        }
    }
}

impl ActivationSource for SyntheticStream<'_> {
    fn dim(&self) -> usize {
        self.gt.spec.d
    }

    fn next_batch(&mut self, batch: usize, out: &mut Vec<f32>) -> Result<()> {
        *out = self.gt.sample(batch, &mut self.rng).0;
        Ok(())
    }

    fn position(&self) -> Position {
        Position::of_rng(&self.rng)
    }

    fn seek(&mut self, position: &Position) -> Result<()> {
        self.rng = SeededRng::from_state(position.rng);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_partition_the_features_and_children_need_their_parent() {
        let gt = GroundTruth::new(&SyntheticSpec::default()).unwrap();
        let mut all: Vec<usize> = gt.parents.clone();
        all.extend(gt.children.concat());
        all.extend(gt.pairs.iter().flat_map(|p| [p.0, p.1]));
        all.extend(&gt.independent);
        all.sort();
        assert_eq!(all, (0..512).collect::<Vec<_>>());
        let (_, codes) = gt.sample(3000, &mut SeededRng::new(1));
        for b in 0..codes.len() {
            let on: Vec<usize> = codes.row(b).map(|(i, _)| i).collect();
            for (p, kids) in gt.parents.iter().zip(&gt.children) {
                if kids.iter().any(|c| on.contains(c)) {
                    assert!(on.contains(p), "child without parent");
                }
            }
            for &(a, bb, r) in &gt.pairs {
                let va = codes.row(b).find(|e| e.0 == a).map(|e| e.1);
                let vb = codes.row(b).find(|e| e.0 == bb).map(|e| e.1);
                assert_eq!(va.is_some(), vb.is_some());
                if let (Some(va), Some(vb)) = (va, vb) {
                    assert!((vb - r * va).abs() < 1e-5);
                }
            }
        }
        let l0 = codes.mean_l0();
        assert!(
            (l0 - gt.expected_l0()).abs() < 0.3,
            "{l0} vs {}",
            gt.expected_l0()
        );
        assert!((6.0..10.0).contains(&gt.expected_l0()));
    }

    #[test]
    fn samples_are_the_sum_of_active_features_plus_small_noise() {
        let spec = SyntheticSpec {
            noise: 0.0,
            ..SyntheticSpec::default()
        };
        let gt = GroundTruth::new(&spec).unwrap();
        let (x, codes) = gt.sample(5, &mut SeededRng::new(2));
        for b in 0..5 {
            let mut r = vec![0.0f32; 64];
            for (i, a) in codes.row(b) {
                axpy(a, gt.feature(i), &mut r);
            }
            for (u, v) in r.iter().zip(&x[b * 64..(b + 1) * 64]) {
                assert!((u - v).abs() < 1e-5);
            }
        }
        // Same seed, same data.
        assert_eq!(
            gt.sample(3, &mut SeededRng::new(9)).0,
            gt.sample(3, &mut SeededRng::new(9)).0
        );
    }
}
