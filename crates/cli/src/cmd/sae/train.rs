//! `genlab sae train`: its flags (genlab's and SAELens's conventions side by side) and the
//! run. Several `--width` / `--k` values train every combination from one pass over the
//! activations (a sweep), each saved in OUT/width<W>-k<K>/.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_sae::acts::{FileStream, open_files};
use genlab_sae::aux::AuxPick;
use genlab_sae::init::{BiasInit, Directions};
use genlab_sae::normalise::Normalise;
use genlab_sae::ortsae::Reduce;
use genlab_sae::saelens;
use genlab_sae::train::{Arch, Checkpointing, Shape, TrainConfig, Trained, train_sweep};

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
    /// Mean active latents per vector; several values (`--k 16,32`) train one SAE per value
    /// (and per --width) from one pass over the data.
    #[arg(long, value_delimiter = ',', default_value = "32")]
    k: Vec<usize>,
    /// Dictionary size; several values (`--width 512,1024`) as for --k.
    #[arg(long, value_delimiter = ',', default_value = "4096")]
    width: Vec<usize>,
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
    /// AuxK candidates: `positive` dead pre-activations only (genlab, dictionary_learning) or
    /// `any-sign` (SAELens: top k_aux of the dead latents' raw pre-activations).
    #[arg(long, value_enum)]
    aux_pick: Option<AuxPickArg>,
    /// Train free decoder rows initialised at this norm, activations rescaled by the row norms
    /// (SAELens TopK/BatchTopK: `decoder_init_norm` 0.1, `rescale_acts_by_decoder_norm`);
    /// without it, genlab keeps the rows at unit norm. Saved SAEs have unit rows either way.
    #[arg(long)]
    decoder_init_norm: Option<f32>,
    /// Initial decoder directions: `normal` (normalised Gaussian rows; genlab) or `uniform`
    /// (normalised uniform entries; SAELens's kaiming_uniform_).
    #[arg(long, value_enum)]
    decoder_directions: Option<DirectionsArg>,
    /// Start from the SAE saved in this directory (SAELens layout, same d and width) instead of
    /// a random initialisation; its raw weights are used as they are.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Activation normalisation during training, folded into the saved weights so the SAE reads
    /// raw activations: `none` (both defaults) or `expected-average-only-in` (SAELens: scale to
    /// mean norm sqrt(d), estimated over --norm-batches batches).
    #[arg(long, value_enum)]
    normalize_activations: Option<NormaliseArg>,
    /// Batches the normalisation factor is estimated on (both: 1000, SAELens's
    /// `n_batches_for_norm_estimate`); the stream is then rewound.
    #[arg(long)]
    norm_batches: Option<usize>,
    /// BatchTopK threshold EMA factor β (genlab: 0.999 from step 1000, as dictionary_learning;
    /// SAELens: `topk_threshold_lr` 0.01, i.e. β = 0.99, from step 0).
    #[arg(long)]
    threshold_beta: Option<f64>,
    /// First step that updates the BatchTopK threshold.
    #[arg(long)]
    threshold_start: Option<u64>,
    /// The BatchTopK threshold starts at 0 and the first update averages into it (SAELens),
    /// instead of starting at the first batch's smallest activation.
    #[arg(long)]
    threshold_from_zero: bool,
    /// Start from SAELens's BatchTopK training defaults (lr 3e-4 constant, no warm-up or decay,
    /// AuxK α 1 unnormalised, dead window 1000 steps, threshold β 0.99 from step 0, b_dec = 0,
    /// AuxK over dead pre-activations of any sign, free decoder rows at init norm 0.1 with
    /// uniform directions, threshold from 0); any flag given explicitly overrides its preset
    /// value.
    #[arg(long)]
    saelens_defaults: bool,
    /// Rows read from disk at a time (shuffled within the chunk).
    #[arg(long, default_value_t = 65536)]
    chunk_rows: usize,
    /// Seed (initialisation, shuffling, OrtSAE partitions).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Record the training curve (OUT/history.csv) every this many steps (default: steps/100).
    #[arg(long)]
    log_every: Option<u64>,
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
pub enum AuxPickArg {
    /// Positive dead pre-activations only.
    Positive,
    /// Any sign (SAELens).
    AnySign,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum DirectionsArg {
    /// Normalised Gaussian rows.
    Normal,
    /// Normalised uniform entries (SAELens).
    Uniform,
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
    let arch: Arch = args.arch.into();
    let configs = train_configs(&args, arch)?;
    let sweep = configs.len() > 1;
    let dirs: Vec<PathBuf> = configs
        .iter()
        .map(|c| match sweep {
            true => out.join(format!("width{}-k{}", c.width, c.k)),
            false => out.clone(),
        })
        .collect();
    if !resume && let Some(d) = dirs.iter().find(|d| d.join(saelens::CFG_FILE).exists()) {
        bail!("{} already holds an SAE; choose another --out", d.display());
    }
    args.run.refuse_to_restart()?;
    if args.chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    let files = open_files(&args.acts)?;
    let d = files[0].d;
    let mut stream = FileStream::new(files, args.chunk_rows, args.seed)?;
    let rows = stream.total_rows();
    for c in &configs {
        c.validate()?;
    }
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
    let trained = train_sweep(&mut stream, &configs, Some(&checkpointing), &mut progress)?;
    let mut summaries = Vec::new();
    for ((t, c), dir) in trained.iter().zip(&configs).zip(&dirs) {
        summaries.push(save_one(t, c, dir, &args, d, rows)?);
    }
    if args.json {
        let value = match summaries.as_slice() {
            [one] => one.clone(),
            many => serde_json::json!({ "out": out.display().to_string(), "saes": many }),
        };
        println!("{}", serde_json::to_string(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    for s in &summaries {
        println!(
            "trained {} (d = {d}, width {}, k {}) on {rows} vectors in {}: batch FVU {:.4}, L0 {:.2}, dead {:.3}",
            arch.name(),
            s["width"],
            s["k"],
            s["out"].as_str().unwrap_or(""),
            s["batch_fvu"].as_f64().unwrap_or(f64::NAN),
            s["l0"].as_f64().unwrap_or(f64::NAN),
            s["dead_fraction"].as_f64().unwrap_or(f64::NAN),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Saves one trained SAE (SAELens layout and history.csv) in `dir` and returns its summary.
fn save_one(
    trained: &Trained,
    config: &TrainConfig,
    dir: &std::path::Path,
    args: &TrainArgs,
    d: usize,
    rows: usize,
) -> anyhow::Result<serde_json::Value> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let genlab = serde_json::json!({
        "arch": config.arch.name(),
        "train_config": config,
        "acts": args.acts.display().to_string(),
        "final_l1": trained.final_l1,
    });
    saelens::save(&trained.sae, dir, genlab)?;
    trained.history.write_csv(&dir.join("history.csv"))?;
    let last = |name: &str| {
        trained
            .history
            .series(name)
            .last()
            .map_or(f64::NAN, |p| p.1)
    };
    Ok(serde_json::json!({
        "out": dir.display().to_string(),
        "arch": config.arch.name(),
        "d": d,
        "width": config.width,
        "k": config.k,
        "vectors": rows,
        "steps": config.steps,
        "peak_lr": config.peak_lr(),
        "batch_fvu": last("batch_fvu"),
        "l0": last("l0"),
        "dead_fraction": last("dead_fraction"),
        "train_config": config,
    }))
}

/// One configuration per (width, k) pair, widths outer.
fn train_configs(args: &TrainArgs, arch: Arch) -> anyhow::Result<Vec<TrainConfig>> {
    if args.width.is_empty() || args.k.is_empty() {
        bail!("--width and --k need at least one value each");
    }
    let mut out = Vec::new();
    for &width in &args.width {
        for &k in &args.k {
            out.push(train_config(args, arch, width, k));
        }
    }
    Ok(out)
}

/// The run's settings: genlab's defaults or SAELens's (`--saelens-defaults`), then every flag
/// given explicitly.
fn train_config(args: &TrainArgs, arch: Arch, width: usize, k: usize) -> TrainConfig {
    let base = TrainConfig {
        arch,
        width,
        k,
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
        log_every: args.log_every.unwrap_or(args.steps / 100).max(1),
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
    if let Some(p) = args.aux_pick {
        c.aux_pick = match p {
            AuxPickArg::Positive => AuxPick::Positive,
            AuxPickArg::AnySign => AuxPick::AnySign,
        };
    }
    if let Some(dirs) = args.decoder_directions {
        c.decoder_directions = match dirs {
            DirectionsArg::Normal => Directions::Normal,
            DirectionsArg::Uniform => Directions::Uniform,
        };
    }
    c.norm_batches = args.norm_batches.unwrap_or(c.norm_batches);
    c.threshold_from_zero |= args.threshold_from_zero;
    c.init_from = args.init.clone();
    c.threshold_beta = args.threshold_beta.unwrap_or(c.threshold_beta);
    c.threshold_start = args.threshold_start.unwrap_or(c.threshold_start);
    c
}
