//! Ground-truth recovery: how many true features have their own latent.
//!
//! ```text
//! C[i, j]  = cos(g_i, ŵ_j)                            (G × m)
//! σ        = argmax_σ Σ_i C[i, σ(i)]  over one-to-one σ   (Hungarian; a latent claims one feature)
//! recovered = #{ i : C[i, σ(i)] ≥ 0.9 }                 ("distinct features")
//! mean_best = (1/G) Σ_i max_j C[i, j]                  (without the one-to-one constraint)
//! ```
//!
//! [M] The paper's "distinct features" count could not be checked; this is the synthetic
//! analogue the method note proposes (true features owned by a distinct latent).

use crate::hungarian::assign;
use crate::linalg::{matmul_nt_bias, normalised_rows};

/// Recovery numbers and the matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// Features matched one-to-one with cosine ≥ the threshold.
    pub recovered: usize,
    /// Mean best cosine per feature (latents may repeat).
    pub mean_best: f64,
    /// The latent matched to each feature (None when there are fewer latents than features
    /// and this feature was left out).
    pub matched: Vec<Option<usize>>,
    /// Cosine of each feature with its matched latent (0 when unmatched).
    pub matched_cos: Vec<f32>,
}

/// Matches the `[G, d]` ground truth `dict` to the decoder rows `w_dec` (`[m, d]`).
pub fn recovery(dict: &[f32], w_dec: &[f32], d: usize, threshold: f32) -> Recovery {
    let (g, m) = (dict.len() / d, w_dec.len() / d);
    let gt = normalised_rows(dict, d);
    let dec = normalised_rows(w_dec, d);
    let cos = matmul_nt_bias(&gt, &dec, &vec![0.0; m], d);
    let mean_best = cos
        .chunks_exact(m)
        .map(|r| r.iter().copied().fold(f32::MIN, f32::max) as f64)
        .sum::<f64>()
        / g.max(1) as f64;
    let mut matched = vec![None; g];
    if g <= m {
        let cost: Vec<f64> = cos.iter().map(|&c| -(c as f64)).collect();
        for (i, j) in assign(&cost, g, m).into_iter().enumerate() {
            matched[i] = Some(j);
        }
    } else {
        let cost: Vec<f64> = (0..m * g)
            .map(|t| -(cos[(t % g) * m + t / g] as f64))
            .collect();
        for (j, i) in assign(&cost, m, g).into_iter().enumerate() {
            matched[i] = Some(j);
        }
    }
    let matched_cos: Vec<f32> = matched
        .iter()
        .enumerate()
        .map(|(i, j)| j.map_or(0.0, |j| cos[i * m + j]))
        .collect();
    Recovery {
        recovered: matched_cos.iter().filter(|&&c| c >= threshold).count(),
        mean_best,
        matched,
        matched_cos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_latent_cannot_claim_two_features() {
        // Features e1, e2; latents: (e1 + 0.1 e2) twice-ish and a noisy e2.
        let dict = [1.0, 0.0, 0.0, 1.0];
        let dec = [1.0, 0.05, 1.0, 0.06, 0.3, 1.0];
        let r = recovery(&dict, &dec, 2, 0.9);
        assert_eq!(r.recovered, 2);
        assert_eq!(r.matched[1], Some(2));
        // Only one latent near e1: the second feature cannot reuse it.
        let dec = [1.0, 0.0, 1.0, 0.01];
        let r = recovery(&dict, &dec, 2, 0.9);
        assert_eq!(r.recovered, 1);
        assert!(r.mean_best > 0.5);
    }

    #[test]
    fn fewer_latents_than_features_leaves_some_unmatched() {
        let dict = [1.0, 0.0, 0.0, 1.0, 0.7, 0.7];
        let dec = [0.0, 1.0];
        let r = recovery(&dict, &dec, 2, 0.9);
        assert_eq!(r.matched, vec![None, Some(0), None]);
        assert_eq!(r.recovered, 1);
    }
}
