//! Exact influence functions for multinomial logistic regression (Koh & Liang 2017), the
//! reference TRAK is compared with in E1. θ = (W, b) in the [`crate::mlp::Mlp`] order, index
//! (r, c) ↦ r·C + c with x̃ = (x, 1) and r = d standing for the bias.
//!
//! ```text
//! L(θ) = (1/N) Σ_i ℓ_i(θ) + (ρ/2) ‖θ‖²
//! ∇ℓ_i = x̃_i ⊗ (p_i − e_{y_i})
//! H    = (1/N) Σ_i (x̃_i x̃_iᵀ) ⊗ (diag p_i − p_i p_iᵀ) + ρ I
//! θ*(S) − θ*(S∖{i}) ≈ −(1/N) H⁻¹ ∇ℓ_i   ⇒   τ(z)_i = −(1/N) ∇f(z)ᵀ H⁻¹ ∇ℓ_i
//! ```
//!
//! τ(z)_i is the predicted change of f(z) from adding example i to the training set; its sign
//! matches TRAK's (a helpful example raises the query's margin).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::tensor::to_vec;

use crate::attributors::Scores;
use crate::classify::{Labelled, dense, example_grads};
use crate::error::Result;
use crate::linalg::{matmul, solve_damped, transpose};
use crate::mlp::Mlp;

/// The Hessian H of the module doc at `model` (a one-layer [`Mlp`]), `p × p`.
pub fn hessian(model: &Mlp, train: &Labelled, l2: f64) -> Vec<f64> {
    let (d, c, n) = (train.d, train.classes, train.len());
    let p = (d + 1) * c;
    let logits = model.valid().forward(Tensor::<2>::from_data(
        TensorData::new(train.x.clone(), [n, d]),
        &Device::flex(),
    ));
    let logits = to_vec(logits);
    let mut h = vec![0.0f64; p * p];
    let mut xt = vec![1.0f64; d + 1];
    for i in 0..n {
        let z = &logits[i * c..(i + 1) * c];
        let m = z.iter().cloned().fold(f32::MIN, f32::max) as f64;
        let e: Vec<f64> = z.iter().map(|v| (*v as f64 - m).exp()).collect();
        let s: f64 = e.iter().sum();
        let prob: Vec<f64> = e.iter().map(|v| v / s).collect();
        for (v, x) in xt.iter_mut().zip(&train.x[i * d..(i + 1) * d]) {
            *v = *x as f64;
        }
        for r in 0..=d {
            for s_ in 0..=d {
                let xx = xt[r] * xt[s_] / n as f64;
                for a in 0..c {
                    let row = (r * c + a) * p + s_ * c;
                    for b in 0..c {
                        let cov = if a == b { prob[a] } else { 0.0 } - prob[a] * prob[b];
                        h[row + b] += xx * cov;
                    }
                }
            }
        }
    }
    for j in 0..p {
        h[j * p + j] += l2;
    }
    h
}

/// τ(z)_i of the module doc for every query in `queries`, `n_query × N`.
pub fn exact_if(model: &Mlp, train: &Labelled, queries: &Labelled, l2: f64) -> Result<Scores> {
    let n = train.len();
    let h = hessian(model, train, l2);
    let grad_loss = dense(&example_grads(model, train, true)); // N × p
    let grad_f = dense(&example_grads(model, queries, false)); // nq × p
    let p = grad_loss.k;
    let gf: Vec<f64> = grad_f.data.iter().map(|v| *v as f64).collect();
    // X = H⁻¹ ∇f(z)ᵀ  (p × nq); τ = −(1/N) X ᵀ ∇ℓᵀ
    let x = solve_damped(
        &h,
        p,
        0.0,
        &transpose(&gf, grad_f.n, p),
        grad_f.n,
        "the Hessian",
    )?;
    let gl: Vec<f64> = grad_loss.data.iter().map(|v| *v as f64).collect();
    let tau = matmul(
        &transpose(&x, p, grad_f.n),
        &transpose(&gl, n, p),
        grad_f.n,
        p,
        n,
    );
    Ok(tau.into_iter().map(|v| -v / n as f64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{FitConfig, Mixture, fit, margins};
    use genlab_core::metrics::correlation::pearson;
    use genlab_core::train::SeededRng;

    /// Leave-one-out retraining on a tiny problem: the influence predicts the measured change
    /// of each query margin (correlation > 0.95, scale within 30%).
    #[test]
    fn exact_influence_matches_leave_one_out_retraining() {
        let device = Device::flex().autodiff();
        let mix = Mixture {
            d: 3,
            classes: 3,
            spread: 1.5,
            label_noise: 0.1,
        };
        let (train, test) = mix.sample(30, 2, &mut SeededRng::new(4));
        let config = FitConfig {
            hidden: 0,
            steps: 1500,
            lr: 0.05,
            l2: 0.02,
        };
        let full = fit(&train, &config, 1, &device).unwrap();
        let tau = exact_if(&full, &train, &test, config.l2).unwrap();
        let base = margins(&full, &test);
        let (mut predicted, mut measured) = (Vec::new(), Vec::new());
        for i in 0..train.len() {
            let keep: Vec<usize> = (0..train.len()).filter(|&j| j != i).collect();
            let loo = margins(
                &fit(&train.select(&keep), &config, 1, &device).unwrap(),
                &test,
            );
            for q in 0..test.len() {
                predicted.push(tau[q * train.len() + i]);
                measured.push(base[q] - loo[q]);
            }
        }
        let r = pearson(&predicted, &measured);
        let scale = predicted.iter().map(|v| v.abs()).sum::<f64>()
            / measured.iter().map(|v| v.abs()).sum::<f64>();
        assert!(
            r > 0.95 && (scale - 1.0).abs() < 0.3,
            "correlation {r}, scale {scale}"
        );
    }

    #[test]
    fn hessian_is_symmetric_and_damped() {
        let device = Device::flex().autodiff();
        let mix = Mixture {
            d: 2,
            classes: 3,
            spread: 1.0,
            label_noise: 0.0,
        };
        let (train, _) = mix.sample(10, 1, &mut SeededRng::new(1));
        let model = Mlp::init(
            &[2, 3],
            crate::mlp::Act::Relu,
            &mut SeededRng::new(2),
            &device,
        );
        let h = hessian(&model, &train, 0.5);
        let p = 9;
        for a in 0..p {
            assert!(h[a * p + a] >= 0.5);
            for b in 0..p {
                assert!((h[a * p + b] - h[b * p + a]).abs() < 1e-12);
            }
        }
    }
}
