//! How close a trained model's samples are to held-out data, beside the data floor
//! (`genlab flow eval`):
//!
//! ```text
//! held-out H (at most `max_points`, a random subset) → random halves A, B (|A| = ⌈|H|/2⌉)
//! samples S: |B| model samples
//! model:  E(S, A), MMD²(S, A), SW₂²(S, A)
//! floor:  E(B, A), MMD²(B, A), SW₂²(B, A)      — the same metrics between two halves of the
//!                                                 data: what a perfect model would score
//! ```
//!
//! S and B have the same size, so each model distance and its floor are estimated alike: the
//! biased (V) energy distance's floor is (1/|A| + 1/|B|)·E‖X − X'‖, not zero, and a model
//! within a small factor of it is indistinguishable from the data at this sample size. MMD²
//! (RBF kernel, median bandwidth, unbiased) can be slightly negative; SW₂² uses 128 directions.

use burn::tensor::Device;
use genlab_core::data::Points;
use genlab_core::metrics::{energy_distance_biased, mmd_rbf, sliced_wasserstein};
use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};
use serde::Serialize;

use crate::model::FlowModel;
use crate::ode::Solver;

/// Directions of the sliced Wasserstein distance.
pub const SWD_PROJECTIONS: usize = 128;

/// The three distances between two point sets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Distances {
    /// Biased (V-statistic) squared energy distance.
    pub energy: f64,
    /// Unbiased MMD² with an RBF kernel at the median bandwidth.
    pub mmd: f64,
    /// Squared sliced Wasserstein-2 distance over [`SWD_PROJECTIONS`] directions.
    pub sliced_w2: f64,
}

impl Distances {
    /// Measures `x` against `y`; `seed` fixes the sliced-Wasserstein directions.
    pub fn between(x: &Points, y: &Points, seed: u64) -> Result<Distances> {
        Ok(Distances {
            energy: energy_distance_biased(x, y)?,
            mmd: mmd_rbf(x, y)?,
            sliced_w2: sliced_wasserstein(x, y, SWD_PROJECTIONS, seed)?,
        })
    }
}

/// What [`evaluate`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Model samples against held-out half A.
    pub model: Distances,
    /// Held-out half B against half A.
    pub floor: Distances,
    /// Model energy distance / floor energy distance.
    pub energy_over_floor: f64,
    /// Model sliced W2 / floor sliced W2.
    pub sliced_w2_over_floor: f64,
    /// Held-out points used (after subsampling), |A| + |B|.
    pub held_out_points: usize,
    /// Model samples drawn (= |B|).
    pub samples: usize,
    /// Solver steps and solver used.
    pub steps: usize,
    /// The solver (unused by a consistency student).
    pub solver: Solver,
    /// The seed of the split, the samples and the directions.
    pub seed: u64,
}

/// Settings of [`evaluate`].
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Solver steps.
    pub steps: usize,
    /// ODE solver.
    pub solver: Solver,
    /// Held-out points used at most (the distances cost O(n²)).
    pub max_points: usize,
    /// Seed of the subset, the split, the samples and the projection directions.
    pub seed: u64,
}

