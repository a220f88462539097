//! The two generative processes behind one enum, so training, sampling and saving treat them
//! alike: EDM diffusion ([`Edm`]) and linear flow matching ([`FlowMatching`]).

use burn::tensor::Tensor;
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

use crate::edm::{Edm, EdmField};
use crate::flow_matching::{FlowMatching, VelocityField};
use crate::net::TimeMlp;
use crate::ode::{Solver, Trajectory, solve};

/// Which process a model was trained with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Process {
    /// EDM-preconditioned diffusion.
    Edm(Edm),
    /// Linear-path flow matching.
    FlowMatching(FlowMatching),
}

impl Process {
    /// Short name: `edm` or `fm`.
    pub fn name(&self) -> &'static str {
        match self {
            Process::Edm(_) => "edm",
            Process::FlowMatching(_) => "fm",
        }
    }

    /// Standard deviation the data is normalised to before training (σ_d for EDM, 1 for FM).
    pub fn data_std(&self) -> f32 {
        match self {
            Process::Edm(e) => e.sigma_data,
            Process::FlowMatching(_) => 1.0,
        }
    }

    /// One minibatch loss on normalised `x0`, drawing noise and times from `rng`.
    pub fn loss(&self, net: &TimeMlp, x0: Tensor<2>, rng: &mut SeededRng) -> Tensor<1> {
        let [b, d] = x0.dims();
        let device = x0.device();
        let eps = rng.normal([b, d], &device);
        match self {
            Process::Edm(edm) => {
                let sigma = edm.sigma_from_normal(rng.normal([b, 1], &device));
                edm.loss(net, x0, eps, sigma)
            }
            Process::FlowMatching(fm) => fm.loss(net, x0, eps, rng.uniform([b, 1], &device)),
        }
    }

    /// The sampling time grid for `steps` solver steps (σ for EDM, t for FM), start first.
    pub fn time_grid(&self, steps: usize) -> Vec<f32> {
        match self {
            Process::Edm(e) => e.time_grid(steps),
            Process::FlowMatching(f) => f.time_grid(steps),
        }
    }

    /// Integrates the model's ODE from standard-normal `z` in `steps` steps.
    pub fn integrate(
        &self,
        net: &TimeMlp,
        z: Tensor<2>,
        steps: usize,
        solver: Solver,
        record: bool,
    ) -> Trajectory {
        let grid = self.time_grid(steps);
        match self {
            Process::Edm(edm) => solve(&EdmField { edm, net }, edm.prior(z), &grid, solver, record),
            Process::FlowMatching(fm) => {
                solve(&VelocityField { net }, fm.prior(z), &grid, solver, record)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::zero_net;
    use burn::tensor::Device;

    /// For data N(0, σ_d² I) the exact denoiser is c_skip(σ)·x, i.e. F ≡ 0; integrating its
    /// probability-flow ODE must turn N(0, σ_max²) into N(0, σ_d²).
    #[test]
    fn edm_sampler_is_exact_for_gaussian_data() {
        let device = Device::flex();
        let process = Process::Edm(Edm::default());
        let mut rng = SeededRng::new(0);
        let z = rng.normal([20_000, 2], &device);
        let x = process
            .integrate(&zero_net(2, &device), z, 64, Solver::Heun, false)
            .last();
        let v = genlab_core::tensor::to_vec(x);
        let std = (v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
        assert!(
            (std - 0.5).abs() < 0.01,
            "sample std {std}, expected σ_d = 0.5"
        );
    }
}
