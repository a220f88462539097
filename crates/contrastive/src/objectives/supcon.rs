//! SupCon (Khosla et al. 2020), the "L_out" form: every other view of the anchor's class is a
//! positive; the denominator holds every other view.
//!
//! ```text
//! P(i) = { p ≠ i : y_p = y_i }
//! ℓ_i  = − (1/|P(i)|) Σ_{p ∈ P(i)} s_ip + log Σ_{a ≠ i} e^{s_ia}
//! L    = (1/N) Σ_i ℓ_i                                          (SupConForm::Khosla)
//! ```
//!
//! Hydra's multi-positive InfoNCE ([`super::hydra`]) differs in two ways even with its gates
//! open and identical pairing: each positive is contrasted only against the *negatives* (the
//! other positives leave the denominator), and the average runs over positive pairs, not
//! anchors. That form is [`SupConForm::Decoupled`]:
//!
//! ```text
//! L = (1/Σ_i |P(i)|) Σ_i Σ_{p ∈ P(i)} [ log( e^{s_ip} + Σ_{n : y_n ≠ y_i} e^{s_in} ) − s_ip ]
//! ```
//!
//! The exact correspondence tested in [`super::hydra`]: Hydra with every gate fixed at 1,
//! identical pairing (y₂ = y) and τ⁻¹ = 1/τ equals SupCon `Decoupled`; when no two examples of
//! the batch share a class, both equal `Khosla` and SimCLR's NT-Xent.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::similarity::{cosine_logits, mask_tensor, masked_log_sum_exp, masked_row_max};

/// Which SupCon loss (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupConForm {
    /// Khosla et al.'s L_out (the baseline the experiments run).
    Khosla,
    /// Positives contrasted only against other classes, averaged over positive pairs.
    Decoupled,
}

/// `(positives, others, other classes)` masks of the `[N]` view labels, each `[N, N]`.
pub fn supcon_masks(y: &[u32]) -> (Vec<bool>, Vec<bool>, Vec<bool>) {
    let n = y.len();
    let mut pos = vec![false; n * n];
    let mut others = vec![true; n * n];
    let mut neg = vec![false; n * n];
    for i in 0..n {
        others[i * n + i] = false;
        for k in 0..n {
            pos[i * n + k] = k != i && y[k] == y[i];
            neg[i * n + k] = y[k] != y[i];
        }
    }
    (pos, others, neg)
}

/// SupCon of the `[N, D]` projections `z` with view labels `y` at temperature `tau`.
pub fn supcon(z: Tensor<2>, y: &[u32], tau: f32, form: SupConForm) -> Tensor<1> {
    let n = z.dims()[0];
    let s = cosine_logits(z, 1.0 / tau);
    let (pos, others, neg) = supcon_masks(y);
    let count: Vec<f32> = pos
        .chunks(n)
        .map(|r| r.iter().filter(|b| **b).count() as f32)
        .collect();
    let pos = mask_tensor(&pos, n, n, &s);
    match form {
        SupConForm::Khosla => {
            let others = mask_tensor(&others, n, n, &s);
            let has = count.iter().map(|&c| c > 0.0).collect::<Vec<_>>();
            let inv: Vec<f32> = count
                .iter()
                .map(|&c| if c > 0.0 { 1.0 / c } else { 0.0 })
                .collect();
            let inv =
                Tensor::<2>::from_data(burn::tensor::TensorData::new(inv, [n, 1]), &s.device());
            let has_t = mask_tensor(&has, n, 1, &s);
            let anchors = has.iter().filter(|b| **b).count().max(1) as f64;
            let mean_pos = (s.clone() * pos).sum_dim(1) * inv;
            ((masked_log_sum_exp(s, others) - mean_pos) * has_t)
                .sum()
                .div_scalar(anchors)
        }
        SupConForm::Decoupled => {
            let neg = mask_tensor(&neg, n, n, &s);
            let pairs = count.iter().sum::<f32>().max(1.0) as f64;
            decoupled_terms(s, pos, neg).div_scalar(pairs)
        }
    }
}

