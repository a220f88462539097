//! `genlab gan`: conditional GANs (projection, AC-GAN, SAN, SONA discriminators): train on a labelled CSV, sample a class.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::data::points_to_csv;
use genlab_core::fsx;
use genlab_core::train::SeededRng;
use genlab_gan::{GanConfig, GanModel, Head, train};

use super::flow::read_points;
use super::output::{RunDir, write_losses, write_or_print};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train a class-conditional GAN on labelled points: a CSV (or NPY) with a `label` or
    /// `class` column, any number of coordinate columns. Writes OUT/model.json,
    /// OUT/weights.bpk (the generator), OUT/losses.csv (d_loss, g_loss) and a resumable
    /// OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume to continue).
    Train(TrainArgs),
    /// Draw samples of one class from a trained model and write them as CSV (with the label).
    Sample(SampleArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Labelled training data: a CSV with a `label` or `class` column (classes 0..N).
    #[arg(long)]
    data: PathBuf,
    /// Discriminator head: sona, projection (hinge), acgan, san, or a SONA ablation
    /// (sona-no-orth, sona-no-btm, sona-no-s).
    #[arg(long, default_value = "sona")]
    head: String,
    /// Trainer steps (one discriminator and one generator Adam step each).
    #[arg(long, default_value_t = 3000)]
    steps: u64,
    /// Real (and generated) examples per step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Adam learning rate of both players (β = 0.5, 0.999).
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Hidden width of both MLPs.
    #[arg(long, default_value_t = 128)]
    width: usize,
    /// Latent dimension of the generator.
    #[arg(long, default_value_t = 8)]
    z_dim: usize,
    /// Seed of initialisation, minibatches and noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Model directory written by `genlab gan train`.
    #[arg(long)]
    model: PathBuf,
    /// The class to generate (0-based, as in the training labels).
    #[arg(long)]
    class: u32,
    /// Number of samples.
    #[arg(short, default_value_t = 1000)]
    n: usize,
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

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let head: Head = args.head.parse()?;
    let config = GanConfig {
        head,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        width: args.width,
        z_dim: args.z_dim,
        seed: args.seed,
        ..GanConfig::new(head)
    };
    config.validate()?;
    let data = read_points(&args.data)?;
    args.run.refuse_to_restart()?;
    let RunDir { out, resume } = &args.run;
    progress.set_prefix(format!("gan {head}"));
    let trained = train(&data, &config, Some(out), *resume, &mut progress)?;
    trained.model.save(out)?;
    let last = write_losses(&trained.history, out)?;
    fsx::write_json(&out.join("train_config.json"), &config)?;
    println!(
        "trained a {head} conditional GAN on {} points of dimension {} in {} classes for {} steps \
         (final d_loss {last:.4}); model in {}",
        data.len(),
        data.d,
        trained.model.spec.net.classes,
        config.steps,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sample_cmd(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("-n must be at least 1");
    }
    let model = GanModel::load(&args.model)?;
    let labels = vec![args.class; args.n];
    let samples = model.sample(&labels, &mut SeededRng::new(args.seed))?;
    let what = format!("{} samples of class {}", args.n, args.class);
    write_or_print(args.out.as_deref(), &points_to_csv(&samples), &what)?;
    Ok(ExitCode::SUCCESS)
}
