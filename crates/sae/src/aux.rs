//! Dead latents and the AuxK loss (Gao et al. 2024; `dictionary_learning` BatchTopK trainer).
//!
//! ```text
//! dead_j      ⇔ latent j has not fired for more than `dead_after` training tokens
//! e           = x − x̂                       (detached)
//! ê           = Σ_{j ∈ TopK_{k_aux}(post · 1[dead])} z_j W_dec,j        (no b_dec)
//! L_aux       = (1/B) Σ_b ‖e_b − ê_b‖²  /  (1/B) Σ_b ‖e_b − ē‖²           (0 if nothing is dead)
//! SAELens:      (1/B) Σ_b ‖e_b − ê_b‖² · min(#dead / k_aux, 1)    (unnormalised; `normalised: false`)
//! L          += α · L_aux,   α = 1/32,  k_aux = d/2
//! ```
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

/// Per sample, the top `k_aux` positive pre-activations among dead latents (ties to the lower
/// index), in latent order.
pub fn aux_codes(pre: &[f32], m: usize, dead: &[bool], k_aux: usize) -> Codes {
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
                .filter(|c| c.0 > 0.0),
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
        let c = aux_codes(&pre, 4, &[false, true, true, false], 1);
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
            aux_codes(&pre, 10, &dead, 3),
            crate::topk::topk(&masked, 10, 3)
        );
    }
}
