//! The sparse autoencoder itself: parameters, the inference-time activation, encode / decode.
//!
//! ```text
//! pre = W_enc (x − b_dec) + b_enc          W_enc ∈ R^{m×d} (row j = encoder of latent j)
//! z   = σ(pre)                             σ = ReLU | TopK_k | JumpReLU_θ
//! x̂   = W_decᵀ z + b_dec                   W_dec ∈ R^{m×d} (row j = feature direction j)
//! ```
//!
//! Rows are latents in both matrices (so a latent's encoder and decoder are contiguous);
//! [`crate::saelens`] transposes `W_enc` to SAELens' `[d_in, d_sae]` on save.

use genlab_core::{Error, Result, limits};
use serde::{Deserialize, Serialize};

use crate::codes::Codes;
use crate::linalg::{axpy, matmul_nt_bias};
use crate::{relu, topk};

/// The activation used at inference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Activation {
    /// `ReLU(pre)` (standard SAE).
    Relu,
    /// Per-sample top-k.
    TopK {
        /// Latents kept per sample.
        k: usize,
    },
    /// `pre · 1[pre > θ]` with one global θ (BatchTopK-trained SAEs at inference).
    JumpRelu {
        /// The threshold θ ≥ 0.
        threshold: f32,
    },
}

/// A sparse autoencoder.
#[derive(Debug, Clone, PartialEq)]
pub struct Sae {
    /// Input width d.
    pub d: usize,
    /// Dictionary size m.
    pub m: usize,
    /// Encoder `[m, d]`.
    pub w_enc: Vec<f32>,
    /// Encoder bias `[m]`.
    pub b_enc: Vec<f32>,
    /// Decoder `[m, d]`; row j is feature j's direction.
    pub w_dec: Vec<f32>,
    /// Decoder bias `[d]`.
    pub b_dec: Vec<f32>,
    /// Inference activation.
    pub activation: Activation,
}

impl Sae {
    /// Rejects an SAE that cannot be evaluated meaningfully: d or m zero (d_sae = 0 panicked in
    /// the chunked matmul; issue 25), weights whose lengths do not match d and m, non-finite
    /// weights, a TopK k outside 1..=m (k = 0 was evaluated), a non-finite JumpReLU θ.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.d == 0 || self.m == 0 {
            return bad(format!(
                "SAE: d_in = {} and d_sae = {} must be at least 1",
                self.d, self.m
            ));
        }
        let md = limits::elements("SAE: d_sae × d_in", &[self.m, self.d])?;
        let shapes = [
            ("W_enc", self.w_enc.len(), md),
            ("b_enc", self.b_enc.len(), self.m),
            ("W_dec", self.w_dec.len(), md),
            ("b_dec", self.b_dec.len(), self.d),
        ];
        for (name, len, want) in shapes {
            if len != want {
                return bad(format!("SAE: {name} has {len} values, expected {want}"));
            }
        }
        let weights = [&self.w_enc, &self.b_enc, &self.w_dec, &self.b_dec];
        if weights.iter().any(|w| w.iter().any(|v| !v.is_finite())) {
            return bad("SAE: weights contain NaN or infinity".into());
        }
        match self.activation {
            Activation::TopK { k } if k == 0 || k > self.m => {
                bad(format!("SAE: k = {k} must be in 1..={}", self.m))
            }
            Activation::JumpRelu { threshold } if !threshold.is_finite() => {
                bad(format!("SAE: threshold = {threshold} must be finite"))
            }
            _ => Ok(()),
        }
    }

    /// Decoder row j.
    pub fn dec_row(&self, j: usize) -> &[f32] {
        &self.w_dec[j * self.d..(j + 1) * self.d]
    }

    /// Pre-activations `[n, m]` of the `[n, d]` inputs `x`.
    pub fn pre_activations(&self, x: &[f32]) -> Vec<f32> {
        let centred = self.centre(x);
        matmul_nt_bias(&centred, &self.w_enc, &self.b_enc, self.d)
    }

    /// `x − b_dec`, row by row.
    pub fn centre(&self, x: &[f32]) -> Vec<f32> {
        let mut c = x.to_vec();
        for row in c.chunks_exact_mut(self.d) {
            for (v, b) in row.iter_mut().zip(&self.b_dec) {
                *v -= b;
            }
        }
        c
    }

    /// Inference codes of `[n, d]` inputs.
    pub fn encode(&self, x: &[f32]) -> Codes {
        let pre = self.pre_activations(x);
        match self.activation {
            Activation::Relu => relu::relu(&pre, self.m),
            Activation::TopK { k } => topk::topk(&pre, self.m, k),
            Activation::JumpRelu { threshold } => {
                Codes::from_dense(&pre, self.m, |_, _, v| v > threshold)
            }
        }
    }

    /// Reconstructions `[n, d]` from codes (k of m decoder rows per sample).
    pub fn decode(&self, codes: &Codes) -> Vec<f32> {
        let mut out = Vec::with_capacity(codes.len() * self.d);
        for b in 0..codes.len() {
            let start = out.len();
            out.extend_from_slice(&self.b_dec);
            for (j, v) in codes.row(b) {
                axpy(v, self.dec_row(j), &mut out[start..]);
            }
        }
        out
    }
}

#[cfg(test)]
impl Sae {
    /// A test SAE with m = d, identity encoder and decoder, and zero biases: with ReLU it
    /// reconstructs non-negative inputs exactly.
    pub(crate) fn identity(d: usize, activation: Activation) -> Sae {
        let eye: Vec<f32> = (0..d * d)
            .map(|i| if i % (d + 1) == 0 { 1.0 } else { 0.0 })
            .collect();
        Sae {
            d,
            m: d,
            w_enc: eye.clone(),
            b_enc: vec![0.0; d],
            w_dec: eye,
            b_dec: vec![0.0; d],
            activation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2-D identity SAE with b_dec = (1, 1).
    fn identity_sae(activation: Activation) -> Sae {
        Sae {
            b_dec: vec![1.0, 1.0],
            ..Sae::identity(2, activation)
        }
    }

    #[test]
    fn encode_decode_by_hand() {
        let x = [3.0, 0.5, 0.0, 4.0];
        let sae = identity_sae(Activation::Relu);
        // pre = x − 1 = (2, −0.5), (−1, 3)
        let c = sae.encode(&x);
        assert_eq!(c.row(0).collect::<Vec<_>>(), vec![(0, 2.0)]);
        assert_eq!(sae.decode(&c), vec![3.0, 1.0, 1.0, 4.0]);
        let jump = identity_sae(Activation::JumpRelu { threshold: 2.5 });
        assert_eq!(jump.encode(&x).latents, vec![1]);
        let top = identity_sae(Activation::TopK { k: 1 });
        assert_eq!(top.encode(&[3.0, 2.5]).latents, vec![0]);
    }
}
