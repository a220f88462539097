//! Matryoshka BatchTopK (Bussmann et al., ICML 2025; `dictionary_learning`
//! `trainers/matryoshka_batch_top_k.py`): nested prefixes of the dictionary must each
//! reconstruct the input on their own.
//!
//! ```text
//! groups G_1 … G_H of sizes ⌊f_g · m⌋ (the last takes the remainder)
//! x̂_{≤g} = b_dec + Σ_{h ≤ g} Σ_{j ∈ G_h} z_j W_dec,j
//! L_rec  = Σ_g w_g · (1/B) Σ_b ‖x_b − x̂_{≤g,b}‖²,      w_g = 1/H
//! ```
//!
//! [M] The group weights: the method note gives a mean over groups; dictionary_learning takes
//! a `group_weights` argument whose default could not be checked here. Uniform 1/H is used.
//! The default fractions (1/16, 1/16, 1/8, 1/4, 1/2) are genlab's choice.
//!
//! A single group of weight 1 is the ordinary reconstruction loss, so every architecture goes
//! through the same code path ([`crate::loss`]). Early groups must explain the input with few
//! latents, so they learn general (parent) features and resist absorption.

use serde::{Deserialize, Serialize};

use genlab_core::{Error, Result};

/// The nested prefixes of the dictionary and their loss weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Groups {
    /// Exclusive end latent of each group, increasing, the last equal to m.
    pub ends: Vec<usize>,
    /// Loss weight of each prefix.
    pub weights: Vec<f32>,
}

impl Groups {
    /// One group of weight 1 (the plain reconstruction loss).
    pub fn single(m: usize) -> Groups {
        Groups {
            ends: vec![m],
            weights: vec![1.0],
        }
    }

    /// Groups with sizes `fractions[g] · m` (the last takes what remains), equal weights 1/H.
    pub fn from_fractions(m: usize, fractions: &[f64]) -> Result<Groups> {
        if fractions.is_empty() || fractions.iter().any(|f| f.is_nan() || *f <= 0.0) {
            return Err(Error::InvalidInput(
                "matryoshka group fractions must be positive".into(),
            ));
        }
        let total: f64 = fractions.iter().sum();
        if (total - 1.0).abs() > 1e-6 {
            return Err(Error::InvalidInput(format!(
                "matryoshka group fractions sum to {total}, not 1"
            )));
        }
        let mut ends = Vec::with_capacity(fractions.len());
        let mut acc = 0.0;
        for f in &fractions[..fractions.len() - 1] {
            acc += f;
            let end = (acc * m as f64).round() as usize;
            if end == 0 || ends.last().is_some_and(|&e| e >= end) || end >= m {
                return Err(Error::InvalidInput(format!(
                    "matryoshka fractions {fractions:?} give an empty group at width {m}"
                )));
            }
            ends.push(end);
        }
        ends.push(m);
        let h = ends.len();
        Ok(Groups {
            ends,
            weights: vec![1.0 / h as f32; h],
        })
    }

    /// Number of groups H.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Never empty (kept for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The group of latent `j`.
    pub fn group_of(&self, j: usize) -> usize {
        self.ends.partition_point(|&e| e <= j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_split_the_dictionary() {
        let g = Groups::from_fractions(64, &[0.125, 0.125, 0.25, 0.5]).unwrap();
        assert_eq!(g.ends, vec![8, 16, 32, 64]);
        assert_eq!(g.group_of(0), 0);
        assert_eq!(g.group_of(7), 0);
        assert_eq!(g.group_of(8), 1);
        assert_eq!(g.group_of(63), 3);
        assert!(Groups::from_fractions(4, &[0.1, 0.9]).is_err());
        assert!(Groups::from_fractions(64, &[0.5, 0.4]).is_err());
    }
}
