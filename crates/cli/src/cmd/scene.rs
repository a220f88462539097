//! `genlab scene`: camera-controlled generation with a static 3D memory (3DScenePrompt): render synthetic worlds, generate frames.

use std::process::ExitCode;

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {}

pub fn run(command: Command, _progress: Progress) -> anyhow::Result<ExitCode> {
    match command {}
}
