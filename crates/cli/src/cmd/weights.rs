//! `genlab weights`: networks as data: align two networks (Re-Basin), train a zoo, train a flow over weights, generate networks.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
