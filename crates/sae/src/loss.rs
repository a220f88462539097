//! One training objective for every architecture, and its gradient by hand on sparse codes.
//!
//! ```text
//! xc   = x − b_dec ;  pre = W_enc xc + b_enc ;  z = select(pre)      (ReLU | TopK | BatchTopK)
//! r_g  = b_dec + Σ_{j ∈ G_1..G_g} z_j W_dec,j − x                    (prefix residuals)
//! L    = Σ_g w_g (1/B) Σ_b ‖r_{g,b}‖²                                 (one group: plain MSE)
//!      + λ (1/B) Σ_b Σ_j z_bj ‖W_dec,j‖                               (ReLU arm only)
//!      + α L_aux                                                      (see [`crate::aux`])
//!      + γ L_orth                                                     (see [`crate::ortsae`])
//! ```
//!
//! Backward, with `G_b(h) = Σ_{g ≥ h} w_g (2/B) r_{g,b}` (what latent j of group h sees):
//!
//! ```text
//! ∂L/∂z_bj     = ⟨G_b(h(j)), W_dec,j⟩ + λ/B ‖W_dec,j‖      (= ∂L/∂pre_bj for firing latents)
//! ∂L/∂W_dec,j  = Σ_b z_bj G_b(h(j)) + λ/B Σ_b z_bj ŵ_j
//! ∂L/∂W_enc,j  = Σ_b ∂L/∂pre_bj · xc_b ;   ∂L/∂b_enc,j = Σ_b ∂L/∂pre_bj
//! ∂L/∂b_dec    = Σ_b [ G_b(1) − Σ_j ∂L/∂pre_bj W_enc,j ]
//! ```
//!
//! The selection mask is treated as constant (the usual straight-through of TopK). Only the
//! `B·k` firing entries (plus `B·k_aux` auxiliary ones) are touched after the dense encoder:
//! this is where the sparse decoder pays off. Per-latent sums are taken latent by latent over
//! an inverted index, in sample order, so the result does not depend on the thread count.

use rayon::prelude::*;

use crate::aux::{AuxPick, aux_codes};
use crate::codes::Codes;
use crate::linalg::{axpy, dot, matmul_nt_bias, sq_norm};
use crate::matryoshka::Groups;
use crate::ortsae::{Ortho, penalty};
use crate::phase::{Laps, Phase};
use crate::sae::Sae;
use crate::{batchtopk, relu, topk};

/// Which latents fire during training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// All positive pre-activations, with the L1 weight λ.
    Relu {
        /// λ.
        l1: f32,
    },
    /// Per-sample top-k.
    TopK {
        /// k.
        k: usize,
    },
    /// Batch-wide top-(B·k).
    BatchTopK {
        /// k (mean L0).
        k: usize,
    },
}

/// The AuxK term's inputs.
#[derive(Debug, Clone, Copy)]
pub struct AuxInput<'a> {
    /// Dead mask over latents.
    pub dead: &'a [bool],
    /// Auxiliary latents per sample.
    pub k_aux: usize,
    /// Weight α.
    pub alpha: f32,
    /// A fixed residual `e` to use instead of the (detached) current `x − x̂`; for tests.
    pub residual: Option<&'a [f32]>,
    /// Divide by the residual's batch variance (OpenAI, dictionary_learning; default) or, when
    /// false, leave the loss unnormalised and scale it by min(#dead / k_aux, 1) (SAELens).
    pub normalised: bool,
    /// Which dead pre-activations are candidates ([`AuxPick`]).
    pub pick: AuxPick,
}

/// Everything the loss depends on besides the parameters and the batch.
#[derive(Debug, Clone)]
pub struct Objective<'a> {
    /// Training activation.
    pub selection: Selection,
    /// Matryoshka prefixes (one group for the other architectures).
    pub groups: &'a Groups,
    /// AuxK for dead latents.
    pub aux: Option<AuxInput<'a>>,
    /// OrtSAE penalty with this step's partition.
    pub ortho: Option<(Ortho, &'a [Vec<usize>])>,
}

/// The loss's parts (unweighted) and total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossParts {
    /// Reconstruction (matryoshka-weighted).
    pub rec: f64,
    /// `(1/B) Σ ‖x − x̂‖²` of the full reconstruction.
    pub mse: f64,
    /// `(1/B) Σ ‖x − x̄‖²` of the batch (for a batch FVU).
    pub var: f64,
    /// The L1 term (already multiplied by λ).
    pub l1: f64,
    /// `L_aux` before α.
    pub aux: f64,
    /// `L_orth` before γ.
    pub orth: f64,
    /// The optimised total.
    pub total: f64,
}

