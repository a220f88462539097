//! Features of a `genlab flow train` model (EDM or flow matching, a `TimeMlp`) on the user's
//! points, for `genlab attribution featurize`.
//!
//! ```text
//! loss    (TRAK)    f_j(x_0) = the process's training loss at a fixed draw j:
//!                   EDM  λ(σ_j) ‖D(x_0 + σ_j ε_j, σ_j) − x_0‖² / d,   ln σ_j ~ N(P_mean, P_std²)
//!                   FM   ‖v_θ(x_{t_j}, t_j) − (ε_j − x_0)‖² / d,      t_j ~ U(0, 1)
//! sqnorm  (D-TRAK)  f_j(x_0) = ‖network output at the same noised input‖²
//! φ(x_0) = Pᵀ Σ_j ∇_θ f_j / ‖∇_θ f_j‖
//! ```
//!
//! The draws (ε_j, σ_j or t_j) are a pure function of (seed, row index, j), and the gradient
//! of each example is its own backward pass ([`per_example_loop`]: `TimeMlp`'s layers are not
//! an [`crate::mlp::Mlp`]), so every row's feature is independent of batching and sharding.

use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::data::Points;
use genlab_core::train::SeededRng;
use genlab_flow::{FlowModel, Process};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grads::per_example_loop;
use crate::project::Projector;

/// The output function of a flow model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowFn {
    /// The training loss (TRAK's DSM).
    Loss,
    /// The squared norm of the network output (D-TRAK).
    SqNorm,
}

/// f_j for one example `x0` (`[1, d]`, model space) and draw `rng`.
fn output(model: &FlowModel, f: FlowFn, x0: Tensor<2>, rng: &mut SeededRng) -> Tensor<1> {
    let device = x0.device();
    let [b, d] = x0.dims();
    let net = &model.net;
    match (f, &model.spec.process) {
        (FlowFn::Loss, process) => process.loss(net, x0, rng),
        (FlowFn::SqNorm, Process::Edm(edm)) => {
            let eps = rng.normal([b, d], &device);
            let sigma = edm.sigma_from_normal(rng.normal([b, 1], &device));
            let x = x0 + eps * sigma.clone();
            net.forward(x * edm.c_in(sigma.clone()), edm.c_noise(sigma))
                .square()
                .sum()
        }
        (FlowFn::SqNorm, Process::FlowMatching(fm)) => {
            let eps = rng.normal([b, d], &device);
            let t = rng.uniform([b, 1], &device);
            net.forward(fm.interpolate(x0, eps, t.clone()), t)
                .square()
                .sum()
        }
    }
}

/// Projected features of rows `rows` of `data` (data space; normalised with the model's
/// normaliser), `rows.len() × proj.k`. `model` must live on an autodiff device.
pub fn featurize_flow(
    model: &FlowModel,
    data: &Points,
    rows: std::ops::Range<usize>,
    f: FlowFn,
    draws: usize,
    seed: u64,
    proj: &Projector,
) -> Result<Vec<f32>> {
    crate::error::check_len("data columns vs the model's dimension", model.dim(), data.d)?;
    let device = Device::flex().autodiff();
    let z = model
        .spec
        .norm
        .encode(&data.select(&rows.clone().collect::<Vec<_>>()));
    let p = proj.p;
    let mut acc = vec![0.0f32; rows.len() * p];
    for (r, g) in rows.clone().enumerate() {
        let x0 = Tensor::<2>::from_data(TensorData::new(z.row(r).to_vec(), [1, z.d]), &device);
        for j in 0..draws {
            let mut rng = SeededRng::new(
                seed ^ (g as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((j as u64) << 48),
            );
            let grad =
                per_example_loop(&model.net, 1, |_, _| output(model, f, x0.clone(), &mut rng))
                    .remove(0);
            crate::error::check_len("model parameters vs projector input", p, grad.len())?;
            let norm = grad.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            if norm > 0.0 {
                let row = &mut acc[r * p..(r + 1) * p];
                row.iter_mut()
                    .zip(&grad)
                    .for_each(|(a, g)| *a += (*g as f64 / norm) as f32);
            }
        }
    }
    proj.project(&acc)
}

/// Number of parameters of a flow model's network.
pub fn flow_params(model: &FlowModel) -> usize {
    crate::grads::flatten_params(&model.net).len()
}
