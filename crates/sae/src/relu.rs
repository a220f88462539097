//! Standard (ReLU) SAE with an L1 penalty weighted by the decoder norms.
//!
//! ```text
//! z = ReLU(W_enc (x − b_dec) + b_enc)
//! L = (1/B) Σ_b ‖x_b − x̂_b‖² + λ · (1/B) Σ_b Σ_j z_bj ‖W_dec,j‖
//! ```
//!
//! The ReLU arm of `repro sae` must sit at the same L0 as the k-sparse arms, but λ has no
//! closed-form relation to L0. Instead of a per-seed λ search, [`L0Controller`] adapts λ during
//! training multiplicatively towards a target L0 (a deviation from a fixed-λ run, recorded in
//! the report).

use crate::codes::Codes;

/// Every positive pre-activation fires.
pub fn relu(pre: &[f32], m: usize) -> Codes {
    Codes::from_dense(pre, m, |_, _, _| true)
}

/// Multiplicative λ control: `λ ← λ · exp(clamp(η · (L0 − target) / target, ±0.03))`: slow
/// enough that a burst of large λ cannot push every encoder bias negative (all latents dead).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct L0Controller {
    /// Target mean L0.
    pub target: f64,
    /// Step size η of the log-λ update.
    pub rate: f64,
}

impl L0Controller {
    /// The next λ after a batch with mean L0 `l0`.
    pub fn next(&self, lambda: f64, l0: f64) -> f64 {
        let step = (self.rate * (l0 - self.target) / self.target).clamp(-0.03, 0.03);
        (lambda * step.exp()).clamp(1e-8, 1e4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_keeps_every_positive_entry() {
        let c = relu(&[1.0, -1.0, 0.0, 2.0], 2);
        assert_eq!(c.row(0).collect::<Vec<_>>(), vec![(0, 1.0)]);
        assert_eq!(c.row(1).collect::<Vec<_>>(), vec![(1, 2.0)]);
    }

    #[test]
    fn controller_raises_lambda_when_too_dense() {
        let c = L0Controller {
            target: 8.0,
            rate: 0.1,
        };
        assert!(c.next(1.0, 16.0) > 1.0);
        assert!(c.next(1.0, 4.0) < 1.0);
        assert_eq!(c.next(1.0, 8.0), 1.0);
    }
}
