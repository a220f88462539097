//! The feature store: projected features written as safetensors chunks with a manifest, by
//! independent shard processes, and gathered into one matrix.
//!
//! ```text
//! STORE/manifest.json                      config (JSON), its SHA-256, rows, k, batch
//! STORE/rows-{start:09}-{end:09}.safetensors   tensor "features" [end − start, k]; metadata
//!                                          config_hash, start, end
//! STORE/rows-{start:09}-{end:09}.done      written (atomically) after the chunk
//! ```
//!
//! - **Shards.** `--shard i/n` owns the contiguous batches ⌊i·B/n⌋ … ⌊(i+1)·B/n⌋ − 1 of the
//!   B = ⌈rows / batch⌉ batches. Shards are cut at batch boundaries, so every example is
//!   computed in the same batch as by a single process and the gathered features are
//!   bit-identical to it (tested with 1 vs 3 shards). Any scheduler can run the shards: one
//!   SLURM array task, Ray task or GNU-parallel job per i, e.g.
//!   `sbatch --array=0-15 --wrap 'genlab attribution featurize … --shard $SLURM_ARRAY_TASK_ID/16'`.
//! - **Bounded memory, resume.** A shard is written as chunks of at most `chunk` batches; only
//!   one chunk is in memory. A chunk with its `.done` marker and the store's hash is skipped on
//!   rerun, so a killed run keeps its finished chunks and redoes the rest.
//! - **Gather** refuses chunks of another configuration, gaps (missing shards) and overlaps
//!   (duplicate shards), each with a one-line error, and returns the rows in order.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use genlab_core::Error;
use genlab_core::fsx::{atomic_write, read_json, write_json};
use genlab_core::train::Observer;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::attributors::Features;
use crate::error::{AttributionError, Result};

/// The manifest file name.
pub const MANIFEST: &str = "manifest.json";

/// `--shard i/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, 0-based.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The whole job as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with 0 ≤ i < n.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error::from(AttributionError::BadShard(s.into()));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The rows this shard owns out of `rows`, cut at multiples of `batch`.
    pub fn rows(&self, rows: usize, batch: usize) -> Range<usize> {
        let batch = batch.max(1);
        let nb = rows.div_ceil(batch);
        let (b0, b1) = (
            self.index * nb / self.count,
            (self.index + 1) * nb / self.count,
        );
        (b0 * batch).min(rows)..(b1 * batch).min(rows)
    }
}

/// What every shard of one store agrees on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The featurisation configuration (model, data, output function, projector, …).
    pub config: serde_json::Value,
    /// SHA-256 of `config`'s JSON text.
    pub config_hash: String,
    /// Total rows.
    pub rows: usize,
    /// Feature width k.
    pub k: usize,
    /// Examples per batch (shards are cut at its multiples).
    pub batch: usize,
}

impl Manifest {
    /// The manifest of a store of `rows × k` features computed in batches of `batch`.
    pub fn new(config: serde_json::Value, rows: usize, k: usize, batch: usize) -> Manifest {
        let text = serde_json::to_string(&config).unwrap_or_default();
        let config_hash = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Manifest {
            config,
            config_hash,
            rows,
            k,
            batch: batch.max(1),
        }
    }
}

