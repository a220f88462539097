//! Module weights on disk: one burn record file per module, written atomically.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::error::{Error, Result};
use crate::fsx;

/// Writes `module`'s weights to `path` (temp file + rename).
pub fn save_weights<M: Module>(module: &M, path: &Path) -> Result<()> {
    let bytes = module
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| Error::Checkpoint {
            path: path.to_path_buf(),
            msg: e.to_string(),
        })?;
    fsx::atomic_write(path, &bytes)
}

/// Loads weights written by [`save_weights`] into `module` (which fixes the architecture).
pub fn load_weights<M: Module>(module: M, path: &Path) -> Result<M> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |e: burn::store::RecordError| Error::Checkpoint {
        path: path.to_path_buf(),
        msg: e.to_string(),
    };
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(bad)?;
    module.try_load_record(record).map_err(bad)
}
