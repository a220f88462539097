//! The real-LM half of `genlab repro ortsae`: BatchTopK vs OrtSAE on SmolLM2-135M
//! residual-stream activations, when the model and a corpus have been fetched
//! (`genlab data fetch smollm2-135m` and `kjv`, else `shakespeare`); otherwise skipped with the
//! reason.
//!
//! ```text
//! data    layer-ℓ residual stream (after ℓ blocks) of SmolLM2-135M-Instruct (Q4_1 weights,
//!         dequantised) on the corpus, BOS rows dropped (crate::lm_acts); extracted once and
//!         cached in CACHE/sae-acts/<model>-L<ℓ>-<corpus>-<N>-s<seed>/; the last rows are held
//!         out for evaluation
//! scale   x ← c·x with c = √(d / E‖x‖²) over the training rows (SAELens-style norm scaling, so
//!         the penalty weight γ* chosen on the synthetic tuning seed means the same thing);
//!         after training, c is folded into the SAE (W_enc·c, b_dec/c, W_dec/c), so the saved
//!         SAE and CE-loss-recovered work on raw activations
//! arms    BatchTopK and OrtSAE (γ*, chunk 128) at equal k, same data order and init
//! eval    held-out EV, L0, dead fraction, mean max |cos| between decoder rows (+ histogram),
//!         CE-loss-recovered on held-out sequences (crate::ce_recovered)
//! verdict OrtSAE's mean max-cos lower ∧ EV_BatchTopK ≤ EV_OrtSAE / 0.95 ∧ L0 within 10%
//! ```
//!
//! Absorption is not measured here: on a real LM it needs labelled probes (the paper's
//! first-letter spelling task with a trained probe per letter), which genlab does not build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_core::report::{self, Better, Verdict};
use genlab_core::train::Observer;
use genlab_core::{Error, Result, fsx};
use genlab_lm::{Llama, cache::cached_smollm2};

use crate::acts::{InMemory, open_files};
use crate::ce_recovered::ce_recovered;
use crate::corpus::{Sequences, load_corpus};
use crate::lm_acts::{ExtractConfig, MANIFEST, Manifest, extract};
use crate::metrics::{ReconStats, max_abs_cos};
use crate::sae::Sae;
use crate::train::{Arch, TrainConfig, train};

/// Sizes of the real-LM part.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RealScale {
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
}

impl RealScale {
    /// The default or `--quick` sizes.
    pub fn new(quick: bool) -> RealScale {
        if quick {
            RealScale {
                layer: 6,
                ctx: 128,
                tokens: 6_350,
                eval_rows: 1_270,
                width: 1152,
                k: 32,
                steps: 80,
                batch: 512,
                lr: 1e-3,
                ce_sequences: 4,
            }
        } else {
            RealScale {
                layer: 6,
                ctx: 128,
                tokens: 63_500,
                eval_rows: 6_350,
                width: 2304,
                k: 32,
                steps: 500,
                batch: 1024,
                lr: 1e-3,
                ce_sequences: 24,
            }
        }
    }
}

