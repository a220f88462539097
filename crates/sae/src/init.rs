//! Initialisation: decoder rows random unit vectors, encoder = decoder (the transpose in the
//! usual `[d, m]` layout), `b_enc = 0`, and `b_dec` at a robust centre of the first batch.
//!
//! ```text
//! geometric median   argmin_μ Σ_i ‖x_i − μ‖     (Weiszfeld: μ ← Σ x_i/‖x_i−μ‖ / Σ 1/‖x_i−μ‖)
//! mean               (1/n) Σ_i x_i
//! ```
//!
//! `dictionary_learning` initialises `b_dec` to the geometric median of the first batch (BatchTopK
//! trainer); the mean is offered as the cheaper alternative.
//!
//! The decoder directions are normalised Gaussian vectors (uniform on the sphere; genlab) or
//! normalised vectors of i.i.d. uniform entries (sae-lens 6.54 `saes/sae.py`
//! `initialize_weights`: `kaiming_uniform_` on `W_dec`, then each row scaled to
//! `decoder_init_norm`), which lean slightly towards the cube's diagonals.

use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

use crate::decoder_norm::normalise_rows;
use crate::sae::{Activation, Sae};

/// How `b_dec` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BiasInit {
    /// Geometric median of the first batch.
    GeometricMedian,
    /// Mean of the first batch.
    Mean,
    /// Zero.
    Zero,
}

/// How the decoder directions are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Directions {
    /// Normalised standard-normal vectors (uniform on the sphere).
    #[default]
    Normal,
    /// Normalised vectors of uniform entries in [−1, 1) (SAELens's `kaiming_uniform_`).
    Uniform,
}

/// A fresh SAE with unit decoder rows drawn as `directions`, tied encoder, and `b_dec` from
/// `first_batch`.
pub fn init_sae(
    d: usize,
    m: usize,
    first_batch: &[f32],
    bias: BiasInit,
    directions: Directions,
    activation: Activation,
    rng: &mut SeededRng,
) -> Sae {
    let mut w_dec = match directions {
        Directions::Normal => rng.normal_vec(m * d),
        Directions::Uniform => rng
            .uniform_vec(m * d)
            .iter()
            .map(|u| 2.0 * u - 1.0)
            .collect(),
    };
    normalise_rows(&mut w_dec, d);
    let b_dec = match bias {
        BiasInit::GeometricMedian => geometric_median(first_batch, d, 100, 1e-6),
        BiasInit::Mean => mean(first_batch, d),
        BiasInit::Zero => vec![0.0; d],
    };
    Sae {
        d,
        m,
        w_enc: w_dec.clone(),
        b_enc: vec![0.0; m],
        w_dec,
        b_dec,
        activation,
    }
}

/// Column means of the `[n, d]` rows.
pub fn mean(x: &[f32], d: usize) -> Vec<f32> {
    let n = (x.len() / d).max(1) as f64;
    let mut s = vec![0.0f64; d];
    for row in x.chunks_exact(d) {
        for (a, v) in s.iter_mut().zip(row) {
            *a += *v as f64;
        }
    }
    s.iter().map(|v| (v / n) as f32).collect()
}

/// Weiszfeld iterations from the mean until the step is below `tol` (relative) or `iters` ran.
/// A point that coincides with the iterate is skipped in that iteration (its weight is
/// unbounded), which keeps the update defined.
pub fn geometric_median(x: &[f32], d: usize, iters: usize, tol: f64) -> Vec<f32> {
    let mut mu: Vec<f64> = mean(x, d).iter().map(|&v| v as f64).collect();
    for _ in 0..iters {
        let mut num = vec![0.0f64; d];
        let mut den = 0.0f64;
        for row in x.chunks_exact(d) {
            let dist = row
                .iter()
                .zip(&mu)
                .map(|(a, b)| (*a as f64 - b).powi(2))
                .sum::<f64>()
                .sqrt();
            if dist < 1e-12 {
                continue;
            }
            den += 1.0 / dist;
            for (nv, a) in num.iter_mut().zip(row) {
                *nv += *a as f64 / dist;
            }
        }
        if den == 0.0 {
            break;
        }
        let next: Vec<f64> = num.iter().map(|v| v / den).collect();
        let step = next
            .iter()
            .zip(&mu)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let scale = next.iter().map(|v| v * v).sum::<f64>().sqrt().max(1.0);
        mu = next;
        if step < tol * scale {
            break;
        }
    }
    mu.iter().map(|&v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_median_of_1d_points_is_the_median() {
        let x = [0.0, 1.0, 2.0, 10.0, 100.0];
        let g = geometric_median(&x, 1, 500, 1e-10);
        assert!((g[0] - 2.0).abs() < 1e-3, "{g:?}");
    }

    #[test]
    fn geometric_median_ignores_an_outlier_the_mean_does_not() {
        // Square corners plus a far point: the median stays near the square, the mean moves.
        let x = [
            1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, 0.0, 0.0, 100.0, 0.0,
        ];
        let g = geometric_median(&x, 2, 500, 1e-10);
        let m = mean(&x, 2);
        assert!(g[0].abs() < 0.5 && g[1].abs() < 1e-4, "{g:?}");
        assert!((m[0] - 100.0 / 6.0).abs() < 1e-4);
    }

    #[test]
    fn init_ties_encoder_to_unit_decoder() {
        let x = vec![1.0f32; 8];
        let sae = init_sae(
            4,
            6,
            &x,
            BiasInit::Mean,
            Directions::Normal,
            Activation::Relu,
            &mut SeededRng::new(1),
        );
        assert_eq!(sae.w_enc, sae.w_dec);
        assert_eq!(sae.b_dec, vec![1.0; 4]);
        for j in 0..6 {
            let r = sae.dec_row(j);
            assert!((crate::linalg::dot(r, r) - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn uniform_directions_are_unit_rows_of_a_cube_draw() {
        let x = vec![0.0f32; 8];
        let draw = |dirs| {
            init_sae(
                4,
                4000,
                &x,
                BiasInit::Zero,
                dirs,
                Activation::Relu,
                &mut SeededRng::new(2),
            )
        };
        let (u, n) = (draw(Directions::Uniform), draw(Directions::Normal));
        assert_ne!(u.w_dec, n.w_dec);
        // Largest |coordinate| per unit row: for a cube draw at d = 4 it averages below the
        // sphere's (the cube's corners pull directions towards the diagonals).
        let peak = |s: &Sae| {
            (0..s.m)
                .map(|j| s.dec_row(j).iter().fold(0.0f32, |a, v| a.max(v.abs())) as f64)
                .sum::<f64>()
                / s.m as f64
        };
        for j in 0..u.m {
            let r = u.dec_row(j);
            assert!((crate::linalg::dot(r, r) - 1.0).abs() < 1e-5);
        }
        assert!(peak(&u) < peak(&n), "{} vs {}", peak(&u), peak(&n));
    }
}
