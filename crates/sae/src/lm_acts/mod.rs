//! Residual-stream activations of a real language model, written as an activation store that
//! [`crate::acts::open_files`] streams, by one process or by independent shard processes
//! ([`store`]).
//!
//! ```text
//! sequences  S_1 … S_n = the first n = ⌈N / (T−1)⌉ sequences of the corpus      [crate::corpus]
//!            (BOS + T−1 tokens each, in a seeded random order of the whole corpus)
//! rows       r_ℓ(S_i)[t] for t = 1 … T−1: the residual stream after ℓ blocks   [genlab_lm::llama]
//!            (the BOS position t = 0 is dropped: its activation is an attention-sink outlier
//!            with a norm far above every other position's, and is not a property of the text);
//!            row index i·(T−1) + t − 1, the first N kept
//! shards     store shard j holds the rows of sequences j·q … (j+1)·q − 1,
//!            q = max(1, ⌊shard_rows / (T−1)⌋), run through the model in forward batches of
//!            `batch` sequences counted from the shard's first sequence, and written in the
//!            order of a seeded permutation π_j of its rows (seed mixed from (seed, j))
//! store      OUT/acts-00000.safetensors, …: one F32 tensor `acts` [rows, d] per shard;
//!            OUT/store.json, OUT/acts-*.done, OUT/manifest.json ([`store`])
//! ```
//!
//! **Shuffled by construction.** No shard is in corpus order: consecutive rows of a shard come
//! from different sequences and positions (π_j mixes the ~q sequences of the shard), and the
//! sequences themselves are a seeded random draw from the whole corpus. The trainer's chunk
//! shuffle ([`crate::acts::FileStream`]) then mixes rows across chunks of its own. What is not
//! done is a global permutation across shards, which would need every shard's rows at once.
//!
//! The forward pass stops after block ℓ (no later block and no vocabulary projection runs).

pub mod store;

use std::path::Path;
use std::time::Instant;

use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde::{Deserialize, Serialize};

use genlab_core::fsx::{atomic_write, write_json};
use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};
use genlab_lm::Llama;

use crate::corpus::Sequences;
pub use store::{Shard, Store, StoreConfig};

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
    /// Rows per shard file (rounded down to whole sequences, at least one).
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
    /// Seed of the sequence order and the row shuffles.
    pub seed: u64,
    /// Shard files, in order.
    pub shards: Vec<String>,
    /// Extraction throughput (tokens through the model per second, BOS included, summed over
    /// the shards' own times).
    pub tokens_per_second: f64,
    /// The store's configuration hash (empty for stores written before shuffling).
    #[serde(default)]
    pub config_hash: String,
}

/// What one `--shard i/n` run did.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRun {
    /// The store.
    pub store: Store,
    /// Store shards this part owns.
    pub owned: std::ops::Range<usize>,
    /// Of those, the ones computed now (the others were already done).
    pub computed: usize,
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

/// The store `config` describes on `model` and the front of `seqs`.
pub fn plan(
    model: &Llama,
    model_name: &str,
    seqs: &Sequences,
    corpus: &str,
    seed: u64,
    config: &ExtractConfig,
) -> Result<Store> {
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
    let per_seq = seqs.ctx - 1;
    let n_seq = config.tokens.div_ceil(per_seq);
    seqs.front(n_seq)?;
    let q = (config.shard_rows / per_seq).max(1);
    Ok(Store::new(StoreConfig {
        model: model_name.to_string(),
        model_config: serde_json::to_value(c).unwrap_or_default(),
        layer: config.layer,
        corpus: corpus.to_string(),
        ctx: seqs.ctx,
        seed,
        tokens: config.tokens,
        batch: config.batch,
        sequences_per_shard: q,
        shards: n_seq.div_ceil(q),
        bos: seqs.bos,
        d: c.d,
    }))
}

/// Runs `model` on the front of `seqs` and writes the whole layer-ℓ store to `out` (every
/// shard, then the manifest). `model_name` and `corpus` are recorded; `seed` is the one `seqs`
/// was ordered with. Shards already done in `out` (an interrupted run) are kept.
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
    let run = extract_shard(
        model,
        model_name,
        seqs,
        corpus,
        seed,
        config,
        out,
        Shard::ALL,
        observer,
    )?;
    debug_assert_eq!(run.owned.len(), run.store.config.shards);
    gather(out)
}

