//! Finite-difference gradient checks, used by every family's loss tests.
//!
//! ```text
//! ∂f/∂x_i ≈ (f(x + h e_i) − f(x − h e_i)) / 2h      (error O(h²))
//! ```

use burn::tensor::{Device, Tensor, TensorData};

use crate::tensor::to_vec;

/// Central-difference gradient of `f` at `x` (evaluated in f64 around f32 inputs).
pub fn numerical_grad(f: impl Fn(&[f32]) -> f64, x: &[f32], h: f32) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            xp[i] = x[i] + h;
            let up = f(&xp);
            xp[i] = x[i] - h;
            let down = f(&xp);
            xp[i] = x[i];
            (up - down) / (2.0 * (h as f64))
        })
        .collect()
}

/// Autodiff gradient of the scalar `loss(x)` with respect to the `[rows, cols]` input `x`.
pub fn autodiff_grad(
    loss: impl Fn(Tensor<2>) -> Tensor<1>,
    x: &[f32],
    shape: [usize; 2],
    device: &Device,
) -> Vec<f32> {
    let device = device.clone().autodiff();
    let xt = Tensor::<2>::from_data(TensorData::new(x.to_vec(), shape), &device).require_grad();
    let grads = loss(xt.clone()).backward();
    to_vec(xt.grad(&grads).expect("input requires grad"))
}

/// Largest `|a − n| / max(1, |n|)` over the entries: the error measure the checks bound.
pub fn max_relative_error(analytic: &[f32], numerical: &[f64]) -> f64 {
    analytic
        .iter()
        .zip(numerical)
        .map(|(&a, &n)| (a as f64 - n).abs() / n.abs().max(1.0))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quadratic_gradient_matches() {
        let device = Device::flex();
        let x = [0.5f32, -1.0, 2.0, 0.25];
        // f(x) = Σ x² · 3  →  ∇f = 6x
        let analytic = autodiff_grad(|t| t.square().sum().mul_scalar(3.0), &x, [2, 2], &device);
        let numerical = numerical_grad(
            |v| v.iter().map(|a| 3.0 * (*a as f64).powi(2)).sum(),
            &x,
            1e-2,
        );
        assert!(max_relative_error(&analytic, &numerical) < 1e-4);
        assert!((analytic[2] - 12.0).abs() < 1e-5);
    }
}
