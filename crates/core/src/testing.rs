//! Test support for every crate's tests: a scratch path in a fresh temporary directory. Public,
//! not behind `cfg(test)`, because other crates' tests use it; the kill-and-resume support is
//! [`crate::train::testing`].

use std::path::PathBuf;

use tempfile::TempDir;

/// A fresh temporary directory and the path `name` inside it (not created). The directory is
/// deleted when the returned [`TempDir`] drops, so bind it (`let (_dir, path) = …`), never `_`.
pub fn scratch(name: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    (dir, path)
}
