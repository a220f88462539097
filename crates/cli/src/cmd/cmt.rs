//! `genlab cmt distill`: consistency mid-training of a user's EDM model into a student that
//! samples in 1 or 2 steps (sample it with `genlab flow sample --model STUDENT --steps 1|2`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_cmt::mid_training::{DistillConfig, distill};
use genlab_core::{device, fsx};
use genlab_flow::FlowModel;

use super::output::write_losses;
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Distil a trained EDM model (`genlab flow train --process edm`) into a 1–2-step
    /// consistency student by mid-training on the teacher's ODE trajectories. Writes
    /// OUT/model.json, OUT/weights.bpk, OUT/losses.csv and OUT/distill_config.json.
    Distill(DistillArgs),
}

#[derive(clap::Args, Debug)]
pub struct DistillArgs {
    /// The teacher model directory.
    #[arg(long)]
    teacher: PathBuf,
    /// Output directory for the student.
    #[arg(long)]
    out: PathBuf,
    /// Mid-training steps.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Teacher solver steps per trajectory (pairs per trajectory).
    #[arg(long, default_value_t = 16)]
    trajectory_steps: usize,
    /// Intermediate noise level of the 2-step sampler (in the model's normalised units).
    #[arg(long, default_value_t = 0.8)]
    t_mid: f32,
    /// Seed of the teacher trajectories.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(command: Command, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let Command::Distill(args) = command;
    if args.out.join("model.json").exists() {
        bail!(
            "{} already holds a model; choose another --out",
            args.out.display()
        );
    }
    let teacher = FlowModel::load(&args.teacher, &device::device())?;
    if teacher.spec.consistency.is_some() {
        bail!(
            "{} is already a consistency student",
            args.teacher.display()
        );
    }
    let config = DistillConfig {
        steps: args.steps,
        trajectory_steps: args.trajectory_steps,
        t_mid: args.t_mid,
        seed: args.seed,
        ..DistillConfig::default()
    };
    progress.set_prefix("cmt distill");
    let (student, history) = distill(&teacher, &config, &mut progress)?;
    student.save(&args.out)?;
    let last = write_losses(&history, &args.out)?;
    fsx::write_json(&args.out.join("distill_config.json"), &config)?;
    println!(
        "distilled {} into a 1–2-step student in {} (final mid-training loss {last:.5}); sample with `genlab flow sample --model {} --steps 2`",
        args.teacher.display(),
        args.out.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
