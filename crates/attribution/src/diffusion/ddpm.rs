//! A class-conditional DDPM ε-network (Ho et al. 2020) with label dropout for
//! classifier-free guidance (Ho & Salimans 2022): the model E2 attributes.
//!
//! ```text
//! β_t linear in [β_1, β_T] (T = 1000),  ᾱ_t = Π_{s≤t} (1 − β_s)
//! x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε
//! ε_θ(x_t, t, c) = (y − D(y, σ, c)) / σ,   y = x_t/√ᾱ_t,  σ = √((1 − ᾱ_t)/ᾱ_t)   (VE view)
//! D = c_skip y + c_out F_θ([c_in y, emb(t/T), c])   (EDM preconditioning, σ_d = 0.5)
//!   ⇒ ε_θ = A_t x_t + B_t F_θ,  A_t = σ / ((σ² + σ_d²) √ᾱ_t),  B_t = −σ_d / √(σ² + σ_d²)
//! c ← 0 with probability p_drop (training);   L_simple = E ‖ε − ε_θ(x_t, t, c)‖² / D
//! x̂_0(x_t, c) = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t                       (Tweedie)
//! CFG:   ε̃ = ε_θ(x_t, t, ∅) + w (ε_θ(x_t, t, c) − ε_θ(x_t, t, ∅))
//! DDIM (η = 0): x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'}) ε̃
//! ```
//!
//! The preconditioning is ours, by measurement: a plain MLP ε-network with 128 hidden units
//! has a rank-128 bottleneck and cannot pass the 768-dimensional noise through (its loss
//! stalled at 0.85 ≈ 1 − 128/768); with the skip term the network learns only the
//! low-dimensional image part. Every output function is taken of ε_θ as defined here.

use burn::optim::AdamConfig;
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::tensor::to_vec;
use genlab_core::train::{Learner, Observer, SeededRng, TrainOptions, Trainer};
use serde::{Deserialize, Serialize};

use super::shapes::{COND, DIM, ShapeSet};
use crate::error::Result;
use crate::mlp::{Act, Mlp};

/// Diffusion steps T.
pub const T: usize = 1000;
/// Fourier frequencies of the time embedding.
const FREQS: usize = 8;
/// Width of emb(τ): τ plus a sine and cosine per frequency.
pub const EMB: usize = 1 + 2 * FREQS;

/// How the denoiser is built and trained.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DdpmConfig {
    /// Hidden width (two hidden layers).
    pub width: usize,
    /// Adam steps.
    pub steps: u64,
    /// Batch size.
    pub batch: usize,
    /// Peak learning rate (warm-up + cosine).
    pub lr: f64,
    /// Label-dropout probability.
    pub p_drop: f64,
}

/// ᾱ_t for t = 1 … T (index t − 1).
pub fn alpha_bar() -> Vec<f64> {
    let (b1, bt) = (1e-4, 0.02);
    let mut acc = 1.0;
    (0..T)
        .map(|i| {
            let beta = b1 + (bt - b1) * i as f64 / (T - 1) as f64;
            acc *= 1.0 - beta;
            acc
        })
        .collect()
}

/// σ_d of the preconditioning.
const SIGMA_D: f64 = 0.5;

/// Per-row columns (c_in/√ᾱ, A, B) of the module doc.
fn precond(t: &[usize], device: &Device) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    let ab = alpha_bar();
    let mut cols = [Vec::new(), Vec::new(), Vec::new()];
    for &s in t {
        let a = ab[s - 1];
        let sigma = ((1.0 - a) / a).sqrt();
        let r = (sigma * sigma + SIGMA_D * SIGMA_D).sqrt();
        cols[0].push((1.0 / (r * a.sqrt())) as f32);
        cols[1].push((sigma / (r * r * a.sqrt())) as f32);
        cols[2].push((-SIGMA_D / r) as f32);
    }
    let [c, a, b] = cols.map(|v| Tensor::<2>::from_data(TensorData::new(v, [t.len(), 1]), device));
    (c, a, b)
}

/// ε_θ from the network output F: A_t x_t + B_t F.
pub fn eps_from_net(f: Tensor<2>, xt: Tensor<2>, t: &[usize]) -> Tensor<2> {
    let (_, a, b) = precond(t, &xt.device());
    xt * a + f * b
}

/// ε_θ(x_t, t, c).
pub fn eps(model: &Mlp, xt: Tensor<2>, t: &[usize], cond: Tensor<2>) -> Tensor<2> {
    eps_from_net(model.forward(net_input(xt.clone(), t, cond)), xt, t)
}

