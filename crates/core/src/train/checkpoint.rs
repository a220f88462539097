//! Atomic, resumable checkpoints.
//!
//! A checkpoint is ONE file (`checkpoint.bin`) written with temp-file + rename, so a kill at any
//! moment leaves either the previous checkpoint or the new one, never a mixture. It holds a JSON
//! header (step, RNG state, metric history, the caller's metadata) and named binary [`Blobs`]
//! (burnpack records of every model, its EMA and its optimiser state, or a hand-gradient
//! trainer's buffers).
//!
//! ```text
//! "GLCKPT02" | u64 header_len | header JSON | repeat { u32 name_len | name | u64 len | bytes }
//! ```
//!
//! Version 02 replaced 01's loss list with the named metric history; a 01 file is refused with
//! a message rather than misread.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::seed::RngState;
use super::trainer::History;
use crate::error::{Error, Result};
use crate::fsx;
use crate::limits::excerpt;

/// The file name of a checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

const MAGIC: &[u8; 8] = b"GLCKPT02";
const MAGIC_V1: &[u8; 8] = b"GLCKPT01";

/// Named binary records of a checkpoint, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blobs(Vec<(String, Vec<u8>)>);

impl Blobs {
    /// Adds the record `name`; names must be unique within a checkpoint.
    pub fn put(&mut self, name: &str, bytes: Vec<u8>) -> Result<()> {
        if self.0.iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidInput(format!(
                "checkpoint record `{name}` written twice (two parts of the state share a name)"
            )));
        }
        self.0.push((name.to_string(), bytes));
        Ok(())
    }

    /// The record `name`, or an error naming it.
    pub fn get(&self, name: &str) -> Result<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .ok_or_else(|| Error::InvalidInput(format!("checkpoint has no `{name}` record")))
    }

    /// Adds `values` as little-endian `f32`s.
    pub fn put_f32s(&mut self, name: &str, values: &[f32]) -> Result<()> {
        self.put(name, values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// Reads a record written by [`Blobs::put_f32s`].
    pub fn get_f32s(&self, name: &str) -> Result<Vec<f32>> {
        let bytes = self.get(name)?;
        if bytes.len() % 4 != 0 {
            return Err(Error::InvalidInput(format!(
                "checkpoint record `{name}` is not a list of f32"
            )));
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Adds `value` as JSON (small state: counters, thresholds, cursors).
    pub fn put_json<T: Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::InvalidInput(format!("cannot encode `{name}`: {e}")))?;
        self.put(name, bytes)
    }

    /// Reads a record written by [`Blobs::put_json`].
    pub fn get_json<T: for<'de> Deserialize<'de>>(&self, name: &str) -> Result<T> {
        serde_json::from_slice(self.get(name)?)
            .map_err(|e| Error::InvalidInput(format!("checkpoint record `{name}`: {e}")))
    }

    /// The record names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(n, _)| n.as_str())
    }
}

/// Everything needed to continue a run exactly where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Number of completed optimisation steps.
    pub step: u64,
    /// Host RNG state after `step` steps.
    pub rng: RngState,
    /// Metric history so far.
    pub history: History,
    /// Caller-defined metadata (e.g. the training config), checked on resume.
    pub meta: serde_json::Value,
    /// Named binary records of the state.
    pub blobs: Blobs,
}

#[derive(Serialize, Deserialize)]
struct Header {
    step: u64,
    rng: RngState,
    history: History,
    meta: serde_json::Value,
}

