//! SONA's adaptive weights: every maximisation objective written in Goodfellow's logistic form
//! log σ(t) becomes log σ(s·t)/s with a learnable s > 0 per objective, and the weights live on
//! the unit sphere so that they compete instead of all growing:
//!
//! ```text
//! s = |u| / ‖u‖            (s_SAN, s_BT-C, s_BT-M),  Σ s_k² = 1
//! ℓ_s(t) = log σ(s t) / s
//! ```
//!
//! ℓ_s(t) increases with s for every t (s² ∂ℓ/∂s = a σ(−a) + softplus(−a) > 0 with a = s t),
//! so the discriminator, which maximises over s, is held back only by the sphere: it moves weight
//! towards the objectives it can gain most on.

use burn::tensor::{Tensor, activation};

/// s = |u| / ‖u‖, for the first `k` entries of `u`.
pub fn sphere(u: Tensor<1>, k: usize) -> Tensor<1> {
    let u = u.narrow(0, 0, k);
    let norm = u.clone().square().sum().sqrt();
    u.abs() / norm
}

/// ℓ_s(t) = log σ(s t)/s elementwise, for scores `t` `[n, 1]` and one weight `s` `[1]`.
pub fn weighted_log_sigmoid(t: Tensor<2>, s: Tensor<1>) -> Tensor<2> {
    let s = s.reshape([1, 1]);
    activation::log_sigmoid(t * s.clone()) / s
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};
    use genlab_core::{device, tensor::to_vec};

    fn log_sigmoid(x: f64) -> f64 {
        -(1.0 + (-x).exp()).ln()
    }

    #[test]
    fn sphere_weights_have_unit_norm() {
        let device = device::device();
        let u = Tensor::<1>::from_data(TensorData::new(vec![3.0f32, -4.0, 12.0], [3]), &device);
        let s = to_vec(sphere(u.clone(), 3));
        assert_eq!(s, vec![3.0 / 13.0, 4.0 / 13.0, 12.0 / 13.0]);
        assert_eq!(to_vec(sphere(u, 2)), vec![0.6, 0.8]);
    }

    /// The value against the formula, and ∂/∂t and ∂/∂s against finite differences.
    #[test]
    fn weighted_logistic_value_and_gradients() {
        let device = device::device();
        let ts = [-3.0f32, -0.2, 0.5, 4.0];
        let col = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [4, 1]), &device);
        let got = to_vec(weighted_log_sigmoid(
            col(&ts),
            Tensor::from_data([0.4f32], &device),
        ));
        for (g, t) in got.iter().zip(ts) {
            let e = log_sigmoid(0.4 * t as f64) / 0.4;
            assert!((*g as f64 - e).abs() < 1e-5, "{g} vs {e}");
        }
        // Gradient in (t, s) jointly: x = [t_1..t_4, s] as a [1, 5] input.
        let f = |x: Tensor<2>| {
            let t = x.clone().narrow(1, 0, 4).reshape([4, 1]);
            let s = x.narrow(1, 4, 1).reshape([1]);
            weighted_log_sigmoid(t, s).sum()
        };
        let x = [-3.0f32, -0.2, 0.5, 4.0, 0.4];
        let analytic = autodiff_grad(f, &x, [1, 5], &device);
        let numeric = numerical_grad(
            |v| {
                (0..4)
                    .map(|i| log_sigmoid(v[4] as f64 * v[i] as f64) / v[4] as f64)
                    .sum()
            },
            &x,
            1e-3,
        );
        assert!(
            max_relative_error(&analytic, &numeric) < 1e-3,
            "{analytic:?} {numeric:?}"
        );
        // ∂/∂s > 0: the objective grows with s.
        assert!(analytic[4] > 0.0);
    }
}
