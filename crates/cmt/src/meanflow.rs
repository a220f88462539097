//! MeanFlow (Geng, Deng, Bai, Kolter, He 2025, <https://arxiv.org/abs/2505.13447>) and its
//! consistency mid-training form CMT-MF (Hu et al. 2026), in flow matching's convention
//! (t = 0 data, t = 1 noise, z_t = (1 − t) x + t ε, v = ε − x).
//!
//! The network learns the average velocity u(z_t, r, t) = (z_t − Ψ_{t→r}(z_t)) / (t − r), so
//! Ψ_{t→r}(z) = z − (t − r) u(z, r, t) and one step from noise is x = ε − u(ε, 0, 1).
//!
//! ```text
//! MeanFlow identity:  u(z_t, r, t) = v(z_t, t) − (t − r) d/dt u(z_t, r, t)
//!                     d/dt u = v·∂_z u + ∂_t u      (a JVP with tangents (v, 0, 1))
//! target:             u_tgt = v − (t − r) · JVP,     L = ‖u_θ − sg(u_tgt)‖²
//! JVP (burn has no forward-mode AD), central difference with the stop-gradient network:
//!                     JVP ≈ (u(z + h v, r, t + h) − u(z − h v, r, t − h)) / 2h
//! CMT-MF:             L = E_{i>j} ‖u_θ(x̂_{t_i}, t_j, t_i) − (x̂_{t_i} − x̂_{t_j}) / (t_i − t_j)‖²
//!                     on a teacher trajectory x̂ (no JVP needed)
//! ```
//!
//! Times: t ~ U(0, 1) and r = t for a fraction `1 − flow_ratio` of samples (the loss is then
//! plain flow matching), otherwise r ~ U(0, t). The adaptive weight of the paper
//! (1/(‖Δ‖² + c)^p) is not used: the plain squared error is kept so the two arms share one
//! loss scale.

use burn::tensor::Tensor;
use genlab_core::tensor::column;
use genlab_core::train::SeededRng;

use genlab_flow::consistency::FlowMap;
use genlab_flow::net::TimeMlp;
use genlab_flow::ode::Trajectory;

/// MeanFlow settings.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MeanFlow {
    /// Fraction of samples with r < t (the paper's 25%).
    pub flow_ratio: f32,
    /// Finite-difference step of the JVP.
    pub jvp_h: f32,
}

impl Default for MeanFlow {
    fn default() -> Self {
        MeanFlow {
            flow_ratio: 0.25,
            jvp_h: 1e-3,
        }
    }
}

/// u_θ(z, r, t): the network's two time inputs are (t, r).
pub fn u(net: &TimeMlp, z: Tensor<2>, r: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
    net.forward(z, Tensor::cat(vec![t, r], 1))
}

/// Central finite-difference JVP of `f(z, t)` along tangents `(dz, dt = 1)`.
pub fn fd_jvp(
    f: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    z: Tensor<2>,
    t: Tensor<2>,
    dz: Tensor<2>,
    h: f32,
) -> Tensor<2> {
    let up = f(
        z.clone() + dz.clone().mul_scalar(h),
        t.clone().add_scalar(h),
    );
    let down = f(z - dz.mul_scalar(h), t.sub_scalar(h));
    (up - down).div_scalar(2.0 * h)
}

impl MeanFlow {
    /// Draws `(t, r)` for `n` samples.
    pub fn sample_times(&self, n: usize, rng: &mut SeededRng) -> (Vec<f32>, Vec<f32>) {
        let (a, b, c) = (rng.uniform_vec(n), rng.uniform_vec(n), rng.uniform_vec(n));
        // Keep t away from the ends so t ± h stays inside [0, 1].
        let t: Vec<f32> = a.iter().map(|&x| 0.01 + 0.98 * x).collect();
        let r = t
            .iter()
            .zip(b.iter().zip(&c))
            .map(|(&t, (&u1, &u2))| if u1 < self.flow_ratio { t * u2 } else { t })
            .collect();
        (t, r)
    }

    /// The MeanFlow loss on clean `x0` with noise `eps` and times `t ≥ r` (host vectors).
    pub fn loss(
        &self,
        net: &TimeMlp,
        x0: Tensor<2>,
        eps: Tensor<2>,
        t: &[f32],
        r: &[f32],
    ) -> Tensor<1> {
        let device = x0.device();
        let (tc, rc) = (column(t, &device), column(r, &device));
        let z = x0.clone() * tc.clone().neg().add_scalar(1.0) + eps.clone() * tc.clone();
        let v = eps - x0;
        let frozen = |zz: Tensor<2>, tt: Tensor<2>| u(net, zz, rc.clone(), tt).detach();
        let jvp = fd_jvp(
            frozen,
            z.clone().detach(),
            tc.clone(),
            v.clone(),
            self.jvp_h,
        );
        let target = (v - jvp * (tc.clone() - rc.clone())).detach();
        (u(net, z, rc, tc) - target).square().mean()
    }
}