/// What the real-LM part measured.
#[derive(Debug, Clone)]
pub struct RealResult {
    /// Corpus used.
    pub corpus: String,
    /// Per arm (BatchTopK first, then OrtSAE): its metrics.
    pub arms: Vec<(String, BTreeMap<String, f64>)>,
    /// Per arm: each decoder row's max |cos| to another row.
    pub maxcos: Vec<(String, Vec<f32>)>,
    /// The computed verdict.
    pub verdict: Verdict,
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

/// Runs the real-LM comparison at `gamma` (γ*), or reports why it was skipped.
pub fn run_real(
    cache_dir: &Path,
    scale: &RealScale,
    gamma: f32,
    chunk: usize,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<RealOutcome> {
    let cache = Cache::at(cache_dir);
    let Some(model_path) = cached_smollm2(&cache) else {
        return Ok(RealOutcome::Skipped(
            "SmolLM2-135M not fetched (run `genlab data fetch smollm2-135m` and `genlab data fetch kjv`)".into(),
        ));
    };
    let Some(corpus) = ["kjv", "shakespeare"]
        .into_iter()
        .find_map(|name| load_corpus(name, &cache).ok())
    else {
        return Ok(RealOutcome::Skipped(
            "no corpus fetched (run `genlab data fetch kjv` or `genlab data fetch shakespeare`)"
                .into(),
        ));
    };
    observer.message(&format!("real LM: loading {}", model_path.display()));
    let (model, tok) = Llama::load(&model_path, &device())?;
    let seqs = Sequences::new(&tok, &corpus.text, scale.ctx, seed)?;
    let dir = cache_dir.join("sae-acts").join(format!(
        "smollm2-135m-L{}-{}-{}-s{seed}",
        scale.layer, corpus.name, scale.tokens
    ));
    let extraction_tokens_per_second =
        ensure_activations(&model, &seqs, &corpus.name, seed, scale, &dir, observer)?;
    let (train_rows, eval_rows, d) = read_split(&dir, scale.eval_rows)?;
    let c = norm_scale(&train_rows, d)?;
    let scaled = |rows: &[f32]| rows.iter().map(|v| v * c as f32).collect::<Vec<f32>>();
    let (train_x, eval_x) = (scaled(&train_rows), scaled(&eval_rows));

    let held_out = seqs.back(scale.ce_sequences)?;
    let mut arms = Vec::new();
    let mut maxcos = Vec::new();
    for (name, arch, g) in [
        ("BatchTopK".to_string(), Arch::BatchTopK, 0.0),
        (format!("OrtSAE γ={gamma}"), Arch::OrtSae, gamma),
    ] {
        observer.message(&format!("real LM: training {name}"));
        let started = Instant::now();
        let mut source = InMemory::new(d, train_x.clone(), seed ^ 0x5eed)?;
        let trained = train(&mut source, &config(arch, g, chunk, scale, seed), observer)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let sae = trained.sae;
        let codes = sae.encode(&eval_x);
        let mut stats = ReconStats::new(d, sae.m);
        stats.add(&eval_x, &sae.decode(&codes), &codes);
        let r = stats.finish();
        let cos = max_abs_cos(&sae.w_dec, d);
        let mean_maxcos = cos.iter().map(|&v| v as f64).sum::<f64>() / cos.len() as f64;
        observer.message(&format!("real LM: CE-loss-recovered of {name}"));
        let ce = ce_recovered(
            &model,
            &fold_scale(sae, c as f32),
            scale.layer,
            held_out,
            8,
            observer,
        )?;
        arms.push((
            name.clone(),
            BTreeMap::from([
                ("ev".to_string(), r.ev),
                ("l0".to_string(), r.l0),
                ("dead_fraction".to_string(), r.dead_fraction),
                ("mean_maxcos".to_string(), mean_maxcos),
                ("ce_loss_recovered".to_string(), ce.score),
                ("ce_clean".to_string(), ce.ce_clean),
                ("ce_sae".to_string(), ce.ce_sae),
                ("ce_zero_ablation".to_string(), ce.ce_zero),
                ("train_seconds".to_string(), train_seconds),
            ]),
        ));
        maxcos.push((name, cos));
    }
    let table: report::Arms = arms.iter().cloned().collect();
    let (base, ort) = (&arms[0].0, &arms[1].0);
    let verdict = report::all_of(
        "real LM",
        vec![
            report::compare(&table, "mean_maxcos", ort, base, Better::Lower)?,
            report::within_factor(&table, "ev", base, ort, 1.0 / 0.95)?,
            report::within_factor(&table, "l0", ort, base, 1.1)?,
            report::within_factor(&table, "l0", base, ort, 1.1)?,
        ],
    );
    Ok(RealOutcome::Ran(Box::new(RealResult {
        corpus: corpus.name,
        arms,
        maxcos,
        verdict,
        scale_factor: c,
        extraction_tokens_per_second,
    })))
}

/// The training configuration of one arm.
fn config(arch: Arch, gamma: f32, chunk: usize, scale: &RealScale, seed: u64) -> TrainConfig {
    TrainConfig {
        arch,
        width: scale.width,
        k: scale.k,
        steps: scale.steps,
        batch: scale.batch,
        lr: Some(scale.lr),
        warmup: scale.steps / 20,
        ortho_gamma: gamma,
        ortho_chunk: chunk,
        dead_after_tokens: (scale.steps / 10).max(20) * scale.batch as u64,
        threshold_start: scale.steps / 2,
        seed,
        log_every: (scale.steps / 20).max(1),
        ..TrainConfig::default()
    }
}

/// Extracts the activations into `dir` unless a complete extraction with the same manifest
/// settings is there; returns the extraction speed when it ran. The extraction is written to a
/// scratch directory and renamed, so an interrupted run leaves nothing that looks complete.
fn ensure_activations(
    model: &Llama,
    seqs: &Sequences,
    corpus: &str,
    seed: u64,
    scale: &RealScale,
    dir: &Path,
    observer: &mut dyn Observer,
) -> Result<Option<f64>> {
    if dir.join(MANIFEST).is_file() {
        let m: Manifest = fsx::read_json(&dir.join(MANIFEST))?;
        if m.layer == scale.layer && m.tokens == scale.tokens && m.ctx == scale.ctx {
            observer.message(&format!(
                "real LM: reusing activations in {}",
                dir.display()
            ));
            return Ok(None);
        }
    }
    let scratch = PathBuf::from(format!("{}.partial", dir.display()));
    for stale in [&scratch, &dir.to_path_buf()] {
        if stale.exists() {
            std::fs::remove_dir_all(stale).map_err(|e| Error::io(stale, e))?;
        }
    }
    std::fs::create_dir_all(&scratch).map_err(|e| Error::io(&scratch, e))?;
    observer.message(&format!(
        "real LM: extracting {} layer-{} activations from {corpus}",
        scale.tokens, scale.layer
    ));
    let config = ExtractConfig {
        layer: scale.layer,
        tokens: scale.tokens,
        batch: 8,
        shard_rows: 16_384,
    };
    let manifest = extract(
        model,
        "smollm2-135m",
        seqs,
        corpus,
        seed,
        &config,
        &scratch,
        observer,
    )?;
    std::fs::rename(&scratch, dir).map_err(|e| Error::io(dir, e))?;
    Ok(Some(manifest.tokens_per_second))
}

/// All rows of the extraction in `dir`, split into (training, last `eval_rows` held out, d).
fn read_split(dir: &Path, eval_rows: usize) -> Result<(Vec<f32>, Vec<f32>, usize)> {
    let files = open_files(dir)?;
    let d = files[0].d;
    let mut all = Vec::new();
    for f in &files {
        f.read_rows(0, f.rows, &mut all)?;
    }
    let n = all.len() / d;
    if eval_rows == 0 || eval_rows >= n {
        return Err(Error::InvalidInput(format!(
            "{} holds {n} rows; cannot hold out {eval_rows}",
            dir.display()
        )));
    }
    let eval = all.split_off((n - eval_rows) * d);
    Ok((all, eval, d))
}

/// `c = √(d / mean ‖x‖²)` over the `[n, d]` rows.
fn norm_scale(rows: &[f32], d: usize) -> Result<f64> {
    let n = rows.len() / d;
    let mean_sq = rows.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / n as f64;
    if !(mean_sq.is_finite() && mean_sq > 0.0) {
        return Err(Error::InvalidInput(format!(
            "activations have mean squared norm {mean_sq}; cannot normalise them"
        )));
    }
    Ok((d as f64 / mean_sq).sqrt())
}

/// An SAE trained on `c·x`, rewritten to act on raw `x` with the same codes: W_enc·c (the
/// pre-activations of `x` equal those of `c·x`), b_dec/c and W_dec/c (the reconstruction is
/// divided by c).
fn fold_scale(mut sae: Sae, c: f32) -> Sae {
    sae.w_enc.iter_mut().for_each(|w| *w *= c);
    sae.b_dec.iter_mut().for_each(|b| *b /= c);
    sae.w_dec.iter_mut().for_each(|w| *w /= c);
    sae
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sae::Activation;

    /// Folding the scale gives the same codes on raw inputs and the reconstruction divided by
    /// c, for every activation kind.
    #[test]
    fn folded_sae_acts_on_raw_inputs() {
        let (d, m, c) = (5, 7, 3.5f32);
        let mut rng = genlab_core::train::SeededRng::new(1);
        let mut normal = |n| rng.normal_vec(n);
        for activation in [
            Activation::Relu,
            Activation::TopK { k: 2 },
            Activation::JumpRelu { threshold: 0.1 },
        ] {
            let sae = Sae {
                d,
                m,
                w_enc: normal(m * d),
                b_enc: normal(m),
                w_dec: normal(m * d),
                b_dec: normal(d),
                activation,
            };
            let raw = normal(4 * d);
            let scaled: Vec<f32> = raw.iter().map(|v| v * c).collect();
            let codes = sae.encode(&scaled);
            let recon = sae.decode(&codes);
            let folded = fold_scale(sae.clone(), c);
            let raw_codes = folded.encode(&raw);
            let raw_recon = folded.decode(&raw_codes);
            for b in 0..4 {
                let a: Vec<_> = codes.row(b).collect();
                let f: Vec<_> = raw_codes.row(b).collect();
                assert_eq!(a.len(), f.len(), "{activation:?}");
                for ((ja, va), (jf, vf)) in a.iter().zip(&f) {
                    assert_eq!(ja, jf);
                    assert!((va - vf).abs() < 1e-4 * (1.0 + va.abs()), "{va} vs {vf}");
                }
            }
            for (r, f) in recon.iter().zip(&raw_recon) {
                assert!(
                    (r / c - f).abs() < 1e-4 * (1.0 + r.abs()),
                    "{r} / {c} vs {f}"
                );
            }
        }
    }

    #[test]
    fn norm_scale_makes_mean_squared_norm_d() {
        let rows = vec![3.0f32, 4.0, 0.0, 0.0]; // norms² 25 and 0, d = 2
        let c = norm_scale(&rows, 2).unwrap();
        assert!((c - (2.0f64 / 12.5).sqrt()).abs() < 1e-12);
        assert!(norm_scale(&[0.0; 4], 2).is_err());
    }

    /// Without the model in the cache the part is skipped with the fetch command.
    #[test]
    fn skipped_without_the_model() {
        let dir = tempfile::tempdir().unwrap();
        let out = run_real(
            dir.path(),
            &RealScale::new(true),
            1.0,
            128,
            0,
            &mut genlab_core::train::NoObserver,
        )
        .unwrap();
        match out {
            RealOutcome::Skipped(why) => assert!(why.contains("data fetch smollm2-135m"), "{why}"),
            RealOutcome::Ran(_) => panic!("ran without a model"),
        }
    }
}
