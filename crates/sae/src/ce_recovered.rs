//! CE-loss-recovered: how much of the language model's next-token loss survives when an SAE's
//! reconstruction replaces the residual stream at its layer.
//!
//! ```text
//! score = (CE_zero − CE_SAE) / (CE_zero − CE_clean)          1 = lossless, 0 = as bad as ablation
//!
//! CE_v  = mean over sequences S and positions t = 1 … T−2 of  −log p_v(S[t+1] | S[0..=t])
//!         where run v replaces r_ℓ[t] for every t = 1 … T−1 by
//!           clean: r_ℓ[t]            (nothing replaced)
//!           SAE:   x̂(r_ℓ[t]) = W_decᵀ σ(W_enc (r_ℓ[t] − b_dec) + b_enc) + b_dec
//!           zero:  0                 (zero ablation)
//!         and runs blocks ℓ … L−1 and the head on the result
//! ```
//!
//! Choices, stated because published numbers differ on them (SAEBench / SAELens evaluate the
//! same ratio):
//!
//! - **Zero ablation** sets the whole residual vector to 0 at the hooked layer (not a mean
//!   ablation), at every position but BOS.
//! - **BOS is left alone** in all three runs (position 0 is never replaced): the SAE is trained
//!   without BOS rows ([`crate::lm_acts`] drops them), and BOS's huge-norm attention-sink vector
//!   is not what it learnt. The prediction made *at* BOS (of token 1) is identical in all
//!   three runs and is therefore left out of the mean, as is the last position (no target).
//! - Sequences come from the back of the seeded corpus order ([`crate::corpus`]), so an SAE
//!   trained on `genlab sae acts` rows with the same seed is evaluated on held-out text.
//!
//! The prefix `r_ℓ` is computed once per batch and shared by the three runs
//! ([`ce_recovered_many`]: and by every SAE's run, with one clean and one zero run for all).

use serde::Serialize;

use genlab_core::train::Observer;
use genlab_core::{Error, Result};
use genlab_lm::Llama;

use crate::sae::Sae;

/// The three losses and the score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CeRecovered {
    /// Mean next-token cross-entropy (nats) of the unmodified model.
    pub ce_clean: f64,
    /// With the SAE reconstruction spliced in.
    pub ce_sae: f64,
    /// With the residual stream zeroed.
    pub ce_zero: f64,
    /// `(ce_zero − ce_sae) / (ce_zero − ce_clean)`.
    pub score: f64,
    /// Predictions averaged over.
    pub predictions: usize,
}

/// Rows per chunk of the vocabulary projection.
const HEAD_CHUNK: usize = 256;

/// CE-loss-recovered of `sae` at layer `layer` of `model` on `seqs` (equal-length,
/// BOS-prefixed sequences), `batch` sequences per forward pass.
pub fn ce_recovered(
    model: &Llama,
    sae: &Sae,
    layer: usize,
    seqs: &[Vec<u32>],
    batch: usize,
    observer: &mut dyn Observer,
) -> Result<CeRecovered> {
    let mut all = ce_recovered_many(model, &[sae], layer, seqs, batch, observer)?;
    Ok(all.remove(0))
}

