//! `genlab sae train` / `genlab sae eval`: sparse autoencoders on the user's own activation
//! vectors (`.npy` or `.safetensors`, one file or a directory of shards, streamed from disk in
//! chunks), saved in the SAELens layout. `genlab sae acts` extracts such vectors from a real
//! language model (SmolLM2-135M) on a text corpus; `genlab sae ce` measures an SAE's
//! CE-loss-recovered when spliced into that model.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_core::fsx;
use genlab_lm::cache::resolve_model;
use genlab_lm::{Llama, Tokenizer};
use genlab_sae::acts::{FileStream, open_files};
use genlab_sae::ce_recovered::ce_recovered;
use genlab_sae::corpus::{Sequences, load_corpus};
use genlab_sae::eval::evaluate;
use genlab_sae::init::BiasInit;
use genlab_sae::inspect::{InspectConfig, encode_text, html, inspect};
use genlab_sae::lm_acts::{ExtractConfig, MANIFEST, extract};
use genlab_sae::normalise::Normalise;
use genlab_sae::ortsae::Reduce;
use genlab_sae::saelens;
use genlab_sae::schedule::Shape;
use genlab_sae::train::{Arch, Checkpointing, TrainConfig, train_resumable};

use super::output::RunDir;
use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train an SAE on activation vectors; writes OUT/cfg.json and OUT/sae_weights.safetensors
    /// (SAELens layout), OUT/history.csv and OUT/checkpoint.bin (Ctrl-C saves it; rerun with
    /// --resume to continue).
    Train(TrainArgs),
    /// Reconstruction metrics of a saved SAE on activation vectors.
    Eval(EvalArgs),
    /// Extract residual-stream activations of a language model on a text corpus; writes
    /// OUT/acts-*.safetensors (one F32 [rows, d] tensor each, BOS rows dropped) and
    /// OUT/manifest.json.
    Acts(ActsArgs),
    /// CE-loss-recovered of a saved SAE spliced into the model's residual stream:
    /// (CE_zero − CE_sae) / (CE_zero − CE_clean), on held-out corpus sequences.
    Ce(CeArgs),
    /// Feature dashboards: one HTML page (OUT/index.html, and OUT/dashboard.json) describing
    /// chosen latents on the model's text — density, activation histogram, top-activating
    /// contexts with per-token shading, contexts at activation quantiles, and the tokens each
    /// decoder row promotes and suppresses through the unembedding; latents sorted by density.
    /// Streams the corpus with bounded memory.
    Inspect(InspectArgs),
    /// The strongest latents of each token of a text.
    Encode(EncodeArgs),
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The SAE directory (SAELens layout).
    #[arg(long)]
    sae: PathBuf,
    #[command(flatten)]
    lm: LmArgs,
    /// Latents to describe: a range `A..B` (B excluded) or a list `3,17,42`.
    #[arg(long, default_value = "0..50")]
    latents: String,
    /// Corpus sequences to stream (from the front of the seeded order).
    #[arg(long, default_value_t = 256)]
    sequences: usize,
    /// Top-activating contexts per latent.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Promoted and suppressed tokens per latent.
    #[arg(long, default_value_t = 10)]
    logit_tokens: usize,
    /// Output directory (index.html, dashboard.json).
    #[arg(long)]
    out: PathBuf,
    /// Print a summary (per latent: density, max, top token) as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct EncodeArgs {
    /// The SAE directory (SAELens layout).
    #[arg(long)]
    sae: PathBuf,
    /// Model: `smollm2-135m` (after `genlab data fetch smollm2-135m`) or a Llama GGUF file.
    #[arg(long, default_value = "smollm2-135m")]
    model: String,
    /// Layer the SAE reads.
    #[arg(long)]
    layer: usize,
    /// The text (a BOS token is put before it).
    #[arg(long)]
    text: String,
    /// Latents listed per token.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Where the model and text come from (shared by `acts` and `ce`).
