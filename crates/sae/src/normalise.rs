//! Normalisation of the activations during training, folded into the weights afterwards so the
//! saved SAE reads raw activations.
//!
//! ```text
//! expected_average_only_in:   s = √d / mean_i ‖x_i‖        (over the first `norm_batches` batches)
//!                             train on s·x
//! fold:                       W_enc ← s W_enc,  W_dec ← W_dec / s,  b_dec ← b_dec / s
//!                             so  W_enc' (x − b_dec') + b_enc = W_enc (s x − b_dec) + b_enc
//!                             and x̂ = (W_dec' ᵀ z + b_dec') = x̂_scaled / s
//! ```
//!
//! The pre-activations are unchanged by the fold, so a BatchTopK threshold θ carries over as
//! it is. SAELens (`sae_lens/training/activation_scaler.py`, `saes/sae.py`
//! `fold_activation_norm_scaling_factor`, sae-lens 6.54) estimates s as the mean norm over
//! `n_batches_for_norm_estimate = 1000` batches, as genlab does (`TrainConfig::norm_batches`,
//! default 1000). SAELens draws those batches from its training stream and trains on the
//! batches after them; genlab reads them and moves the stream back to its start, so training
//! sees the same batches with and without normalisation. SAELens's other modes
//! (`constant_norm_rescale`, `layer_norm`, `covariance_whitening`) change each vector
//! differently and cannot be folded into a linear SAE; they are not offered.

use serde::{Deserialize, Serialize};

use crate::sae::Sae;

/// How activations are normalised for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalise {
    /// Raw activations (both libraries' default).
    #[default]
    None,
    /// Scale so that the mean norm is √d (SAELens `expected_average_only_in`).
    ExpectedAverageOnlyIn,
}

/// A running mean of row norms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MeanNorm {
    sum: f64,
    count: u64,
}

impl MeanNorm {
    /// Adds the norms of the `[n, d]` rows.
    pub fn add(&mut self, x: &[f32], d: usize) {
        for r in x.chunks_exact(d) {
            self.sum += r.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            self.count += 1;
        }
    }

    /// `s = √d / mean ‖x_i‖` (1 when there are no rows or they are all zero).
    pub fn scale_factor(&self, d: usize) -> f32 {
        let mean_norm = self.sum / self.count.max(1) as f64;
        if mean_norm > 0.0 && mean_norm.is_finite() {
            ((d as f64).sqrt() / mean_norm) as f32
        } else {
            1.0
        }
    }
}

/// `s = √d / mean ‖x_i‖` of the `[n, d]` rows (1 when the rows are all zero).
pub fn scale_factor(x: &[f32], d: usize) -> f32 {
    let mut m = MeanNorm::default();
    m.add(x, d);
    m.scale_factor(d)
}

/// Multiplies the rows by `s`.
pub fn scale(x: &mut [f32], s: f32) {
    if s != 1.0 {
        x.iter_mut().for_each(|v| *v *= s);
    }
}

/// Folds the factor `s` into `sae`, which was trained on `s·x`, so that it reads `x`.
pub fn fold(sae: &mut Sae, s: f32) {
    if s == 1.0 {
        return;
    }
    sae.w_enc.iter_mut().for_each(|v| *v *= s);
    sae.w_dec.iter_mut().for_each(|v| *v /= s);
    sae.b_dec.iter_mut().for_each(|v| *v /= s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sae::Activation;
    use genlab_core::train::SeededRng;

    #[test]
    fn factor_makes_the_mean_norm_root_d() {
        let mut x = SeededRng::new(1).normal_vec(50 * 8);
        x.iter_mut().for_each(|v| *v *= 7.0);
        let s = scale_factor(&x, 8);
        scale(&mut x, s);
        let mean: f64 = x
            .chunks(8)
            .map(|r| r.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt())
            .sum::<f64>()
            / 50.0;
        assert!((mean - 8f64.sqrt()).abs() < 1e-4, "{mean}");
    }

    #[test]
    fn folded_sae_on_raw_input_equals_unfolded_on_scaled_input() {
        let (d, m) = (6, 10);
        let mut rng = SeededRng::new(3);
        let sae = Sae {
            d,
            m,
            w_enc: rng.normal_vec(m * d),
            b_enc: rng.normal_vec(m),
            w_dec: rng.normal_vec(m * d),
            b_dec: rng.normal_vec(d),
            activation: Activation::JumpRelu { threshold: 0.3 },
        };
        let x = rng.normal_vec(4 * d);
        let s = 2.5;
        let mut xs = x.clone();
        scale(&mut xs, s);
        let mut folded = sae.clone();
        fold(&mut folded, s);
        let (a, b) = (sae.encode(&xs), folded.encode(&x));
        assert_eq!(a.latents, b.latents);
        for (u, v) in a.values.iter().zip(&b.values) {
            assert!((u - v).abs() < 1e-4);
        }
        let (ra, rb) = (sae.decode(&a), folded.decode(&b));
        for (u, v) in ra.iter().zip(&rb) {
            assert!((u / s - v).abs() < 1e-4);
        }
    }
}
