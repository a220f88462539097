//! EDM diffusion (Karras, Aittala, Aila, Laine 2022, "Elucidating the Design Space of
//! Diffusion-Based Generative Models", <https://arxiv.org/abs/2206.00364>), VE form.
//!
//! ```text
//! x_σ = x_0 + σ ε,  ε ~ N(0, I)
//! D(x, σ) = c_skip(σ) x + c_out(σ) F(c_in(σ) x, c_noise(σ))
//! c_skip = σ_d² / (σ² + σ_d²)     c_out = σ σ_d / √(σ² + σ_d²)
//! c_in   = 1 / √(σ² + σ_d²)       c_noise = ¼ ln σ
//! L = E_{σ, x_0, ε} λ(σ) ‖D(x_0 + σ ε, σ) − x_0‖²,   λ(σ) = (σ² + σ_d²) / (σ σ_d)²
//! ln σ ~ N(P_mean, P_std²)
//! probability-flow ODE:  dx/dσ = (x − D(x, σ)) / σ,   from σ_max down to 0
//! ```
//!
//! Sampling uses a geometric σ grid (uniform in logSNR = −2 ln σ) from σ_max to σ_min, then a
//! final step to σ = 0, so N steps visit N + 1 noise levels.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::net::{TimeMlp, time_column};
use crate::ode::{GaussianPath, VectorField};

/// EDM hyper-parameters (the paper's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edm {
    /// Standard deviation of the (normalised) data, σ_d.
    pub sigma_data: f32,
    /// Mean of ln σ during training.
    pub p_mean: f32,
    /// Standard deviation of ln σ during training.
    pub p_std: f32,
    /// Smallest noise level of the sampling grid.
    pub sigma_min: f32,
    /// Largest noise level (where sampling starts).
    pub sigma_max: f32,
}

impl Default for Edm {
    fn default() -> Self {
        Edm {
            sigma_data: 0.5,
            p_mean: -1.2,
            p_std: 1.2,
            sigma_min: 0.002,
            sigma_max: 80.0,
        }
    }
}

impl Edm {
    /// c_skip(σ) = σ_d² / (σ² + σ_d²).
    pub fn c_skip(&self, sigma: Tensor<2>) -> Tensor<2> {
        let sd2 = self.sigma_data * self.sigma_data;
        sigma.square().add_scalar(sd2).recip().mul_scalar(sd2)
    }

    /// c_out(σ) = σ σ_d / √(σ² + σ_d²).
    pub fn c_out(&self, sigma: Tensor<2>) -> Tensor<2> {
        let sd2 = self.sigma_data * self.sigma_data;
        sigma.clone().mul_scalar(self.sigma_data) / sigma.square().add_scalar(sd2).sqrt()
    }

    /// c_in(σ) = 1 / √(σ² + σ_d²).
    pub fn c_in(&self, sigma: Tensor<2>) -> Tensor<2> {
        sigma
            .square()
            .add_scalar(self.sigma_data * self.sigma_data)
            .sqrt()
            .recip()
    }

    /// c_noise(σ) = ¼ ln σ.
    pub fn c_noise(&self, sigma: Tensor<2>) -> Tensor<2> {
        sigma.log().mul_scalar(0.25)
    }

    /// λ(σ) = (σ² + σ_d²) / (σ σ_d)².
    pub fn lambda(&self, sigma: Tensor<2>) -> Tensor<2> {
        let sd2 = self.sigma_data * self.sigma_data;
        sigma.clone().square().add_scalar(sd2) / sigma.square().mul_scalar(sd2)
    }

    /// The denoiser D(x, σ).
    ///
    /// # Shapes
    /// - `x`: `[batch, dim]`, `sigma`: `[batch, 1]` → `[batch, dim]`
    pub fn denoise(&self, net: &TimeMlp, x: Tensor<2>, sigma: Tensor<2>) -> Tensor<2> {
        let f = net.forward(
            x.clone() * self.c_in(sigma.clone()),
            self.c_noise(sigma.clone()),
        );
        x * self.c_skip(sigma.clone()) + f * self.c_out(sigma)
    }

    /// Training noise levels from standard normals `z`: σ = exp(P_mean + P_std z).
    pub fn sigma_from_normal(&self, z: Tensor<2>) -> Tensor<2> {
        z.mul_scalar(self.p_std).add_scalar(self.p_mean).exp()
    }

    /// The EDM loss for clean `x0`, noise `eps` and levels `sigma` (randomness injected so tests
    /// can fix it): mean over the batch of λ(σ) ‖D(x0 + σ ε, σ) − x0‖² / dim.
    ///
    /// # Shapes
    /// - `x0`, `eps`: `[batch, dim]`, `sigma`: `[batch, 1]` → `[1]`
    pub fn loss(
        &self,
        net: &TimeMlp,
        x0: Tensor<2>,
        eps: Tensor<2>,
        sigma: Tensor<2>,
    ) -> Tensor<1> {
        let x_noisy = x0.clone() + eps * sigma.clone();
        let err = (self.denoise(net, x_noisy, sigma.clone()) - x0).square(); // [batch, dim]
        (err * self.lambda(sigma)).mean()
    }