/// Gradients, shaped like the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Grads {
    /// `[m, d]`.
    pub w_enc: Vec<f32>,
    /// `[m]`.
    pub b_enc: Vec<f32>,
    /// `[m, d]`.
    pub w_dec: Vec<f32>,
    /// `[d]`.
    pub b_dec: Vec<f32>,
}

/// Loss, gradients and the training codes of one batch.
#[derive(Debug, Clone)]
pub struct Step {
    /// Loss parts.
    pub loss: LossParts,
    /// Gradients.
    pub grads: Grads,
    /// Which latents fired (the training selection).
    pub codes: Codes,
}

/// One firing entry of the backward pass.
#[derive(Debug, Clone, Copy)]
struct Entry {
    sample: u32,
    latent: u32,
    z: f32,
    dpre: f32,
    /// Row of the gradient-vector table this entry's decoder row sees.
    row: u32,
    /// Main selection (true) or AuxK (false).
    main: bool,
}

/// Selects the training codes of `[n, m]` pre-activations.
pub fn select(pre: &[f32], m: usize, selection: Selection) -> Codes {
    match selection {
        Selection::Relu { .. } => relu::relu(pre, m),
        Selection::TopK { k } => topk::topk(pre, m, k),
        Selection::BatchTopK { k } => batchtopk::batch_topk(pre, m, k),
    }
}

/// The objective and its gradient on the `[n, d]` batch `x`.
pub fn loss_and_grads(sae: &Sae, x: &[f32], obj: &Objective) -> Step {
    loss_and_grads_timed(sae, x, obj, &mut |_| {})
}

/// [`loss_and_grads`], reporting the end of the encoder, selection, sparse loss and penalty
/// phases to `laps`.
pub fn loss_and_grads_timed(sae: &Sae, x: &[f32], obj: &Objective, laps: Laps) -> Step {
    let (d, m) = (sae.d, sae.m);
    let n = x.len() / d;
    let xc = sae.centre(x);
    let pre = matmul_nt_bias(&xc, &sae.w_enc, &sae.b_enc, d);
    laps(Phase::Encoder);
    let codes = select(&pre, m, obj.selection);
    laps(Phase::Selection);
    let l1 = match obj.selection {
        Selection::Relu { l1 } => l1,
        _ => 0.0,
    };
    let mut fwd = forward(sae, x, &codes, obj.groups);
    let var = batch_variance(x, d);
    let (aux_value, aux_codes) = match obj.aux {
        Some(aux) => aux_term(sae, &pre, &aux, &mut fwd),
        None => (0.0, None),
    };
    let entries = firing_entries(sae, &codes, aux_codes.as_ref(), &fwd.table, obj.groups, l1);
    let (g_w_enc, g_b_enc, mut g_w_dec, l1_sum) = latent_grads(sae, &entries, &xc, &fwd.table, l1);
    let l1_value = l1 as f64 * l1_sum / n as f64;
    let g_b_dec = b_dec_grad(sae, &entries, &fwd.table, n, obj.groups.len());
    laps(Phase::SparseLoss);

    let mut orth = 0.0;
    let mut total = fwd.rec + l1_value;
    if let Some(aux) = obj.aux {
        total += aux.alpha as f64 * aux_value;
    }
    if let Some((ortho, chunks)) = obj.ortho
        && ortho.gamma > 0.0
    {
        let (v, g) = penalty(&sae.w_dec, d, chunks, ortho.reduce);
        orth = v;
        total += ortho.gamma as f64 * v;
        axpy(ortho.gamma, &g, &mut g_w_dec);
    }
    laps(Phase::Penalty);
    Step {
        loss: LossParts {
            rec: fwd.rec,
            mse: fwd.mse,
            var,
            l1: l1_value,
            aux: aux_value,
            orth,
            total,
        },
        grads: Grads {
            w_enc: g_w_enc,
            b_enc: g_b_enc,
            w_dec: g_w_dec,
            b_dec: g_b_dec,
        },
        codes,
    }
}

/// The forward pass's per-sample results.
struct Forward {
    /// `[n·h, d]` rows `G_b(g)`, then (once AuxK runs) `[n, d]` AuxK gradient rows.
    table: Vec<f32>,
    /// `[n, d]` full residuals `e = x − x̂`.
    resid: Vec<f32>,
    /// Reconstruction loss (matryoshka-weighted).
    rec: f64,
    /// `(1/B) Σ ‖x − x̂‖²`.
    mse: f64,
}

