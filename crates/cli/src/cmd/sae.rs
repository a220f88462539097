//! `genlab sae train` / `genlab sae eval`: sparse autoencoders on the user's own activation
//! vectors (`.npy` or `.safetensors`, one file or a directory of shards, streamed from disk in
//! chunks), saved in the SAELens layout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use genlab_core::fsx;
use genlab_sae::acts::{FileStream, for_each_chunk, open_files};
use genlab_sae::metrics::{ReconStats, max_abs_cos};
use genlab_sae::ortsae::Reduce;
use genlab_sae::saelens;
use genlab_sae::train::{Arch, TrainConfig, train};

use crate::progress::Progress;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Train an SAE on activation vectors; writes OUT/cfg.json and OUT/sae_weights.safetensors
    /// (SAELens layout) and OUT/history.csv.
    Train(TrainArgs),
    /// Reconstruction metrics of a saved SAE on activation vectors.
    Eval(EvalArgs),
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
    /// Peak learning rate (default 2e-4 / sqrt(width / 2^14)).
    #[arg(long)]
    lr: Option<f64>,
    /// OrtSAE penalty weight γ.
    #[arg(long, default_value_t = 1.0)]
    gamma: f32,
    /// OrtSAE chunk size.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    /// OrtSAE: mean instead of max of the squared cosines within a chunk.
    #[arg(long)]
    ortho_mean: bool,
    /// A latent counts as dead after this many tokens without firing (AuxK revives it).
    #[arg(long, default_value_t = 10_000_000)]
    dead_after: u64,
    /// Rows read from disk at a time (shuffled within the chunk).
    #[arg(long, default_value_t = 65536)]
    chunk_rows: usize,
    /// Seed (initialisation, shuffling, OrtSAE partitions).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
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
}

pub fn run(command: Command, progress: Progress) -> anyhow::Result<ExitCode> {
    match command {
        Command::Train(args) => train_cmd(args, progress),
        Command::Eval(args) => eval_cmd(args),
    }
}

fn train_cmd(args: TrainArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
    if args.out.join(saelens::CFG_FILE).exists() {
        bail!(
            "{} already holds an SAE; choose another --out",
            args.out.display()
        );
    }
    if args.chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    let files = open_files(&args.acts)?;
    let d = files[0].d;
    let mut stream = FileStream::new(files, args.chunk_rows, args.seed)?;
    let rows = stream.total_rows();
    let arch: Arch = args.arch.into();
    let config = TrainConfig {
        arch,
        width: args.width,
        k: args.k,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        ortho_gamma: args.gamma,
        ortho_chunk: args.chunk,
        ortho_reduce: if args.ortho_mean {
            Reduce::Mean
        } else {
            Reduce::Max
        },
        dead_after_tokens: args.dead_after,
        seed: args.seed,
        log_every: (args.steps / 100).max(1),
        ..TrainConfig::default()
    };
    progress.set_prefix("sae train");
    let trained = train(&mut stream, &config, &mut progress)?;
    let genlab = serde_json::json!({
        "arch": arch.name(),
        "train_config": config,
        "acts": args.acts.display().to_string(),
        "final_l1": trained.final_l1,
    });
    saelens::save(&trained.sae, &args.out, genlab)?;
    let mut csv = String::from("step,loss,batch_fvu,l0,dead_fraction\n");
    for (s, loss, fvu, l0, dead) in &trained.history {
        csv.push_str(&format!("{s},{loss},{fvu},{l0},{dead}\n"));
    }
    fsx::atomic_write(&args.out.join("history.csv"), csv.as_bytes())?;
    let last = trained.history.last().copied().unwrap_or_default();
    println!(
        "trained {} (d = {d}, width {}, k {}) on {rows} vectors in {}: batch FVU {:.4}, L0 {:.2}, dead {:.3}",
        arch.name(),
        args.width,
        args.k,
        args.out.display(),
        last.2,
        last.3,
        last.4
    );
    Ok(ExitCode::SUCCESS)
}

fn eval_cmd(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let (sae, _) = saelens::load(&args.sae)
        .with_context(|| format!("loading the SAE in {}", args.sae.display()))?;
    let files = open_files(&args.acts)?;
    if files[0].d != sae.d {
        bail!(
            "{} has width {}, the SAE expects {}",
            args.acts.display(),
            files[0].d,
            sae.d
        );
    }
    if args.chunk_rows == 0 {
        bail!("--chunk-rows must be at least 1");
    }
    let mut stats = ReconStats::new(sae.d, sae.m);
    let n = for_each_chunk(
        &files,
        args.chunk_rows,
        args.max_rows.unwrap_or(usize::MAX),
        |x| {
            let codes = sae.encode(x);
            let recon = sae.decode(&codes);
            stats.add(x, &recon, &codes);
            Ok(())
        },
    )?;
    let r = stats.finish();
    let maxcos = max_abs_cos(&sae.w_dec, sae.d);
    let mean_maxcos = maxcos.iter().map(|&c| c as f64).sum::<f64>() / maxcos.len().max(1) as f64;
    println!("vectors: {n}");
    println!("explained_variance: {:.6}", r.ev);
    println!("fvu: {:.6}", r.fvu);
    println!("mse: {:.6}", r.mse);
    println!("l0: {:.4}", r.l0);
    println!("dead_fraction: {:.4}", r.dead_fraction);
    println!("mean_max_cos: {mean_maxcos:.4}");
    Ok(ExitCode::SUCCESS)
}
