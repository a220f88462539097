//! The data cache: where fetched datasets live. `$GENLAB_DATA` if set, else
//! `$XDG_CACHE_HOME/genlab`, else `$HOME/.cache/genlab`. Each dataset gets its own directory,
//! named like the dataset (`fashion-mnist/`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A data cache directory (which need not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache the environment chooses: `$GENLAB_DATA`, else `$XDG_CACHE_HOME/genlab`, else
    /// `$HOME/.cache/genlab`, else `.genlab-cache` in the working directory. Empty variables and
    /// a relative `XDG_CACHE_HOME` (which the XDG spec says to ignore) count as unset.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// [`Cache::from_env`] with the variables looked up through `var`.
    fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Self {
        let set = |name| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let dir = if let Some(dir) = set("GENLAB_DATA") {
            dir
        } else if let Some(xdg) = set("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
            xdg.join("genlab")
        } else if let Some(home) = set("HOME") {
            home.join(".cache").join("genlab")
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

    /// The directory of dataset `name` inside the cache.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(vars: &[(&str, &str)]) -> PathBuf {
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.into());
        Cache::from_vars(lookup).dir().to_path_buf()
    }

    #[test]
    fn environment_picks_the_directory_in_order() {
        let all = [
            ("GENLAB_DATA", "/data"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(dir_with(&all), PathBuf::from("/data"));
        assert_eq!(dir_with(&all[1..]), PathBuf::from("/xdg/genlab"));
        assert_eq!(dir_with(&all[2..]), PathBuf::from("/home/u/.cache/genlab"));
        assert_eq!(dir_with(&[]), PathBuf::from(".genlab-cache"));
        let ignored = [
            ("GENLAB_DATA", ""),
            ("XDG_CACHE_HOME", "rel"),
            ("HOME", "/h"),
        ];
        assert_eq!(dir_with(&ignored), PathBuf::from("/h/.cache/genlab"));
    }

    #[test]
    fn dataset_paths_are_inside_the_cache() {
        let cache = Cache::at("/c");
        assert_eq!(cache.dir(), Path::new("/c"));
        assert_eq!(
            cache.path("fashion-mnist"),
            PathBuf::from("/c/fashion-mnist")
        );
    }
}