/// Measures `model` against `held_out` beside the data floor (module doc).
pub fn evaluate(
    model: &FlowModel,
    held_out: &Points,
    config: &EvalConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Evaluation> {
    if held_out.d != model.dim() {
        return Err(Error::InvalidInput(format!(
            "the held-out points have dimension {}, the model {}",
            held_out.d,
            model.dim()
        )));
    }
    if held_out.len() < 4 || config.max_points < 4 {
        return Err(Error::InvalidInput(format!(
            "evaluation needs at least 4 held-out points (two halves of 2), got {} (max points {})",
            held_out.len(),
            config.max_points
        )));
    }
    let mut rng = SeededRng::new(config.seed);
    let order = rng.permutation(held_out.len());
    let used = &order[..held_out.len().min(config.max_points)];
    let half = used.len().div_ceil(2);
    let (a, b) = (
        held_out.select(&used[..half]),
        held_out.select(&used[half..]),
    );
    observer.message(&format!(
        "sampling {} points ({} steps, {})",
        b.len(),
        config.steps,
        config.solver
    ));
    let samples = model.sample(b.len(), config.steps, config.solver, &mut rng, device);
    if let Some(i) = samples.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "sample {} is not finite: the model diverged",
            i / samples.d + 1
        )));
    }
    observer.message("measuring the model and the data floor");
    let directions = config.seed.wrapping_add(1);
    let model_d = Distances::between(&samples, &a, directions)?;
    let floor = Distances::between(&b, &a, directions)?;
    let ratio = |m: f64, f: f64| m / f.max(f64::MIN_POSITIVE);
    Ok(Evaluation {
        model: model_d,
        floor,
        energy_over_floor: ratio(model_d.energy, floor.energy),
        sliced_w2_over_floor: ratio(model_d.sliced_w2, floor.sliced_w2),
        held_out_points: used.len(),
        samples: b.len(),
        steps: config.steps,
        solver: config.solver,
        seed: config.seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FlowMatching;
    use crate::model::{ModelSpec, Normalizer};
    use crate::net::TimeMlpConfig;
    use crate::process::Process;
    use crate::testutil::zero_net;
    use genlab_core::train::NoObserver;

    /// A model whose samples are exactly N(0, I): flow matching with v ≡ 0 moves nothing, so
    /// its samples are the prior draws.
    fn prior_model(dim: usize, device: &Device) -> FlowModel {
        FlowModel {
            spec: ModelSpec {
                process: Process::FlowMatching(FlowMatching),
                net: TimeMlpConfig::new(dim).with_width(8).with_depth(2),
                norm: Normalizer {
                    mean: vec![0.0; dim],
                    factor: 1.0,
                },
                solver: Solver::Euler,
                steps: 2,
                consistency: None,
            },
            net: zero_net(dim, device),
        }
    }

    #[test]
    fn a_model_of_the_data_scores_at_the_floor_and_a_wrong_one_far_above() {
        let device = Device::flex();
        let model = prior_model(2, &device);
        let config = EvalConfig {
            steps: 2,
            solver: Solver::Euler,
            max_points: 4000,
            seed: 3,
        };
        let normal = |shift: f32, seed| {
            let mut rng = SeededRng::new(seed);
            let v = rng
                .normal_vec(2 * 3000)
                .into_iter()
                .map(|x| x + shift)
                .collect();
            Points::new(2, v, None).unwrap()
        };
        let same = evaluate(&model, &normal(0.0, 9), &config, &device, &mut NoObserver).unwrap();
        assert_eq!((same.held_out_points, same.samples), (3000, 1500));
        assert!(
            (0.5..2.0).contains(&same.energy_over_floor),
            "model = data: {same:?}"
        );
        let far = evaluate(&model, &normal(1.0, 9), &config, &device, &mut NoObserver).unwrap();
        assert!(far.energy_over_floor > 20.0, "shifted data: {far:?}");
        assert!(far.sliced_w2_over_floor > 20.0 && far.model.mmd > 10.0 * far.floor.mmd.abs());
        // The floor depends only on the data and the seed.
        assert_eq!(far.floor.energy, {
            let shifted = evaluate(&model, &normal(1.0, 9), &config, &device, &mut NoObserver);
            shifted.unwrap().floor.energy
        });
    }

    #[test]
    fn wrong_dimension_and_too_few_points_are_refused() {
        let device = Device::flex();
        let model = prior_model(2, &device);
        let config = EvalConfig {
            steps: 2,
            solver: Solver::Euler,
            max_points: 100,
            seed: 0,
        };
        let pts = |d: usize, n: usize| Points::new(d, vec![0.5; d * n], None).unwrap();
        let err = evaluate(&model, &pts(3, 10), &config, &device, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("dimension 3"), "{err}");
        let err = evaluate(&model, &pts(2, 3), &config, &device, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("at least 4"), "{err}");
    }
}