/// SHA-256 (hex) of the files' bytes, concatenated: how a store names its model and data.
pub fn sha256_files(paths: &[PathBuf]) -> Result<String> {
    let mut h = Sha256::new();
    for p in paths {
        h.update(std::fs::read(p).map_err(|e| Error::io(p, e))?);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn chunk_name(r: &Range<usize>) -> String {
    format!("rows-{:09}-{:09}", r.start, r.end)
}

/// Writes this shard's chunks of `manifest`'s features into `dir`, skipping finished ones.
/// `compute(range)` returns the `range.len() × k` features of those rows; it is always called
/// on whole batches starting at a multiple of the batch size. `chunk` is the most batches per
/// chunk file. Returns the number of rows computed (0 when everything was already done).
pub fn featurize_shard(
    dir: &Path,
    manifest: &Manifest,
    shard: Shard,
    chunk: usize,
    observer: &mut dyn Observer,
    mut compute: impl FnMut(Range<usize>) -> Result<Vec<f32>>,
) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mpath = dir.join(MANIFEST);
    if mpath.exists() {
        let old: Manifest = read_json(&mpath)?;
        if old.config_hash != manifest.config_hash {
            return Err(Error::InvalidInput(format!(
                "{} holds features of another configuration (model, data, output function, \
                 projector or seed differ: hash {} vs {}); use a new --out or the same settings",
                dir.display(),
                &old.config_hash[..12],
                &manifest.config_hash[..12]
            )));
        }
    } else {
        write_json(&mpath, manifest)?;
    }
    let own = shard.rows(manifest.rows, manifest.batch);
    let step = manifest.batch * chunk.max(1);
    let chunks: Vec<Range<usize>> = (own.start..own.end)
        .step_by(step)
        .map(|s| s..(s + step).min(own.end))
        .collect();
    observer.start(
        &format!("featurise rows {}..{}", own.start, own.end),
        chunks.len() as u64,
    );
    let mut computed = 0;
    for (j, r) in chunks.iter().enumerate() {
        let name = chunk_name(r);
        let done = dir.join(format!("{name}.done"));
        if done.exists()
            && std::fs::read_to_string(&done).is_ok_and(|h| h.trim() == manifest.config_hash)
        {
            observer.step(j as u64 + 1, &[]);
            continue;
        }
        let values = compute(r.clone())?;
        crate::error::check_len(
            "computed feature values",
            r.len() * manifest.k,
            values.len(),
        )?;
        write_chunk(
            &dir.join(format!("{name}.safetensors")),
            &values,
            r,
            manifest,
        )?;
        atomic_write(&done, manifest.config_hash.as_bytes())?;
        computed += r.len();
        observer.step(j as u64 + 1, &[]);
    }
    observer.finish();
    Ok(computed)
}

fn write_chunk(path: &Path, values: &[f32], r: &Range<usize>, m: &Manifest) -> Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F32, vec![r.len(), m.k], &bytes)
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    let meta: HashMap<String, String> = [
        ("config_hash".to_string(), m.config_hash.clone()),
        ("start".to_string(), r.start.to_string()),
        ("end".to_string(), r.end.to_string()),
    ]
    .into();
    let out = safetensors::serialize([("features", view)], Some(meta))
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    atomic_write(path, &out)
}

/// A matrix read from safetensors: rows, columns, row-major values, file metadata.
pub type Matrix = (usize, usize, Vec<f32>, HashMap<String, String>);

/// Reads one `name` f32 matrix `[rows, cols]` from a safetensors file, with its metadata.
pub fn read_matrix(path: &Path, name: &str) -> Result<Matrix> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| Error::parse(path, None, format!("not safetensors: {e}")))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::parse(path, None, format!("not safetensors: {e}")))?;
    let t = st
        .tensor(name)
        .map_err(|_| Error::parse(path, None, format!("no tensor `{name}`")))?;
    if t.dtype() != Dtype::F32 || t.shape().len() != 2 {
        return Err(Error::parse(
            path,
            None,
            format!("`{name}` must be a 2-D f32 tensor"),
        ));
    }
    let (r, c) = (t.shape()[0], t.shape()[1]);
    let v = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok((r, c, v, meta.metadata().clone().unwrap_or_default()))
}

/// Writes a `[rows, cols]` f32 matrix called `name` to a safetensors file (atomically).
pub fn write_matrix(
    path: &Path,
    name: &str,
    rows: usize,
    cols: usize,
    values: &[f32],
    meta: HashMap<String, String>,
) -> Result<()> {
    crate::error::check_len("matrix values", rows * cols, values.len())?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F32, vec![rows, cols], &bytes)
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    let out = safetensors::serialize([(name, view)], Some(meta))
        .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
    atomic_write(path, &out)
}