/// Per sample: prefix residuals → the `G_b(·)` rows, and the full residual `e = x − x̂`.
fn forward(sae: &Sae, x: &[f32], codes: &Codes, groups: &Groups) -> Forward {
    let d = sae.d;
    let n = x.len() / d;
    let inv_n = 1.0 / n as f32;
    let h = groups.len();
    let mut table = vec![0.0f32; n * h * d];
    let mut resid = vec![0.0f32; n * d];
    let rec_per_sample: Vec<f64> = table
        .par_chunks_mut(h * d)
        .zip(resid.par_chunks_mut(d))
        .enumerate()
        .map(|(b, (gb, eb))| {
            let mut r: Vec<f32> = sae
                .b_dec
                .iter()
                .zip(&x[b * d..(b + 1) * d])
                .map(|(p, q)| p - q)
                .collect();
            let mut g = 0;
            for (j, v) in codes.row(b) {
                while j >= groups.ends[g] {
                    gb[g * d..(g + 1) * d].copy_from_slice(&r);
                    g += 1;
                }
                axpy(v, sae.dec_row(j), &mut r);
            }
            while g < h {
                gb[g * d..(g + 1) * d].copy_from_slice(&r);
                g += 1;
            }
            let mut loss = 0.0;
            for g in 0..h {
                loss += groups.weights[g] as f64 * sq_norm(&gb[g * d..(g + 1) * d]);
            }
            for (e, rv) in eb.iter_mut().zip(&r) {
                *e = -rv;
            }
            // Suffix sums: G(g) = Σ_{g' ≥ g} w_g' (2/B) r_g'.
            for g in (0..h).rev() {
                let w = 2.0 * groups.weights[g] * inv_n;
                for t in 0..d {
                    let next = if g + 1 < h { gb[(g + 1) * d + t] } else { 0.0 };
                    gb[g * d + t] = w * gb[g * d + t] + next;
                }
            }
            loss
        })
        .collect();
    let rec = rec_per_sample.iter().sum::<f64>() / n as f64;
    let mse = resid.chunks_exact(d).map(sq_norm).sum::<f64>() / n as f64;
    Forward {
        table,
        resid,
        rec,
        mse,
    }
}

/// AuxK: the residual to explain, the auxiliary codes, and their gradient rows (appended to
/// `fwd.table`). Returns `L_aux` (0 and no codes when nothing is dead).
fn aux_term(sae: &Sae, pre: &[f32], aux: &AuxInput, fwd: &mut Forward) -> (f64, Option<Codes>) {
    let (d, m) = (sae.d, sae.m);
    let n = fwd.resid.len() / d;
    let active = aux.alpha > 0.0 && aux.dead.iter().any(|&dd| dd);
    if !active {
        return (0.0, None);
    }
    let e = aux.residual.unwrap_or(&fwd.resid);
    let denom = if aux.normalised {
        batch_variance(e, d)
    } else {
        let dead = aux.dead.iter().filter(|&&dd| dd).count();
        aux.k_aux.max(1) as f64 / (dead.min(aux.k_aux.max(1)) as f64)
    };
    let ac = aux_codes(pre, m, aux.dead, aux.k_aux, aux.pick);
    let usable = denom > 0.0 && !ac.latents.is_empty();
    if !usable {
        return (0.0, None);
    }
    let decoded: Vec<f32> = (0..n)
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut eh = e[b * d..(b + 1) * d].to_vec();
            for (j, v) in ac.row(b) {
                axpy(-v, sae.dec_row(j), &mut eh);
            }
            eh
        })
        .collect();
    let value = decoded.chunks_exact(d).map(sq_norm).sum::<f64>() / n as f64 / denom;
    // ∂(α L_aux)/∂ê_b = −α · 2/(B·denom) · (e_b − ê_b)
    let c = -(aux.alpha as f64) * 2.0 / (n as f64 * denom);
    fwd.table
        .extend(decoded.iter().map(|v| (c * *v as f64) as f32));
    (value, Some(ac))
}

