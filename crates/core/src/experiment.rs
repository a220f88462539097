//! What every `genlab repro` experiment shares: its description for `genlab list`, the options
//! it runs with, and where it may write its figures.

use std::path::PathBuf;

/// One reproducible experiment, as `genlab list` shows it.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentInfo {
    /// Name used on the command line (`genlab repro NAME`).
    pub name: &'static str,
    /// The paper(s) it reproduces.
    pub paper: &'static str,
    /// The claim, in one line.
    pub claim: &'static str,
}

/// Options common to every experiment.
#[derive(Debug, Clone)]
pub struct ReproOptions {
    /// The smaller, faster configuration (same arms, fewer steps and samples).
    pub quick: bool,
    /// Base seed; multi-seed experiments derive theirs from it.
    pub seed: u64,
    /// The experiment's own output directory (`OUT/<name>`), for its figures.
    pub dir: PathBuf,
    /// The data cache (for fetched datasets and the cached digit classifier).
    pub cache_dir: PathBuf,
}
