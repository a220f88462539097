//! The diffusion output functions of TRAK, D-TRAK and Concept-TRAK, and the featurisation
//! that turns them into projected features (`experiments/toy/train_grad.py`,
//! `test_local_grad.py` of enkeejunior1/concept-trak at 29159cd; §1.4 of the method notes).
//!
//! For an example (x_0, c), fixed timesteps t ∈ 𝒯 and fixed noises ε_t:
//!
//! ```text
//! DSM (TRAK)          f_t = ‖ε_t − ε_θ(x_t, t, c)‖²
//! D-TRAK              f_t = ‖ε_θ(x_t, t, c)‖²
//! L1 (DAS-like proxy) f_t = ‖ε_θ(x_t, t, c)‖₁
//! DPS reward (train)  γ_t = −∇_{x_t} ‖x̂_0(x_t, c) − x_0‖²,   f_t = ‖sg(ε_θ − γ_t) − ε_θ‖²
//!                     (∇_θ f_t = 2 J_θᵀ γ_t: the reward direction pulled back to θ)
//! CFG utility (query) Δ_t = w (ε_θ(x_t, t, c⁺) − ε_θ(x_t, t, c⁻)),
//!                     f_t = ‖sg(ε_θ(x_t, t, c⁺) + Δ_t) − ε_θ(x_t, t, c⁺)‖²  (∇_θ = −2 J_θᵀ Δ_t)
//! feature             φ = Pᵀ Σ_t ∇_θ f_t / ‖∇_θ f_t‖        (per-timestep unit norm)
//! ```
//!
//! Differences from the reference, by design at this scale: the states x_t come from forward
//! noising at fixed timesteps (the reference's documented alternative to DDIM inversion), on
//! both sides (the query side noises the generated query image: the "local" utility without
//! inversion); ε_t is a pure function of (noise seed, example index, t), so a feature depends
//! on its batch only through float summation order (shards are cut at batch boundaries).

use burn::tensor::{Device, Tensor};
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

use super::ddpm::{alpha_bar, coef, eps_from_net, net_input, rows};
use super::shapes::{COND, DIM};
use crate::attributors::Features;
use crate::error::{Result, check_len};
use crate::grads::per_example;
use crate::mlp::Mlp;
use crate::project::Projector;

/// An output function of the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "fn")]
pub enum OutputFn {
    /// ‖ε − ε_θ‖² (TRAK).
    Dsm,
    /// ‖ε_θ‖² (D-TRAK).
    SqNorm,
    /// ‖ε_θ‖₁.
    L1,
    /// The DPS reward surrogate (Concept-TRAK's train side).
    Dps,
    /// The CFG-difference utility (Concept-TRAK's query side) against condition `neg` at
    /// guidance `w`.
    Cfg {
        /// c⁻: the query condition with the target concept swapped.
        neg: [f32; COND],
        /// Concept guidance scale w.
        w: f32,
    },
}

/// Fixed featurisation settings shared by train and query sides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatConfig {
    /// The timesteps 𝒯 (1 … T).
    pub timesteps: Vec<usize>,
    /// Seed of the fixed noises ε_t.
    pub noise_seed: u64,
    /// Examples per batched backward pass.
    pub batch: usize,
}

/// The fixed noise of example `index` at timestep slot `j`.
fn noise(seed: u64, index: usize, slots: usize) -> Vec<f32> {
    SeededRng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .normal_vec(slots * DIM)
}

/// Features of examples `x0` (`n × DIM`) with conditions `cond` (`n × COND`), whose global
/// indices start at `first` (for their noises), under output function `f`, projected by `proj`.
/// `model` must live on an autodiff device.
pub fn featurize(
    model: &Mlp,
    x0: &[f32],
    cond: &[f32],
    first: usize,
    f: OutputFn,
    config: &FeatConfig,
    proj: &Projector,
) -> Result<Features> {
    check_len(
        "condition values (n × 4)",
        x0.len() / DIM * COND,
        cond.len(),
    )?;
    let n = x0.len() / DIM;
    check_len(
        "model parameters vs projector input",
        model.num_params(),
        proj.p,
    )?;
    let mut out = Vec::with_capacity(n * proj.k);
    for start in (0..n).step_by(config.batch.max(1)) {
        let b = config.batch.max(1).min(n - start);
        let acc = summed_grads(
            model,
            &x0[start * DIM..(start + b) * DIM],
            &cond[start * COND..(start + b) * COND],
            first + start,
            f,
            config,
        );
        out.extend(proj.project(&acc)?);
    }
    Features::new(n, proj.k, out)
}

