//! The edit test of `repro slots`: swap one slot between two held-out scenes and measure where
//! the decoded image changes.
//!
//! ```text
//! x   = DDIM(context of scene A, x₁)           x' = DDIM(A's context with slot k ← B's slot k, x₁)
//! inside  = mean |x' − x| over the pixels of A's slot-k mask,  outside = over the other pixels
//! locality = outside / inside        (< 1: the edit stays on the swapped slot's region)
//! ```
//!
//! Scenes A = i and B = i + n/2 share the slot noise, so slot k is comparable across them; k is
//! the slot with the largest mask in A. Measured on the first seed's models only (a figure-level
//! measurement, not part of the verdict).

use burn::tensor::Tensor;
use genlab_core::experiment::ReportBuilder;
use genlab_core::report::{Table, sig3};
use genlab_core::train::SeededRng;
use genlab_core::{Result, device, tensor};

use super::Sizes;
use super::arms::Runs;
use crate::coda::{Frozen, swap_slots};
use crate::decoder::{PATCH, from_patches};
use crate::encoder::{grid_side, patches};
use crate::evaluate::{EVAL_STREAM, decode, upsample_argmax};

/// Adds the edit-locality table (one row per arm).
pub(super) fn table(sizes: &Sizes, runs: &Runs, report: &mut ReportBuilder) -> Result<()> {
    let dev = device::device();
    let frozen = Frozen::inference(&runs.decoder);
    let n = (2 * (sizes.show / 2)).clamp(2, runs.eval.len() - runs.eval.len() % 2);
    let idx: Vec<usize> = (0..n).collect();
    let sub = runs.eval.select(&idx);
    let s = sub.size;
    let px = s * s;
    let mut rows = Vec::new();
    for (arm, model) in &runs.models {
        let mut rng = SeededRng::new(runs.seed ^ EVAL_STREAM ^ 0x4);
        let k = model.spec.slots;
        let half = rng.normal([n / 2, k, model.spec.width], &dev);
        let noise = Tensor::cat(vec![half.clone(), half], 0);
        let out = model.slots(patches(&sub.images, s, &dev), noise);
        let attn = tensor::to_vec(out.attn);
        let per = attn.len() / n;
        let masks: Vec<Vec<usize>> = attn
            .chunks(per)
            .map(|a| upsample_argmax(a, grid_side(s), k, s))
            .collect();
        // Swap, in each scene of the first half, the slot with the largest mask.
        let mut swap = vec![false; n * k];
        let mut chosen = vec![0usize; n];
        for i in 0..n / 2 {
            let mut area = vec![0usize; k];
            masks[i].iter().for_each(|&l| area[l] += 1);
            let j = (0..k).max_by_key(|&j| area[j]).unwrap_or(0);
            swap[i * k + j] = true;
            chosen[i] = j;
        }
        let tokens = (s / PATCH) * (s / PATCH);
        let x1 = rng.normal([n, tokens, 3 * PATCH * PATCH], &dev);
        let registers = arm.registers();
        let ctx = frozen.context(out.slots.clone(), registers);
        let edited = frozen.context(swap_slots(out.slots, &swap), registers);
        let a = from_patches(
            &tensor::to_vec(decode(
                &frozen,
                &model.kvo,
                ctx,
                x1.clone(),
                sizes.sample_steps,
            )),
            s,
        );
        let b = from_patches(
            &tensor::to_vec(decode(&frozen, &model.kvo, edited, x1, sizes.sample_steps)),
            s,
        );
        let (mut inside, mut n_in, mut outside, mut n_out) = (0f64, 0f64, 0f64, 0f64);
        for i in 0..n / 2 {
            for p in 0..px {
                let diff: f64 = (0..3)
                    .map(|c| (a[(i * px + p) * 3 + c] - b[(i * px + p) * 3 + c]).abs() as f64)
                    .sum::<f64>()
                    / 3.0;
                if masks[i][p] == chosen[i] {
                    inside += diff;
                    n_in += 1.0;
                } else {
                    outside += diff;
                    n_out += 1.0;
                }
            }
        }
        let (inside, outside) = (inside / n_in.max(1.0), outside / n_out.max(1.0));
        rows.push(vec![
            arm.name().to_string(),
            sig3(inside),
            sig3(outside),
            sig3(outside / inside.max(1e-12)),
        ]);
    }
    report.table(Table {
        title: format!(
            "Edit test, seed {}: one slot swapped between paired held-out scenes ({} pairs, \
             {}-step DDIM, same noise); mean |Δ pixel| inside the swapped slot's mask and outside",
            runs.seed,
            n / 2,
            sizes.sample_steps
        ),
        columns: ["arm", "change inside", "change outside", "outside / inside"]
            .map(String::from)
            .to_vec(),
        rows,
    });
    Ok(())
}
