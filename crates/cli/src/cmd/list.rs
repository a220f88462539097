//! `genlab list [--json]`: every family with its experiments (and their claims), benchmarks and
//! datasets.

use std::process::ExitCode;

use crate::families::{FAMILIES, experiments};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print JSON (families with their experiments, benchmarks and datasets) instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.json {
        let families: Vec<_> = FAMILIES
            .iter()
            .map(|f| {
                serde_json::json!({
                    "name": f.name,
                    "summary": f.summary,
                    "aliases": f.aliases.iter().map(|(old, new)| serde_json::json!({"old": old, "new": new})).collect::<Vec<_>>(),
                    "experiments": f.experiments.iter().map(|e| serde_json::json!({
                        "name": e.info.name, "paper": e.info.paper, "claim": e.info.claim,
                        "paper_effect": e.info.paper_effect,
                    })).collect::<Vec<_>>(),
                    "benchmarks": f.benchmarks.iter().map(|b| serde_json::json!({"name": b.name, "summary": b.summary})).collect::<Vec<_>>(),
                    "datasets": f.datasets.iter().map(|d| d.name).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&families)?);
        return Ok(ExitCode::SUCCESS);
    }
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
