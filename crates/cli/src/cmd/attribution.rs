//! `genlab attribution`: data attribution (TRAK, D-TRAK, Concept-TRAK) and LDS: featurise, score, gather shards.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
