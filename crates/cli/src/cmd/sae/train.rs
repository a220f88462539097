//! `genlab sae train`: its flags (genlab's and SAELens's conventions side by side) and the
//! run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_sae::acts::{FileStream, open_files};
use genlab_sae::init::BiasInit;
use genlab_sae::normalise::Normalise;
use genlab_sae::ortsae::Reduce;
use genlab_sae::saelens;
use genlab_sae::schedule::Shape;
use genlab_sae::train::{Arch, Checkpointing, TrainConfig, train_resumable};

use crate::cmd::output::RunDir;
use crate::progress::Progress;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ArchArg {
    /// BatchTopK (JumpReLU with one threshold at inference).
    Batchtopk,
    /// OrtSAE: BatchTopK + chunked orthogonality penalty on decoder rows.
    Ortsae,
    /// Per-sample TopK.
    Topk,
    /// ReLU + L1 (λ steered towards L0 = k).
    Relu,
    /// Matryoshka BatchTopK.
    Matryoshka,
}

impl From<ArchArg> for Arch {
    fn from(a: ArchArg) -> Arch {
        match a {
            ArchArg::Batchtopk => Arch::BatchTopK,
            ArchArg::Ortsae => Arch::OrtSae,
            ArchArg::Topk => Arch::TopK,
            ArchArg::Relu => Arch::Relu,
            ArchArg::Matryoshka => Arch::Matryoshka,
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Activations: a .npy (float32, shape (n, d)) or .safetensors (one F32 tensor [.., d]) file,
    /// or a directory of them.
    #[arg(long)]
    acts: PathBuf,
    /// Architecture.
    #[arg(long, value_enum, default_value = "batchtopk")]
    arch: ArchArg,
    /// Mean active latents per vector.
    #[arg(long, default_value_t = 32)]
    k: usize,
    /// Dictionary size.
    #[arg(long, default_value_t = 4096)]
    width: usize,
    /// Optimiser steps.
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// Vectors per step.
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Peak learning rate (genlab: 2e-4 / sqrt(width / 2^14); SAELens: 3e-4).
    #[arg(long)]
    lr: Option<f64>,
    /// Shape of the rate after warm-up: `cosine` (genlab's default: down to 0.1·lr at the end)
    /// or `constant` (SAELens's default `lr_scheduler_name="constant"`).
    #[arg(long, value_enum)]
    lr_schedule: Option<ShapeArg>,
    /// Linear warm-up steps (genlab: 100; SAELens `lr_warm_up_steps`: 0).
    #[arg(long)]
    warmup: Option<u64>,
    /// Final steps of linear decay to 0 (genlab: 0; SAELens `lr_decay_steps`: 0).
    #[arg(long)]
    lr_decay_steps: Option<u64>,
    /// OrtSAE penalty weight γ.
    #[arg(long, default_value_t = 1.0)]
    gamma: f32,
    /// OrtSAE chunk size.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    /// OrtSAE: mean instead of max of the squared cosines within a chunk.
    #[arg(long)]
    ortho_mean: bool,
    /// AuxK coefficient α (genlab: 1/32 on the variance-normalised AuxK loss, as OpenAI and
    /// dictionary_learning; SAELens `aux_loss_coefficient`: 1.0 on the unnormalised loss).
    #[arg(long)]
    aux_coef: Option<f32>,
    /// AuxK loss form: `variance` (÷ the residual's batch variance; OpenAI, dictionary_learning,
    /// genlab's default) or `none` (unnormalised, × min(#dead / k_aux, 1); SAELens).
    #[arg(long, value_enum)]
    aux_norm: Option<AuxNormArg>,
    /// A latent counts as dead (and AuxK revives it) after this many tokens without firing
    /// (genlab: 10^7, dictionary_learning's `dead_feature_threshold`).
    #[arg(long, conflicts_with = "dead_window")]
    dead_after: Option<u64>,
    /// The same in steps, SAELens's convention (`dead_feature_window`: 1000 steps), i.e.
    /// STEPS × --batch tokens.
    #[arg(long)]
    dead_window: Option<u64>,
    /// Initial b_dec: `geometric-median` of the first batch (genlab, dictionary_learning),
    /// `mean`, or `zero` (SAELens).
    #[arg(long, value_enum)]
    bias_init: Option<BiasInitArg>,
    /// Train free decoder rows initialised at this norm, activations rescaled by the row norms
    /// (SAELens TopK/BatchTopK: `decoder_init_norm` 0.1, `rescale_acts_by_decoder_norm`);
    /// without it, genlab keeps the rows at unit norm. Saved SAEs have unit rows either way.
    #[arg(long)]
    decoder_init_norm: Option<f32>,
    /// Activation normalisation during training, folded into the saved weights so the SAE reads
    /// raw activations: `none` (both defaults) or `expected-average-only-in` (SAELens: scale to
    /// mean norm sqrt(d); genlab estimates the factor on the first batch, SAELens on 1000).
    #[arg(long, value_enum)]
    normalize_activations: Option<NormaliseArg>,
    /// BatchTopK threshold EMA factor β (genlab: 0.999 from step 1000, as dictionary_learning;
    /// SAELens: `topk_threshold_lr` 0.01, i.e. β = 0.99, from step 0).
    #[arg(long)]
    threshold_beta: Option<f64>,
    /// First step that updates the BatchTopK threshold.
    #[arg(long)]
    threshold_start: Option<u64>,
    /// Start from SAELens's BatchTopK training defaults (lr 3e-4 constant, no warm-up or decay,
    /// AuxK α 1 unnormalised, dead window 1000 steps, threshold β 0.99 from step 0, b_dec = 0,
    /// free decoder rows at init norm 0.1); any flag given explicitly overrides its preset value. Not
    /// copied: AuxK candidates (genlab: positive dead pre-activations only) and the norm estimate.
    #[arg(long)]
    saelens_defaults: bool,
    /// Rows read from disk at a time (shuffled within the chunk).
    #[arg(long, default_value_t = 65536)]
    chunk_rows: usize,
    /// Seed (initialisation, shuffling, OrtSAE partitions).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Also checkpoint every this many steps (0: only at the end and on Ctrl-C).
    #[arg(long, default_value_t = 500)]
    checkpoint_every: u64,
    /// Print the summary as one JSON object on standard output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunDir,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ShapeArg {
    /// Cosine to 0.1·lr (genlab).
    Cosine,
    /// Constant (SAELens).
    Constant,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum AuxNormArg {
    /// Divided by the residual's variance.
    Variance,
    /// Unnormalised (SAELens).
    None,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BiasInitArg {
    /// Geometric median of the first batch.
    GeometricMedian,
    /// Mean of the first batch.
    Mean,
    /// Zero.
    Zero,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum NormaliseArg {
    /// Raw activations.
    None,
    /// Scale to mean norm sqrt(d).
    ExpectedAverageOnlyIn,
}

pub(super) fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let RunDir { out, resume } = &args.run;
    if !resume && out.join(saelens::CFG_FILE).exists() {
        bail!(
            "{} already holds an SAE; choose another --out",
            out.display()
        );
    }
    args.run.refuse_to_restart()?;
    if args.chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    let files = open_files(&args.acts)?;
    let d = files[0].d;
    let mut stream = FileStream::new(files, args.chunk_rows, args.seed)?;
    let rows = stream.total_rows();
    let arch: Arch = args.arch.into();
    let config = train_config(&args, arch);
    config.validate()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let checkpointing = Checkpointing {
        path: args.run.checkpoint(),
        every: args.checkpoint_every,
        resume: *resume,
        source: format!(
            "{} (chunks of {} rows)",
            args.acts.display(),
            args.chunk_rows
        ),
    };
    progress.set_prefix("sae train");
    let trained = train_resumable(&mut stream, &config, &checkpointing, &mut progress)?;
    let genlab = serde_json::json!({
        "arch": arch.name(),
        "train_config": config,
        "acts": args.acts.display().to_string(),
        "final_l1": trained.final_l1,
    });
    saelens::save(&trained.sae, out, genlab)?;
    trained.history.write_csv(&out.join("history.csv"))?;
    let last = |name: &str| {
        trained
            .history
            .series(name)
            .last()
            .map_or(f64::NAN, |p| p.1)
    };
    let summary = serde_json::json!({
        "out": out.display().to_string(),
        "arch": arch.name(),
        "d": d,
        "width": args.width,
        "k": args.k,
        "vectors": rows,
        "steps": config.steps,
        "peak_lr": config.peak_lr(),
        "batch_fvu": last("batch_fvu"),
        "l0": last("l0"),
        "dead_fraction": last("dead_fraction"),
        "train_config": config,
    });
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "trained {} (d = {d}, width {}, k {}) on {rows} vectors in {}: batch FVU {:.4}, L0 {:.2}, dead {:.3}",
        arch.name(),
        args.width,
        args.k,
        out.display(),
        last("batch_fvu"),
        last("l0"),
        last("dead_fraction")
    );
    Ok(ExitCode::SUCCESS)
}

/// The run's settings: genlab's defaults or SAELens's (`--saelens-defaults`), then every flag
/// given explicitly.
fn train_config(args: &TrainArgs, arch: Arch) -> TrainConfig {
    let base = TrainConfig {
        arch,
        width: args.width,
        k: args.k,
        steps: args.steps,
        batch: args.batch,
        ortho_gamma: args.gamma,
        ortho_chunk: args.chunk,
        ortho_reduce: if args.ortho_mean {
            Reduce::Mean
        } else {
            Reduce::Max
        },
        seed: args.seed,
        log_every: (args.steps / 100).max(1),
        ..TrainConfig::default()
    };
    let mut c = if args.saelens_defaults {
        base.saelens_defaults()
    } else {
        base
    };
    c.lr = args.lr.or(c.lr);
    if let Some(shape) = args.lr_schedule {
        c.lr_schedule = match shape {
            ShapeArg::Cosine => Shape::Cosine,
            ShapeArg::Constant => Shape::Constant,
        };
    }
    c.warmup = args.warmup.unwrap_or(c.warmup);
    c.lr_decay_steps = args.lr_decay_steps.unwrap_or(c.lr_decay_steps);
    c.aux_alpha = args.aux_coef.unwrap_or(c.aux_alpha);
    if let Some(a) = args.aux_norm {
        c.aux_normalised = matches!(a, AuxNormArg::Variance);
    }
    c.dead_after_tokens = match (args.dead_after, args.dead_window) {
        (Some(tokens), _) => tokens,
        (None, Some(steps)) => steps.saturating_mul(args.batch as u64),
        (None, None) => c.dead_after_tokens,
    };
    if let Some(b) = args.bias_init {
        c.bias_init = match b {
            BiasInitArg::GeometricMedian => BiasInit::GeometricMedian,
            BiasInitArg::Mean => BiasInit::Mean,
            BiasInitArg::Zero => BiasInit::Zero,
        };
    }
    if let Some(n) = args.normalize_activations {
        c.normalise = match n {
            NormaliseArg::None => Normalise::None,
            NormaliseArg::ExpectedAverageOnlyIn => Normalise::ExpectedAverageOnlyIn,
        };
    }
    c.decoder_init_norm = args.decoder_init_norm.or(c.decoder_init_norm);
    c.threshold_beta = args.threshold_beta.unwrap_or(c.threshold_beta);
    c.threshold_start = args.threshold_start.unwrap_or(c.threshold_start);
    c
}
