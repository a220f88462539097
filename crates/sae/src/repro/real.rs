//! The real-LM part: BatchTopK vs OrtSAE at γ* on SmolLM2-135M residual-stream activations
//! ([`super::real_data`]), when the model and a corpus have been fetched
//! (`genlab data fetch smollm2-135m` and `kjv`, else `shakespeare`); otherwise skipped with the
//! reason.
//!
//! ```text
//! arms    BatchTopK and OrtSAE (γ*, chunk 128) at equal k; per training seed s the same
//!         initialisation seed s and data order for both arms
//! eval    held-out EV, L0, dead fraction, mean max |cos| between decoder rows (+ histogram),
//!         CE-loss-recovered on held-out sequences (crate::ce_recovered), first-letter
//!         absorption (crate::metrics::letters: class-mean probes on word tokens, a weaker
//!         stand-in for SAEBench's logistic probes), composition = meta-SAE EV of the decoder
//!         rows (crate::metrics::composition)
//! verdict over the training seeds (`opts.seeds`): OrtSAE's first-letter absorption lower ∧
//!         mean max-cos lower ∧ EV_BatchTopK ≤ EV_OrtSAE / 0.95 ∧ L0 within 10% both ways;
//!         composition is reported beside the paper's −15%, not judged
//! ```

use std::path::Path;

use serde::Serialize;

use genlab_core::Result;
use genlab_core::data::Cache;
use genlab_core::report::Arms;
use genlab_core::train::Observer;

use super::real_data::{self, RealData, fold_scale};
use super::setup::{BASELINE, CHUNK, Measured, gamma_arm, timed_train};
use super::synthetic::META_LR;
use crate::acts::InMemory;
use crate::ce_recovered::ce_recovered_many;
use crate::eval::evaluate_rows;
use crate::metrics::{letters, meta_sae_ev};
use crate::sae::Sae;
use crate::train::{Arch, TrainConfig};

/// Sizes of the real-LM part.
#[derive(Debug, Clone, Serialize)]
pub struct RealSizes {
    /// Residual-stream layer ℓ.
    pub layer: usize,
    /// Tokens per sequence (BOS included).
    pub ctx: usize,
    /// Activation rows extracted (training + held out).
    pub tokens: usize,
    /// Rows held out for evaluation.
    pub eval_rows: usize,
    /// Dictionary size m.
    pub width: usize,
    /// Active latents k.
    pub k: usize,
    /// Training steps per arm.
    pub steps: u64,
    /// Batch size.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Held-out sequences for CE-loss-recovered.
    pub ce_sequences: usize,
    /// Training seeds (initialisation and data order), from the base seed up; `--seeds`
    /// overrides it.
    pub seeds: usize,
    /// Word tokens of the first-letter absorption probe set.
    pub letter_tokens: usize,
    /// Meta-SAE steps of the composition metric.
    pub meta_steps: u64,
}

/// What the real-LM part measured.
#[derive(Debug, Clone)]
pub struct RealResult {
    /// Corpus used.
    pub corpus: String,
    /// Per training seed: the seed and its arms (named by [`arm`]).
    pub per_seed: Vec<(u64, Arms)>,
    /// The first seed's decoder max |cos| values per arm.
    pub maxcos: Vec<(String, Vec<f32>)>,
    /// Activation scale c applied before training.
    pub scale_factor: f64,
    /// Extraction: tokens/s when extracted in this run, `None` when reused from the cache.
    pub extraction_tokens_per_second: Option<f64>,
}

/// Whether the part ran.
#[derive(Debug, Clone)]
pub enum RealOutcome {
    /// Skipped, with the reason (data not fetched).
    Skipped(String),
    /// Ran.
    Ran(Box<RealResult>),
}

/// The report's name of the real-LM arm `name`.
pub fn arm(name: &str) -> String {
    format!("real LM: {name}")
}