/// `Σ_{i, p: pos_ip} [ log(e^{s_ip} + Σ_n neg_in e^{s_in}) − s_ip ]`, the sum shared by
/// decoupled SupCon and Hydra, stabilised by the detached maximum over positives ∪ negatives.
pub fn decoupled_terms(s: Tensor<2>, pos: Tensor<2>, neg: Tensor<2>) -> Tensor<1> {
    let m = masked_row_max(s.clone(), (pos.clone() + neg.clone()).clamp_max(1.0));
    let shifted = s - m;
    let e = shifted.clone().exp();
    let neg_sum = (e.clone() * neg).sum_dim(1);
    let terms = (e + neg_sum).clamp_min(1e-30).log() - shifted;
    (terms * pos).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::simclr::nt_xent;
    use crate::objectives::testing::{four_views, lse, naive_cos, tensor};
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};
    use genlab_core::tensor::to_vec;

    /// By hand on 4 views where views 0–2 share a class and view 3 is alone (so view 3 is
    /// no anchor, and the decoupled form has view 3 as the only negative).
    #[test]
    fn value_by_hand_both_forms() {
        let (z, _) = four_views();
        let tau = 0.5;
        let c = naive_cos(&z, 2);
        let y = [0u32, 0, 0, 1]; // views 0,1,2 share a class; view 3 is alone
        // Khosla: anchors with ≥ 1 positive (0, 1, 2).
        let mut want = 0.0;
        for i in 0..3 {
            let others: Vec<f64> = (0..4).filter(|&n| n != i).map(|n| c[i][n] / tau).collect();
            let pos: Vec<usize> = (0..3).filter(|&p| p != i).collect();
            let mean_pos = pos.iter().map(|&p| c[i][p] / tau).sum::<f64>() / pos.len() as f64;
            want += lse(&others) - mean_pos;
        }
        want /= 3.0;
        let got = to_vec(supcon(tensor(&z, 4), &y, tau as f32, SupConForm::Khosla))[0] as f64;
        assert!((got - want).abs() < 1e-5, "khosla {got} vs {want}");
        // Decoupled: 6 positive pairs; the only negative of views 0–2 is view 3.
        let mut want = 0.0;
        for i in 0..3 {
            for p in (0..3).filter(|&p| p != i) {
                want += lse(&[c[i][p] / tau, c[i][3] / tau]) - c[i][p] / tau;
            }
        }
        want /= 6.0;
        let got = to_vec(supcon(tensor(&z, 4), &y, tau as f32, SupConForm::Decoupled))[0] as f64;
        assert!((got - want).abs() < 1e-5, "decoupled {got} vs {want}");
    }

    #[test]
    fn with_unique_classes_supcon_is_nt_xent() {
        let (z, _) = four_views();
        let y = [3u32, 5, 3, 5]; // each view's only positive is its counterpart
        let a = to_vec(supcon(tensor(&z, 4), &y, 0.3, SupConForm::Khosla))[0];
        let b = to_vec(nt_xent(tensor(&z, 4), 0.3))[0];
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (z, _) = four_views();
        let y = [0u32, 0, 0, 1];
        let device = burn::tensor::Device::flex();
        for form in [SupConForm::Khosla, SupConForm::Decoupled] {
            let analytic = autodiff_grad(|t| supcon(t, &y, 0.5, form), &z, [4, 2], &device);
            let numerical = numerical_grad(
                |v| to_vec(supcon(tensor(v, 4), &y, 0.5, form))[0] as f64,
                &z,
                1e-3,
            );
            let err = max_relative_error(&analytic, &numerical);
            assert!(err < 2e-3, "{form:?}: {analytic:?} {numerical:?}");
        }
    }
}
