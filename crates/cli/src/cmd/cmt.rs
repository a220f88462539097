//! `genlab cmt distill`: consistency mid-training of a user's EDM model into a student that
//! samples in 1 or 2 steps (sample it with `genlab flow sample --model STUDENT --steps 1|2`);
//! `genlab cmt post-train`: ECT or ECD post-training of such a student on the user's data.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use genlab_cmt::meanflow_training::{MeanFlowConfig, distill_meanflow};
use genlab_cmt::mid_training::{DistillConfig, distill};
use genlab_cmt::post_training::{Objective, PostTrainConfig, post_train};
use genlab_core::train::History;
use genlab_core::{device, fsx};
use genlab_flow::{FlowModel, Solver};

use super::output::{RunDir, write_losses};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Distil a trained EDM model (`genlab flow train --process edm`) into a 1–2-step
    /// consistency student by mid-training on the teacher's ODE trajectories. Writes
    /// OUT/model.json, OUT/weights.bpk, OUT/losses.csv, OUT/distill_config.json and
    /// OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume to continue).
    Distill(DistillArgs),
    /// Post-train a 1–2-step student on your data with ECT (easy consistency tuning) or ECD
    /// (consistency distillation, which also needs the EDM teacher). The student is a
    /// `genlab cmt distill` output (CMT → ECT/ECD) or an EDM model itself (ECT/ECD from the
    /// teacher's weights). Writes OUT/model.json, OUT/weights.bpk, OUT/losses.csv,
    /// OUT/post_train_config.json and OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume
    /// to continue). The defaults (lr 2e-5, constant Δt with q = 256) are what
    /// tuning chose after CMT in `genlab repro cmt-digits`; compare the result with the
    /// student you started from (`genlab flow eval`): on the digits post-training made it worse.
    PostTrain(PostTrainArgs),
    /// Distil a flow-matching model (`genlab flow train --process fm`) into a 1–2-step MeanFlow
    /// student: CMT-MF mid-training on the teacher's ODE trajectories (every ordered pair of
    /// trajectory points), then, with --data and --post-steps, MeanFlow post-training on the
    /// data. Writes OUT/model.json, OUT/weights.bpk, OUT/losses.csv, OUT/meanflow_config.json
    /// and one checkpoint per phase (Ctrl-C saves it; rerun with --resume to continue); sample with `genlab flow sample --model OUT --steps 1|2`.
    Meanflow(MeanflowArgs),
}

#[derive(clap::Args, Debug)]
pub struct MeanflowArgs {
    /// The flow-matching teacher directory.
    #[arg(long)]
    teacher: PathBuf,
    #[command(flatten)]
    run: RunDir,
    /// Training data for MeanFlow post-training (.csv or .npy), needed with --post-steps.
    #[arg(long)]
    data: Option<PathBuf>,
    /// CMT-MF mid-training steps.
    #[arg(long, default_value_t = 2000)]
    mid_steps: u64,
    /// MeanFlow post-training steps on --data (0: mid-training only).
    #[arg(long, default_value_t = 0)]
    post_steps: u64,
    /// Pairs (samples) per step, about.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Teacher solver steps per trajectory (M (M + 1)/2 pairs each).
    #[arg(long, default_value_t = 8)]
    trajectory_steps: usize,
    /// Teacher ODE solver: dpm++2m, heun, euler or rk4.
    #[arg(long, default_value_t = Solver::DpmPp2M)]
    solver: Solver,
    /// Mid-training learning rate (Adam); post-training uses 0.3 × it.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Intermediate time of the 2-step sampler, in (0, 1).
    #[arg(long, default_value_t = 0.5)]
    t_mid: f32,
    /// Seed of the initialisation, trajectories and minibatches.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ObjectiveArg {
    /// Easy consistency tuning: the pair's earlier point from the same data noise.
    Ect,
    /// Consistency distillation: the earlier point from one Heun step of the teacher.
    Ecd,
}