/// Runs the real-LM comparison at `gamma` (γ*) on the training `seeds` (the first also picks
/// the corpus sequences and the probe tokens), or reports why it was skipped.
pub fn run(
    cache_dir: &Path,
    sizes: &RealSizes,
    gamma: f32,
    seeds: &[u64],
    observer: &mut dyn Observer,
) -> Result<RealOutcome> {
    let seed = seeds[0];
    let found = match real_data::find(&Cache::at(cache_dir)) {
        Ok(found) => found,
        Err(why) => return Ok(RealOutcome::Skipped(why)),
    };
    let data = real_data::load(cache_dir, found, sizes, seed, observer)?;
    // Every arm of every seed is trained and measured first; CE-loss-recovered then runs once
    // for all of them (one clean and one zero-ablated run shared by every SAE).
    let mut trained: Vec<(u64, String, Measured, Sae)> = Vec::new();
    for &s in seeds {
        for (name, arch, g) in [
            (BASELINE.to_string(), Arch::BatchTopK, 0.0),
            (gamma_arm(gamma), Arch::OrtSae, gamma),
        ] {
            observer.message(&format!("real LM, seed {s}: training {name}"));
            let (m, sae) = train_arm(&data, config(arch, g, sizes, s), sizes, observer)?;
            trained.push((s, name, m, fold_scale(sae, data.scale as f32)));
        }
    }
    observer.message("real LM: CE-loss-recovered of every arm");
    let saes: Vec<&Sae> = trained.iter().map(|t| &t.3).collect();
    let ce = ce_recovered_many(
        &data.model,
        &saes,
        sizes.layer,
        data.seqs.back(sizes.ce_sequences)?,
        8,
        observer,
    )?;
    let mut per_seed: Vec<(u64, Arms)> = Vec::new();
    let mut maxcos = Vec::new();
    for ((s, name, mut m, _), ce) in trained.into_iter().zip(ce) {
        m.insert("ce_loss_recovered", ce.score);
        m.insert("ce_clean", ce.ce_clean);
        m.insert("ce_sae", ce.ce_sae);
        m.insert("ce_zero_ablation", ce.ce_zero);
        if s == seed {
            maxcos.push((name.clone(), m.maxcos));
        }
        if per_seed.last().is_none_or(|(last, _)| *last != s) {
            per_seed.push((s, Arms::new()));
        }
        if let Some((_, arms)) = per_seed.last_mut() {
            arms.insert(arm(&name), m.metrics);
        }
    }
    Ok(RealOutcome::Ran(Box::new(RealResult {
        corpus: data.corpus,
        per_seed,
        maxcos,
        scale_factor: data.scale,
        extraction_tokens_per_second: data.extraction_tokens_per_second,
    })))
}

/// Trains one arm on the scaled training rows (order seeded by the arm's seed) and measures
/// it on the held-out rows (all but CE-loss-recovered); returns the SAE on scaled rows too.
fn train_arm(
    data: &RealData,
    config: TrainConfig,
    sizes: &RealSizes,
    observer: &mut dyn Observer,
) -> Result<(Measured, Sae)> {
    let mut source = InMemory::new(data.d, data.train_x.clone(), config.seed ^ 0x5eed)?;
    let (trained, seconds) = timed_train(&mut source, &config, observer)?;
    let sae = trained.sae;
    let mut m = Measured::new(evaluate_rows(&sae, &data.eval_x), seconds);
    let (absorption, letters) = letters::absorption(&sae, &data.letters);
    m.insert("letter_absorption", absorption);
    m.insert("letters_scored", letters as f64);
    let meta = meta_sae_ev(&sae.w_dec, data.d, sizes.meta_steps, META_LR, config.seed)?;
    m.insert("meta_sae_ev", meta);
    Ok((m, sae))
}

/// The training configuration of one arm.
fn config(arch: Arch, gamma: f32, sizes: &RealSizes, seed: u64) -> TrainConfig {
    TrainConfig {
        arch,
        width: sizes.width,
        k: sizes.k,
        steps: sizes.steps,
        batch: sizes.batch,
        lr: Some(sizes.lr),
        warmup: sizes.steps / 20,
        ortho_gamma: gamma,
        ortho_chunk: CHUNK,
        dead_after_tokens: (sizes.steps / 10).max(20) * sizes.batch as u64,
        threshold_start: sizes.steps / 2,
        seed,
        log_every: (sizes.steps / 20).max(1),
        ..TrainConfig::default()
    }
}