/// The network input `[c_in x_t/√ᾱ, emb(t/T), c]` for `n` rows.
///
/// # Shapes
/// - `x`: `[n, DIM]`, `t`: n steps in 1..=T, `cond`: `[n, COND]` → `[n, DIM + EMB + COND]`
pub fn net_input(x: Tensor<2>, t: &[usize], cond: Tensor<2>) -> Tensor<2> {
    let device = x.device();
    let x = x * precond(t, &device).0;
    let mut emb = Vec::with_capacity(t.len() * EMB);
    for &s in t {
        let tau = s as f32 / T as f32;
        emb.push(tau);
        for j in 0..FREQS {
            let w = std::f32::consts::PI * 2f32.powi(j as i32) * tau;
            emb.push(w.sin());
            emb.push(w.cos());
        }
    }
    let emb = Tensor::<2>::from_data(TensorData::new(emb, [t.len(), EMB]), &device);
    Tensor::cat(vec![x, emb, cond], 1)
}

/// `[n, 1]` column of √ᾱ_t or √(1 − ᾱ_t).
pub fn coef(ab: &[f64], t: &[usize], one_minus: bool, device: &Device) -> Tensor<2> {
    let v: Vec<f32> = t
        .iter()
        .map(|&s| {
            let a = ab[s - 1];
            (if one_minus { 1.0 - a } else { a }).sqrt() as f32
        })
        .collect();
    Tensor::from_data(TensorData::new(v, [t.len(), 1]), device)
}

/// `[n, d]` tensor from host rows.
pub fn rows(v: Vec<f32>, n: usize, d: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v, [n, d]), device)
}

/// Trains the ε-network on `data` (every condition dropped with probability p_drop).
pub fn train(
    data: &ShapeSet,
    config: &DdpmConfig,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<Mlp> {
    let device = Device::flex().autodiff();
    let mut rng = SeededRng::new(seed);
    let sizes = [DIM + EMB + COND, config.width, config.width, DIM];
    let mlp = Mlp::init(&sizes, Act::Silu, &mut rng, &device);
    let mut learner = Learner::new("model", mlp, AdamConfig::new().init());
    let ab = alpha_bar();
    let conds = data.conds();
    let options = TrainOptions::warmup_cosine(config.steps, config.lr)
        .with_log_every(50)
        .with_phase("train the conditional DDPM");
    Trainer::new(options, observer).fit(
        &mut learner,
        &mut rng,
        |m: &Mlp, rng, _| {
            let b = config.batch;
            let idx = rng.indices(b, data.len());
            let t: Vec<usize> = rng.indices(b, T).into_iter().map(|s| s + 1).collect();
            let drop = rng.uniform_vec(b);
            let mut x0 = Vec::with_capacity(b * DIM);
            let mut c = Vec::with_capacity(b * COND);
            for (j, &i) in idx.iter().enumerate() {
                x0.extend_from_slice(data.image(i));
                let keep = if (drop[j] as f64) < config.p_drop {
                    0.0
                } else {
                    1.0
                };
                c.extend(conds[i * COND..(i + 1) * COND].iter().map(|v| v * keep));
            }
            let noise = rng.normal([b, DIM], &device);
            let x0 = rows(x0, b, DIM, &device);
            let xt =
                x0 * coef(&ab, &t, false, &device) + noise.clone() * coef(&ab, &t, true, &device);
            let pred = eps(m, xt, &t, rows(c, b, COND, &device));
            (pred - noise).square().mean()
        },
        None,
    )?;
    Ok(learner.into_parts().0)
}

/// CFG + DDIM sampling of `n` images with condition `cond` at guidance `w` over `steps`
/// evenly spaced steps, from seeded noise.
pub fn sample(
    model: &Mlp,
    cond: [f32; COND],
    n: usize,
    w: f32,
    steps: usize,
    seed: u64,
) -> Vec<f32> {
    use burn::module::Module;
    let device = Device::flex();
    let m = model.valid();
    let ab = alpha_bar();
    let mut rng = SeededRng::new(seed);
    let mut x = rng.normal([n, DIM], &device);
    let c = rows(
        cond.iter().copied().cycle().take(n * COND).collect(),
        n,
        COND,
        &device,
    );
    let null = Tensor::<2>::zeros([n, COND], &device);
    let grid: Vec<usize> = (0..steps).map(|i| T - i * T / steps).collect();
    for (j, &t) in grid.iter().enumerate() {
        let ts = vec![t; n];
        let e_c = eps(&m, x.clone(), &ts, c.clone());
        let e_u = eps(&m, x.clone(), &ts, null.clone());
        let e = e_u.clone() + (e_c - e_u).mul_scalar(w);
        let (a, b) = (ab[t - 1].sqrt() as f32, (1.0 - ab[t - 1]).sqrt() as f32);
        let x0 = (x - e.clone().mul_scalar(b)).div_scalar(a).clamp(-1.0, 1.0);
        let next = grid.get(j + 1).copied();
        x = match next {
            Some(s) => {
                let (a2, b2) = (ab[s - 1].sqrt() as f32, (1.0 - ab[s - 1]).sqrt() as f32);
                // ε consistent with the clamped x̂_0
                x0.clone().mul_scalar(a2) + e.mul_scalar(b2)
            }
            None => x0,
        };
    }
    to_vec(x)
}