#[derive(clap::Args, Debug)]
pub struct LmArgs {
    /// Model: `smollm2-135m` (after `genlab data fetch smollm2-135m`) or a Llama GGUF file.
    #[arg(long, default_value = "smollm2-135m")]
    model: String,
    /// Layer ℓ: the residual stream after ℓ blocks (0 = embeddings), i.e. resid_pre of block ℓ.
    #[arg(long)]
    layer: usize,
    /// Text: `kjv` or `shakespeare` (after `genlab data fetch`), or a UTF-8 text file.
    #[arg(long)]
    corpus: String,
    /// Tokens per sequence, BOS included.
    #[arg(long, default_value_t = 128)]
    ctx: usize,
    /// Sequences per forward pass.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Seed of the order in which corpus sequences are taken.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(clap::Args, Debug)]
pub struct ActsArgs {
    #[command(flatten)]
    lm: LmArgs,
    /// Activation vectors to write (one per non-BOS token).
    #[arg(long, default_value_t = 100_000)]
    tokens: usize,
    /// Vectors per shard file.
    #[arg(long, default_value_t = 32768)]
    shard_rows: usize,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Print the manifest as one JSON object on standard output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct CeArgs {
    /// The SAE directory (SAELens layout).
    #[arg(long)]
    sae: PathBuf,
    #[command(flatten)]
    lm: LmArgs,
    /// Held-out sequences to evaluate (taken from the end of the seeded corpus order).
    #[arg(long, default_value_t = 32)]
    sequences: usize,
    /// Print the result as one JSON object on standard output.
    #[arg(long)]
    json: bool,
}

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

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The SAE directory (SAELens layout).
    #[arg(long)]
    sae: PathBuf,
    /// Activations (as for `train`).
    #[arg(long)]
    acts: PathBuf,
    /// Evaluate at most this many vectors.
    #[arg(long)]
    max_rows: Option<usize>,
    /// Rows read from disk at a time.
    #[arg(long, default_value_t = 65536)]
    chunk_rows: usize,
    /// Print the metrics as one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Eval(args) => eval_cmd(args),
        Command::Acts(args) => acts_cmd(args, progress),
        Command::Ce(args) => ce_cmd(args, progress),
        Command::Inspect(args) => inspect_cmd(args, progress),
        Command::Encode(args) => encode_cmd(args),
    }
}

/// `A..B` or `a,b,c`.
fn parse_latents(spec: &str) -> anyhow::Result<Vec<usize>> {
    let bad = || {
        anyhow::anyhow!("--latents {spec:?}: expected a range like 0..50 or a list like 3,17,42")
    };
    if let Some((a, b)) = spec.split_once("..") {
        let (a, b): (usize, usize) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if a >= b {
            return Err(bad());
        }
        return Ok((a..b).collect());
    }
    let mut out: Vec<usize> = spec
        .split(',')
        .map(|t| t.trim().parse().map_err(|_| bad()))
        .collect::<anyhow::Result<_>>()?;
    out.dedup();
    Ok(out)
}

