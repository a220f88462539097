//! Flow matching on the linear (rectified) path (Lipman et al. 2023, <https://arxiv.org/abs/2210.02747>;
//! Liu et al. 2023, <https://arxiv.org/abs/2209.03003>), in the MeanFlow convention: t = 0 is
//! data, t = 1 is noise.
//!
//! ```text
//! x_t = (1 − t) x_0 + t ε,   ε ~ N(0, I),  t ~ U(0, 1)
//! v(x_t, t) = ε − x_0                      (conditional velocity)
//! L = E ‖v_θ(x_t, t) − (ε − x_0)‖²
//! sampling: x_1 = ε, integrate dx/dt = v_θ(x, t) from t = 1 to t = 0
//! ```

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::net::{TimeMlp, time_column};
use crate::ode::{GaussianPath, VectorField};

/// Linear-path flow matching (no hyper-parameters beyond the network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlowMatching;

impl FlowMatching {
    /// x_t = (1 − t) x_0 + t ε.
    ///
    /// # Shapes
    /// - `x0`, `eps`: `[batch, dim]`, `t`: `[batch, 1]` → `[batch, dim]`
    pub fn interpolate(&self, x0: Tensor<2>, eps: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        x0 * t.clone().neg().add_scalar(1.0) + eps * t
    }

    /// The flow-matching loss for clean `x0`, noise `eps` and times `t` (injected randomness):
    /// mean over batch and dimensions of (v_θ(x_t, t) − (ε − x_0))².
    ///
    /// # Shapes
    /// - `x0`, `eps`: `[batch, dim]`, `t`: `[batch, 1]` → `[1]`
    pub fn loss(&self, net: &TimeMlp, x0: Tensor<2>, eps: Tensor<2>, t: Tensor<2>) -> Tensor<1> {
        let target = eps.clone() - x0.clone();
        let x_t = self.interpolate(x0, eps, t.clone());
        (net.forward(x_t, t) - target).square().mean()
    }

    /// A uniform grid of `steps` steps from t = 1 to t = 0.
    pub fn time_grid(&self, steps: usize) -> Vec<f32> {
        let steps = steps.max(1);
        (0..=steps).map(|i| 1.0 - i as f32 / steps as f32).collect()
    }

    /// The starting state at t = 1 for standard-normal `z`.
    pub fn prior(&self, z: Tensor<2>) -> Tensor<2> {
        z
    }
}

/// The learned velocity field v_θ(x, t).
pub struct VelocityField<'a> {
    /// The network v_θ.
    pub net: &'a TimeMlp,
}

impl VectorField for VelocityField<'_> {
    fn velocity(&self, x: Tensor<2>, t: f32) -> Tensor<2> {
        let [b, _] = x.dims();
        let tc = time_column(t, b, &x.device());
        self.net.forward(x, tc)
    }
    fn path(&self) -> Option<GaussianPath> {
        Some(GaussianPath::Linear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{tiny_net, zero_net};
    use burn::tensor::{Device, TensorData};
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};

    fn t2(v: &[f32], rows: usize, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [rows, v.len() / rows]), device)
    }

    #[test]
    fn loss_value_with_zero_network() {
        // v_θ ≡ 0 ⇒ loss = mean (ε − x0)².
        let device = Device::flex();
        let (x0, eps) = ([1.0f32, -2.0, 0.5, 0.0], [0.5f32, 0.25, -1.0, 2.0]);
        let expected: f32 = x0
            .iter()
            .zip(&eps)
            .map(|(a, e)| (e - a).powi(2))
            .sum::<f32>()
            / 4.0;
        let got = FlowMatching
            .loss(
                &zero_net(2, &device),
                t2(&x0, 2, &device),
                t2(&eps, 2, &device),
                t2(&[0.3, 0.9], 2, &device),
            )
            .into_scalar::<f32>();
        assert!((got - expected).abs() < 1e-6);
    }

    #[test]
    fn interpolant_endpoints() {
        let device = Device::flex();
        let x0 = t2(&[1.0, 2.0], 1, &device);
        let eps = t2(&[-3.0, 5.0], 1, &device);
        let at = |t: f32| {
            tensor_vec(FlowMatching.interpolate(x0.clone(), eps.clone(), t2(&[t], 1, &device)))
        };
        assert_eq!(at(0.0), vec![1.0, 2.0]);
        assert_eq!(at(1.0), vec![-3.0, 5.0]);
        assert_eq!(at(0.5), vec![-1.0, 3.5]);
    }

    fn tensor_vec(t: Tensor<2>) -> Vec<f32> {
        genlab_core::tensor::to_vec(t)
    }

    #[test]
    fn loss_gradient_matches_finite_differences() {
        let device = Device::flex();
        let net = tiny_net(2, &device.clone().autodiff());
        let x0 = [0.3f32, -0.7, 1.1, 0.2, -0.4, 0.9];
        let eps = [0.1f32, 0.5, -0.3, 0.8, -1.2, 0.4];
        let t = [0.1f32, 0.5, 0.95];
        let analytic = autodiff_grad(
            |x| {
                let d = x.device();
                FlowMatching.loss(&net, x, t2(&eps, 3, &d), t2(&t, 3, &d))
            },
            &x0,
            [3, 2],
            &device,
        );
        let plain = burn::module::Module::valid(&net);
        let numerical = numerical_grad(
            |v| {
                FlowMatching
                    .loss(
                        &plain,
                        t2(v, 3, &device),
                        t2(&eps, 3, &device),
                        t2(&t, 3, &device),
                    )
                    .into_scalar::<f32>() as f64
            },
            &x0,
            1e-2,
        );
        let err = max_relative_error(&analytic, &numerical);
        assert!(err < 2e-3, "max relative error {err}");
    }
}
