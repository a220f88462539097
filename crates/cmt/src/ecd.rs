//! Consistency distillation (Song, Dhariwal, Chen, Sutskever 2023, "Consistency Models", CD),
//! with ECT's time pairs and loss: the earlier point of a pair comes from one Heun step of the
//! frozen teacher's probability-flow ODE instead of from the same data noise:
//!
//! ```text
//! x_t = x₀ + t ε,   (t, r) from the ECT rule
//! v(x, σ) = (x − D_φ(x, σ)) / σ                                  (teacher PF-ODE, EDM σ-time)
//! x̃ = x_t + (r − t) v(x_t, t);   x̂_r = x_t + (r − t)/2 · (v(x_t, t) + v(x̃, r))   (Heun)
//! L = (√(‖f_θ(x_t, t) − sg f_θ(x̂_r, r)‖² + c²) − c) / (t − r)
//! ```
//!
//! With a perfect teacher, x̂_r lies on the same ODE trajectory as x_t (up to Heun's O(Δt³)
//! error), which is what consistency asks for; ECT's x_r = x₀ + r ε only does so in expectation.

use burn::tensor::Tensor;
use genlab_core::tensor::column;

use crate::ect::Ect;
use genlab_flow::consistency::Consistency;
use genlab_flow::edm::Edm;
use genlab_flow::net::TimeMlp;

/// One Heun step of the PF-ODE of the denoiser `d(x, σ)` from σ = t to σ = r, per row.
///
/// # Shapes
/// - `x`: `[batch, dim]`, `t`, `r`: `[batch, 1]` → `[batch, dim]`
pub fn teacher_heun_step(
    d: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    x: Tensor<2>,
    t: Tensor<2>,
    r: Tensor<2>,
) -> Tensor<2> {
    let v = |x: Tensor<2>, s: Tensor<2>| (x.clone() - d(x, s.clone())) / s;
    let h = r.clone() - t.clone();
    let v_t = v(x.clone(), t);
    let euler = x.clone() + v_t.clone() * h.clone();
    let v_r = v(euler, r);
    x + (v_t + v_r) * h.mul_scalar(0.5)
}

/// The consistency-distillation loss for clean `x0`, noise `eps` and times `t > r ≥ ε`, with
/// the teacher given as its denoiser `d(x, σ)`.
///
/// # Shapes
/// - `x0`, `eps`: `[batch, dim]` → `[1]`
#[allow(clippy::too_many_arguments)]
pub fn loss(
    ect: &Ect,
    cm: &Consistency,
    teacher: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    net: &TimeMlp,
    x0: Tensor<2>,
    eps: Tensor<2>,
    t: &[f32],
    r: &[f32],
) -> Tensor<1> {
    let device = x0.device();
    let (tc, rc) = (column(t, &device), column(r, &device));
    let x_t = x0 + eps * tc.clone();
    let x_r = teacher_heun_step(teacher, x_t.clone(), tc.clone(), rc.clone()).detach();
    ect.pair_loss(cm, net, x_t, tc, x_r, rc)
}

/// The teacher of a trained EDM network, as the denoiser [`loss`] takes.
pub fn edm_teacher<'a>(
    edm: &'a Edm,
    net: &'a TimeMlp,
) -> impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2> + 'a {
    move |x, sigma| edm.denoise(net, x, sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use genlab_flow::edm::EdmField;
    use genlab_flow::ode::{Solver, solve};
    use genlab_flow::testutil::tiny_net;

    fn tensor(v: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), shape), device)
    }

    #[test]
    fn teacher_step_is_the_ode_solvers_heun_step() {
        let device = Device::flex();
        let edm = Edm::default();
        let teacher = tiny_net(2, &device);
        let x = tensor(&[0.4, -1.3, 2.0, 0.1], [2, 2], &device);
        let ours = teacher_heun_step(
            edm_teacher(&edm, &teacher),
            x.clone(),
            column(&[1.5, 1.5], &device),
            column(&[0.9, 0.9], &device),
        );
        let field = EdmField {
            edm: &edm,
            net: &teacher,
        };
        let traj = solve(&field, x, &[1.5, 0.9], Solver::Heun, false);
        let (a, b) = (
            genlab_core::tensor::to_vec(ours),
            genlab_core::tensor::to_vec(traj.last()),
        );
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn with_a_point_mass_teacher_distillation_is_ect() {
        // Data = the point c: D(x, σ) = c, the ODE is x(σ) = c + (x_t − c) σ/t, Heun is exact,
        // and the teacher's x̂_r is ECT's x₀ + r ε.
        let device = Device::flex();
        let cm = Consistency {
            edm: Edm::default(),
        };
        let ect = Ect::constant(2, 4.0);
        let net = tiny_net(2, &device);
        let c = [0.7f32, -0.4];
        let x0 = tensor(&[c[0], c[1], c[0], c[1]], [2, 2], &device);
        let eps = tensor(&[0.3, 0.8, -1.0, 0.2], [2, 2], &device);
        let (t, r) = ([1.2f32, 0.4], [0.7f32, 0.1]);
        let point = |x: Tensor<2>, _s: Tensor<2>| x.zeros_like() + x0.clone();
        let cd = loss(&ect, &cm, point, &net, x0.clone(), eps.clone(), &t, &r).into_scalar::<f32>();
        let ct = ect
            .loss(&cm, &net, x0.clone(), eps, &t, &r)
            .into_scalar::<f32>();
        assert!(
            (cd - ct).abs() < 1e-5 * ct.abs().max(1.0),
            "CD {cd} vs ECT {ct}"
        );
        assert!(ct > 0.0);
    }
}