/// CMT-MF pairs of one recorded trajectory (times decreasing from t = 1): every i > j in
/// trajectory order (earlier, noisier point i; later point j), with target
/// (x̂_i − x̂_j)/(t_i − t_j). Returns `(z, r, t, target)`.
pub fn cmt_mf_pairs(traj: &Trajectory) -> (Tensor<2>, Tensor<2>, Tensor<2>, Tensor<2>) {
    let [b, _] = traj.states[0].dims();
    let device = traj.states[0].device();
    let (mut zs, mut targets, mut ts, mut rs) = (vec![], vec![], vec![], vec![]);
    for i in 0..traj.states.len() {
        for j in i + 1..traj.states.len() {
            let (ti, tj) = (traj.times[i], traj.times[j]);
            zs.push(traj.states[i].clone());
            targets.push((traj.states[i].clone() - traj.states[j].clone()).div_scalar(ti - tj));
            ts.extend(std::iter::repeat_n(ti, b));
            rs.extend(std::iter::repeat_n(tj, b));
        }
    }
    (
        Tensor::cat(zs, 0),
        column(&rs, &device),
        column(&ts, &device),
        Tensor::cat(targets, 0),
    )
}

/// A MeanFlow network as a flow map: Ψ_{t→s}(x) = x − (t − s) u(x, s, t). This is the general
/// two-time flow map h(x, t, s) of the CMT paper's flow-map students: any jump t → s, so it
/// samples in one step (1 → 0), two, or along any grid; CMT-MF mid-trains it on every ordered
/// pair of a teacher trajectory.
pub struct MeanFlowMap<'a> {
    /// The network u_θ.
    pub net: &'a TimeMlp,
}

impl FlowMap for MeanFlowMap<'_> {
    fn jump(&self, x: Tensor<2>, t: f32, s: f32) -> Tensor<2> {
        let [b, _] = x.dims();
        let device = x.device();
        let tc = Tensor::full([b, 1], t, &device);
        let sc = Tensor::full([b, 1], s, &device);
        x.clone() - u(self.net, x, sc, tc).mul_scalar(t - s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use burn::tensor::TensorData;

    #[test]
    fn finite_difference_jvp_matches_analytic() {
        // f(z, t) = z² t + sin t per element: JVP along (dz, 1) = 2 z t dz + z² + cos t.
        let device = Device::flex();
        let z = Tensor::<2>::from_data(
            TensorData::new(vec![0.3f32, -1.2, 0.7, 2.0], [2, 2]),
            &device,
        );
        let t = Tensor::<2>::from_data(TensorData::new(vec![0.4f32, 0.9], [2, 1]), &device);
        let dz = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 0.5, -2.0, 0.25], [2, 2]),
            &device,
        );
        let f = |z: Tensor<2>, t: Tensor<2>| z.clone().square() * t.clone() + t.sin();
        let got = genlab_core::tensor::to_vec(fd_jvp(f, z.clone(), t.clone(), dz.clone(), 1e-2));
        let expected = genlab_core::tensor::to_vec(
            z.clone().mul_scalar(2.0) * t.clone() * dz + z.square() + t.cos(),
        );
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-3, "{got:?} vs {expected:?}");
        }
    }

    /// A linear flow: all data mass at one point x0, so z_t = (1 − t) x0 + t ε moves on a
    /// straight line and the exact average velocity is u(z, r, t) = (z − x0)/t = ε − x0 for
    /// every r. Its total derivative along the path is 0, so the MeanFlow target
    /// v − (t − r)·JVP must equal u = v.
    #[test]
    fn meanflow_target_identity_on_a_linear_flow() {
        let device = Device::flex();
        let x0 = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0], [1, 2]), &device);
        let eps = Tensor::<2>::from_data(TensorData::new(vec![1.5f32, 0.25], [1, 2]), &device);
        let (t, r) = (0.7f32, 0.2f32);
        let tc = Tensor::<2>::full([1, 1], t, &device);
        let z = x0.clone().mul_scalar(1.0 - t) + eps.clone().mul_scalar(t);
        let v = eps.clone() - x0.clone();
        let exact_u = |zz: Tensor<2>, tt: Tensor<2>| (zz - x0.clone()) / tt;
        let jvp = fd_jvp(exact_u, z, tc, v.clone(), 1e-3);
        let target = v.clone() - jvp.mul_scalar(t - r);
        let diff = genlab_core::tensor::to_vec((target - v).abs());
        assert!(diff.iter().all(|d| *d < 1e-3), "{diff:?}");
    }

    #[test]
    fn mf_pairs_cover_every_ordered_pair() {
        let device = Device::flex();
        let s = |v: f32| Tensor::<2>::full([1, 1], v, &device);
        let traj = Trajectory {
            times: vec![1.0, 0.5, 0.0],
            states: vec![s(4.0), s(2.0), s(1.0)],
            nfe: 2,
        };
        let (z, r, t, target) = cmt_mf_pairs(&traj);
        let v = |x: Tensor<2>| genlab_core::tensor::to_vec(x);
        assert_eq!(v(z), vec![4.0, 4.0, 2.0]);
        assert_eq!(v(t), vec![1.0, 1.0, 0.5]);
        assert_eq!(v(r), vec![0.5, 0.0, 0.0]);
        // (4 − 2)/0.5 = 4, (4 − 1)/1 = 3, (2 − 1)/0.5 = 2
        assert_eq!(v(target), vec![4.0, 3.0, 2.0]);
    }
}