    /// The sampling grid for `steps` steps: geometric from σ_max to σ_min, then 0.
    pub fn time_grid(&self, steps: usize) -> Vec<f32> {
        let steps = steps.max(1);
        let (lo, hi) = (self.sigma_min.ln(), self.sigma_max.ln());
        let mut grid: Vec<f32> = (0..steps)
            .map(|i| {
                let frac = if steps == 1 {
                    0.0
                } else {
                    i as f32 / (steps - 1) as f32
                };
                (hi + frac * (lo - hi)).exp()
            })
            .collect();
        grid.push(0.0);
        grid
    }

    /// The starting state at σ_max for standard-normal `z`.
    pub fn prior(&self, z: Tensor<2>) -> Tensor<2> {
        z.mul_scalar(self.sigma_max)
    }
}

/// The EDM probability-flow ODE of a trained denoiser, in σ as time.
pub struct EdmField<'a> {
    /// Hyper-parameters.
    pub edm: &'a Edm,
    /// The network F.
    pub net: &'a TimeMlp,
}

impl VectorField for EdmField<'_> {
    fn velocity(&self, x: Tensor<2>, sigma: f32) -> Tensor<2> {
        let [b, _] = x.dims();
        let s = time_column(sigma, b, &x.device());
        (x.clone() - self.edm.denoise(self.net, x, s)).div_scalar(sigma)
    }
    fn singular_at_zero(&self) -> bool {
        true
    }
    fn path(&self) -> Option<GaussianPath> {
        Some(GaussianPath::VarianceExploding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{tiny_net, zero_net};
    use burn::tensor::{Device, TensorData};
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};

    fn col(v: &[f32], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1]), device)
    }

    #[test]
    fn preconditioning_matches_formulas() {
        let device = Device::flex();
        let edm = Edm::default();
        let s = col(&[0.5], &device);
        // σ = σ_d = 0.5: c_skip = 1/2, c_out = 0.25/√0.5, c_in = 1/√0.5, λ = 0.5/0.0625 = 8
        let at = |t: Tensor<2>| t.into_scalar::<f32>();
        assert!((at(edm.c_skip(s.clone())) - 0.5).abs() < 1e-6);
        assert!((at(edm.c_out(s.clone())) - 0.25 / 0.5f32.sqrt()).abs() < 1e-6);
        assert!((at(edm.c_in(s.clone())) - 1.0 / 0.5f32.sqrt()).abs() < 1e-6);
        assert!((at(edm.lambda(s.clone())) - 8.0).abs() < 1e-5);
        assert!((at(edm.c_noise(s)) - 0.25 * 0.5f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn loss_value_with_zero_network() {
        // F ≡ 0 ⇒ D = c_skip (x0 + σε); loss = mean λ (c_skip(x0 + σε) − x0)².
        let device = Device::flex();
        let edm = Edm::default();
        let net = zero_net(2, &device);
        let (x0, eps, sig) = ([1.0f32, -2.0], [0.5f32, 0.25], 2.0f32);
        let sd2 = 0.25f64;
        let s2 = (sig as f64).powi(2);
        let c_skip = sd2 / (s2 + sd2);
        let lambda = (s2 + sd2) / (s2 * sd2);
        let expected: f64 = (0..2)
            .map(|i| {
                lambda
                    * (c_skip * (x0[i] as f64 + sig as f64 * eps[i] as f64) - x0[i] as f64).powi(2)
            })
            .sum::<f64>()
            / 2.0;
        let t = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, 2]), &device);
        let got = edm
            .loss(&net, t(&x0), t(&eps), col(&[sig], &device))
            .into_scalar::<f32>();
        assert!(
            (got as f64 - expected).abs() < 1e-5 * expected.max(1.0),
            "{got} vs {expected}"
        );
    }

    #[test]
    fn loss_gradient_matches_finite_differences() {
        let device = Device::flex();
        let edm = Edm::default();
        let net = tiny_net(2, &device.clone().autodiff());
        let x0 = [0.3f32, -0.7, 1.1, 0.2, -0.4, 0.9];
        let eps = [0.1f32, 0.5, -0.3, 0.8, -1.2, 0.4];
        let sig = [0.3f32, 1.5, 4.0];
        let loss = |x: Tensor<2>| {
            let d = x.device();
            let e = Tensor::<2>::from_data(TensorData::new(eps.to_vec(), [3, 2]), &d);
            edm.loss(&net, x, e, col(&sig, &d))
        };
        let analytic = autodiff_grad(loss, &x0, [3, 2], &device);
        let plain = burn::module::Module::valid(&net);
        let numerical = numerical_grad(
            |v| {
                let x = Tensor::<2>::from_data(TensorData::new(v.to_vec(), [3, 2]), &device);
                let e = Tensor::<2>::from_data(TensorData::new(eps.to_vec(), [3, 2]), &device);
                edm.loss(&plain, x, e, col(&sig, &device))
                    .into_scalar::<f32>() as f64
            },
            &x0,
            1e-2,
        );
        let err = max_relative_error(&analytic, &numerical);
        assert!(
            err < 2e-3,
            "max relative error {err}: {analytic:?} vs {numerical:?}"
        );
    }

    #[test]
    fn grid_is_geometric_and_ends_at_zero() {
        let g = Edm::default().time_grid(5);
        assert_eq!(g.len(), 6);
        assert!((g[0] - 80.0).abs() < 1e-3 && (g[4] - 0.002).abs() < 1e-6 && g[5] == 0.0);
        let r1 = g[1] / g[0];
        let r2 = g[3] / g[2];
        assert!((r1 - r2).abs() < 1e-4);
    }
}
