//! `genlab repro NAME|all`: run experiments, save each report, rebuild the index page.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use genlab_core::data::Cache;
use genlab_core::experiment::{Experiment, ReproOptions};
use genlab_core::report::write_index;

use crate::families::{experiments, find_experiment, join};
use crate::progress::Progress;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Experiment name (see `genlab list`), or `all`.
    name: String,
    /// Smaller configuration: same arms and verdict, fewer steps and samples (seconds).
    #[arg(long)]
    quick: bool,
    /// Base seed (recorded in the report; the same seed gives the same numbers).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of seeds for every multi-seed experiment (default: each experiment's own, ≥ 3
    /// for every learned comparison); seeds are SEED, SEED+1, …
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    seeds: Option<u64>,
    /// Output directory: OUT/<name>/report.json, figures, and OUT/index.html.
    #[arg(long, default_value = "out")]
    out: PathBuf,
}

pub fn run(args: Args, threads: usize, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let selected: Vec<&Experiment> = if args.name == "all" {
        experiments().collect()
    } else {
        match find_experiment(&args.name) {
            Some(e) => vec![e],
            None => bail!(
                "unknown experiment `{}` (known: {}, all)",
                args.name,
                join(experiments().map(|e| e.info.name))
            ),
        }
    };
    let cache_dir = Cache::from_env().dir().to_path_buf();
    let mut failures = 0;
    for e in selected {
        let dir = args.out.join(e.info.name);
        let opts = ReproOptions {
            quick: args.quick,
            seed: args.seed,
            dir: dir.clone(),
            cache_dir: cache_dir.clone(),
            seed_count: args.seeds.map(|n| n as usize),
        };
        progress.set_prefix(e.info.name);
        let started = Instant::now();
        match (e.run)(&opts, &mut progress) {
            Ok(mut report) => {
                report.wall_seconds = started.elapsed().as_secs_f64();
                report.threads = threads;
                report.quick = args.quick;
                report.save(&dir)?;
                let v = &report.verdict;
                println!(
                    "{}: {} — {} ({} vs {}) in {:.1}s",
                    e.info.name,
                    if v.holds {
                        "claim holds"
                    } else {
                        "claim does NOT hold"
                    },
                    v.effect,
                    v.method_arm,
                    v.baseline_arm,
                    report.wall_seconds
                );
                println!("  {}", v.detail);
            }
            Err(err) => {
                failures += 1;
                eprintln!("genlab: {}: {err}", e.info.name);
            }
        }
    }
    let index = write_index(&args.out)?;
    println!("report: {}", index.display());
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
