//! `genlab bench NAME`: a family's throughput benchmark (see `genlab list` for the names);
//! compare with its twin in bench/ (see bench/README.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::experiment::BenchOptions;

use crate::families::{benchmarks, join};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to benchmark: `core` (the backend's reference steps B1 mlp784 and B2 flow2d and
    /// this CPU's FP32 peak) or a family's benchmark (`genlab list` shows each with its twin).
    name: String,
    /// Timed steps (or renders) per row.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// `fx` only: seconds of audio per render (default 30).
    #[arg(long)]
    seconds: Option<f64>,
    /// `fx` only: write the test input and each row's whole-buffer render as float WAVs here
    /// (`input.wav`, `ROW.wav`), for bench/pedalboard_fx.py's sample comparison.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
}

pub fn run(args: Args, threads: usize) -> anyhow::Result<ExitCode> {
    if args.steps == 0 {
        bail!("--steps must be at least 1");
    }
    let Some(bench) = benchmarks().find(|b| b.name == args.name) else {
        bail!(
            "unknown benchmark `{}` (known: {})",
            args.name,
            join(benchmarks().map(|b| b.name))
        );
    };
    for (flag, given) in [
        ("seconds", args.seconds.is_some()),
        ("write", args.write.is_some()),
    ] {
        if given && !bench.options.contains(&flag) {
            bail!("--{flag} does not apply to `genlab bench {}`", bench.name);
        }
    }
    let table = (bench.run)(&BenchOptions {
        steps: args.steps,
        warmup: args.warmup,
        threads,
        seconds: args.seconds,
        write: args.write,
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&table.json)?);
        return Ok(ExitCode::SUCCESS);
    }
    for note in &table.notes {
        println!("{note}");
    }
    let widths: Vec<usize> = (0..table.columns.len())
        .map(|c| {
            std::iter::once(&table.columns[c])
                .chain(table.rows.iter().map(|r| &r[c]))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == 0 {
                    format!("{c:w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!("{}", line(&table.columns));
    for row in &table.rows {
        println!("{}", line(row));
    }
    Ok(ExitCode::SUCCESS)
}
