//! The activation store on disk, written by independent shard processes and gathered
//! (`shared/research/scale-out.md`):
//!
//! ```text
//! OUT/store.json               the store's configuration (model, layer, corpus, ctx, seed,
//!                              rows, batch, sequences per shard, …) and its hash
//! OUT/acts-{j:05}.safetensors  store shard j: F32 `acts` [rows_j, d], rows shuffled
//! OUT/acts-{j:05}.done         written (atomically) after the shard: the hash, rows, seconds
//! OUT/manifest.json            written by the gather once every shard is done
//! ```
//!
//! - **Shards.** `--shard i/n` owns the contiguous store shards ⌊i·J/n⌋ … ⌊(i+1)·J/n⌋ − 1 of
//!   the J store shards. A store shard is a function of the configuration and its index only
//!   (its sequences, its forward batches, its permutation), so any split into processes writes
//!   the same bytes as one process (tested with 1 vs 3 shards).
//! - **Resume.** A store shard whose `.done` holds the store's hash is skipped on rerun.
//! - **Gather** refuses a store of another configuration, `.done` markers of another hash, and
//!   missing shards, each with a one-line error, then writes the manifest.

use std::path::Path;

use serde::{Deserialize, Serialize};

use genlab_core::fsx::{atomic_write, read_json, write_json};
use genlab_core::{Error, Result};

/// The configuration file of a store.
pub const STORE: &str = "store.json";

/// `--shard i/n`: one of n independent parts of an extraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This part, 0-based.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
}

impl Shard {
    /// The whole extraction as one part.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with 0 ≤ i < n.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || {
            Error::InvalidInput(format!(
                "--shard {:?}: expected i/n with 0 ≤ i < n (e.g. 0/4)",
                genlab_core::limits::excerpt(s)
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The store shards this part owns out of `total`.
    pub fn owned(&self, total: usize) -> std::ops::Range<usize> {
        self.index * total / self.count..(self.index + 1) * total / self.count
    }
}

/// What every shard of one store agrees on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Model file name.
    pub model: String,
    /// The model's shapes (a different model of the same name is another store).
    pub model_config: serde_json::Value,
    /// Layer ℓ.
    pub layer: usize,
    /// Corpus name or path.
    pub corpus: String,
    /// Tokens per sequence, BOS included.
    pub ctx: usize,
    /// Seed of the sequence order and of the row shuffles.
    pub seed: u64,
    /// Rows N in all.
    pub tokens: usize,
    /// Sequences per forward pass.
    pub batch: usize,
    /// Sequences per store shard.
    pub sequences_per_shard: usize,
    /// Store shards J.
    pub shards: usize,
    /// The BOS id.
    pub bos: u32,
    /// Row width d.
    pub d: usize,
}

/// A store's configuration and its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Store {
    /// The configuration.
    pub config: StoreConfig,
    /// FNV-1a (64-bit, hex) of the configuration's JSON text.
    pub config_hash: String,
}

impl Store {
    /// The store of `config`.
    pub fn new(config: StoreConfig) -> Store {
        let text = serde_json::to_string(&config).unwrap_or_default();
        Store {
            config_hash: format!("{:016x}", fnv1a(text.as_bytes())),
            config,
        }
    }

    /// Writes `OUT/store.json`, or checks that the one there is this store.
    pub fn claim(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(STORE);
        if path.exists() {
            let old: Store = read_json(&path)?;
            if old.config_hash != self.config_hash {
                return Err(Error::InvalidInput(format!(
                    "{} holds activations of another configuration (model, layer, corpus, ctx, \
                     seed, tokens, batch or shard size differ: hash {} vs {}); use a new --out \
                     or the same settings",
                    dir.display(),
                    old.config_hash,
                    self.config_hash
                )));
            }
            return Ok(());
        }
        if let Some(old) = activation_file_in(dir)? {
            return Err(Error::InvalidInput(format!(
                "{} already holds activations ({old}); choose another --out",
                dir.display()
            )));
        }
        write_json(&path, self)
    }
}

/// The name of some `.safetensors` / `.npy` file in `dir`, if any.
fn activation_file_in(dir: &Path) -> Result<Option<String>> {
    Ok(std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".safetensors") || n.ends_with(".npy")))
}

