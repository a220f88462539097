//! Atomic, resumable checkpoints.
//!
//! A checkpoint is ONE file (`checkpoint.bin`) written with temp-file + rename, so a kill at any
//! moment leaves either the previous checkpoint or the new one, never a mixture. It holds a JSON
//! header (step, RNG state, loss history, the caller's metadata) and named binary blobs (burnpack
//! records of the model, its EMA and the optimizer state).
//!
//! ```text
//! "GLCKPT01" | u64 header_len | header JSON | repeat { u32 name_len | name | u64 len | bytes }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::seed::RngState;
use crate::error::{Error, Result};
use crate::fsx;

/// The file name of a checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

const MAGIC: &[u8; 8] = b"GLCKPT01";

/// Everything needed to continue a run exactly where it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Number of completed optimisation steps.
    pub step: u64,
    /// Host RNG state after `step` steps.
    pub rng: RngState,
    /// `(step, loss)` history so far.
    pub losses: Vec<(u64, f64)>,
    /// Caller-defined metadata (e.g. the training config), checked on resume.
    pub meta: serde_json::Value,
    /// Named binary records: `model`, `optim`, `ema`, ...
    pub blobs: Vec<(String, Vec<u8>)>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    step: u64,
    rng: RngState,
    losses: Vec<(u64, f64)>,
    meta: serde_json::Value,
}

impl Checkpoint {
    /// The blob called `name`.
    pub fn blob(&self, name: &str) -> Option<&[u8]> {
        self.blobs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = serde_json::to_vec(&Header {
            step: self.step,
            rng: self.rng,
            losses: self.losses.clone(),
            meta: self.meta.clone(),
        })
        .map_err(|e| self.error(path, format!("cannot encode header: {e}")))?;
        let blob_bytes: usize = self.blobs.iter().map(|(n, b)| 12 + n.len() + b.len()).sum();
        let mut out = Vec::with_capacity(16 + header.len() + blob_bytes);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        for (name, bytes) in &self.blobs {
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
        if r.take(8).ok_or_else(|| bad("file too short"))? != MAGIC {
            return Err(bad("not a genlab checkpoint (bad magic)"));
        }
        let header_len = r.u64().ok_or_else(|| bad("truncated header length"))? as usize;
        let header = r.take(header_len).ok_or_else(|| bad("truncated header"))?;
        let header: Header =
            serde_json::from_slice(header).map_err(|e| bad(&format!("corrupt header: {e}")))?;
        let mut blobs = Vec::new();
        while r.pos < bytes.len() {
            let name_len = r.u32().ok_or_else(|| bad("truncated blob name length"))? as usize;
            let name = r.take(name_len).ok_or_else(|| bad("truncated blob name"))?;
            let name = String::from_utf8(name.to_vec()).map_err(|_| bad("blob name not UTF-8"))?;
            let len = r.u64().ok_or_else(|| bad("truncated blob length"))? as usize;
            let data = r
                .take(len)
                .ok_or_else(|| bad(&format!("blob `{name}` truncated")))?;
            blobs.push((name, data.to_vec()));
        }
        Ok(Checkpoint {
            step: header.step,
            rng: header.rng,
            losses: header.losses,
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
            losses: vec![(1, 0.5), (2, 0.25)],
            meta: serde_json::json!({"lr": 0.001}),
            blobs: vec![("model".into(), vec![1, 2, 3]), ("optim".into(), vec![])],
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