#[derive(clap::Args, Debug)]
pub struct PostTrainArgs {
    /// The student directory (`genlab cmt distill` output, or an EDM model).
    #[arg(long)]
    student: PathBuf,
    /// Training data: .csv or .npy, the columns the model was trained on.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    run: RunDir,
    /// Post-training objective.
    #[arg(long, value_enum, default_value_t = ObjectiveArg::Ect)]
    objective: ObjectiveArg,
    /// The EDM teacher (required with --objective ecd).
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Steps.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Pairs per step.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Learning rate (Adam, constant).
    #[arg(long, default_value_t = 2e-5)]
    lr: f64,
    /// Constant Δt ≈ t (1 + 8 sigmoid(−t)) / q.
    #[arg(long, default_value_t = 256.0, conflicts_with = "anneal")]
    q: f32,
    /// ECT's annealed Δt instead (q = 2, halving every eighth of the steps).
    #[arg(long)]
    anneal: bool,
    /// Seed of minibatches, noise and times.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct DistillArgs {
    /// The teacher model directory.
    #[arg(long)]
    teacher: PathBuf,
    #[command(flatten)]
    run: RunDir,
    /// Mid-training steps.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Teacher solver steps per trajectory (pairs per trajectory).
    #[arg(long, default_value_t = 16)]
    trajectory_steps: usize,
    /// Teacher ODE solver: dpm++2m (DPM-Solver++(2M), one evaluation per step, as the
    /// paper's code) or heun (two per step); euler and rk4 also work.
    #[arg(long, default_value_t = Solver::DpmPp2M)]
    solver: Solver,
    /// Intermediate noise level of the 2-step sampler (in the model's normalised units).
    #[arg(long, default_value_t = 0.8)]
    t_mid: f32,
    /// Seed of the teacher trajectories.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Writes the student, its losses and its settings (`config_file`) into `out`, and says `what`
/// was done, with the final loss and how to sample.
fn save(
    out: &Path,
    student: &FlowModel,
    history: &History,
    config_file: &str,
    config: serde_json::Value,
    what: &str,
) -> anyhow::Result<()> {
    student.save(out)?;
    let last = write_losses(history, out)?;
    fsx::write_json(&out.join(config_file), &config)?;
    println!(
        "{what} (final loss {last:.5}); student in {}; sample with `genlab flow sample --model {} --steps 2`",
        out.display(),
        out.display()
    );
    Ok(())
}

/// Refuses to overwrite a finished or running student without --resume.
fn start(run: &RunDir) -> anyhow::Result<()> {
    run.refuse_to_restart()?;
    if !run.resume && run.out.join("model.json").exists() {
        bail!(
            "{} already holds a model; choose another --out",
            run.out.display()
        );
    }
    Ok(())
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Distill(args) => distill_cmd(args, progress),
        Command::PostTrain(args) => post_train_cmd(args, progress),
        Command::Meanflow(args) => meanflow_cmd(args, progress),
    }
}

fn meanflow_cmd(args: MeanflowArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    start(&args.run)?;
    let teacher = FlowModel::load(&args.teacher, &device::device())?;
    let data = match &args.data {
        Some(path) => Some(super::flow::read_points(path)?),
        None => None,
    };
    let config = MeanFlowConfig {
        mid_steps: args.mid_steps,
        post_steps: args.post_steps,
        batch: args.batch,
        trajectory_steps: args.trajectory_steps,
        solver: args.solver,
        lr: args.lr,
        t_mid: args.t_mid,
        seed: args.seed,
    };
    progress.set_prefix("cmt meanflow");
    let (student, history) = distill_meanflow(
        &teacher,
        data.as_ref(),
        &config,
        Some(&args.run.out),
        args.run.resume,
        &mut progress,
    )?;
    let what = format!(
        "distilled {} into a 1–2-step MeanFlow student",
        args.teacher.display()
    );
    save(
        &args.run.out,
        &student,
        &history,
        "meanflow_config.json",
        serde_json::to_value(&config)?,
        &what,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn post_train_cmd(args: PostTrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    start(&args.run)?;
    let device = device::device();
    let student = FlowModel::load(&args.student, &device)?;
    let teacher = match &args.teacher {
        Some(dir) => Some(FlowModel::load(dir, &device)?),
        None => None,
    };
    let data = super::flow::read_points(&args.data)?;
    let config = PostTrainConfig {
        objective: match args.objective {
            ObjectiveArg::Ect => Objective::Ect,
            ObjectiveArg::Ecd => Objective::Ecd,
        },
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        q: (!args.anneal).then_some(args.q),
        t_mid: None,
        seed: args.seed,
    };
    progress.set_prefix("cmt post-train");
    let (out, history) = post_train(
        &student,
        teacher.as_ref(),
        &data,
        &config,
        Some(&args.run.out),
        args.run.resume,
        &mut progress,
    )?;
    let what = format!(
        "post-trained {} for {} steps",
        args.student.display(),
        args.steps
    );
    save(
        &args.run.out,
        &out,
        &history,
        "post_train_config.json",
        serde_json::to_value(&config)?,
        &what,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn distill_cmd(args: DistillArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    start(&args.run)?;
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
        solver: args.solver,
        t_mid: args.t_mid,
        seed: args.seed,
        ..DistillConfig::default()
    };
    progress.set_prefix("cmt distill");
    let (student, history) = distill(
        &teacher,
        &config,
        Some(&args.run.out),
        args.run.resume,
        &mut progress,
    )?;
    let what = format!(
        "distilled {} into a 1–2-step student",
        args.teacher.display()
    );
    save(
        &args.run.out,
        &student,
        &history,
        "distill_config.json",
        serde_json::to_value(&config)?,
        &what,
    )?;
    Ok(ExitCode::SUCCESS)
}
