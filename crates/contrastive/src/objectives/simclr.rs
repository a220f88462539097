//! SimCLR's NT-Xent (Chen et al. 2020): each of the N = 2B views has one positive, its other
//! augmentation c(i), and every other view as a negative.
//!
//! ```text
//! s_in = τ⁻¹ cos(z_i, z_n)
//! ℓ_i  = − s_{i,c(i)} + log Σ_{n ≠ i} e^{s_in}
//! L    = (1/N) Σ_i ℓ_i
//! ```

use burn::tensor::Tensor;

use super::similarity::{cosine_logits, counterpart, mask_tensor, masked_log_sum_exp};

/// The masks of the module doc: `(positives, denominator)`, each `[N, N]` row-major.
pub fn nt_xent_masks(n: usize) -> (Vec<bool>, Vec<bool>) {
    let mut pos = vec![false; n * n];
    let mut den = vec![true; n * n];
    for i in 0..n {
        pos[i * n + counterpart(i, n)] = true;
        den[i * n + i] = false;
    }
    (pos, den)
}

/// NT-Xent of the `[2B, D]` projections `z` (rows `0..B` first views, `B..2B` second) at
/// temperature `tau`.
pub fn nt_xent(z: Tensor<2>, tau: f32) -> Tensor<1> {
    let n = z.dims()[0];
    let s = cosine_logits(z, 1.0 / tau);
    let (pos, den) = nt_xent_masks(n);
    let pos = mask_tensor(&pos, n, n, &s);
    let den = mask_tensor(&den, n, n, &s);
    let s_pos = (s.clone() * pos).sum_dim(1);
    (masked_log_sum_exp(s, den) - s_pos).mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::testing::{four_views, lse, naive_cos};
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};
    use genlab_core::tensor::to_vec;

    /// By hand on a batch of B = 2 (N = 4 views) with 2-d projections.
    #[test]
    fn value_by_hand() {
        let (z, t) = four_views();
        let tau = 0.5;
        let c = naive_cos(&z, 2);
        let mut want = 0.0;
        for i in 0..4 {
            let others: Vec<f64> = (0..4).filter(|&n| n != i).map(|n| c[i][n] / tau).collect();
            want += lse(&others) - c[i][counterpart(i, 4)] / tau;
        }
        want /= 4.0;
        let got = to_vec(nt_xent(t, tau as f32))[0] as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (z, _) = four_views();
        let device = burn::tensor::Device::flex();
        let analytic = autodiff_grad(|t| nt_xent(t, 0.5), &z, [4, 2], &device);
        let numerical = numerical_grad(
            |v| {
                let t = Tensor::<2>::from_data(
                    burn::tensor::TensorData::new(v.to_vec(), [4, 2]),
                    &device,
                );
                to_vec(nt_xent(t, 0.5))[0] as f64
            },
            &z,
            1e-3,
        );
        assert!(
            max_relative_error(&analytic, &numerical) < 2e-3,
            "{analytic:?} {numerical:?}"
        );
    }
}
