//! Feature absorption against a known hierarchy (method note §2.4, after Chanin et al.'s
//! SAEBench absorption metric).
//!
//! For a parent feature p with direction g_p, true coefficient a_p, and its matched latent ℓ_p,
//! on every input where p is active:
//!
//! ```text
//! carried_ℓ = z_ℓ · ⟨ŵ_ℓ, g_p⟩                     (the part of g_p latent ℓ reconstructs)
//! own       = max(carried_{ℓ_p}, 0)
//! others    = Σ_{ℓ ≠ ℓ_p active, cos(ŵ_ℓ, g_p) > 0.2} carried_ℓ
//! partial   = others / (own + others)              (inputs where own + others > 0)
//! full      = 1[ℓ_p silent and others ≥ ½ a_p]     (the parent's latent has a hole that
//!                                                   other latents fill)
//! ```
//!
//! Reported: the mean partial score (SAEBench's `mean_absorption_fraction_score` analogue) and
//! the full-absorption rate (`mean_full_absorption_score` analogue), over all parent-active
//! inputs of all parents.
//!
//! Which latents may count as carriers: any latent with cos > 0.2 (the note's definition), or
//! only the latents matched to p's own children (`carriers = Some(..)`). In d = 64 with 512
//! features, a random unit vector has cos > 0.2 with g_p with probability ≈ 5%, so about 25
//! unrelated latents per parent pass the cosine test by chance and add a floor to the
//! unrestricted score that has nothing to do with the hierarchy; the restricted score measures
//! the absorption mechanism itself (a child latent whose direction ≈ child + parent).

use crate::codes::Codes;
use crate::linalg::dot;

/// Cosine above which another latent counts as carrying the parent's direction.
pub const CARRIER_COS: f32 = 0.2;

/// Absorption scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Absorption {
    /// Mean share of the parent's reconstruction carried by other latents.
    pub partial: f64,
    /// Fraction of parent-active inputs that are fully absorbed.
    pub full: f64,
    /// Parent-active inputs examined.
    pub inputs: usize,
}

/// Absorption of `parents` (with matched latents `parent_latents`) given the true codes and the
/// SAE's codes on the same inputs. `w_dec` rows are the SAE's (unit) decoder rows; `gt_dir(p)`
/// is feature p's unit direction; `carriers[i]`, when given, lists the only latents that may
/// carry `parents[i]`.
#[allow(clippy::too_many_arguments)]
pub fn absorption<'a>(
    w_dec: &[f32],
    d: usize,
    gt_dir: impl Fn(usize) -> &'a [f32],
    parents: &[usize],
    parent_latents: &[usize],
    carriers: Option<&[Vec<usize>]>,
    truth: &Codes,
    sae_codes: &Codes,
) -> Absorption {
    let m = w_dec.len() / d;
    let (mut partial_sum, mut partial_n, mut full_n, mut inputs) = (0.0, 0usize, 0usize, 0usize);
    for (pi, (&p, &lp)) in parents.iter().zip(parent_latents).enumerate() {
        let g = gt_dir(p);
        let allowed = |j: usize| carriers.is_none_or(|c| c[pi].contains(&j));
        let cos: Vec<f32> = (0..m)
            .map(|j| {
                let w = &w_dec[j * d..(j + 1) * d];
                dot(w, g) / dot(w, w).sqrt().max(1e-12)
            })
            .collect();
        for b in 0..truth.len() {
            let Some((_, a_p)) = truth.row(b).find(|(i, _)| *i == p) else {
                continue;
            };
            inputs += 1;
            let (mut own, mut others, mut own_fired) = (0.0f64, 0.0f64, false);
            for (j, z) in sae_codes.row(b) {
                let carried = z as f64 * dot(&w_dec[j * d..(j + 1) * d], g) as f64;
                if j == lp {
                    own = carried.max(0.0);
                    own_fired = true;
                } else if cos[j] > CARRIER_COS && allowed(j) {
                    others += carried;
                }
            }
            if own + others > 0.0 {
                partial_sum += others / (own + others);
                partial_n += 1;
            }
            if !own_fired && others >= 0.5 * a_p as f64 {
                full_n += 1;
            }
        }
    }
    Absorption {
        partial: partial_sum / partial_n.max(1) as f64,
        full: full_n as f64 / inputs.max(1) as f64,
        inputs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(rows: &[&[(u32, f32)]]) -> Codes {
        let mut c = Codes {
            offsets: vec![0],
            ..Codes::default()
        };
        for r in rows {
            for &(j, v) in *r {
                c.latents.push(j);
                c.values.push(v);
            }
            c.offsets.push(c.latents.len());
        }
        c
    }

    #[test]
    fn constructed_hierarchy_gives_the_known_scores() {
        // GT: parent p = e1 (feature 0), child = e2 (feature 1). SAE rows: ℓ0 = e1 (the parent's
        // latent), ℓ1 = (e1 + e2)/√2 (a child latent that absorbed the parent), ℓ2 = e3.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let w_dec = [1.0, 0.0, 0.0, s, s, 0.0, 0.0, 0.0, 1.0];
        let dirs = [[1.0f32, 0.0, 0.0], [0.0, 1.0, 0.0]];
        let truth = codes(&[
            &[(0, 1.0)],           // parent alone
            &[(0, 1.0), (1, 1.0)], // parent + child
            &[(0, 1.0), (1, 1.0)], // parent + child
            &[(1, 1.0)],           // child alone (parent inactive: not examined)
        ]);
        let sae = codes(&[
            &[(0, 1.0)],                   // parent latent carries it: partial 0
            &[(1, 2.0f32.sqrt())],         // fully absorbed: others = 1 = a_p
            &[(0, 0.5), (1, s), (2, 1.0)], // half and half: partial 0.5, not full
            &[(1, 1.0)],
        ]);
        let carried_by = |carriers: Option<&[Vec<usize>]>| {
            absorption(
                &w_dec,
                3,
                |i| &dirs[i][..],
                &[0],
                &[0],
                carriers,
                &truth,
                &sae,
            )
        };
        let a = carried_by(None);
        assert_eq!(a.inputs, 3);
        assert!((a.full - 1.0 / 3.0).abs() < 1e-9, "{a:?}");
        assert!((a.partial - 0.5).abs() < 1e-6, "{a:?}");
        // Restricted to the child's latent (ℓ1) the answer is the same; restricted to ℓ2 (which
        // never aligns with the parent) nothing is absorbed.
        assert_eq!(carried_by(Some(&[vec![1]])), a);
        let none = carried_by(Some(&[vec![2]]));
        assert_eq!((none.partial, none.full), (0.0, 0.0));
    }

    #[test]
    fn no_parent_inputs_gives_zero_not_nan() {
        let a = absorption(
            &[1.0],
            1,
            |_| &[1.0][..],
            &[0],
            &[0],
            None,
            &codes(&[&[]]),
            &codes(&[&[]]),
        );
        assert_eq!((a.partial, a.full, a.inputs), (0.0, 0.0, 0));
    }
}
