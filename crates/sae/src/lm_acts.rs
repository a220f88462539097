//! Residual-stream activations of a real language model, written as an activation store that
//! [`crate::acts::open_files`] streams.
//!
//! ```text
//! sequences  S_1 … S_n = the first n = ⌈N / (T−1)⌉ sequences of the corpus      [crate::corpus]
//!            (BOS + T−1 tokens each, seeded order)
//! rows       r_ℓ(S_i)[t] for t = 1 … T−1: the residual stream after ℓ blocks   [genlab_lm::llama]
//!            (the BOS position t = 0 is dropped: its activation is an attention-sink outlier
//!            with a norm far above every other position's, and is not a property of the text)
//! store      OUT/acts-00000.safetensors, …: one F32 tensor `acts` [rows, d] per shard, N rows
//!            in all, in sequence order; OUT/manifest.json: model, layer, corpus, tokens, ctx,
//!            seed, BOS id, shards, throughput
//! ```
//!
//! The forward pass stops after block ℓ (no later block and no vocabulary projection runs).

use std::path::Path;
use std::time::Instant;

use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde::{Deserialize, Serialize};

use genlab_core::fsx::{atomic_write, write_json};
use genlab_core::train::Observer;
use genlab_core::{Error, Result};
use genlab_lm::Llama;

use crate::corpus::Sequences;

/// The manifest file name inside the output directory.
pub const MANIFEST: &str = "manifest.json";

/// What to extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractConfig {
    /// Layer ℓ: the residual stream after ℓ blocks (0 = embeddings).
    pub layer: usize,
    /// Activation rows N to write.
    pub tokens: usize,
    /// Sequences per forward pass.
    pub batch: usize,
    /// Rows per shard file.
    pub shard_rows: usize,
}

/// `OUT/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Model file name.
    pub model: String,
    /// Layer ℓ (residual stream after ℓ blocks, before block ℓ).
    pub layer: usize,
    /// Row width d.
    pub d: usize,
    /// Corpus name or path.
    pub corpus: String,
    /// Rows written (one per non-BOS token).
    pub tokens: usize,
    /// Tokens per sequence, BOS included.
    pub ctx: usize,
    /// Sequences run.
    pub sequences: usize,
    /// The BOS id at position 0 of every sequence (its row is dropped).
    pub bos: u32,
    /// Seed of the sequence order.
    pub seed: u64,
    /// Shard files, in order.
    pub shards: Vec<String>,
    /// Extraction throughput (tokens through the model per second, BOS included).
    pub tokens_per_second: f64,
}

/// Writes `rows` (`[n, d]`) as one safetensors shard.
fn write_shard(path: &Path, rows: &[f32], d: usize) -> Result<()> {
    let bytes: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F32, vec![rows.len() / d, d], &bytes)
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    let out = safetensors::serialize([("acts", view)], None)
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    atomic_write(path, &out)
}

