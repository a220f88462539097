//! SAELens's decoder parametrisation for TopK / BatchTopK training
//! (`rescale_acts_by_decoder_norm = True`, `decoder_init_norm = 0.1`; `sae_lens/saes/topk_sae.py`,
//! `saes/sae.py` `initialize_weights`, sae-lens 6.54), as an alternative to genlab's unit rows
//! ([`crate::decoder_norm`]).
//!
//! The raw decoder rows are free, with norms `n_j = ‖W_dec,j‖`; the SAE that encodes and
//! decodes is the *effective* one
//!
//! ```text
//! W_enc'_j = n_j W_enc,j     b_enc'_j = n_j b_enc,j     W_dec'_j = W_dec,j / n_j = ŵ_j
//! ```
//!
//! (SAELens multiplies the pre-activations by `n_j` and divides the activations by `n_j`
//! before decoding, which is the same map). The objective is computed on the effective SAE
//! and its gradients `g'` are pulled back to the raw parameters:
//!
//! ```text
//! ∂L/∂W_enc,j = n_j g'_enc,j          ∂L/∂b_enc,j = n_j g'_b,j
//! ∂L/∂W_dec,j = (I − ŵ_j ŵ_jᵀ) g'_dec,j / n_j  +  (⟨g'_enc,j, W_enc,j⟩ + g'_b,j b_enc,j) ŵ_j
//! ```
//!
//! No gradient projection or renormalisation follows the optimiser step. Init: rows random,
//! scaled to `init_norm`, and `W_enc = W_dec` (so the effective encoder starts at
//! `init_norm²` scale). Since Adam moves each raw entry by about `lr`, a direction of norm
//! `n_j = 0.1` turns about ten times faster than a unit row at the same lr: this is the
//! main reason the two libraries want different learning rates. The trained SAE is saved as
//! its effective SAE (unit rows), as SAELens folds the norms on saving.

use rayon::prelude::*;

use crate::linalg::dot;
use crate::loss::Grads;
use crate::sae::Sae;

/// The row norms `n_j` of the raw decoder.
pub fn row_norms(sae: &Sae) -> Vec<f32> {
    sae.w_dec
        .chunks_exact(sae.d)
        .map(|w| dot(w, w).sqrt().max(f32::MIN_POSITIVE))
        .collect()
}

/// The effective SAE of `raw`.
pub fn effective(raw: &Sae) -> Sae {
    let d = raw.d;
    let n = row_norms(raw);
    let mut e = raw.clone();
    e.w_enc
        .par_chunks_mut(d)
        .zip(e.w_dec.par_chunks_mut(d))
        .zip(&n)
        .for_each(|((enc, dec), &nj)| {
            enc.iter_mut().for_each(|v| *v *= nj);
            dec.iter_mut().for_each(|v| *v /= nj);
        });
    e.b_enc.iter_mut().zip(&n).for_each(|(b, &nj)| *b *= nj);
    e
}

/// Pulls the effective SAE's gradients `g` back to the raw parameters of `raw`, in place.
pub fn pull_back(raw: &Sae, g: &mut Grads) {
    let d = raw.d;
    let n = row_norms(raw);
    g.w_enc
        .par_chunks_mut(d)
        .zip(g.w_dec.par_chunks_mut(d))
        .zip(raw.w_enc.par_chunks(d))
        .zip(raw.w_dec.par_chunks(d))
        .zip(g.b_enc.par_iter_mut())
        .zip(raw.b_enc.par_iter())
        .zip(n.par_iter())
        .for_each(|((((((ge, gd), we), wd), gb), &bj), &nj)| {
            let radial = dot(ge, we) + *gb * bj;
            let along = dot(gd, wd) / nj;
            for (v, &w) in gd.iter_mut().zip(wd) {
                let hat = w / nj;
                *v = (*v - along * hat) / nj + radial * hat;
            }
            ge.iter_mut().for_each(|v| *v *= nj);
            *gb *= nj;
        });
}

/// Scales each (unit) decoder row of a fresh SAE to `init_norm` and sets `W_enc = W_dec`.
pub fn init(sae: &mut Sae, init_norm: f32) {
    sae.w_dec.iter_mut().for_each(|v| *v *= init_norm);
    sae.w_enc.copy_from_slice(&sae.w_dec);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{Objective, Selection, loss_and_grads};
    use crate::matryoshka::Groups;
    use crate::sae::Activation;
    use genlab_core::train::SeededRng;

    fn loss(raw: &Sae, x: &[f32], groups: &Groups) -> f64 {
        let obj = Objective {
            selection: Selection::Relu { l1: 0.0 },
            groups,
            aux: None,
            ortho: None,
        };
        loss_and_grads(&effective(raw), x, &obj).loss.total
    }

    fn nudge(s: &mut Sae, which: usize, i: usize, h: f32) {
        match which {
            0 => s.w_enc[i] += h,
            1 => s.b_enc[i] += h,
            _ => s.w_dec[i] += h,
        }
    }

    #[test]
    fn pulled_back_gradients_match_finite_differences() {
        let (d, m) = (5, 7);
        let mut rng = SeededRng::new(11);
        let mut raw = Sae {
            d,
            m,
            w_enc: rng.normal_vec(m * d),
            b_enc: rng.normal_vec(m),
            w_dec: rng.normal_vec(m * d),
            b_dec: rng.normal_vec(d),
            activation: Activation::Relu,
        };
        raw.w_dec.iter_mut().for_each(|v| *v *= 0.3);
        let x = rng.normal_vec(6 * d);
        let groups = Groups::single(m);
        let obj = Objective {
            selection: Selection::Relu { l1: 0.0 },
            groups: &groups,
            aux: None,
            ortho: None,
        };
        let mut g = loss_and_grads(&effective(&raw), &x, &obj).grads;
        pull_back(&raw, &mut g);
        let h = 1e-2f32;
        let mut worst = 0.0f64;
        for (which, len) in [(0, m * d), (1, m), (2, m * d)] {
            for i in 0..len {
                let mut plus = raw.clone();
                nudge(&mut plus, which, i, h);
                let mut minus = raw.clone();
                nudge(&mut minus, which, i, -h);
                let fd = (loss(&plus, &x, &groups) - loss(&minus, &x, &groups)) / (2.0 * h as f64);
                let an = [&g.w_enc, &g.b_enc, &g.w_dec][which][i] as f64;
                worst = worst.max((fd - an).abs() / (1.0 + fd.abs()));
            }
        }
        assert!(worst < 2e-2, "worst relative error {worst}");
    }

    #[test]
    fn effective_rows_are_unit_and_init_ties_the_encoder() {
        let mut rng = SeededRng::new(2);
        let mut sae = Sae {
            d: 4,
            m: 3,
            w_enc: vec![0.0; 12],
            b_enc: vec![0.0; 3],
            w_dec: rng.normal_vec(12),
            b_dec: vec![0.0; 4],
            activation: Activation::Relu,
        };
        crate::decoder_norm::normalise_rows(&mut sae.w_dec, 4);
        init(&mut sae, 0.1);
        assert!(row_norms(&sae).iter().all(|n| (n - 0.1).abs() < 1e-6));
        assert_eq!(sae.w_enc, sae.w_dec);
        let e = effective(&sae);
        assert!(row_norms(&e).iter().all(|n| (n - 1.0).abs() < 1e-5));
        assert!((dot(&e.w_enc[..4], &e.w_enc[..4]).sqrt() - 0.01).abs() < 1e-6);
    }
}
