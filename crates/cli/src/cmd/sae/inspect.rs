//! `genlab sae inspect` (feature dashboards) and `genlab sae encode` (top latents per token).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_core::fsx;
use genlab_lm::Llama;
use genlab_lm::cache::resolve_model;
use genlab_sae::inspect::{InspectConfig, encode_text, html, inspect};

use crate::progress::Progress;

use super::{LmArgs, load_lm, load_sae};

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

pub(super) fn inspect_cmd(args: InspectArgs, mut progress: Progress) -> anyhow::Result<ExitCode> {
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

pub(super) fn encode_cmd(args: EncodeArgs) -> anyhow::Result<ExitCode> {
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
