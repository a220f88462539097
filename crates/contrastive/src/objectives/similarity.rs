//! What every objective shares: L2 normalisation, cosine similarities among the 2B views of a
//! batch, the masked log-sum-exp, and label masks built on the host.
//!
//! ```text
//! ẑ_i = z_i / max(‖z_i‖, ε)                  s_in = τ⁻¹ ⟨ẑ_i, ẑ_n⟩
//! LSE_M(s)_i = m_i + log Σ_n M_in e^{s_in − m_i}    m_i = max_{n: M_in=1} s_in (detached; exact no-op)
//! ```
//!
//! A batch of B examples is seen as N = 2B views: rows `0..B` are the first augmentation,
//! rows `B..2B` the second, so the counterpart of view i is `i ± B`.

use burn::tensor::{Tensor, TensorData};

/// Guards a zero norm.
pub const EPS: f32 = 1e-8;

/// Rows scaled to unit L2 norm.
pub fn normalize(z: Tensor<2>) -> Tensor<2> {
    let norm = z.clone().square().sum_dim(1).sqrt().clamp_min(EPS);
    z / norm
}

/// `τ⁻¹ ⟨ẑ_i, ẑ_n⟩` for all pairs of rows, `[N, N]`.
pub fn cosine_logits(z: Tensor<2>, inv_tau: f32) -> Tensor<2> {
    let zn = normalize(z);
    zn.clone().matmul(zn.transpose()).mul_scalar(inv_tau)
}

/// `log Σ_n mask_in e^{s_in}` per row, `[N, 1]`, computed after subtracting the (detached)
/// maximum over the row's masked entries, so at least one term is e⁰. A row whose mask is all
/// zero gives a large negative number; callers only use rows with a non-empty mask.
pub fn masked_log_sum_exp(s: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
    let m = masked_row_max(s.clone(), mask.clone());
    let e = (s - m.clone()).exp() * mask;
    e.sum_dim(1).clamp_min(1e-30).log() + m
}

/// `max_{n: mask_in = 1} s_in` per row, detached, `[N, 1]`.
pub fn masked_row_max(s: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
    let off = mask.neg().add_scalar(1.0).mul_scalar(1e4);
    (s.detach() - off).max_dim(1)
}

/// A host `[rows, cols]` 0/1 matrix as a float tensor on the device of `like`.
pub fn mask_tensor(mask: &[bool], rows: usize, cols: usize, like: &Tensor<2>) -> Tensor<2> {
    let values: Vec<f32> = mask.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect();
    Tensor::from_data(TensorData::new(values, [rows, cols]), &like.device())
}

/// The labels of the 2B views: `y` twice.
pub fn view_labels(y: &[u32]) -> Vec<u32> {
    y.iter().chain(y).copied().collect()
}

/// The index of view i's counterpart among N = 2B views.
pub fn counterpart(i: usize, n: usize) -> usize {
    let b = n / 2;
    if i < b { i + b } else { i - b }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use genlab_core::tensor::to_vec;

    #[test]
    fn masked_lse_matches_the_naive_sum() {
        let device = Device::flex();
        let s = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, -1.0, 0.5, 40.0], [2, 3]),
            &device,
        );
        let mask = mask_tensor(&[true, false, true, true, true, false], 2, 3, &s);
        let got = to_vec(masked_log_sum_exp(s, mask));
        let want0 = (1f64.exp() + 3f64.exp()).ln();
        let want1 = ((-1f64).exp() + 0.5f64.exp()).ln();
        assert!((got[0] as f64 - want0).abs() < 1e-5, "{got:?}");
        assert!((got[1] as f64 - want1).abs() < 1e-5, "{got:?}");
    }

    #[test]
    fn counterparts_pair_the_two_views() {
        assert_eq!(
            (0..6).map(|i| counterpart(i, 6)).collect::<Vec<_>>(),
            [3, 4, 5, 0, 1, 2]
        );
        assert_eq!(view_labels(&[4, 2]), [4, 2, 4, 2]);
    }
}