/// Writes the store shards `shard` owns (skipping those already done) to `out`.
#[allow(clippy::too_many_arguments)]
pub fn extract_shard(
    model: &Llama,
    model_name: &str,
    seqs: &Sequences,
    corpus: &str,
    seed: u64,
    config: &ExtractConfig,
    out: &Path,
    shard: Shard,
    observer: &mut dyn Observer,
) -> Result<ShardRun> {
    let store = plan(model, model_name, seqs, corpus, seed, config)?;
    store.claim(out)?;
    let sc = &store.config;
    let owned = shard.owned(sc.shards);
    let todo: Vec<usize> = owned
        .clone()
        .filter(|&j| store::done(out, j, &store).is_none())
        .collect();
    let batches: usize = todo
        .iter()
        .map(|&j| shard_sequences(sc, j).len().div_ceil(sc.batch))
        .sum();
    observer.start(
        &format!(
            "extract layer {} shards {}..{} of {}",
            sc.layer, owned.start, owned.end, sc.shards
        ),
        batches as u64,
    );
    let mut step = 0u64;
    for &j in &todo {
        let started = Instant::now();
        let rows = shard_rows(model, seqs, sc, j, &mut step, observer)?;
        let n = rows.len() / sc.d;
        let order = SeededRng::new(store::shard_seed(sc.seed, j)).permutation(n);
        let mut shuffled = Vec::with_capacity(rows.len());
        for &i in &order {
            shuffled.extend_from_slice(&rows[i * sc.d..(i + 1) * sc.d]);
        }
        write_shard(
            &out.join(format!("{}.safetensors", store::shard_name(j))),
            &shuffled,
            sc.d,
        )?;
        store::mark_done(
            out,
            j,
            &store::Done {
                config_hash: store.config_hash.clone(),
                rows: n,
                tokens_run: shard_sequences(sc, j).len() * sc.ctx,
                seconds: started.elapsed().as_secs_f64(),
            },
        )?;
    }
    observer.finish();
    Ok(ShardRun {
        computed: todo.len(),
        owned,
        store,
    })
}

/// The sequences (indices into the seeded order) of store shard `j`.
fn shard_sequences(sc: &StoreConfig, j: usize) -> std::ops::Range<usize> {
    let n_seq = sc.tokens.div_ceil(sc.ctx - 1);
    (j * sc.sequences_per_shard).min(n_seq)..((j + 1) * sc.sequences_per_shard).min(n_seq)
}

/// Store shard `j`'s rows in sequence order (before its permutation).
fn shard_rows(
    model: &Llama,
    seqs: &Sequences,
    sc: &StoreConfig,
    j: usize,
    step: &mut u64,
    observer: &mut dyn Observer,
) -> Result<Vec<f32>> {
    let (d, per_seq) = (sc.d, sc.ctx - 1);
    let range = shard_sequences(sc, j);
    let chosen = &seqs.front(range.end)?[range.clone()];
    let mut rows = Vec::with_capacity(chosen.len() * per_seq * d);
    let started = Instant::now();
    let mut seen = 0usize;
    for (b, batch) in chosen.chunks(sc.batch).enumerate() {
        if observer.should_stop() {
            return Err(Error::Interrupted {
                step: *step,
                checkpoint: None,
            });
        }
        let tokens: Vec<u32> = batch.concat();
        seen += tokens.len();
        let r = model.residual(&tokens, batch.len(), sc.layer)?;
        for (i, seq) in r.chunks_exact(sc.ctx * d).enumerate() {
            let first_row = (range.start + b * sc.batch + i) * per_seq;
            let keep = per_seq.min(sc.tokens.saturating_sub(first_row));
            rows.extend_from_slice(&seq[d..(1 + keep) * d]);
        }
        *step += 1;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        observer.step(
            *step,
            &[
                ("rows", (rows.len() / d) as f64),
                ("tok/s", seen as f64 / secs),
            ],
        );
    }
    Ok(rows)
}

/// Checks that every store shard in `out` is done and belongs to its store, and writes (and
/// returns) the manifest.
pub fn gather(out: &Path) -> Result<Manifest> {
    let (store, records) = store::check_complete(out)?;
    let sc = &store.config;
    let rows: usize = records.iter().map(|r| r.rows).sum();
    if rows != sc.tokens {
        return Err(Error::InvalidInput(format!(
            "{}: the shards hold {rows} rows, the store {}",
            out.display(),
            sc.tokens
        )));
    }
    let run: usize = records.iter().map(|r| r.tokens_run).sum();
    let seconds: f64 = records.iter().map(|r| r.seconds).sum();
    let manifest = Manifest {
        model: sc.model.clone(),
        layer: sc.layer,
        d: sc.d,
        corpus: sc.corpus.clone(),
        tokens: rows,
        ctx: sc.ctx,
        sequences: sc.tokens.div_ceil(sc.ctx - 1),
        bos: sc.bos,
        seed: sc.seed,
        shards: (0..sc.shards)
            .map(|j| format!("{}.safetensors", store::shard_name(j)))
            .collect(),
        tokens_per_second: run as f64 / seconds.max(1e-9),
        config_hash: store.config_hash.clone(),
    };
    write_json(&out.join(MANIFEST), &manifest)?;
    Ok(manifest)
}

#[cfg(test)]
pub(crate) mod tests;
