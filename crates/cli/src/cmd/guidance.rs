//! `genlab guidance train` and `genlab guidance sample`: masked discrete diffusion on the user's
//! class-labelled token sequences, sampled with a chosen classifier-free guidance rule.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_core::report::plot::image_grid;
use genlab_core::train::SeededRng;
use genlab_guidance::guidance::Rule;
use genlab_guidance::model::TokenModel;
use genlab_guidance::sampler::{SampleConfig, Sampler, sample};
use genlab_guidance::schedule::GuidanceSchedule;
use genlab_guidance::tokens::TokenData;
use genlab_guidance::train::{TrainConfig, train};

use super::output::{RunDir, write_losses, write_or_print};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train a class-conditional masked-diffusion denoiser (with label dropout, so one model
    /// gives the conditional and the unconditional branch) on a token file: one sequence per
    /// line, `CLASS: TOKEN TOKEN …` (non-negative integers, equal lengths, `#` comments).
    /// Writes OUT/model.json, OUT/weights.bpk, OUT/losses.csv and a resumable
    /// OUT/checkpoint.bin (Ctrl-C saves it; rerun with --resume to continue).
    Train(TrainArgs),
    /// Sample sequences of one class with classifier-free guidance; writes them in the same
    /// `CLASS: TOKENS` format.
    Sample(SampleArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Token file (`CLASS: TOKEN TOKEN …` per line).
    #[arg(long, required_unless_present = "digits")]
    data: Option<PathBuf>,
    /// Train on the built-in 8×8 digits instead (64 tokens of 17 grey levels, classes 0–9).
    #[arg(long, conflicts_with = "data")]
    digits: bool,
    /// Optimisation steps.
    #[arg(long, default_value_t = 3000)]
    steps: u64,
    /// Minibatch size (sequences).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Peak learning rate (Adam, warm-up then cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Hidden width of the MLP.
    #[arg(long, default_value_t = 384)]
    width: usize,
    /// Number of linear layers.
    #[arg(long, default_value_t = 3)]
    depth: usize,
    /// Probability of dropping the class label (trains the unconditional branch).
    #[arg(long, default_value_t = 0.1)]
    p_uncond: f64,
    /// Seed of initialisation, minibatches and masks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct SampleArgs {
    /// Model directory written by `genlab guidance train`.
    #[arg(long)]
    model: PathBuf,
    /// Class to sample.
    #[arg(long)]
    class: u32,
    /// Number of sequences.
    #[arg(short, default_value_t = 16)]
    n: usize,
    /// Guidance strength (1 = plain conditional sampling; for schedules, the mean ∫w dt).
    #[arg(long, default_value_t = 2.0)]
    w: f64,
    /// Guidance rule: normalized (column-normalised, recommended), unlocking or simple.
    #[arg(long, default_value = "normalized")]
    rule: Rule,
    /// Guidance schedule w(t): constant, ramp-up, ramp-down, cosine or interval:LEFT:RIGHT
    /// (t = 1 is fully masked; guidance late in sampling matters most).
    #[arg(long, default_value = "constant")]
    schedule: String,
    /// Sampler: ancestral or tau-leaping.
    #[arg(long, default_value = "ancestral")]
    sampler: Sampler,
    /// Sampling steps.
    #[arg(long, default_value_t = 32)]
    steps: usize,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output token file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also draw the samples as square greyscale images (sequence length must be a square).
    #[arg(long)]
    svg: Option<PathBuf>,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Sample(args) => sample_cmd(args),
    }
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let data = match &args.data {
        Some(path) => TokenData::read(path)?,
        None => TokenData::from_digits(&genlab_core::data::digits())?,
    };
    let config = TrainConfig {
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        width: args.width,
        depth: args.depth,
        p_uncond: args.p_uncond,
        seed: args.seed,
        ..TrainConfig::default()
    };
    args.run.refuse_to_restart()?;
    progress.set_prefix("guidance train");
    let checkpoint = args.run.checkpoint();
    let (model, history) = train(
        &data,
        &config,
        Some(&checkpoint),
        args.run.resume,
        &mut progress,
    )?;
    model.save(&args.run.out)?;
    let last = write_losses(&history, &args.run.out)?;
    println!(
        "trained on {} sequences of {} tokens (vocabulary {}, {} classes) for {} steps (final loss {last:.4}); model in {}",
        data.len(),
        data.seq_len,
        data.vocab,
        data.classes,
        config.steps,
        args.run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sample_cmd(args: SampleArgs) -> anyhow::Result<ExitCode> {
    if args.n == 0 {
        bail!("-n must be at least 1");
    }
    let model = TokenModel::load(&args.model)?;
    genlab_core::limits::elements(
        "-n × the model's input width",
        &[args.n, model.spec.input_width()],
    )?;
    if args.class as usize >= model.spec.classes {
        bail!(
            "--class {} is out of range: the model has classes 0–{}",
            args.class,
            model.spec.classes - 1
        );
    }
    let schedule = GuidanceSchedule::parse(&args.schedule, args.w).map_err(anyhow::Error::msg)?;
    let config = SampleConfig {
        sampler: args.sampler,
        rule: args.rule,
        schedule,
        steps: args.steps,
        noise: model.spec.noise,
    };
    let classes = vec![args.class; args.n];
    let samples = sample(&model, &classes, &config, SeededRng::new(args.seed).rng())?;
    let out = TokenData {
        seq_len: model.spec.seq_len,
        vocab: model.spec.vocab,
        classes: model.spec.classes,
        tokens: samples.tokens,
        labels: classes,
    };
    if let Some(path) = &args.svg {
        let side = (out.seq_len as f64).sqrt().round() as usize;
        if side * side != out.seq_len {
            bail!(
                "--svg needs a square sequence length; {} is not",
                out.seq_len
            );
        }
        let images: Vec<Vec<f32>> = (0..out.len())
            .map(|i| out.row(i).iter().map(|&t| t as f32).collect())
            .collect();
        let title = format!(
            "class {}, {} rule, w = {}, {} steps",
            args.class,
            args.rule.name(),
            args.w,
            args.steps
        );
        image_grid(
            path,
            &title,
            &images,
            side,
            side,
            8,
            (0.0, (out.vocab - 1) as f32),
        )?;
    }
    let what = format!("{} sequences", args.n);
    write_or_print(args.out.as_deref(), &out.to_text(), &what)?;
    Ok(ExitCode::SUCCESS)
}
