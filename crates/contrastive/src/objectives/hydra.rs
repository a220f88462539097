//! Hydra / SimLAP's disparate loss (Wu et al., arXiv 2410.18200): any two classes (y, y₂) form
//! a positive pair when similarity is measured in the subspace a pair gate g(y, y₂) ∈ (0, 1)^D
//! selects ([`crate::gate`]). The key is filtered with the *anchor's* gate:
//!
//! ```text
//! s_in = τ⁻¹ ⟨ z_i ⊙ g_i , z_n ⊙ g_i ⟩ / ( ‖z_i ⊙ g_i‖ · ‖z_n ⊙ g_i‖ )        τ⁻¹ learnable
//! s_in ← s_in − (1/N) Σ_k s_ik                                              (row centring)
//! P_i  = { n ≠ i : y_n = y₂_i }          positives: views of the pair's other class
//! X_i  = { n : y_n ∈ {y_i, y₂_i} }       excluded: both classes of the pair (and i itself)
//! L    = (1/Σ_i |P_i|) Σ_i Σ_{p ∈ P_i} [ log( e^{s_ip} + Σ_{n ∉ X_i} e^{s_in} ) − s_ip ]
//! ```
//!
//! The B×B×D tensor of gated keys is never built: with G = g², the three sums are matmuls,
//!
//! ```text
//! ⟨z_i ⊙ g_i, z_n ⊙ g_i⟩ = [(Z ⊙ G) Zᵀ]_in     ‖z_n ⊙ g_i‖² = [G (Z ⊙ Z)ᵀ]_in
//! ‖z_i ⊙ g_i‖² = Σ_d (Z ⊙ Z ⊙ G)_id
//! ```
//!
//! so this is the exact normalised similarity of the reference code (erow/hydra
//! `moco/builder.py`), not SimLAP's cheaper un-renormalised `⟨z_i ⊙ g_i², k_n⟩`. Row centring
//! leaves the loss and its gradient unchanged (each term is invariant to a per-row shift); the
//! paper uses it for stability, and it is kept so the logits match. Verified against
//! `erow/FastSSL` `model/simlap.py` in the method note's corrections: anchor's gate on the key,
//! both classes of the pair excluded from the negatives, LayerNorm-terminated projector.
//!
//! τ⁻¹ starts at 1/τ = 10 (SimLAP's 1/0.1; the MoCo-v3 version starts at 20) and is capped at
//! [`crate::model::MAX_INV_TAU`]; the SimCLR and SupCon baselines keep τ = 0.1 fixed.
//!
//! With g ≡ 1 and y₂ = y this is SupCon's decoupled form ([`super::supcon::SupConForm`]).

use burn::tensor::Tensor;

use super::similarity::{EPS, mask_tensor};
use super::supcon::decoupled_terms;

/// `(positives, negatives)` masks of the module doc for view labels `y` and pair labels `y2`
/// (both length N), each `[N, N]` row-major. A view whose label is y_i or y₂_i is never a
/// negative of anchor i.
pub fn hydra_masks(y: &[u32], y2: &[u32]) -> (Vec<bool>, Vec<bool>) {
    let n = y.len();
    let mut pos = vec![false; n * n];
    let mut neg = vec![false; n * n];
    for i in 0..n {
        for k in 0..n {
            pos[i * n + k] = k != i && y[k] == y2[i];
            neg[i * n + k] = y[k] != y[i] && y[k] != y2[i];
        }
    }
    (pos, neg)
}

/// The gated logits `s_in` (before centring) of `[N, D]` projections `z` and anchor gates `g`
/// (`[N, D]`), scaled by the `[1]` tensor `inv_tau`.
pub fn gated_logits(z: Tensor<2>, g: Tensor<2>, inv_tau: Tensor<1>) -> Tensor<2> {
    let gg = g.square();
    let zz = z.clone().square();
    let dot = (z.clone() * gg.clone()).matmul(z.transpose());
    let anchor_norm = (zz.clone() * gg.clone()).sum_dim(1).sqrt().clamp_min(EPS);
    let key_norm = gg.matmul(zz.transpose()).sqrt().clamp_min(EPS);
    dot / anchor_norm / key_norm * inv_tau.reshape([1, 1])
}

