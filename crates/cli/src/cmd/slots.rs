//! `genlab slots`: object-centric slots (CODA): learn slots on a folder of images, segment images into object masks.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
