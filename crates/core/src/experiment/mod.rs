//! What every `genlab repro` experiment shares: its description for `genlab list`, the options
//! it runs with, the quick/full sizes it picks between, the family registry the CLI is driven
//! by ([`Family`]), and the [`ReportBuilder`] an experiment assembles its report with.

pub mod builder;
mod family;

use std::path::PathBuf;

use serde::Serialize;

use crate::Result;
use crate::report::Report;
use crate::train::Observer;

pub use builder::{Images, Lines, ReportBuilder};
pub use family::{BenchOptions, BenchTable, Benchmark, Family};

/// One reproducible experiment, as `genlab list` shows it.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentInfo {
    /// Name used on the command line (`genlab repro NAME`).
    pub name: &'static str,
    /// The paper(s) it reproduces.
    pub paper: &'static str,
    /// The claim, in one line.
    pub claim: &'static str,
    /// The paper's own effect size for the claim (e.g. "FG-ARI 32.2 → 10.5 without
    /// stop-gradient"), shown beside ours.
    pub paper_effect: &'static str,
}

/// An experiment: its description and the function that runs it.
#[derive(Clone, Copy)]
pub struct Experiment {
    /// Name, paper, claim.
    pub info: ExperimentInfo,
    /// Runs the experiment and returns its report (figures already written to `opts.dir`).
    pub run: fn(&ReproOptions, &mut dyn Observer) -> Result<Report>,
}

impl std::fmt::Debug for Experiment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Experiment")
            .field("info", &self.info)
            .finish()
    }
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
    /// `--seeds N`: overrides every experiment's own seed count (`None` keeps the default).
    pub seed_count: Option<usize>,
}

impl ReproOptions {
    /// The size this run uses: `scales.quick` with `--quick`, else `scales.full`.
    pub fn scale<'s, T>(&self, scales: &'s Scales<T>) -> &'s T {
        if self.quick {
            &scales.quick
        } else {
            &scales.full
        }
    }

    /// Consecutive seeds starting at the base seed: the experiment's default count `n`, or
    /// the user's `--seeds` override (at least 1).
    pub fn seeds(&self, n: usize) -> Vec<u64> {
        let n = self.seed_count.unwrap_or(n).max(1);
        (0..n as u64).map(|i| self.seed + i).collect()
    }
}

/// An experiment's two sizes: `quick` (seconds, exercised by the tests) and `full` (the
/// default run). `T` is the experiment's own struct of sizes; it is recorded in the report's
/// config, so it derives `Serialize`.
#[derive(Debug, Clone, Serialize)]
pub struct Scales<T> {
    /// `genlab repro NAME --quick`.
    pub quick: T,
    /// `genlab repro NAME`.
    pub full: T,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed_count: Option<usize>) -> ReproOptions {
        ReproOptions {
            quick: true,
            seed: 7,
            dir: PathBuf::new(),
            cache_dir: PathBuf::new(),
            seed_count,
        }
    }

    #[test]
    fn seeds_default_then_override() {
        assert_eq!(opts(None).seeds(3), vec![7, 8, 9]);
        assert_eq!(opts(Some(5)).seeds(3), vec![7, 8, 9, 10, 11]);
        assert_eq!(opts(Some(0)).seeds(3), vec![7]);
    }
}