/// Hydra's disparate loss of `[N, D]` projections `z` with anchor gates `g`, view labels `y`,
/// pair labels `y2` and scale `inv_tau` (`[1]`). Rows with no positive contribute nothing; a
/// batch with no positive at all gives 0.
pub fn hydra(z: Tensor<2>, g: Tensor<2>, y: &[u32], y2: &[u32], inv_tau: Tensor<1>) -> Tensor<1> {
    let n = z.dims()[0];
    let s = gated_logits(z, g, inv_tau);
    let s = s.clone() - s.mean_dim(1);
    let (pos, neg) = hydra_masks(y, y2);
    let pairs = pos.iter().filter(|b| **b).count().max(1) as f64;
    let pos = mask_tensor(&pos, n, n, &s);
    let neg = mask_tensor(&neg, n, n, &s);
    decoupled_terms(s, pos, neg).div_scalar(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::simclr::nt_xent;
    use crate::objectives::supcon::{SupConForm, supcon};
    use crate::objectives::testing::{four_views, lse, tensor};
    use burn::tensor::{Device, TensorData};
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};
    use genlab_core::tensor::to_vec;

    fn scale(v: f32) -> Tensor<1> {
        Tensor::from_data(TensorData::new(vec![v], [1]), &Device::flex())
    }

    /// The B×B×D reference: gate the key with the anchor's gate, normalise, dot.
    fn naive_gated(z: &[f32], g: &[f32], d: usize, inv_tau: f64) -> Vec<Vec<f64>> {
        let n = z.len() / d;
        let unit = |v: Vec<f64>| {
            let r = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.into_iter().map(|x| x / r).collect::<Vec<_>>()
        };
        (0..n)
            .map(|i| {
                let gi = &g[i * d..(i + 1) * d];
                let gate = |r: usize| unit((0..d).map(|k| (z[r * d + k] * gi[k]) as f64).collect());
                let a = gate(i);
                (0..n)
                    .map(|k| inv_tau * a.iter().zip(gate(k)).map(|(x, y)| x * y).sum::<f64>())
                    .collect()
            })
            .collect()
    }

    /// Six 2-d projections (3 examples × 2 views) and their gates.
    const Z6: [f32; 12] = [
        1.0, 0.2, 0.6, -0.8, -0.4, 0.9, 0.9, 0.5, -0.3, -1.0, -0.5, 0.7,
    ];
    const G6: [f32; 12] = [0.9, 0.1, 0.5, 0.5, 0.3, 0.8, 0.2, 0.7, 0.95, 0.3, 0.6, 0.6];

    const GATES: [f32; 8] = [0.9, 0.1, 0.5, 0.5, 0.2, 0.7, 0.95, 0.3];

    #[test]
    fn gated_logits_match_the_naive_bxbxd_reference() {
        let (z, t) = four_views();
        let got = to_vec(gated_logits(t, tensor(&GATES, 4), scale(3.0)));
        let want = naive_gated(&z, &GATES, 2, 3.0);
        for i in 0..4 {
            for k in 0..4 {
                assert!((got[i * 4 + k] as f64 - want[i][k]).abs() < 1e-5, "{i},{k}");
            }
        }
    }

    /// By hand: classes y = (0, 1 | 0, 1) over 2 examples × 2 views, pairs y₂ = (1, 1 | 1, 1)
    /// plus a third example of class 2 so negatives exist: y = (0,1,2 | 0,1,2), y₂ = (1,1,0 | …).
    #[test]
    fn value_by_hand() {
        let z = Z6;
        let g = G6;
        let y = [0u32, 1, 2, 0, 1, 2];
        let y2 = [1u32, 1, 0, 1, 1, 0];
        let s = naive_gated(&z, &g, 2, 2.0);
        let mut want = 0.0;
        let mut pairs = 0;
        for i in 0..6 {
            let negs: Vec<f64> = (0..6)
                .filter(|&n| y[n] != y[i] && y[n] != y2[i])
                .map(|n| s[i][n])
                .collect();
            for p in (0..6).filter(|&p| p != i && y[p] == y2[i]) {
                let mut terms = negs.clone();
                terms.push(s[i][p]);
                want += lse(&terms) - s[i][p];
                pairs += 1;
            }
        }
        want /= pairs as f64;
        let got = to_vec(hydra(tensor(&z, 6), tensor(&g, 6), &y, &y2, scale(2.0)))[0] as f64;
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }

    /// The correspondence of the module doc: g ≡ 1, y₂ = y, τ⁻¹ = 1/τ → SupCon (decoupled);
    /// with classes unique in the batch → NT-Xent.
    #[test]
    fn open_gates_and_identical_pairs_give_supcon() {
        let z = Z6;
        let ones = tensor(&[1.0; 12], 6);
        let y = [0u32, 1, 0, 0, 1, 0];
        let h = to_vec(hydra(tensor(&z, 6), ones.clone(), &y, &y, scale(2.0)))[0];
        let s = to_vec(supcon(tensor(&z, 6), &y, 0.5, SupConForm::Decoupled))[0];
        assert!((h - s).abs() < 1e-5, "hydra {h} vs supcon {s}");
        let unique = [0u32, 1, 2, 0, 1, 2];
        let h = to_vec(hydra(tensor(&z, 6), ones, &unique, &unique, scale(2.0)))[0];
        let k = to_vec(supcon(tensor(&z, 6), &unique, 0.5, SupConForm::Khosla))[0];
        let x = to_vec(nt_xent(tensor(&z, 6), 0.5))[0];
        assert!((h - k).abs() < 1e-5 && (k - x).abs() < 1e-5, "{h} {k} {x}");
    }

    #[test]
    fn masks_never_count_a_pairs_classes_as_negatives() {
        let mut rng = genlab_core::train::SeededRng::new(3);
        let y: Vec<u32> = rng.indices(40, 5).into_iter().map(|c| c as u32).collect();
        let y2: Vec<u32> = rng.indices(40, 5).into_iter().map(|c| c as u32).collect();
        let (pos, neg) = hydra_masks(&y, &y2);
        for i in 0..40 {
            for k in 0..40 {
                let (p, n) = (pos[i * 40 + k], neg[i * 40 + k]);
                assert!(!(p && n));
                if y[k] == y[i] || y[k] == y2[i] {
                    assert!(
                        !n,
                        "anchor {i} counts view {k} of its pair's class as negative"
                    );
                } else {
                    assert!(n && !p);
                }
                assert_eq!(p, k != i && y[k] == y2[i]);
            }
            assert!(!pos[i * 40 + i] && !neg[i * 40 + i]);
        }
    }

    #[test]
    fn row_centring_and_scale_shift_leave_the_loss_unchanged() {
        // Adding a constant to a row of logits is exactly what centring removes: compare the
        // loss at two scales with a hand-shifted reference through decoupled_terms.
        let z = Z6;
        let g = tensor(&[0.5; 12], 6);
        let y = [0u32, 1, 2, 0, 1, 2];
        let y2 = [1u32, 2, 0, 1, 2, 0];
        let s = gated_logits(tensor(&z, 6), g.clone(), scale(2.0));
        let (pos, neg) = hydra_masks(&y, &y2);
        let pm = mask_tensor(&pos, 6, 6, &s);
        let nm = mask_tensor(&neg, 6, 6, &s);
        let shift = tensor(&[5.0, -3.0, 0.0, 10.0, 1.0, -7.0], 6);
        let raw = to_vec(decoupled_terms(s.clone(), pm.clone(), nm.clone()))[0];
        let shifted = to_vec(decoupled_terms(s + shift, pm, nm))[0];
        let pairs = pos.iter().filter(|b| **b).count() as f32;
        let full = to_vec(hydra(tensor(&z, 6), g, &y, &y2, scale(2.0)))[0];
        assert!((raw - shifted).abs() < 1e-4 && (raw / pairs - full).abs() < 1e-5);
    }

    #[test]
    fn gradient_matches_finite_differences_in_z_and_gates() {
        let z = Z6;
        let g = G6;
        let y = [0u32, 1, 2, 0, 1, 2];
        let y2 = [1u32, 1, 0, 1, 2, 0];
        let device = Device::flex();
        let f = |zv: &[f32], gv: &[f32]| {
            to_vec(hydra(tensor(zv, 6), tensor(gv, 6), &y, &y2, scale(2.0)))[0] as f64
        };
        let dz = autodiff_grad(
            |t| hydra(t, tensor(&g, 6), &y, &y2, scale(2.0)),
            &z,
            [6, 2],
            &device,
        );
        let nz = numerical_grad(|v| f(v, &g), &z, 1e-3);
        assert!(max_relative_error(&dz, &nz) < 2e-3, "{dz:?} {nz:?}");
        let dg = autodiff_grad(
            |t| {
                let dev = t.device();
                hydra(
                    tensor(&z, 6).to_device(&dev),
                    t,
                    &y,
                    &y2,
                    scale(2.0).to_device(&dev),
                )
            },
            &g,
            [6, 2],
            &device,
        );
        let ng = numerical_grad(|v| f(&z, v), &g, 1e-3);
        assert!(max_relative_error(&dg, &ng) < 2e-3, "{dg:?} {ng:?}");
    }
}
