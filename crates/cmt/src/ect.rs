//! Easy Consistency Tuning (Geng et al. 2024, "Consistency Models Made Easy",
//! <https://arxiv.org/abs/2406.14548>), as vendored in sony/cmt `training/loss.py` `ECMLoss`
//! (read through `shared/research/anchors-generative.md` §1.1):
//!
//! ```text
//! ln t ~ N(P_mean = −1.1, P_std = 2.0)
//! r = t (1 − (1 + k·sigmoid(−b t)) / q^(stage+1)),  k = 8, b = 1, r ≥ 0
//! x_t = x_0 + t ε,   x_r = x_0 + r ε                      (one shared ε)
//! target = sg f(x_r, r)  (r > ε; f(x, ε) = x makes r ≤ ε the data point itself)
//! L = (√(‖f(x_t, t) − target‖² + c²) − c) / (t − r)       (pseudo-Huber, CIFAR weighting)
//! ```
//!
//! `stage` grows by one every `double_every` steps, halving Δt = t − r each time (from-scratch
//! and teacher-init ECT); after CMT, post-training keeps Δt constant and small (a large `q`,
//! no doubling), which is the paper's point: no Δt annealing is needed.

use burn::tensor::Tensor;
use genlab_core::tensor::column;
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

use genlab_flow::consistency::Consistency;
use genlab_flow::net::TimeMlp;

/// ECT hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ect {
    /// Mean of ln t.
    pub p_mean: f32,
    /// Standard deviation of ln t.
    pub p_std: f32,
    /// k of the Δt rule.
    pub k: f32,
    /// b of the Δt rule.
    pub b: f32,
    /// Base q of the Δt rule (Δt ≈ t (1 + k·sigmoid(−bt)) / q^(stage+1)).
    pub q: f32,
    /// Steps per stage (`None`: stage stays 0, constant Δt).
    pub double_every: Option<u64>,
    /// Pseudo-Huber constant c (iCT: 0.00054 √dim).
    pub huber_c: f32,
}

impl Ect {
    /// The schedule of ECT from a pre-trained diffusion model: Δt halves every `double_every`.
    pub fn annealed(dim: usize, double_every: u64) -> Self {
        Ect {
            p_mean: -1.1,
            p_std: 2.0,
            k: 8.0,
            b: 1.0,
            q: 2.0,
            double_every: Some(double_every.max(1)),
            huber_c: 0.00054 * (dim as f32).sqrt(),
        }
    }

    /// Constant small Δt ≈ t (1 + k·sigmoid(−bt)) / q, the post-CMT setting.
    pub fn constant(dim: usize, q: f32) -> Self {
        Ect {
            q,
            double_every: None,
            ..Ect::annealed(dim, 1)
        }
    }

    /// r for time t at training step `step`.
    pub fn r_of_t(&self, t: f32, step: u64) -> f32 {
        let stage = self.double_every.map(|d| step / d).unwrap_or(0) as i32;
        let sig = 1.0 / (1.0 + (self.b * t).exp());
        (t * (1.0 - (1.0 + self.k * sig) / self.q.powi(stage + 1))).max(0.0)
    }

    /// Draws `n` (t, r) pairs: t log-normal, clamped to (ε, T]; r from the rule, clamped to ≥ ε.
    pub fn sample_times(
        &self,
        cm: &Consistency,
        n: usize,
        step: u64,
        rng: &mut SeededRng,
    ) -> (Vec<f32>, Vec<f32>) {
        let (eps, big_t) = (cm.edm.sigma_min, cm.edm.sigma_max);
        let t: Vec<f32> = rng
            .normal_vec(n)
            .into_iter()
            .map(|z| (self.p_mean + self.p_std * z).exp().clamp(2.0 * eps, big_t))
            .collect();
        let r = t.iter().map(|&t| self.r_of_t(t, step).max(eps)).collect();
        (t, r)
    }

    /// The ECT loss for clean `x0`, shared noise `eps` and times `t > r ≥ ε` (host vectors).
    ///
    /// # Shapes
    /// - `x0`, `eps`: `[batch, dim]` → `[1]`
    pub fn loss(
        &self,
        cm: &Consistency,
        net: &TimeMlp,
        x0: Tensor<2>,
        eps: Tensor<2>,
        t: &[f32],
        r: &[f32],
    ) -> Tensor<1> {
        let device = x0.device();
        let (tc, rc) = (column(t, &device), column(r, &device));
        let x_t = x0.clone() + eps.clone() * tc.clone();
        let x_r = x0 + eps * rc.clone();
        self.pair_loss(cm, net, x_t, tc, x_r, rc)
    }

    /// The weighted pseudo-Huber distance between f(x_t, t) and the stop-gradient target
    /// f(x_r, r): shared by ECT (x_r from the same noise) and consistency distillation (x_r
    /// from a teacher ODE step).
    ///
    /// # Shapes
    /// - `x_t`, `x_r`: `[batch, dim]`, `t`, `r`: `[batch, 1]` → `[1]`
    pub fn pair_loss(
        &self,
        cm: &Consistency,
        net: &TimeMlp,
        x_t: Tensor<2>,
        t: Tensor<2>,
        x_r: Tensor<2>,
        r: Tensor<2>,
    ) -> Tensor<1> {
        // The target is the student's own output at the earlier time, without gradient.
        let target = cm.f(net, x_r, r.clone()).detach();
        let sq = (cm.f(net, x_t, t.clone()) - target).square().sum_dim(1); // [batch, 1]
        let c = self.huber_c;
        let huber = sq.add_scalar(c * c).sqrt().sub_scalar(c);
        (huber / (t - r)).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_t_halves_per_stage_and_stays_constant_without_doubling() {
        let e = Ect::annealed(2, 100);
        let t = 1.0f32;
        let dt = |step| t - e.r_of_t(t, step);
        // Stage 0 and 1 have (1 + 8 sigmoid(−1)) / q^(stage+1) > 1 (r clamps to 0); from stage 2
        // on, each stage halves Δt.
        assert_eq!(dt(0), t);
        assert!((dt(200) / dt(300) - 2.0).abs() < 1e-4);
        assert!((dt(300) / dt(450) - 2.0).abs() < 1e-4);
        let c = Ect::constant(2, 1024.0);
        assert_eq!(c.r_of_t(t, 0), c.r_of_t(t, 1_000_000));
        // Δt = t (1 + 8 sigmoid(−1)) / 1024
        let expected = (1.0 + 8.0 / (1.0 + 1f32.exp())) / 1024.0;
        assert!((t - c.r_of_t(t, 0) - expected).abs() < 1e-6);
    }
}
