//! Dead latents and the AuxK loss (Gao et al. 2024; `dictionary_learning` BatchTopK trainer).
//!
//! ```text
//! dead_j      ⇔ latent j has not fired for more than `dead_after` training tokens
//! e           = x − x̂                       (detached)
//! ê           = Σ_{j ∈ A_b} pre_bj W_dec,j                                 (no b_dec)
//! A_b         = the k_aux largest pre_bj over dead j:  positive ones only (`AuxPick::Positive`,
//!               dictionary_learning's ReLU'd `post`)  or whatever their sign (`AuxPick::AnySign`,
//!               SAELens's `topk` of `where(dead, hidden_pre, −∞)`)
//! L_aux       = (1/B) Σ_b ‖e_b − ê_b‖²  /  (1/B) Σ_b ‖e_b − ē‖²           (0 if nothing is dead)
//! SAELens:      (1/B) Σ_b ‖e_b − ê_b‖² · min(#dead / k_aux, 1)    (unnormalised; `normalised: false`)
//! L          += α · L_aux,   α = 1/32,  k_aux = d/2
//! ```
//!
//! Checked against sae-lens 6.54 (`saes/topk_sae.py`, `calculate_topk_aux_loss` and
//! `calculate_topk_aux_acts`): k_aux = min(d/2, #dead), the candidates are the raw
//! pre-activations (no ReLU, so a dead latent whose pre-activations are all negative still gets
//! a gradient), and the scale is min(#dead / (d/2), 1). With `Positive`, a dead latent that
//! never has a positive pre-activation receives no AuxK gradient at all.
//!
//! The gradient reaches dead latents through their encoder rows and decoder rows, pulling them
//! towards what the live latents fail to explain.

use crate::codes::Codes;
use crate::topk::push_top;

/// Counts, per latent, the training tokens since it last fired.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeadTracker {
    tokens_since_fired: Vec<u64>,
    dead_after: u64,
}

impl DeadTracker {
    /// `m` latents, dead after `dead_after` tokens without firing.
    pub fn new(m: usize, dead_after: u64) -> DeadTracker {
        DeadTracker {
            tokens_since_fired: vec![0; m],
            dead_after,
        }
    }

    /// Records a batch of `codes`.
    pub fn update(&mut self, codes: &Codes) {
        let n = codes.len() as u64;
        self.tokens_since_fired.iter_mut().for_each(|t| *t += n);
        for &j in &codes.latents {
            self.tokens_since_fired[j as usize] = 0;
        }
    }

    /// The dead mask.
    pub fn dead(&self) -> Vec<bool> {
        self.tokens_since_fired
            .iter()
            .map(|&t| t > self.dead_after)
            .collect()
    }

    /// Fraction of latents currently dead.
    pub fn dead_fraction(&self) -> f64 {
        let dead = self
            .tokens_since_fired
            .iter()
            .filter(|&&t| t > self.dead_after)
            .count();
        dead as f64 / self.tokens_since_fired.len().max(1) as f64
    }
}

/// Which dead pre-activations AuxK may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuxPick {
    /// Positive ones only (dictionary_learning; genlab's default).
    #[default]
    Positive,
    /// Whatever their sign (SAELens).
    AnySign,
}

/// Per sample, the top `k_aux` pre-activations among dead latents allowed by `pick` (ties to
/// the lower index), in latent order.
pub fn aux_codes(pre: &[f32], m: usize, dead: &[bool], k_aux: usize, pick: AuxPick) -> Codes {
    let dead_idx: Vec<u32> = (0..m as u32).filter(|&j| dead[j as usize]).collect();
    let mut codes = Codes {
        offsets: vec![0],
        ..Codes::default()
    };
    let mut cand: Vec<(f32, u32)> = Vec::with_capacity(dead_idx.len());
    for row in pre.chunks_exact(m) {
        cand.clear();
        cand.extend(
            dead_idx
                .iter()
                .map(|&j| (row[j as usize], j))
                .filter(|c| pick == AuxPick::AnySign || c.0 > 0.0),
        );
        push_top(&mut cand, k_aux, &mut codes);
    }
    codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_marks_latents_silent_for_long_enough() {
        let mut t = DeadTracker::new(3, 4);
        let fired0 = Codes {
            offsets: vec![0, 1, 1],
            latents: vec![0],
            values: vec![1.0],
        };
        t.update(&fired0);
        t.update(&fired0);
        assert_eq!(
            t.dead(),
            vec![false, false, false],
            "4 tokens is not more than 4"
        );
        t.update(&fired0);
        assert_eq!(t.dead(), vec![false, true, true]);
        assert!((t.dead_fraction() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn aux_codes_only_pick_dead_latents() {
        let pre = [5.0, 1.0, 2.0, 3.0];
        let c = aux_codes(&pre, 4, &[false, true, true, false], 1, AuxPick::Positive);
        assert_eq!(c.row(0).collect::<Vec<_>>(), vec![(2, 2.0)]);
        // Same answer as TopK on the pre-activations with live latents masked out.
        let pre: Vec<f32> = genlab_core::train::SeededRng::new(2).normal_vec(6 * 10);
        let dead: Vec<bool> = (0..10).map(|j| j % 3 != 0).collect();
        let masked: Vec<f32> = pre
            .chunks(10)
            .flat_map(|r| {
                r.iter()
                    .zip(&dead)
                    .map(|(&v, &dd)| if dd { v } else { 0.0 })
            })
            .collect();
        assert_eq!(
            aux_codes(&pre, 10, &dead, 3, AuxPick::Positive),
            crate::topk::topk(&masked, 10, 3)
        );
    }

    #[test]
    fn any_sign_takes_negative_dead_pre_activations_too() {
        // Dead latents 1, 2, 3 with pre-activations −1, −3, −2: Positive finds nothing,
        // AnySign the two largest (−1 and −2), as SAELens's topk over where(dead, pre, −∞).
        let pre = [5.0, -1.0, -3.0, -2.0];
        let dead = [false, true, true, true];
        assert!(
            aux_codes(&pre, 4, &dead, 2, AuxPick::Positive)
                .latents
                .is_empty()
        );
        let c = aux_codes(&pre, 4, &dead, 2, AuxPick::AnySign);
        assert_eq!(c.row(0).collect::<Vec<_>>(), vec![(1, -1.0), (3, -2.0)]);
    }
}
