//! `genlab embed`: region-prompted image–text embeddings (VIRTUE): train, query an image region against captions, index and search.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
