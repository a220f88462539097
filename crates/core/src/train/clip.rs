//! Global gradient-norm computation and clipping.
//!
//! ```text
//! ‖g‖ = sqrt(Σ_p Σ_i g_{p,i}²)          over every parameter p of the module
//! g ← g · min(1, max_norm / ‖g‖)
//! ```

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// The global L2 norm of `grads` over the parameters of `model`.
pub fn grad_norm<M: Module>(grads: &GradientsParams, model: &M) -> f64 {
    struct SumSquares<'a> {
        grads: &'a GradientsParams,
        total: Option<Tensor<1>>,
    }
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let s = g.square().sum();
                self.total = Some(match self.total.take() {
                    Some(t) => t + s,
                    None => s,
                });
            }
        }
    }
    let mut v = SumSquares { grads, total: None };
    model.visit(&mut v);
    v.total
        .map(|t| (t.into_scalar::<f32>() as f64).sqrt())
        .unwrap_or(0.0)
}

/// Rescales `grads` so their global norm is at most `max_norm`; returns them and the norm
/// measured before clipping.
pub fn clip_grad_norm<M: Module>(
    mut grads: GradientsParams,
    model: &M,
    max_norm: f64,
) -> (GradientsParams, f64) {
    let norm = grad_norm(&grads, model);
    if norm > max_norm && norm.is_finite() {
        struct Scale<'a> {
            grads: &'a mut GradientsParams,
            factor: f64,
        }
        impl ModuleVisitor for Scale<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.grads.remove::<D>(param.id) {
                    self.grads.register(param.id, g.mul_scalar(self.factor));
                }
            }
        }
        model.visit(&mut Scale {
            grads: &mut grads,
            factor: max_norm / norm,
        });
    }
    (grads, norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    fn setup() -> (Linear, GradientsParams) {
        let device = Device::flex().autodiff();
        let lin: Linear = LinearConfig::new(2, 1).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), &device);
        // d(sum(w·x + b))/dw = x = (3, 4), d/db = 1  →  ‖g‖ = sqrt(9 + 16 + 1)
        let grads = GradientsParams::from_grads(lin.forward(x).sum().backward(), &lin);
        (lin, grads)
    }

    #[test]
    fn norm_matches_hand_computation() {
        let (lin, grads) = setup();
        assert!((grad_norm(&grads, &lin) - 26f64.sqrt()).abs() < 1e-5);
    }

    #[test]
    fn clipping_rescales_to_max_norm() {
        let (lin, grads) = setup();
        let (clipped, before) = clip_grad_norm(grads, &lin, 1.0);
        assert!((before - 26f64.sqrt()).abs() < 1e-5);
        assert!((grad_norm(&clipped, &lin) - 1.0).abs() < 1e-5);
    }
}