/// Backward, per sample: `∂L/∂pre` of every firing entry (main selection, then AuxK).
fn firing_entries(
    sae: &Sae,
    codes: &Codes,
    aux_codes: Option<&Codes>,
    table: &[f32],
    groups: &Groups,
    l1: f32,
) -> Vec<Entry> {
    let d = sae.d;
    let n = codes.len();
    let h = groups.len();
    let inv_n = 1.0 / n as f32;
    (0..n)
        .into_par_iter()
        .flat_map_iter(|b| {
            let mut out = Vec::new();
            for (j, z) in codes.row(b) {
                let row = b * h + groups.group_of(j);
                let w = sae.dec_row(j);
                let mut dz = dot(&table[row * d..(row + 1) * d], w);
                if l1 > 0.0 {
                    dz += l1 * inv_n * dot(w, w).sqrt();
                }
                out.push(Entry {
                    sample: b as u32,
                    latent: j as u32,
                    z,
                    dpre: dz,
                    row: row as u32,
                    main: true,
                });
            }
            if let Some(ac) = aux_codes {
                for (j, z) in ac.row(b) {
                    let row = n * h + b;
                    let dz = dot(&table[row * d..(row + 1) * d], sae.dec_row(j));
                    out.push(Entry {
                        sample: b as u32,
                        latent: j as u32,
                        z,
                        dpre: dz,
                        row: row as u32,
                        main: false,
                    });
                }
            }
            out
        })
        .collect()
}

/// `(∂W_enc, ∂b_enc, ∂W_dec, Σ_j ‖W_dec,j‖ Σ_b z_bj)`: per-latent sums taken latent by latent
/// over an inverted index of the entries, in sample order (thread-count independent).
fn latent_grads(
    sae: &Sae,
    entries: &[Entry],
    xc: &[f32],
    table: &[f32],
    l1: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, f64) {
    let (d, m) = (sae.d, sae.m);
    let inv_n = 1.0 / (xc.len() / d) as f32;
    let mut start = vec![0usize; m + 1];
    for e in entries {
        start[e.latent as usize + 1] += 1;
    }
    for j in 0..m {
        start[j + 1] += start[j];
    }
    let mut fill = start.clone();
    let mut by_latent = vec![0usize; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        by_latent[fill[e.latent as usize]] = i;
        fill[e.latent as usize] += 1;
    }

    let mut g_w_enc = vec![0.0f32; m * d];
    let mut g_w_dec = vec![0.0f32; m * d];
    let mut g_b_enc = vec![0.0f32; m];
    let l1_sums: Vec<f64> = g_w_enc
        .par_chunks_mut(d)
        .zip(g_w_dec.par_chunks_mut(d))
        .zip(g_b_enc.par_iter_mut())
        .enumerate()
        .map(|(j, ((ge, gd), gb))| {
            let mut zsum = 0.0f64;
            for &i in &by_latent[start[j]..start[j + 1]] {
                let e = entries[i];
                let b = e.sample as usize;
                axpy(e.dpre, &xc[b * d..(b + 1) * d], ge);
                *gb += e.dpre;
                let row = e.row as usize;
                axpy(e.z, &table[row * d..(row + 1) * d], gd);
                if e.main {
                    zsum += e.z as f64;
                }
            }
            if l1 > 0.0 && zsum > 0.0 {
                let w = sae.dec_row(j);
                let norm = dot(w, w).sqrt();
                if norm > 0.0 {
                    axpy(
                        (l1 as f64 * inv_n as f64 * zsum / norm as f64) as f32,
                        w,
                        gd,
                    );
                }
                return zsum * norm as f64;
            }
            0.0
        })
        .collect();
    (g_w_enc, g_b_enc, g_w_dec, l1_sums.iter().sum::<f64>())
}

/// `∂L/∂b_dec`: per sample, then summed in sample order.
fn b_dec_grad(sae: &Sae, entries: &[Entry], table: &[f32], n: usize, h: usize) -> Vec<f32> {
    let d = sae.d;
    let per_sample: Vec<Vec<f32>> = (0..n)
        .into_par_iter()
        .map(|b| {
            let mut v = table[b * h * d..b * h * d + d].to_vec();
            let lo = entries.partition_point(|e| (e.sample as usize) < b);
            let hi = entries.partition_point(|e| (e.sample as usize) <= b);
            for e in &entries[lo..hi] {
                let j = e.latent as usize;
                axpy(-e.dpre, &sae.w_enc[j * d..(j + 1) * d], &mut v);
            }
            v
        })
        .collect();
    let mut g_b_dec = vec![0.0f32; d];
    for v in &per_sample {
        for (a, b) in g_b_dec.iter_mut().zip(v) {
            *a += b;
        }
    }
    g_b_dec
}

/// `(1/n) Σ_b ‖x_b − x̄‖²` of `[n, d]` rows.
pub fn batch_variance(x: &[f32], d: usize) -> f64 {
    let n = x.len() / d;
    let mean = crate::init::mean(x, d);
    x.chunks_exact(d)
        .map(|r| {
            r.iter()
                .zip(&mean)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n.max(1) as f64
}

#[cfg(test)]
mod tests;
