//! `genlab flow train`, `genlab flow sample` and `genlab flow eval`: EDM diffusion / flow
//! matching on the user's own points (CSV or NPY, any dimension).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::data::{Points, points_to_csv, read_npy, read_points_csv};
use genlab_core::train::SeededRng;
use genlab_core::{device, fsx};
use genlab_flow::eval::{EvalConfig, evaluate};
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
    /// Draw samples from a trained model and write them as CSV; with --trajectory, also every
    /// solver step of every sample.
    Sample(SampleArgs),
    /// Measure a trained model against held-out points: energy distance, MMD and sliced
    /// Wasserstein-2 of its samples to one random half of the held-out data, beside the data
    /// floor — the same metrics between the two halves, which a perfect model would score. A
    /// ratio to the floor near 1 means the samples are indistinguishable from the data at this
    /// sample size.
    Eval(EvalArgs),
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
    /// ODE solver: euler, heun, rk4 or dpm++2m (DPM-Solver++(2M), one evaluation per step;
    /// default: the model's).
    #[arg(long)]
    solver: Option<Solver>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output CSV (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write every solver step to this CSV: columns sample, step, t (σ for EDM, t for
    /// flow matching; step 0 is the noise), then the point in data space. The samples are the
    /// trajectories' last step. Not for consistency students (they jump, in 1 or 2 steps).
    #[arg(long)]
    trajectory: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Model directory written by `genlab flow train` (or `genlab cmt distill`).
    #[arg(long)]
    model: PathBuf,
    /// Held-out points (.csv or .npy, the training data's columns), not used for training.
    #[arg(long)]
    data: PathBuf,
    /// Solver steps (default: the model's).
    #[arg(long)]
    steps: Option<usize>,
    /// ODE solver: euler, heun, rk4 or dpm++2m (default: the model's).
    #[arg(long)]
    solver: Option<Solver>,
    /// Use at most this many held-out points (a random subset; the distances cost O(n²)).
    #[arg(long, default_value_t = 4000)]
    max_points: usize,
    /// Seed of the subset, the halves, the samples and the sliced-W2 directions.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Sample(args) => sample_cmd(args),
        Command::Eval(args) => eval_cmd(args, progress),
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
    let mut rng = SeededRng::new(args.seed);
    let samples = match &args.trajectory {
        None => model.sample(args.n, steps, solver, &mut rng, &device),
        Some(path) => {
            genlab_core::limits::elements(
                "-n × (steps + 1) × the model's dimension",
                &[args.n, steps + 1, model.dim()],
            )?;
            let (times, states) =
                model.sample_trajectory(args.n, steps, solver, &mut rng, &device)?;
            let text = trajectory_csv(&times, &states);
            write_or_print(
                Some(path),
                &text,
                &format!("{} steps of {} samples", times.len(), args.n),
            )?;
            states
                .into_iter()
                .last()
                .expect("a trajectory has its start")
        }
    };
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

/// The long-format trajectory CSV: `sample,step,t,x1,…,xd`, sample-major.
fn trajectory_csv(times: &[f32], states: &[Points]) -> String {
    let d = states.first().map_or(0, |p| p.d);
    let mut text = String::from("sample,step,t");
    for j in 1..=d {
        text.push_str(&format!(",x{j}"));
    }
    text.push('\n');
    let n = states.first().map_or(0, |p| p.len());
    for i in 0..n {
        for (k, (t, state)) in times.iter().zip(states).enumerate() {
            text.push_str(&format!("{i},{k},{t}"));
            for v in state.row(i) {
                text.push_str(&format!(",{v}"));
            }
            text.push('\n');
        }
    }
    text
}

fn eval_cmd(args: EvalArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let device = device::device();
    let model = FlowModel::load(&args.model, &device)?;
    let held_out = read_points(&args.data)?;
    let steps = args.steps.unwrap_or(model.spec.steps);
    if !(1..=MAX_SOLVER_STEPS).contains(&steps) {
        bail!("--steps {steps} must be in 1..={MAX_SOLVER_STEPS}");
    }
    if !(4..=100_000).contains(&args.max_points) {
        bail!("--max-points {} must be in 4..=100000", args.max_points);
    }
    let config = EvalConfig {
        steps,
        solver: args.solver.unwrap_or(model.spec.solver),
        max_points: args.max_points,
        seed: args.seed,
    };
    progress.set_prefix("flow eval");
    let e = evaluate(&model, &held_out, &config, &device, &mut progress)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} samples ({} steps, {}) vs {} held-out points of {} (random halves of {})",
        e.samples,
        e.steps,
        e.solver,
        e.held_out_points - e.samples,
        args.data.display(),
        e.held_out_points
    );
    println!(
        "{:<22} {:>12} {:>12} {:>10}",
        "metric", "model", "data floor", "ratio"
    );
    // MMD² is unbiased: its floor is ≈ 0 (either sign), so a ratio to it means nothing.
    let rows = [
        ("energy distance", e.model.energy, e.floor.energy, true),
        ("MMD² (RBF)", e.model.mmd, e.floor.mmd, false),
        ("sliced W2²", e.model.sliced_w2, e.floor.sliced_w2, true),
    ];
    for (name, m, f, ratio) in rows {
        let ratio = if ratio {
            format!("{:.2}", m / f)
        } else {
            "—".into()
        };
        println!("{name:<22} {m:>12.5} {f:>12.5} {ratio:>10}");
    }
    Ok(ExitCode::SUCCESS)
}