/// Σ_t ∇_θ f_t / ‖∇_θ f_t‖ for a batch, `b × p` row-major.
fn summed_grads(
    model: &Mlp,
    x0: &[f32],
    cond: &[f32],
    first: usize,
    f: OutputFn,
    config: &FeatConfig,
) -> Vec<f32> {
    let device = model.layers[0].weight.val().device();
    let b = x0.len() / DIM;
    let p = model.num_params();
    let ab = alpha_bar();
    let slots = config.timesteps.len();
    let noises: Vec<Vec<f32>> = (0..b)
        .map(|i| noise(config.noise_seed, first + i, slots))
        .collect();
    let mut acc = vec![0.0f32; b * p];
    let x0_t = rows(x0.to_vec(), b, DIM, &device);
    let c = rows(cond.to_vec(), b, COND, &device);
    for (j, &t) in config.timesteps.iter().enumerate() {
        let ts = vec![t; b];
        let eps: Vec<f32> = noises
            .iter()
            .flat_map(|v| v[j * DIM..(j + 1) * DIM].iter().copied())
            .collect();
        let eps = rows(eps, b, DIM, &device);
        let xt = x0_t.clone() * coef(&ab, &ts, false, &device)
            + eps.clone() * coef(&ab, &ts, true, &device);
        let input = net_input(xt.clone(), &ts, c.clone());
        let e = |f: Tensor<2>| eps_from_net(f, xt.clone(), &ts);
        let (grads, _) = match f {
            OutputFn::Dsm => per_example(model, input, |f| (e(f) - eps).square().sum_dim(1)),
            OutputFn::SqNorm => per_example(model, input, |f| e(f).square().sum_dim(1)),
            OutputFn::L1 => per_example(model, input, |f| e(f).abs().sum_dim(1)),
            OutputFn::Dps => {
                let gamma = dps_direction(
                    model,
                    xt.clone(),
                    x0_t.clone(),
                    &ts,
                    c.clone(),
                    &ab,
                    &device,
                );
                per_example(model, input, |f| {
                    let out = e(f);
                    (out.clone().detach() - gamma - out).square().sum_dim(1)
                })
            }
            OutputFn::Cfg { neg, w } => {
                let neg = rows(
                    neg.iter().copied().cycle().take(b * COND).collect(),
                    b,
                    COND,
                    &device,
                );
                let e_neg = super::ddpm::eps(model, xt.clone(), &ts, neg).detach();
                per_example(model, input, |f| {
                    let out = e(f);
                    let target =
                        out.clone().detach() + (out.clone().detach() - e_neg).mul_scalar(w);
                    (target - out).square().sum_dim(1)
                })
            }
        };
        for i in 0..b {
            let norm = grads.norm_sq(i).sqrt();
            if norm > 0.0 {
                grads.add_to(i, (1.0 / norm) as f32, &mut acc[i * p..(i + 1) * p]);
            }
        }
    }
    acc
}