impl Checkpoint {
    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = serde_json::to_vec(&Header {
            step: self.step,
            rng: self.rng,
            history: self.history.clone(),
            meta: self.meta.clone(),
        })
        .map_err(|e| self.error(path, format!("cannot encode header: {e}")))?;
        let blob_bytes: usize = self
            .blobs
            .0
            .iter()
            .map(|(n, b)| 12 + n.len() + b.len())
            .sum();
        let mut out = Vec::with_capacity(16 + header.len() + blob_bytes);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        for (name, bytes) in &self.blobs.0 {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        fsx::atomic_write(path, &out)
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |msg: &str| Error::Checkpoint {
            path: path.to_path_buf(),
            msg: msg.to_string(),
        };
        let mut r = Reader {
            bytes: &bytes,
            pos: 0,
        };
        match r.take(8).ok_or_else(|| bad("file too short"))? {
            m if m == MAGIC => {}
            m if m == MAGIC_V1 => {
                return Err(bad(
                    "was written by an older genlab (format 01); start a new run without --resume",
                ));
            }
            _ => return Err(bad("not a genlab checkpoint (bad magic)")),
        }
        let header_len = r.u64().ok_or_else(|| bad("truncated header length"))? as usize;
        let header = r.take(header_len).ok_or_else(|| bad("truncated header"))?;
        let header: Header =
            serde_json::from_slice(header).map_err(|e| bad(&format!("corrupt header: {e}")))?;
        let mut blobs = Blobs::default();
        // A set beside the list: `put`'s linear duplicate check made a file of a million tiny
        // records quadratic to load.
        let mut seen = std::collections::HashSet::new();
        while r.pos < bytes.len() {
            let name_len = r.u32().ok_or_else(|| bad("truncated blob name length"))? as usize;
            let name = r.take(name_len).ok_or_else(|| bad("truncated blob name"))?;
            let name = String::from_utf8(name.to_vec()).map_err(|_| bad("blob name not UTF-8"))?;
            let len = r.u64().ok_or_else(|| bad("truncated blob length"))? as usize;
            let data = r
                .take(len)
                .ok_or_else(|| bad(&format!("blob {} truncated", excerpt(&format!("{name:?}")))))?;
            if !seen.insert(name.clone()) {
                return Err(bad(&format!(
                    "record {} appears twice",
                    excerpt(&format!("{name:?}"))
                )));
            }
            blobs.0.push((name, data.to_vec()));
        }
        Ok(Checkpoint {
            step: header.step,
            rng: header.rng,
            history: header.history,
            meta: header.meta,
            blobs,
        })
    }

    /// `dir/checkpoint.bin`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(CHECKPOINT_FILE)
    }

    fn error(&self, path: &Path, msg: String) -> Error {
        Error::Checkpoint {
            path: path.to_path_buf(),
            msg,
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            step: 12,
            rng: RngState {
                seed: 3,
                word_pos: 99,
            },
            history: History {
                names: vec!["loss".into()],
                rows: vec![(1, vec![0.5]), (2, vec![0.25])],
            },
            meta: serde_json::json!({"lr": 0.001}),
            blobs: Blobs(vec![
                ("model".into(), vec![1, 2, 3]),
                ("optim".into(), vec![]),
            ]),
        }
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = Checkpoint::path_in(dir.path());
        sample().save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap(), sample());
    }

    #[test]
    fn blobs_round_trip_and_refuse_duplicates() {
        let mut b = Blobs::default();
        b.put_f32s("w", &[1.5, -2.0, f32::MIN_POSITIVE]).unwrap();
        b.put_json("cursor", &(3u64, "x")).unwrap();
        assert_eq!(b.get_f32s("w").unwrap(), vec![1.5, -2.0, f32::MIN_POSITIVE]);
        assert_eq!(
            b.get_json::<(u64, String)>("cursor").unwrap(),
            (3, "x".into())
        );
        assert!(
            b.put("w", vec![])
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        assert!(b.get("nope").unwrap_err().to_string().contains("`nope`"));
    }

    #[test]
    fn older_format_is_refused_with_a_message() {
        let dir = tempfile::tempdir().unwrap();
        let p = Checkpoint::path_in(dir.path());
        std::fs::write(&p, b"GLCKPT01\0\0\0\0\0\0\0\0").unwrap();
        let err = Checkpoint::load(&p).unwrap_err().to_string();
        assert!(err.contains("older genlab"), "{err}");
    }

    #[test]
    fn truncated_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = Checkpoint::path_in(dir.path());
        sample().save(&p).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        for cut in [0, 5, 12, bytes.len() - 1] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let err = Checkpoint::load(&p).unwrap_err().to_string();
            assert!(err.starts_with("checkpoint "), "{err}");
        }
    }
}
