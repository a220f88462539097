//! `genlab contrastive`: contrastive learning (SimCLR, SupCon, Hydra pair gates): train on labelled vectors or Fashion-MNIST, embed.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
