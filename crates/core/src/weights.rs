//! Module weights on disk: one burn record file per module, written atomically; and the model
//! directory the `train` commands write (`model.json`, the spec that rebuilds the network, beside
//! `weights.bpk`).

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::fsx;

/// The spec file of a model directory.
pub const MODEL_SPEC_FILE: &str = "model.json";
/// The weights file of a model directory.
pub const MODEL_WEIGHTS_FILE: &str = "weights.bpk";

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

/// Writes the model directory `dir`: `net`'s weights, then `spec`.
pub fn save_model<S: Serialize, M: Module>(dir: &Path, spec: &S, net: &M) -> Result<()> {
    save_weights(net, &dir.join(MODEL_WEIGHTS_FILE))?;
    fsx::write_json(&dir.join(MODEL_SPEC_FILE), spec)
}

/// Reads the model directory `dir` written by [`save_model`]: the spec, and the network `init`
/// builds from it with the saved weights. A directory without a spec is refused as not a
/// genlab `family` model (`genlab FAMILY train` makes one).
pub fn load_model<S: DeserializeOwned, M: Module>(
    dir: &Path,
    family: &str,
    init: impl FnOnce(&S) -> M,
) -> Result<(S, M)> {
    let spec_path = dir.join(MODEL_SPEC_FILE);
    if !spec_path.exists() {
        return Err(Error::InvalidInput(format!(
            "{} is not a genlab {family} model (no {MODEL_SPEC_FILE}); train one with `genlab {family} train`",
            dir.display()
        )));
    }
    let spec: S = fsx::read_json(&spec_path)?;
    let net = load_weights(init(&spec), &dir.join(MODEL_WEIGHTS_FILE))?;
    Ok((spec, net))
}
