//! The registry: each family crate exports one [`Family`] (name, summary, experiments,
//! benchmarks, dataset recipes), and the CLI's `list`, `repro`, `bench`, `data` and `--help`
//! are driven by one list of them.

use std::path::PathBuf;

use crate::Result;
use crate::data::DatasetInfo;

use super::Experiment;

/// A method family as the CLI sees it. One name across crate (`genlab-NAME`), command
/// (`genlab NAME …`) and experiments (`genlab repro NAME…`).
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// The family's name.
    pub name: &'static str,
    /// What it does, in one line (the command's `--help` summary).
    pub summary: &'static str,
    /// Earlier names of the command or experiments, still accepted.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Its `genlab repro` experiments.
    pub experiments: &'static [Experiment],
    /// Its `genlab bench` benchmarks.
    pub benchmarks: &'static [Benchmark],
    /// The registry datasets it fetches (`genlab data fetch`).
    pub datasets: &'static [DatasetInfo],
}

/// One `genlab bench NAME`: a throughput measurement with a twin in `bench/`.
#[derive(Clone, Copy)]
pub struct Benchmark {
    /// Name on the command line.
    pub name: &'static str,
    /// What it measures (shown by `genlab bench --help` and `genlab list`).
    pub summary: &'static str,
    /// The optional [`BenchOptions`] it reads (`"seconds"`, `"write"`); the CLI refuses the
    /// others rather than ignore them.
    pub options: &'static [&'static str],
    /// Runs the benchmark.
    pub run: fn(&BenchOptions) -> Result<BenchTable>,
}

impl std::fmt::Debug for Benchmark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Benchmark")
            .field("name", &self.name)
            .finish()
    }
}

/// Options of `genlab bench`.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Timed steps (or renders) per row.
    pub steps: usize,
    /// Untimed warm-up steps.
    pub warmup: usize,
    /// CPU threads in use (recorded in the output).
    pub threads: usize,
    /// Seconds of input per step, for benchmarks that take a length (fx).
    pub seconds: Option<f64>,
    /// Where to write the benchmark's inputs and outputs, for benchmarks that compare samples
    /// with their twin (fx).
    pub write: Option<PathBuf>,
}

/// What a benchmark measured: a table for people and one JSON object per row for scripts.
#[derive(Debug, Clone, Default)]
pub struct BenchTable {
    /// Lines printed above the table (machine, sizes, measured peak).
    pub notes: Vec<String>,
    /// Column headers; the first column is the row name.
    pub columns: Vec<String>,
    /// Formatted cells, one row per measurement.
    pub rows: Vec<Vec<String>>,
    /// The same measurements as JSON objects (`genlab bench --json`).
    pub json: Vec<serde_json::Value>,
}