/// File stem of store shard `j`.
pub fn shard_name(j: usize) -> String {
    format!("acts-{j:05}")
}

/// The `.done` record of a finished store shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// The store's hash.
    pub config_hash: String,
    /// Rows written.
    pub rows: usize,
    /// Tokens run through the model (BOS included).
    pub tokens_run: usize,
    /// Seconds the shard took.
    pub seconds: f64,
}

/// The `.done` record of store shard `j` in `dir` when it belongs to `store`.
pub fn done(dir: &Path, j: usize, store: &Store) -> Option<Done> {
    let path = dir.join(format!("{}.done", shard_name(j)));
    let d: Done = read_json(&path).ok()?;
    (d.config_hash == store.config_hash).then_some(d)
}

/// Marks store shard `j` finished.
pub fn mark_done(dir: &Path, j: usize, record: &Done) -> Result<()> {
    let path = dir.join(format!("{}.done", shard_name(j)));
    let text = serde_json::to_vec(record).map_err(|e| Error::InvalidInput(e.to_string()))?;
    atomic_write(&path, &text)
}

/// The store in `dir` and every shard's `.done` record, refusing a missing or foreign shard.
pub fn check_complete(dir: &Path) -> Result<(Store, Vec<Done>)> {
    let path = dir.join(STORE);
    if !path.exists() {
        return Err(Error::InvalidInput(format!(
            "{}: not an activation store (no {STORE}); run `genlab sae acts` first",
            dir.display()
        )));
    }
    let store: Store = read_json(&path)?;
    let mut records = Vec::with_capacity(store.config.shards);
    let mut missing = Vec::new();
    for j in 0..store.config.shards {
        let dpath = dir.join(format!("{}.done", shard_name(j)));
        if !dpath.exists() {
            missing.push(j);
            continue;
        }
        let d: Done = read_json(&dpath)?;
        if d.config_hash != store.config_hash {
            return Err(Error::InvalidInput(format!(
                "{} belongs to another configuration (hash {} vs the store's {}); remove it and \
                 rerun its shard",
                dpath.display(),
                d.config_hash,
                store.config_hash
            )));
        }
        records.push(d);
    }
    if !missing.is_empty() {
        let listed: Vec<String> = missing.iter().take(8).map(|j| j.to_string()).collect();
        return Err(Error::InvalidInput(format!(
            "{}: {} of {} store shards are not done (e.g. {}); run the missing `--shard i/n` parts",
            dir.display(),
            missing.len(),
            store.config.shards,
            listed.join(", ")
        )));
    }
    Ok((store, records))
}

/// FNV-1a, 64-bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A seed for store shard `j`'s row permutation, mixed from the store's seed (SplitMix64).
pub fn shard_seed(seed: u64, j: usize) -> u64 {
    let mut z = seed ^ (j as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_cover_every_store_shard_once() {
        assert_eq!(Shard::parse("2/5").unwrap(), Shard { index: 2, count: 5 });
        for bad in ["5/5", "1", "a/2", "0/0", "-1/3"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--shard"), "{bad}: {e}");
        }
        for (total, n) in [(7, 3), (2, 5), (10, 10), (1, 1)] {
            let mut seen = Vec::new();
            for i in 0..n {
                seen.extend(Shard { index: i, count: n }.owned(total));
            }
            assert_eq!(seen, (0..total).collect::<Vec<_>>(), "{total} / {n}");
        }
    }

    #[test]
    fn hash_follows_the_configuration() {
        let c = StoreConfig {
            model: "m".into(),
            model_config: serde_json::json!({"d": 4}),
            layer: 1,
            corpus: "c".into(),
            ctx: 8,
            seed: 0,
            tokens: 10,
            batch: 2,
            sequences_per_shard: 3,
            shards: 1,
            bos: 1,
            d: 4,
        };
        let a = Store::new(c.clone());
        assert_eq!(a, Store::new(c.clone()));
        assert_ne!(
            a.config_hash,
            Store::new(StoreConfig { seed: 1, ..c }).config_hash
        );
        assert_ne!(shard_seed(0, 0), shard_seed(0, 1));
        assert_ne!(shard_seed(0, 0), shard_seed(1, 0));
    }
}
