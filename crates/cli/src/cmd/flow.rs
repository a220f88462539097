//! `genlab flow train` and `genlab flow sample`: EDM diffusion / flow matching on the user's
//! own points (CSV or NPY, any dimension).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::data::{Points, points_to_csv, read_npy, read_points_csv};
use genlab_core::train::SeededRng;
use genlab_core::{device, fsx};
use genlab_flow::model::MAX_SOLVER_STEPS;
use genlab_flow::{Edm, FlowMatching, FlowModel, Process, Solver, TrainConfig, train};

use super::output::{RunDir, write_losses, write_or_print};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train a model on a CSV (header optional; a `label` column is ignored) or NPY file of
    /// points. Writes OUT/model.json, OUT/weights.bpk, OUT/losses.csv and a resumable
    /// OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume to continue).
    Train(TrainArgs),
    /// Draw samples from a trained model and write them as CSV.
    Sample(SampleArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ProcessArg {
    /// Linear-path flow matching.
    Fm,
    /// EDM-preconditioned diffusion.
    Edm,
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Training data: .csv or .npy, one point per row.
    #[arg(long)]
    data: PathBuf,
    /// Generative process.
    #[arg(long, value_enum, default_value_t = ProcessArg::Fm)]
    process: ProcessArg,
    /// Optimisation steps.
    #[arg(long, default_value_t = 4000)]
    steps: u64,
    /// Minibatch size.
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Hidden width of the MLP.
    #[arg(long, default_value_t = 256)]
    width: usize,
    /// Number of linear layers.
    #[arg(long, default_value_t = 4)]
    depth: usize,
    /// Seed of initialisation, minibatches and noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Model directory written by `genlab flow train`.
    #[arg(long)]
    model: PathBuf,
    /// Number of samples.
    #[arg(short, default_value_t = 1000)]
    n: usize,
    /// Solver steps (default: the model's).
    #[arg(long)]
    steps: Option<usize>,
    /// ODE solver: euler, heun or rk4 (default: the model's).
    #[arg(long)]
    solver: Option<Solver>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output CSV (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Sample(args) => sample_cmd(args),
    }
}

/// Reads a CSV or NPY point file, by extension.
pub fn read_points(path: &Path) -> anyhow::Result<Points> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    Ok(match ext {
        "npy" => read_npy(path)?,
        _ => read_points_csv(path)?,
    })
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let data = read_points(&args.data)?;
    let process = match args.process {
        ProcessArg::Fm => Process::FlowMatching(FlowMatching),
        ProcessArg::Edm => Process::Edm(Edm::default()),
    };
    let config = TrainConfig {
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        width: args.width,
        depth: args.depth,
        seed: args.seed,
        warmup: (args.steps / 20).min(200),
        ..TrainConfig::new(process)
    };
    config.validate()?;
    let RunDir { out, resume } = &args.run;
    args.run.refuse_to_restart()?;
    progress.set_prefix(format!("flow {}", process.name()));
    let trained = train(&data, &config, Some(out), *resume, &mut progress)?;
    trained.model.save(out)?;
    let last = write_losses(&trained.history, out)?;
    fsx::write_json(&out.join("train_config.json"), &config)?;
    println!(
        "trained {} on {} points of dimension {} for {} steps (final loss {last:.4}); model in {}",
        process.name(),
        data.len(),
        data.d,
        config.steps,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sample_cmd(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("-n must be at least 1");
    }
    let device = device::device();
    let model = FlowModel::load(&args.model, &device)?;
    let steps = args.steps.unwrap_or(model.spec.steps);
    if !(1..=MAX_SOLVER_STEPS).contains(&steps) {
        bail!("--steps {steps} must be in 1..={MAX_SOLVER_STEPS}");
    }
    genlab_core::limits::elements("-n × the model's dimension", &[args.n, model.dim()])?;
    let solver = args.solver.unwrap_or(model.spec.solver);
    let samples = model.sample(
        args.n,
        steps,
        solver,
        &mut SeededRng::new(args.seed),
        &device,
    );
    if let Some(i) = samples.data.iter().position(|v| !v.is_finite()) {
        bail!(
            "sample {} is not finite: the model diverged (retrain with a lower --lr)",
            i / samples.d + 1
        );
    }
    let what = format!("{} samples", args.n);
    write_or_print(args.out.as_deref(), &points_to_csv(&samples), &what)?;
    Ok(ExitCode::SUCCESS)
}