/// Runs `model` on the front of `seqs` and writes layer-ℓ activations to `out`. `model_name`
/// and `corpus` are recorded in the manifest; `seed` is the one `seqs` was ordered with.
#[allow(clippy::too_many_arguments)]
pub fn extract(
    model: &Llama,
    model_name: &str,
    seqs: &Sequences,
    corpus: &str,
    seed: u64,
    config: &ExtractConfig,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<Manifest> {
    let c = &model.config;
    if config.layer > c.n_layer {
        return Err(Error::InvalidInput(format!(
            "--layer {} does not exist (the model has layers 0..={})",
            config.layer, c.n_layer
        )));
    }
    if config.tokens == 0 || config.batch == 0 || config.shard_rows == 0 {
        return Err(Error::InvalidInput(
            "--tokens, --batch and the shard size must be at least 1".into(),
        ));
    }
    // Shards of an earlier (e.g. interrupted) run would be streamed along with the new ones.
    if let Ok(entries) = std::fs::read_dir(out)
        && let Some(old) = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n.ends_with(".safetensors") || n.ends_with(".npy"))
    {
        return Err(Error::InvalidInput(format!(
            "{} already holds activations ({old}); choose another --out",
            out.display()
        )));
    }
    let per_seq = seqs.ctx - 1;
    let n_seq = config.tokens.div_ceil(per_seq);
    let chosen = seqs.front(n_seq)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let d = c.d;
    let n_batches = n_seq.div_ceil(config.batch) as u64;
    observer.start(&format!("extract layer {}", config.layer), n_batches);
    let started = Instant::now();
    let mut pending: Vec<f32> = Vec::new();
    let mut shards: Vec<String> = Vec::new();
    let mut written = 0usize;
    let mut seen = 0usize;
    let flush = |pending: &mut Vec<f32>, shards: &mut Vec<String>, all: bool| -> Result<()> {
        while pending.len() >= config.shard_rows * d || (all && !pending.is_empty()) {
            let take = pending.len().min(config.shard_rows * d);
            let name = format!("acts-{:05}.safetensors", shards.len());
            write_shard(&out.join(&name), &pending[..take], d)?;
            pending.drain(..take);
            shards.push(name);
        }
        Ok(())
    };
    for (b, batch) in chosen.chunks(config.batch).enumerate() {
        if observer.should_stop() {
            return Err(Error::Interrupted {
                step: b as u64,
                checkpoint: None,
            });
        }
        let tokens: Vec<u32> = batch.concat();
        seen += tokens.len();
        let r = model.residual(&tokens, batch.len(), config.layer)?;
        for seq in r.chunks_exact(seqs.ctx * d) {
            let keep = per_seq.min(config.tokens - written);
            pending.extend_from_slice(&seq[d..(1 + keep) * d]);
            written += keep;
        }
        flush(&mut pending, &mut shards, false)?;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        observer.step(
            b as u64 + 1,
            &[("tokens", written as f64), ("tok/s", seen as f64 / secs)],
        );
    }
    flush(&mut pending, &mut shards, true)?;
    observer.finish();
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let manifest = Manifest {
        model: model_name.to_string(),
        layer: config.layer,
        d,
        corpus: corpus.to_string(),
        tokens: written,
        ctx: seqs.ctx,
        sequences: n_seq,
        bos: seqs.bos,
        seed,
        shards,
        tokens_per_second: (n_seq * seqs.ctx) as f64 / secs,
    };
    write_json(&out.join(MANIFEST), &manifest)?;
    Ok(manifest)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::acts::{for_each_chunk, open_files};
    use genlab_core::device::device;
    use genlab_core::train::NoObserver;
    use genlab_lm::llama::{SyntheticSpec, synthetic_gguf};
    use genlab_lm::{Gguf, Tokenizer};

    pub(crate) fn tiny() -> (Llama, Tokenizer) {
        let g = Gguf::parse(
            Path::new("t.gguf"),
            synthetic_gguf(SyntheticSpec::default(), 1),
        )
        .unwrap();
        (
            Llama::from_gguf(&g, &device()).unwrap(),
            Tokenizer::from_gguf(&g).unwrap(),
        )
    }

    #[test]
    fn shards_hold_the_non_bos_rows_of_each_sequence_in_order() {
        let (model, tok) = tiny();
        let text = "the cat and the hat sat in the sun and ran off. ".repeat(30);
        let seqs = Sequences::new(&tok, &text, 8, 3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = ExtractConfig {
            layer: 1,
            tokens: 30,
            batch: 2,
            shard_rows: 12,
        };
        let m = extract(
            &model,
            "tiny",
            &seqs,
            "text",
            3,
            &config,
            dir.path(),
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!((m.tokens, m.sequences, m.d), (30, 5, 32));
        assert_eq!(
            m.shards,
            vec![
                "acts-00000.safetensors",
                "acts-00001.safetensors",
                "acts-00002.safetensors"
            ]
        );
        let files = open_files(dir.path()).unwrap();
        assert_eq!(
            files.iter().map(|f| f.rows).collect::<Vec<_>>(),
            vec![12, 12, 6]
        );
        let mut rows = Vec::new();
        for_each_chunk(&files, 7, usize::MAX, |c| {
            rows.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        // Row j of sequence i is r₁ at position j + 1 of sequence i, run alone.
        let d = 32;
        for (i, s) in seqs.front(5).unwrap().iter().enumerate() {
            let r = model.residual(s, 1, 1).unwrap();
            for j in 0..7 {
                let row = i * 7 + j;
                if row >= 30 {
                    break;
                }
                let got = &rows[row * d..(row + 1) * d];
                let want = &r[(j + 1) * d..(j + 2) * d];
                let diff = got
                    .iter()
                    .zip(want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(diff < 1e-5, "sequence {i} position {}", j + 1);
            }
        }
        let back: Manifest = genlab_core::fsx::read_json(&dir.path().join(MANIFEST)).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn bad_requests_are_refused() {
        let (model, tok) = tiny();
        let seqs = Sequences::new(&tok, &"the sun and the hat ".repeat(10), 8, 0).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run = |config: &ExtractConfig| {
            extract(
                &model,
                "m",
                &seqs,
                "c",
                0,
                config,
                dir.path(),
                &mut NoObserver,
            )
        };
        let mut config = ExtractConfig {
            layer: 3,
            tokens: 10,
            batch: 2,
            shard_rows: 100,
        };
        let e = run(&config).unwrap_err();
        assert!(e.to_string().contains("layers 0..=2"), "{e}");
        config.layer = 0;
        config.tokens = 10_000;
        let e = run(&config).unwrap_err();
        assert!(e.to_string().contains("the corpus has"), "{e}");
        config.tokens = 10;
        run(&config).unwrap();
        std::fs::remove_file(dir.path().join(MANIFEST)).unwrap();
        let e = run(&config).unwrap_err();
        assert!(
            e.to_string()
                .contains("already holds activations (acts-00000"),
            "{e}"
        );
    }
}
