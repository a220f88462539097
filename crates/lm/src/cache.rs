//! Where a model file comes from: a path the user gives, or a name that `genlab data fetch`
//! placed in the data cache ([`genlab_core::data::Cache`]).

use std::path::{Path, PathBuf};

use genlab_core::data::Cache;
use genlab_core::{Error, Result};

/// Cache name of SmolLM2-135M-Instruct (`genlab data fetch smollm2-135m`).
pub const SMOLLM2: &str = "smollm2-135m";
/// Its file inside the dataset directory.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The cached SmolLM2 file, if it has been fetched into `cache`.
pub fn cached_smollm2(cache: &Cache) -> Option<PathBuf> {
    let p = cache.path(SMOLLM2).join(SMOLLM2_FILE);
    p.is_file().then_some(p)
}

/// `name_or_path` as a model file: a known name resolves in `cache` (a clear
/// [`Error::MissingData`] when it has not been fetched), anything else must be an existing file.
pub fn resolve_model(name_or_path: &str, cache: &Cache) -> Result<PathBuf> {
    if name_or_path == SMOLLM2 {
        return cached_smollm2(cache).ok_or_else(|| Error::MissingData {
            name: SMOLLM2.into(),
            dir: cache.dir().to_path_buf(),
        });
    }
    let p = Path::new(name_or_path);
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(Error::InvalidInput(format!(
            "model `{name_or_path}` is neither a file nor a known name ({SMOLLM2})"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_the_cache_and_paths_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let e = resolve_model(SMOLLM2, &cache).unwrap_err().to_string();
        assert!(e.contains("genlab data fetch smollm2-135m"), "{e}");
        std::fs::create_dir_all(cache.path(SMOLLM2)).unwrap();
        std::fs::write(cache.path(SMOLLM2).join(SMOLLM2_FILE), b"x").unwrap();
        assert_eq!(
            resolve_model(SMOLLM2, &cache).unwrap(),
            cache.path(SMOLLM2).join(SMOLLM2_FILE)
        );
        let e = resolve_model("nowhere.gguf", &cache)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nowhere.gguf"), "{e}");
    }
}
