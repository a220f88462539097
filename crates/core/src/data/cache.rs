//! Where fetched datasets (and the cached digit classifier) live: `$GENLAB_DATA`, else
//! `$XDG_CACHE_HOME/genlab`, else `~/.cache/genlab`.

use std::path::{Path, PathBuf};

/// The data cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache chosen by the environment.
    pub fn from_env() -> Self {
        let dir = if let Some(d) = std::env::var_os("GENLAB_DATA") {
            PathBuf::from(d)
        } else if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            PathBuf::from(d).join("genlab")
        } else if let Some(h) = std::env::var_os("HOME") {
            PathBuf::from(h).join(".cache").join("genlab")
        } else {
            PathBuf::from(".genlab-cache")
        };
        Cache { dir }
    }

    /// A cache at an explicit directory.
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        Cache { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of dataset `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}
