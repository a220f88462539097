//! In-batch InfoNCE at VIRTUE's temperature, with optional per-query hard negatives (the
//! "+SCaR-train" regime):
//!
//! ```text
//! s_ij = q_i · t_j / τ        (query i, positive caption of query j; q, t L2-normalised)
//! h_ik = q_i · n_ik / τ       (query i, its k-th hard negative)
//! L    = (1/B) Σ_i [ log( Σ_j exp s_ij + Σ_k exp h_ik ) − s_ii ],     τ = 0.02
//! ```

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};

/// VIRTUE's temperature (`codes/src/loss.py` in `sony/virtue`).
pub const TAU: f64 = 0.02;

/// The loss of the module doc: `q`, `t` are `[B, d]`, `hard` (if any) `[B, K, d]`.
pub fn info_nce(q: Tensor<2>, t: Tensor<2>, hard: Option<Tensor<3>>, tau: f64) -> Tensor<1> {
    let [b, _] = q.dims();
    let device = q.device();
    let mut logits = q.clone().matmul(t.transpose()) / tau;
    if let Some(h) = hard {
        let [_, k, _] = h.dims();
        let hl = (q.unsqueeze_dim::<3>(1) * h).sum_dim(2).reshape([b, k]) / tau;
        logits = Tensor::cat(vec![logits, hl], 1);
    }
    let diag: Vec<i64> = (0..b as i64).collect();
    let idx = Tensor::<2, Int>::from_data(TensorData::new(diag, [b, 1]), &device);
    log_softmax(logits, 1)
        .gather(1, idx)
        .mean()
        .neg()
        .reshape([1])
}

/// Rows of `x` (`[n, d]`) divided by their Euclidean norms.
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().square().sum_dim(1).add_scalar(1e-12).sqrt();
    x / norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::{device, gradcheck, tensor};

    fn t2(v: &[f32], r: usize, c: usize) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [r, c]), &device::device())
    }

    #[test]
    fn info_nce_by_hand_on_a_3x3_batch() {
        // Unit vectors in 2-D at angles 0, 90, 180 degrees (queries) and 0, 60, 120 (texts).
        let q = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        let h = 3f32.sqrt() / 2.0;
        let t = [1.0, 0.0, 0.5, h, -0.5, h];
        let tau = 0.5;
        // s_ij = cos(angle_i − angle_j) / τ, computed by hand.
        let s = [
            [1.0, 0.5, -0.5],
            [0.0, h as f64, h as f64],
            [-1.0, -0.5, 0.5],
        ];
        let mut want = 0.0;
        for (i, row) in s.iter().enumerate() {
            let lse = row.iter().map(|v| (v / tau).exp()).sum::<f64>().ln();
            want += lse - row[i] / tau;
        }
        want /= 3.0;
        let got = tensor::to_vec(info_nce(t2(&q, 3, 2), t2(&t, 3, 2), None, tau))[0] as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        // A hard negative equal to the positive adds exactly one more e^{s_ii} term.
        let hard = Tensor::from_data(TensorData::new(t.to_vec(), [3, 1, 2]), &device::device());
        let mut want_h = 0.0;
        for (i, row) in s.iter().enumerate() {
            let lse =
                (row.iter().map(|v| (v / tau).exp()).sum::<f64>() + (row[i] / tau).exp()).ln();
            want_h += lse - row[i] / tau;
        }
        want_h /= 3.0;
        let got_h = tensor::to_vec(info_nce(t2(&q, 3, 2), t2(&t, 3, 2), Some(hard), tau))[0] as f64;
        assert!((got_h - want_h).abs() < 1e-5, "{got_h} vs {want_h}");
    }

    #[test]
    fn perfectly_separated_batch_has_near_zero_loss_at_tau_002() {
        let e = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let l = tensor::to_vec(info_nce(t2(&e, 3, 3), t2(&e, 3, 3), None, TAU))[0];
        assert!(l < 1e-6, "{l}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let t = [
            0.3, -0.2, 0.9, 0.1, -0.5, 0.4, 0.2, 0.7, -0.1, 0.6, 0.3, -0.4,
        ];
        let hard = [
            0.5, 0.1, -0.2, 0.3, 0.0, 0.2, 0.4, -0.6, -0.3, 0.3, 0.1, 0.2,
        ];
        let loss_of = |x: Tensor<2>| {
            let dev = x.device();
            let tt = Tensor::from_data(TensorData::new(t.to_vec(), [3, 4]), &dev);
            let hh = Tensor::from_data(TensorData::new(hard.to_vec(), [3, 1, 4]), &dev);
            info_nce(l2_normalize(x), l2_normalize(tt), Some(hh), 0.5)
        };
        let x0 = [
            0.2, 0.4, -0.1, 0.3, -0.3, 0.2, 0.5, 0.1, 0.6, -0.2, 0.1, 0.4,
        ];
        let analytic = gradcheck::autodiff_grad(loss_of, &x0, [3, 4], &device::device());
        let numeric = gradcheck::numerical_grad(
            |v| tensor::to_vec(loss_of(t2(v, 3, 4)))[0] as f64,
            &x0,
            1e-3,
        );
        let err = gradcheck::max_relative_error(&analytic, &numeric);
        assert!(err < 2e-2, "relative error {err}");
    }
}
