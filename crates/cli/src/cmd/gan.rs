//! `genlab gan`: conditional GANs (projection, AC-GAN, SAN, SONA discriminators): train on a labelled CSV, sample a class.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
