//! `genlab sae train` / `genlab sae eval`: sparse autoencoders on the user's own activation
//! vectors (`.npy` or `.safetensors`, one file or a directory of shards, streamed from disk in
//! chunks), saved in the SAELens layout. `genlab sae acts` extracts such vectors from a real
//! language model (SmolLM2-135M) on a text corpus, in one process or as `--shard i/n` parts
//! (any scheduler: a SLURM array, GNU parallel, …) that `genlab sae gather` checks and
//! completes; `genlab sae ce` measures an SAE's CE-loss-recovered when spliced into that
//! model.

mod inspect;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_lm::cache::resolve_model;
use genlab_lm::{Llama, Tokenizer};
use genlab_sae::acts::open_files;
use genlab_sae::ce_recovered::ce_recovered;
use genlab_sae::corpus::{Sequences, load_corpus};
use genlab_sae::eval::evaluate;
use genlab_sae::lm_acts::{ExtractConfig, Manifest, Shard, extract, extract_shard, gather};
use genlab_sae::saelens;

use crate::progress::Progress;
use inspect::{EncodeArgs, InspectArgs, encode_cmd, inspect_cmd};
use train::{TrainArgs, train_cmd};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train an SAE on activation vectors; writes OUT/cfg.json and OUT/sae_weights.safetensors
    /// (SAELens layout), OUT/history.csv and OUT/checkpoint.bin (Ctrl-C saves it; rerun with
    /// --resume to continue).
    Train(TrainArgs),
    /// Reconstruction metrics of a saved SAE on activation vectors.
    Eval(EvalArgs),
    /// Extract residual-stream activations of a language model on a text corpus; writes
    /// OUT/acts-*.safetensors (one F32 [rows, d] tensor each, BOS rows dropped, rows shuffled
    /// within each shard), OUT/store.json and OUT/manifest.json. Rerunning continues an
    /// interrupted extraction. With --shard i/n, writes only its part of the shards (run
    /// every i = 0..n-1, e.g. `sbatch --array=0-15 … --shard $SLURM_ARRAY_TASK_ID/16`), then
    /// `genlab sae gather OUT`.
    Acts(ActsArgs),
    /// Check that every shard of an activation store written by `sae acts --shard i/n` parts is
    /// there and of one configuration, and write its manifest (after which `sae train` reads
    /// it).
    Gather(GatherArgs),
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
    /// Compute only part i of n (0 ≤ i < n): a contiguous range of the store's shards. The
    /// bytes written do not depend on n.
    #[arg(long)]
    shard: Option<String>,
    /// Print the manifest (or, with --shard, what the part did) as one JSON object on standard
    /// output.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct GatherArgs {
    /// The store directory (every part's --out; copy the parts' shard and .done files into one
    /// directory first when they ran on machines without a shared disk).
    dir: PathBuf,
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
        Command::Gather(args) => gather_cmd(args),
        Command::Ce(args) => ce_cmd(args, progress),
        Command::Inspect(args) => inspect_cmd(args, progress),
        Command::Encode(args) => encode_cmd(args),
    }
}

/// The model, its file name, and the corpus cut into sequences.
pub(super) fn load_lm(lm: &LmArgs) -> anyhow::Result<(Llama, Tokenizer, String, Sequences)> {
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
pub(super) fn load_sae(dir: &std::path::Path) -> anyhow::Result<genlab_sae::Sae> {
    let (sae, _) =
        saelens::load(dir).with_context(|| format!("loading the SAE in {}", dir.display()))?;
    Ok(sae)
}

fn acts_cmd(args: ActsArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let (model, _, name, seqs) = load_lm(&args.lm)?;
    let config = ExtractConfig {
        layer: args.lm.layer,
        tokens: args.tokens,
        batch: args.lm.batch,
        shard_rows: args.shard_rows,
    };
    let l = &args.lm;
    if let Some(shard) = shard {
        progress.set_prefix(format!("sae acts {}/{}", shard.index, shard.count));
        let run = extract_shard(
            &model,
            &name,
            &seqs,
            &l.corpus,
            l.seed,
            &config,
            &args.out,
            shard,
            &mut progress,
        )?;
        let value = serde_json::json!({
            "out": args.out.display().to_string(),
            "shard": format!("{}/{}", shard.index, shard.count),
            "store_shards": [run.owned.start, run.owned.end],
            "of": run.store.config.shards,
            "computed": run.computed,
            "config_hash": run.store.config_hash,
        });
        if args.json {
            println!("{value}");
        } else {
            println!(
                "part {}/{}: store shards {}..{} of {} in {} ({} computed now, the others were done); \
                 when every part is done: genlab sae gather {}",
                shard.index,
                shard.count,
                run.owned.start,
                run.owned.end,
                run.store.config.shards,
                args.out.display(),
                run.computed,
                args.out.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    progress.set_prefix("sae acts");
    let m = extract(
        &model,
        &name,
        &seqs,
        &l.corpus,
        l.seed,
        &config,
        &args.out,
        &mut progress,
    )?;
    print_manifest(&m, &args.out, args.json)
}

fn gather_cmd(args: GatherArgs) -> anyhow::Result<ExitCode> {
    let m = gather(&args.dir)?;
    print_manifest(&m, &args.dir, args.json)
}

fn print_manifest(m: &Manifest, out: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(m)?);
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
        out.display(),
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