fn inspect_cmd(args: InspectArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let latents = parse_latents(&args.latents)?;
    let sae = load_sae(&args.sae)?;
    let (model, tok, name, seqs) = load_lm(&args.lm)?;
    let chosen = seqs.front(args.sequences.min(seqs.all.len()))?;
    let config = InspectConfig {
        layer: args.lm.layer,
        latents,
        batch: args.lm.batch,
        top: args.top,
        before: 12,
        after: 4,
        logit_tokens: args.logit_tokens,
        seed: args.lm.seed,
    };
    progress.set_prefix("sae inspect");
    let d = inspect(
        &sae,
        &model,
        &tok,
        chosen,
        (&name, &args.lm.corpus),
        &config,
        &mut progress,
    )?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let page = args.out.join("index.html");
    fsx::atomic_write(&page, html::render(&d).as_bytes())?;
    fsx::write_json(&args.out.join("dashboard.json"), &d)?;
    if args.json {
        let latents: Vec<serde_json::Value> = d
            .latents
            .iter()
            .map(|c| {
                serde_json::json!({
                    "latent": c.latent,
                    "density": c.density,
                    "max": c.max,
                    "top_token": c.top.first().map(|e| e.tokens[e.focus].clone()),
                    "promoted": c.promoted.iter().take(3).map(|p| p.0.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let value = serde_json::json!({
            "page": page.display().to_string(),
            "tokens": d.tokens,
            "sequences": d.sequences,
            "latents": latents,
        });
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "wrote the dashboard of {} latents on {} tokens to {}",
        d.latents.len(),
        d.tokens,
        page.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn encode_cmd(args: EncodeArgs) -> anyhow::Result<ExitCode> {
    let sae = load_sae(&args.sae)?;
    let cache = Cache::from_env();
    let path = resolve_model(&args.model, &cache)?;
    let (model, tok) = Llama::load(&path, &device())
        .with_context(|| format!("loading the model {}", path.display()))?;
    let rows = encode_text(&sae, &model, &tok, args.layer, &args.text, args.top)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "layer": args.layer, "tokens": rows })
        );
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rows {
        let latents: Vec<String> = r
            .latents
            .iter()
            .map(|(j, v)| format!("#{j} {v:.3}"))
            .collect();
        println!(
            "{:>4} {:<16} {}",
            r.position,
            format!("{:?}", r.token),
            latents.join("  ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The model, its file name, and the corpus cut into sequences.
fn load_lm(lm: &LmArgs) -> anyhow::Result<(Llama, Tokenizer, String, Sequences)> {
    let cache = Cache::from_env();
    let path = resolve_model(&lm.model, &cache)?;
    let corpus = load_corpus(&lm.corpus, &cache)?;
    let (model, tok) = Llama::load(&path, &device())
        .with_context(|| format!("loading the model {}", path.display()))?;
    if lm.layer > model.config.n_layer {
        bail!(
            "--layer {} does not exist (the model has layers 0..={})",
            lm.layer,
            model.config.n_layer
        );
    }
    if lm.ctx > model.config.context {
        bail!(
            "--ctx {} is longer than the model's context of {} tokens",
            lm.ctx,
            model.config.context
        );
    }
    let seqs = Sequences::new(&tok, &corpus.text, lm.ctx, lm.seed)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((model, tok, name, seqs))
}

/// A saved SAE (SAELens layout), the error naming its directory.
fn load_sae(dir: &std::path::Path) -> anyhow::Result<genlab_sae::Sae> {
    let (sae, _) =
        saelens::load(dir).with_context(|| format!("loading the SAE in {}", dir.display()))?;
    Ok(sae)
}

fn acts_cmd(args: ActsArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    if args.out.join(MANIFEST).exists() {
        bail!(
            "{} already holds activations; choose another --out",
            args.out.display()
        );
    }
    let (model, _, name, seqs) = load_lm(&args.lm)?;
    let config = ExtractConfig {
        layer: args.lm.layer,
        tokens: args.tokens,
        batch: args.lm.batch,
        shard_rows: args.shard_rows,
    };
    progress.set_prefix("sae acts");
    let m = extract(
        &model,
        &name,
        &seqs,
        &args.lm.corpus,
        args.lm.seed,
        &config,
        &args.out,
        &mut progress,
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&m)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "wrote {} vectors (d = {}) of layer {} from {} sequences of {} tokens of {} to {} in {} shard(s): {:.0} tokens/s",
        m.tokens,
        m.d,
        m.layer,
        m.sequences,
        m.ctx,
        m.corpus,
        args.out.display(),
        m.shards.len(),
        m.tokens_per_second
    );
    Ok(ExitCode::SUCCESS)
}

fn ce_cmd(args: CeArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let sae = load_sae(&args.sae)?;
    let (model, _, _, seqs) = load_lm(&args.lm)?;
    let held_out = seqs.back(args.sequences)?;
    progress.set_prefix("sae ce");
    let r = ce_recovered(
        &model,
        &sae,
        args.lm.layer,
        held_out,
        args.lm.batch,
        &mut progress,
    )?;
    if args.json {
        let value = serde_json::json!({
            "sequences": held_out.len(),
            "predictions": r.predictions,
            "ce_clean": r.ce_clean,
            "ce_sae": r.ce_sae,
            "ce_zero_ablation": r.ce_zero,
            "ce_loss_recovered": r.score,
        });
        println!("{value}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("sequences: {}", held_out.len());
    println!("predictions: {}", r.predictions);
    println!("ce_clean: {:.6}", r.ce_clean);
    println!("ce_sae: {:.6}", r.ce_sae);
    println!("ce_zero_ablation: {:.6}", r.ce_zero);
    println!("ce_loss_recovered: {:.6}", r.score);
    Ok(ExitCode::SUCCESS)
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
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

fn eval_cmd(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let sae = load_sae(&args.sae)?;
    let files = open_files(&args.acts)?;
    if args.chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    let e = evaluate(
        &sae,
        &files,
        args.chunk_rows,
        args.max_rows.unwrap_or(usize::MAX),
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&e)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("vectors: {}", e.vectors);
    println!("explained_variance: {:.6}", e.explained_variance);
    println!("fvu: {:.6}", e.fvu);
    println!("mse: {:.6}", e.mse);
    println!("l0: {:.4}", e.l0);
    println!("dead_fraction: {:.4}", e.dead_fraction);
    println!("mean_max_cos: {:.4}", e.mean_max_cos);
    Ok(ExitCode::SUCCESS)
}