/// [`ce_recovered`] of several SAEs on the same sequences: the prefix, the clean run and the
/// zero-ablated run are computed once and shared, so each extra SAE costs one spliced run.
/// Each result equals `ce_recovered` of that SAE alone.
pub fn ce_recovered_many(
    model: &Llama,
    saes: &[&Sae],
    layer: usize,
    seqs: &[Vec<u32>],
    batch: usize,
    observer: &mut dyn Observer,
) -> Result<Vec<CeRecovered>> {
    let c = &model.config;
    if let Some(sae) = saes.iter().find(|s| s.d != c.d) {
        return Err(Error::InvalidInput(format!(
            "the SAE reads {}-wide vectors, the model's residual stream is {} wide",
            sae.d, c.d
        )));
    }
    if layer >= c.n_layer {
        return Err(Error::InvalidInput(format!(
            "--layer {layer}: splicing needs a layer in 0..{} (one block must follow)",
            c.n_layer
        )));
    }
    let t_len = seqs.first().map_or(0, Vec::len);
    if t_len < 3 || seqs.iter().any(|s| s.len() != t_len) || batch == 0 {
        return Err(Error::InvalidInput(
            "CE evaluation needs sequences of one length ≥ 3 and a batch ≥ 1".into(),
        ));
    }
    let d = c.d;
    // clean, zero, then each SAE.
    let mut sums = vec![0.0f64; 2 + saes.len()];
    let mut predictions = 0usize;
    observer.start(
        &format!("ce-recovered layer {layer}"),
        seqs.len().div_ceil(batch) as u64,
    );
    for (b, group) in seqs.chunks(batch).enumerate() {
        if observer.should_stop() {
            return Err(Error::Interrupted {
                step: b as u64,
                checkpoint: None,
            });
        }
        let tokens: Vec<u32> = group.concat();
        let r = model.residual(&tokens, group.len(), layer)?;
        // Targets: position t predicts token t + 1, for t = 1 … T−2.
        let targets: Vec<Option<u32>> = (0..tokens.len())
            .map(|i| {
                let t = i % t_len;
                (t >= 1 && t + 1 < t_len).then(|| tokens[i + 1])
            })
            .collect();
        let spliced = |replace: &dyn Fn(&[f32]) -> Vec<f32>| -> Vec<f32> {
            let mut x = r.clone();
            let rows: Vec<f32> = x
                .chunks_exact(t_len * d)
                .flat_map(|seq| seq[d..].to_vec())
                .collect();
            let new = replace(&rows);
            for (seq, new_seq) in x
                .chunks_exact_mut(t_len * d)
                .zip(new.chunks_exact((t_len - 1) * d))
            {
                seq[d..].copy_from_slice(new_seq);
            }
            x
        };
        for (i, sum) in sums.iter_mut().enumerate() {
            let mut x = match i {
                0 => r.clone(),
                1 => spliced(&|rows| vec![0.0; rows.len()]),
                _ => {
                    let sae = saes[i - 2];
                    spliced(&|rows| sae.decode(&sae.encode(rows)))
                }
            };
            model.run_blocks(&mut x, t_len, layer..c.n_layer)?;
            let nll = model.next_token_nll(&x, &targets, HEAD_CHUNK)?;
            *sum += nll.iter().flatten().sum::<f64>();
        }
        predictions += targets.iter().flatten().count();
        let mean = |s: f64| s / predictions as f64;
        observer.step(
            b as u64 + 1,
            &[("ce_clean", mean(sums[0])), ("ce_zero", mean(sums[1]))],
        );
    }
    observer.finish();
    let mean = |s: f64| s / predictions as f64;
    let (clean, zero) = (mean(sums[0]), mean(sums[1]));
    Ok(sums[2..]
        .iter()
        .map(|&s| {
            let with_sae = mean(s);
            CeRecovered {
                ce_clean: clean,
                ce_sae: with_sae,
                ce_zero: zero,
                score: (zero - with_sae) / (zero - clean),
                predictions,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sae::Activation;
    use genlab_core::device::device;
    use genlab_core::train::NoObserver;
    use genlab_lm::llama::{SyntheticSpec, synthetic_gguf};
    use genlab_lm::{Gguf, Hooks};
    use std::path::Path;

    fn tiny() -> Llama {
        let g = Gguf::parse(
            Path::new("t.gguf"),
            synthetic_gguf(SyntheticSpec::default(), 2),
        )
        .unwrap();
        Llama::from_gguf(&g, &device()).unwrap()
    }

    /// m = 2d, rows ±e_i in both matrices: ReLU(x) − ReLU(−x) = x, a lossless SAE.
    fn lossless(d: usize) -> Sae {
        let mut w = vec![0.0f32; 2 * d * d];
        for i in 0..d {
            w[i * d + i] = 1.0;
            w[(d + i) * d + i] = -1.0;
        }
        Sae {
            d,
            m: 2 * d,
            w_enc: w.clone(),
            b_enc: vec![0.0; 2 * d],
            w_dec: w,
            b_dec: vec![0.0; d],
            activation: Activation::Relu,
        }
    }

    fn seqs(v: usize) -> Vec<Vec<u32>> {
        (0..5)
            .map(|s| {
                std::iter::once(v as u32 - 1)
                    .chain((1..10).map(|t| ((s * 31 + t * 17) % (v - 2)) as u32))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_lossless_sae_scores_one_and_a_zero_sae_scores_zero() {
        let model = tiny();
        let s = seqs(model.config.vocab);
        let perfect = ce_recovered(&model, &lossless(32), 1, &s, 2, &mut NoObserver).unwrap();
        assert_eq!(perfect.predictions, 5 * 8);
        assert!(
            (perfect.ce_sae - perfect.ce_clean).abs() < 1e-5,
            "{perfect:?}"
        );
        assert!((perfect.score - 1.0).abs() < 1e-3, "{perfect:?}");
        assert!(perfect.ce_zero > perfect.ce_clean);
        let mut zero = lossless(32);
        zero.w_dec.fill(0.0);
        let z = ce_recovered(&model, &zero, 1, &s, 3, &mut NoObserver).unwrap();
        assert!(
            (z.ce_sae - z.ce_zero).abs() < 1e-9 && z.score.abs() < 1e-6,
            "{z:?}"
        );
        // Batching does not change the numbers.
        let one = ce_recovered(&model, &lossless(32), 1, &s, 5, &mut NoObserver).unwrap();
        assert!((one.ce_clean - perfect.ce_clean).abs() < 1e-5);
        // Several SAEs at once: each as if alone, bit for bit.
        let both =
            ce_recovered_many(&model, &[&zero, &lossless(32)], 1, &s, 3, &mut NoObserver).unwrap();
        let alone = ce_recovered(&model, &lossless(32), 1, &s, 3, &mut NoObserver).unwrap();
        assert_eq!(both, vec![z, alone]);
    }

    #[test]
    fn clean_loss_is_the_plain_forward_pass_loss() {
        let model = tiny();
        let s = seqs(model.config.vocab);
        let r = ce_recovered(&model, &lossless(32), 0, &s, 5, &mut NoObserver).unwrap();
        let mut total = 0.0;
        for q in &s {
            let logits = model
                .forward(q, 1, Hooks::logits_only())
                .unwrap()
                .logits
                .unwrap();
            let v = model.config.vocab;
            for t in 1..q.len() - 1 {
                let z = &logits[t * v..(t + 1) * v];
                let lse = z.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
                total += lse - z[q[t + 1] as usize] as f64;
            }
        }
        assert!(
            (r.ce_clean - total / 40.0).abs() < 1e-4,
            "{} vs {}",
            r.ce_clean,
            total / 40.0
        );
    }

    #[test]
    fn mismatched_inputs_are_refused() {
        let model = tiny();
        let s = seqs(model.config.vocab);
        assert!(
            ce_recovered(&model, &lossless(8), 1, &s, 2, &mut NoObserver)
                .unwrap_err()
                .to_string()
                .contains("8-wide")
        );
        assert!(ce_recovered(&model, &lossless(32), 2, &s, 2, &mut NoObserver).is_err());
        assert!(ce_recovered(&model, &lossless(32), 1, &[vec![1, 2]], 2, &mut NoObserver).is_err());
    }
}
