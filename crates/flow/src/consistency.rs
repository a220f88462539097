//! Consistency models (Song, Dhariwal, Chen, Sutskever 2023, <https://arxiv.org/abs/2303.01469>)
//! in EDM's σ-time, with the parameterisation that enforces the boundary condition f(x, ε) = x:
//!
//! ```text
//! f_θ(x, t) = c_skip(t) x + c_out(t) F_θ(c_in(t) x, c_noise(t))
//! c_skip = σ_d² / ((t − ε)² + σ_d²)      c_out = σ_d (t − ε) / √(σ_d² + t²)
//! c_in, c_noise as in EDM                 ε = σ_min = 0.002
//! ```
//!
//! F has the same architecture as the EDM teacher's network, so a student starts from the
//! teacher's weights (ECT's "teacher init"), where f(x, t) ≈ D(x, t).

use burn::tensor::Tensor;

use crate::edm::Edm;
use crate::net::{TimeMlp, time_column};

/// Something that maps a state at time t to time s along the probability-flow ODE.
pub trait FlowMap {
    /// Ψ_{t→s}(x).
    fn jump(&self, x: Tensor<2>, t: f32, s: f32) -> Tensor<2>;
}

/// A consistency function f(x, t) = Ψ_{t→ε}(x) built on a [`TimeMlp`].
#[derive(Debug, Clone)]
pub struct Consistency {
    /// Noise-level hyper-parameters (σ_d, ε = σ_min, T = σ_max, c_in, c_noise).
    pub edm: Edm,
}

impl Consistency {
    /// c_skip(t) = σ_d² / ((t − ε)² + σ_d²).
    pub fn c_skip(&self, t: Tensor<2>) -> Tensor<2> {
        let sd2 = self.edm.sigma_data * self.edm.sigma_data;
        t.sub_scalar(self.edm.sigma_min)
            .square()
            .add_scalar(sd2)
            .recip()
            .mul_scalar(sd2)
    }

    /// c_out(t) = σ_d (t − ε) / √(σ_d² + t²).
    pub fn c_out(&self, t: Tensor<2>) -> Tensor<2> {
        let sd = self.edm.sigma_data;
        t.clone().sub_scalar(self.edm.sigma_min).mul_scalar(sd)
            / t.square().add_scalar(sd * sd).sqrt()
    }

    /// f_θ(x, t).
    ///
    /// # Shapes
    /// - `x`: `[batch, dim]`, `t`: `[batch, 1]` → `[batch, dim]`
    pub fn f(&self, net: &TimeMlp, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        let inner = net.forward(
            x.clone() * self.edm.c_in(t.clone()),
            self.edm.c_noise(t.clone()),
        );
        x * self.c_skip(t.clone()) + inner * self.c_out(t)
    }
}

/// A consistency student as a flow map (only jumps to ε are defined).
pub struct ConsistencyMap<'a> {
    /// The parameterisation.
    pub cm: &'a Consistency,
    /// The trained network.
    pub net: &'a TimeMlp,
}

impl FlowMap for ConsistencyMap<'_> {
    fn jump(&self, x: Tensor<2>, t: f32, _s: f32) -> Tensor<2> {
        let [b, _] = x.dims();
        let tc = time_column(t, b, &x.device());
        self.cm.f(self.net, x, tc)
    }
}

/// One-step sampling: x = Ψ_{T→ε}(T z).
pub fn one_step(map: &impl FlowMap, edm: &Edm, z: Tensor<2>) -> Tensor<2> {
    map.jump(z.mul_scalar(edm.sigma_max), edm.sigma_max, edm.sigma_min)
}

/// Two-step sampling (sony/cmt `generator_fn`): x = Ψ_{T→ε}(T z); x ← x + t_mid z′;
/// x ← Ψ_{t_mid→ε}(x). `t_mid` is the intermediate noise level.
pub fn two_step(
    map: &impl FlowMap,
    edm: &Edm,
    z: Tensor<2>,
    z2: Tensor<2>,
    t_mid: f32,
) -> Tensor<2> {
    let x = one_step(map, edm, z);
    map.jump(x + z2.mul_scalar(t_mid), t_mid, edm.sigma_min)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::tiny_net;
    use burn::tensor::{Device, TensorData};
    use genlab_core::train::SeededRng;

    #[test]
    fn boundary_condition_holds_for_any_network() {
        let device = Device::flex();
        let cm = Consistency {
            edm: Edm::default(),
        };
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![0.3f32, -1.2, 2.0, 0.1], [2, 2]),
            &device,
        );
        let t = time_column(cm.edm.sigma_min, 2, &device);
        let y = cm.f(&tiny_net(2, &device), x.clone(), t);
        let diff = (y - x).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-6, "f(x, ε) − x = {diff}");
    }

    /// For data N(0, σ_d² I) the exact flow map is Ψ_{t→s}(x) = x √(s² + σ_d²)/√(t² + σ_d²);
    /// one-step sampling with it must reproduce the data distribution, and so must two steps.
    #[test]
    fn perfect_flow_map_samples_the_target_exactly() {
        struct Exact(f32);
        impl FlowMap for Exact {
            fn jump(&self, x: Tensor<2>, t: f32, s: f32) -> Tensor<2> {
                x.mul_scalar(((s * s + self.0 * self.0) / (t * t + self.0 * self.0)).sqrt())
            }
        }
        let device = Device::flex();
        let edm = Edm::default();
        let mut rng = SeededRng::new(4);
        let std = |t: Tensor<2>| {
            let v = genlab_core::tensor::to_vec(t);
            (v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
        };
        let expected = ((edm.sigma_min.powi(2) + 0.25) as f64).sqrt();
        let x1 = one_step(&Exact(0.5), &edm, rng.normal([50_000, 2], &device));
        assert!((std(x1) - expected).abs() < 0.005);
        let x2 = two_step(
            &Exact(0.5),
            &edm,
            rng.normal([50_000, 2], &device),
            rng.normal([50_000, 2], &device),
            0.8,
        );
        // Re-noised, x + t_mid z′ ~ N(0, σ_d² + ε² + t_mid²): the ODE marginal at t_mid up to
        // ε², so the second jump is exact as well.
        assert!((std(x2) - expected).abs() < 0.005);
    }
}
