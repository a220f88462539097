//! `genlab list`: every family with its experiments (and their claims), benchmarks and datasets.

use std::process::ExitCode;

use crate::families::{FAMILIES, experiments};

pub fn run() -> anyhow::Result<ExitCode> {
    let width = experiments().map(|e| e.info.name.len()).max().unwrap_or(0);
    for f in FAMILIES {
        println!("{} — {}", f.name, f.summary);
        for e in f.experiments {
            println!("  {:width$}  {}", e.info.name, e.info.claim);
            println!("  {:width$}  ({})", "", e.info.paper);
        }
        for b in f.benchmarks {
            println!("  bench {}: {}", b.name, b.summary);
        }
        for d in f.datasets {
            println!("  data {}: {}", d.name, d.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}