/// Checks the store in `dir` (one configuration, every row covered exactly once) and returns
/// its features in row order with the manifest.
pub fn gather(dir: &Path) -> Result<(Features, Manifest)> {
    let mpath = dir.join(MANIFEST);
    if !mpath.exists() {
        return Err(Error::InvalidInput(format!(
            "{}: not a feature store (no {MANIFEST}); run `genlab attribution featurize` first",
            dir.display()
        )));
    }
    let manifest: Manifest = read_json(&mpath)?;
    let mut chunks: Vec<(usize, usize, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if let Some(stem) = name.strip_suffix(".done") {
            let hash = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            if hash.trim() != manifest.config_hash {
                return Err(AttributionError::MixedConfig {
                    shard: name,
                    expected: manifest.config_hash.clone(),
                    found: hash.trim().into(),
                }
                .into());
            }
            let parts: Vec<&str> = stem.split('-').collect();
            let (s, e) = match parts.as_slice() {
                ["rows", s, e] => (s.parse().ok(), e.parse().ok()),
                _ => (None, None),
            };
            if let (Some(s), Some(e)) = (s, e) {
                chunks.push((s, e, dir.join(format!("{stem}.safetensors"))));
            }
        }
    }
    chunks.sort();
    let mut data = Vec::with_capacity(manifest.rows * manifest.k);
    let mut next = 0;
    for (j, (s, e, path)) in chunks.iter().enumerate() {
        if *s > next {
            return Err(AttributionError::MissingRows {
                start: next,
                end: *s,
            }
            .into());
        }
        if *s < next {
            let prev = &chunks[j - 1];
            return Err(AttributionError::Overlap {
                a: chunk_name(&(prev.0..prev.1)),
                b: chunk_name(&(*s..*e)),
                start: *s,
                end: next.min(*e),
            }
            .into());
        }
        let (r, c, v, meta) = read_matrix(path, "features")?;
        if meta.get("config_hash") != Some(&manifest.config_hash) {
            return Err(AttributionError::MixedConfig {
                shard: path.display().to_string(),
                expected: manifest.config_hash.clone(),
                found: meta.get("config_hash").cloned().unwrap_or_default(),
            }
            .into());
        }
        crate::error::check_len(&format!("{}: rows", path.display()), e - s, r)?;
        crate::error::check_len(&format!("{}: feature width", path.display()), manifest.k, c)?;
        data.extend(v);
        next = *e;
    }
    if next < manifest.rows {
        return Err(AttributionError::MissingRows {
            start: next,
            end: manifest.rows,
        }
        .into());
    }
    Ok((Features::new(manifest.rows, manifest.k, data)?, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::testing::scratch;
    use genlab_core::train::NoObserver;

    fn fake(r: Range<usize>) -> Result<Vec<f32>> {
        Ok(
            r.flat_map(|i| (0..3).map(move |j| (i * 10 + j) as f32 * 0.1))
                .collect(),
        )
    }

    #[test]
    fn shards_cover_every_batch_once() {
        for (rows, batch, n) in [(100, 7, 3), (10, 4, 5), (5, 10, 2)] {
            let mut next = 0;
            for i in 0..n {
                let r = Shard { index: i, count: n }.rows(rows, batch);
                assert_eq!(r.start, next);
                assert!(r.start % batch == 0 || r.start == rows);
                next = r.end;
            }
            assert_eq!(next, rows);
        }
        assert!(
            Shard::parse("3/3").is_err()
                && Shard::parse("x").is_err()
                && Shard::parse("1/0").is_err()
        );
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
    }

    #[test]
    fn resume_redoes_only_unfinished_chunks_and_gather_checks_the_store() {
        let (_tmp, dir) = scratch("store");
        let m = Manifest::new(serde_json::json!({"model": "a"}), 50, 3, 4);
        // A run killed after two chunks.
        let mut calls = 0;
        let killed = featurize_shard(&dir, &m, Shard::ALL, 2, &mut NoObserver, |r| {
            calls += 1;
            if calls == 3 {
                Err(Error::InvalidInput("killed".into()))
            } else {
                fake(r)
            }
        });
        assert!(killed.is_err());
        assert!(gather(&dir).unwrap_err().to_string().contains("missing"));
        let redone = featurize_shard(&dir, &m, Shard::ALL, 2, &mut NoObserver, fake).unwrap();
        assert_eq!(
            redone,
            50 - 16,
            "the two finished chunks (16 rows) are kept"
        );
        let (f, _) = gather(&dir).unwrap();
        assert_eq!(f.data, fake(0..50).unwrap());
        // Another configuration cannot write into this store.
        let other = Manifest::new(serde_json::json!({"model": "b"}), 50, 3, 4);
        let err = featurize_shard(&dir, &other, Shard::ALL, 2, &mut NoObserver, fake).unwrap_err();
        assert!(err.to_string().contains("another configuration"), "{err}");
        // A duplicate shard (overlapping rows) is refused.
        write_chunk(
            &dir.join("rows-000000004-000000012.safetensors"),
            &fake(4..12).unwrap(),
            &(4..12),
            &m,
        )
        .unwrap();
        atomic_write(
            &dir.join("rows-000000004-000000012.done"),
            m.config_hash.as_bytes(),
        )
        .unwrap();
        assert!(gather(&dir).unwrap_err().to_string().contains("overlap"));
    }
}
