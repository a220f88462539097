//! `genlab contrastive`: contrastive learning (SimCLR, SupCon, Hydra pair gates): train on labelled vectors or Fashion-MNIST, embed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use genlab_contrastive::ContrastiveError;
use genlab_contrastive::model::ContrastiveModel;
use genlab_contrastive::objectives::{Objective, Pairing};
use genlab_contrastive::train::{TrainConfig, train};
use genlab_core::data::{Cache, Points, Split, fashion_mnist, write_npy};

use super::flow::read_points;
use super::output::{RunDir, write_losses};
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train an encoder with a contrastive objective on labelled vectors (a CSV with a `label`
    /// or `class` column) or on Fashion-MNIST (`--fashion-mnist`, with the small CNN). `hydra` makes any two classes a positive pair inside a learned pair-gated
    /// subspace; `supcon` uses same-class positives; `simclr` uses only the two views. Writes
    /// OUT/model.json, OUT/weights.bpk, OUT/losses.csv and a resumable OUT/checkpoint.bin
    /// (Ctrl-C saves it; rerun with --resume to continue).
    Train(TrainArgs),
    /// Embed rows with a trained model: writes the representations h (or, with
    /// --projection, the unit-norm projections z) as an NPY matrix.
    Embed(EmbedArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Labelled CSV of vectors (one row per sample, a `label` or `class` column).
    #[arg(long, required_unless_present = "fashion_mnist")]
    data: Option<PathBuf>,
    /// Train on Fashion-MNIST instead (`genlab data fetch fashion-mnist`), with the CNN.
    #[arg(long, conflicts_with = "data")]
    fashion_mnist: bool,
    /// Training images taken from Fashion-MNIST (a seeded subset; max 60000).
    #[arg(long, default_value_t = 10_000)]
    images: usize,
    /// Objective: hydra, supcon or simclr.
    #[arg(long, default_value = "hydra")]
    objective: String,
    /// Hydra's pairing of classes: arbitrary, identical or distinct.
    #[arg(long, default_value = "arbitrary")]
    pairing: Pairing,
    /// Hydra's weight of the instance (NT-Xent) term; 0 trains the disparate loss alone (SimLAP).
    #[arg(long, default_value_t = 1.0)]
    instance: f32,
    /// Temperature τ (Hydra's learnable τ starts here).
    #[arg(long, default_value_t = 0.1)]
    tau: f32,
    /// Optimisation steps (default 1500 for vectors, 600 for images).
    #[arg(long)]
    steps: Option<u64>,
    /// Examples per batch (two views each; default 256 for vectors, 128 for images).
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate (Adam, warm-up then cosine decay).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Projection dimension D.
    #[arg(long, default_value_t = 64)]
    dim: usize,
    /// Seed of initialisation, batches, augmentations and pairings.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::Args, Debug)]
pub struct EmbedArgs {
    /// Model directory written by `genlab contrastive train`.
    #[arg(long)]
    model: PathBuf,
    /// Rows to embed: a CSV (a label column is allowed and ignored) or an NPY matrix.
    #[arg(long)]
    data: PathBuf,
    /// Output NPY file.
    #[arg(long)]
    out: PathBuf,
    /// Write the unit-norm projections z instead of the representations h.
    #[arg(long)]
    projection: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Embed(args) => embed_cmd(args),
    }
}

fn objective(args: &TrainArgs) -> anyhow::Result<Objective> {
    let tau = args.tau;
    if !(tau > 0.0 && tau.is_finite()) {
        bail!("--tau must be positive, got {tau}");
    }
    if !(args.instance >= 0.0 && args.instance.is_finite()) {
        bail!("--instance must be ≥ 0, got {}", args.instance);
    }
    Ok(match args.objective.as_str() {
        "hydra" => Objective::Hydra {
            pairing: args.pairing,
            instance: args.instance,
            tau,
        },
        "supcon" => Objective::SupCon { tau },
        "simclr" => Objective::SimClr { tau },
        other => {
            return Err(
                genlab_core::Error::from(ContrastiveError::UnknownObjective(other.into())).into(),
            );
        }
    })
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let objective = objective(&args)?;
    let (data, base) = match &args.data {
        Some(path) => (read_points(path)?, TrainConfig::VECTORS),
        None => {
            let all = fashion_mnist(&Cache::from_env(), Split::Train)?;
            if args.images == 0 {
                bail!("--images must be at least 1");
            }
            let idx = genlab_core::train::SeededRng::new(args.seed).permutation(all.len());
            (
                all.select(&idx[..args.images.min(all.len())]),
                TrainConfig::IMAGES,
            )
        }
    };
    if data.labels.is_none() {
        bail!("the data has no labels: give a CSV with a `label` (or `class`) column");
    }
    let config = TrainConfig {
        objective,
        steps: args.steps.unwrap_or(base.steps),
        batch: args.batch.unwrap_or(base.batch),
        lr: args.lr,
        dim: args.dim,
        seed: args.seed,
        ..base
    };
    args.run.refuse_to_restart()?;
    progress.set_prefix("contrastive train");
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
        "trained {} on {} rows of dimension {} ({} classes) for {} steps (final loss {last:.4}); model in {}",
        objective.name(),
        data.len(),
        data.d,
        model.spec.classes,
        config.steps,
        args.run.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn embed_cmd(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    let model = ContrastiveModel::load(&args.model)?;
    let data = read_points(&args.data)?;
    let (h, z) = model.embed(&data)?;
    let out: Points = if args.projection { z } else { h };
    write_npy(
        &args.out,
        &Points {
            labels: None,
            ..out.clone()
        },
    )?;
    println!(
        "embedded {} rows into {} dimensions ({}); wrote {}",
        out.len(),
        out.d,
        if args.projection {
            "projections z"
        } else {
            "representations h"
        },
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
