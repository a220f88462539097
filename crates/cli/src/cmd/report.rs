//! `genlab report OUT`: rebuild OUT/index.html from the reports already there.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::report::write_index;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The output directory of earlier `genlab repro` runs.
    #[arg(default_value = "out")]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.out.is_dir() {
        bail!(
            "{} is not a directory of experiment outputs",
            args.out.display()
        );
    }
    println!("{}", write_index(&args.out)?.display());
    Ok(ExitCode::SUCCESS)
}