/// γ_t = −∇_{x_t} ‖x̂_0(x_t, c) − x_0‖² per row (the weights frozen), detached.
fn dps_direction(
    model: &Mlp,
    xt: Tensor<2>,
    x0: Tensor<2>,
    t: &[usize],
    c: Tensor<2>,
    ab: &[f64],
    device: &Device,
) -> Tensor<2> {
    let xt = xt.detach().require_grad();
    let eps = super::ddpm::eps(model, xt.clone(), t, c);
    let x0_hat = (xt.clone() - eps * coef(ab, t, true, device)) / coef(ab, t, false, device);
    let grads = (x0_hat - x0).square().sum().backward();
    xt.grad(&grads).expect("x_t is tracked").neg().detach()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grads::per_example_loop;
    use crate::mlp::Act;
    use crate::project::ProjKind;
    use burn::tensor::TensorData;

    fn setup() -> (Mlp, Vec<f32>, Vec<f32>, Device) {
        let device = Device::flex().autodiff();
        let mut rng = SeededRng::new(4);
        let model = Mlp::init(
            &[DIM + super::super::ddpm::EMB + COND, 8, DIM],
            Act::Silu,
            &mut rng,
            &device,
        );
        let x0 = rng.normal_vec(3 * DIM);
        let cond = vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        (model, x0, cond, device)
    }

    /// The DPS feature direction equals 2 J_θᵀ γ with γ = −∇_x ‖x̂_0 − x_0‖², built here from
    /// the loop of single-example backward passes: ∇_θ (2 sg(γ)·ε_θ).
    #[test]
    fn dps_surrogate_gradient_is_the_pulled_back_reward_direction() {
        let (model, x0, cond, device) = setup();
        let config = FeatConfig {
            timesteps: vec![300],
            noise_seed: 1,
            batch: 3,
        };
        let acc = summed_grads(&model, &x0, &cond, 0, OutputFn::Dps, &config);
        let p = model.num_params();
        let ab = alpha_bar();
        let eps = noise(1, 1, 1); // example 1, slot 0
        let (a, s) = (ab[299].sqrt() as f32, (1.0 - ab[299]).sqrt() as f32);
        let xt: Vec<f32> = x0[DIM..2 * DIM]
            .iter()
            .zip(&eps)
            .map(|(x, e)| a * x + s * e)
            .collect();
        // γ by the same autodiff, one example
        let t1 = |v: &[f32], d: usize| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, d]), &device)
        };
        let gamma = dps_direction(
            &model,
            t1(&xt, DIM),
            t1(&x0[DIM..2 * DIM], DIM),
            &[300],
            t1(&cond[4..8], COND),
            &ab,
            &device,
        );
        let looped = per_example_loop(&model, 1, |m, _| {
            let out = super::super::ddpm::eps(m, t1(&xt, DIM), &[300], t1(&cond[4..8], COND));
            (out * gamma.clone()).sum().mul_scalar(2.0)
        });
        let norm = looped[0]
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let err = acc[p..2 * p]
            .iter()
            .zip(&looped[0])
            .map(|(a, b)| (a - (*b as f64 / norm) as f32).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-4, "max error {err}");
    }

    #[test]
    fn features_barely_depend_on_batching_and_cfg_vanishes_when_c_minus_is_c_plus() {
        let (model, x0, cond, _) = setup();
        let proj = Projector::new(ProjKind::Sjlt { c: 2 }, model.num_params(), 32, 9);
        let feat = |batch, f| {
            let config = FeatConfig {
                timesteps: vec![100, 600],
                noise_seed: 2,
                batch,
            };
            featurize(&model, &x0, &cond, 0, f, &config, &proj).unwrap()
        };
        // Equal up to float reassociation (burn's GEMM sums differently at another batch size;
        // the feature store therefore cuts shards at batch boundaries, see `store`).
        let (a, b) = (feat(3, OutputFn::Dsm), feat(1, OutputFn::Dsm));
        let err = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(err < 1e-5, "batch 3 vs batch 1: {err}");
        // c⁻ = c⁺ for every row would need per-row c⁻; with rows of different conditions, the
        // row whose condition equals c⁻ has Δ = 0, hence a zero feature.
        let cfg = feat(
            3,
            OutputFn::Cfg {
                neg: [1.0, 0.0, 0.0, 1.0],
                w: 7.5,
            },
        );
        assert!(cfg.row(0).iter().all(|v| *v == 0.0));
        assert!(cfg.row(1).iter().any(|v| *v != 0.0));
    }
}
