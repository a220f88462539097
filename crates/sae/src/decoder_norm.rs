//! Unit-norm decoder rows (`dictionary_learning/trainers/trainer.py`:
//! `remove_gradient_parallel_to_decoder_directions`, `set_decoder_norm_to_unit_norm`).
//!
//! ```text
//! before the optimiser step:  g_j ← g_j − ⟨g_j, ŵ_j⟩ ŵ_j        (ŵ_j = W_dec,j / ‖W_dec,j‖)
//! after the step:             W_dec,j ← W_dec,j / ‖W_dec,j‖
//! ```
//!
//! Removing the radial component first means Adam only moves a row along the sphere; the
//! renormalisation then removes the small second-order drift. Every architecture here keeps
//! its rows on the unit sphere, so an activation's value is the feature's coefficient.

use rayon::prelude::*;

use crate::linalg::dot;

/// Removes from each gradient row its component along the matching decoder row.
pub fn remove_parallel_gradient(w_dec: &[f32], grad: &mut [f32], d: usize) {
    grad.par_chunks_mut(d)
        .zip(w_dec.par_chunks(d))
        .for_each(|(g, w)| {
            let ww = dot(w, w);
            if ww > 0.0 {
                let c = dot(g, w) / ww;
                for (gi, wi) in g.iter_mut().zip(w) {
                    *gi -= c * wi;
                }
            }
        });
}

/// Scales every decoder row to unit norm (zero rows are left alone).
pub fn normalise_rows(w_dec: &mut [f32], d: usize) {
    w_dec.par_chunks_mut(d).for_each(|w| {
        let n = dot(w, w).sqrt();
        if n > 0.0 {
            w.iter_mut().for_each(|v| *v /= n);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projected_gradient_is_orthogonal_to_its_row() {
        let w = vec![3.0, 4.0, 1.0, 0.0];
        let mut g = vec![1.0, 1.0, 2.0, 5.0];
        remove_parallel_gradient(&w, &mut g, 2);
        assert!(dot(&g[..2], &w[..2]).abs() < 1e-6);
        assert_eq!(&g[2..], &[0.0, 5.0]);
    }

    #[test]
    fn a_tangent_step_then_renormalise_keeps_unit_rows() {
        let mut w = vec![0.6, 0.8, 0.0, 1.0];
        let mut g = vec![0.3, -0.2, 0.7, 0.1];
        remove_parallel_gradient(&w, &mut g, 2);
        for (wi, gi) in w.iter_mut().zip(&g) {
            *wi -= 0.5 * gi;
        }
        normalise_rows(&mut w, 2);
        for row in w.chunks(2) {
            assert!((dot(row, row) - 1.0).abs() < 1e-6);
        }
    }
}
