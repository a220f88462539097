//! The real-LM part's data: SmolLM2-135M and a corpus from the data cache, layer-ℓ activations
//! extracted once and cached, split into training and held-out rows, and norm-scaled.
//!
//! ```text
//! data    layer-ℓ residual stream (after ℓ blocks) of SmolLM2-135M-Instruct (Q4_1 weights,
//!         dequantised) on the corpus, BOS rows dropped, rows shuffled within each store shard
//!         (crate::lm_acts); extracted once and cached in
//!         CACHE/sae-acts/<model>-L<ℓ>-<corpus>-<N>-s<seed>/; the last rows are held out for
//!         evaluation
//! scale   x ← c·x with c = √(d / E‖x‖²) over the training rows (SAELens-style norm scaling, so
//!         the penalty weight γ* chosen on the synthetic tuning seed means the same thing);
//!         after training, c is folded into the SAE (W_enc·c, b_dec/c, W_dec/c), so the saved
//!         SAE and CE-loss-recovered work on raw activations
//! ```

use std::path::{Path, PathBuf};

use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_core::train::Observer;
use genlab_core::{Error, Result, fsx};
use genlab_lm::{Llama, cache::cached_smollm2};

use super::RealSizes;
use crate::acts::open_files;
use crate::corpus::{Corpus, Sequences, load_corpus};
use crate::lm_acts::{ExtractConfig, MANIFEST, Manifest, extract};
use crate::metrics::letters::{self, LetterSet};
use crate::sae::Sae;

/// The corpora the part can use, in order of preference.
const CORPORA: [&str; 2] = ["kjv", "shakespeare"];

/// Everything the real-LM arms train and are judged on.
pub struct RealData {
    /// The model (for CE-loss-recovered).
    pub model: Llama,
    /// The corpus cut into sequences (the held-out ones come from the back).
    pub seqs: Sequences,
    /// The corpus name.
    pub corpus: String,
    /// `[n, d]` scaled training rows.
    pub train_x: Vec<f32>,
    /// `[n_eval, d]` scaled held-out rows.
    pub eval_x: Vec<f32>,
    /// Row width.
    pub d: usize,
    /// The scale c applied to the rows.
    pub scale: f64,
    /// Extraction speed when the activations were extracted by this run.
    pub extraction_tokens_per_second: Option<f64>,
    /// Word-token activations labelled by first letter (scaled by c like the rows).
    pub letters: LetterSet,
}

/// The model file and a corpus from the cache, or why the part cannot run.
pub fn find(cache: &Cache) -> std::result::Result<(PathBuf, Corpus), String> {
    let Some(model) = cached_smollm2(cache) else {
        return Err(
            "SmolLM2-135M not fetched (run `genlab data fetch smollm2-135m` and \
                    `genlab data fetch kjv`)"
                .into(),
        );
    };
    CORPORA
        .into_iter()
        .find_map(|name| load_corpus(name, cache).ok())
        .map(|corpus| (model, corpus))
        .ok_or_else(|| {
            "no corpus fetched (run `genlab data fetch kjv` or `genlab data fetch shakespeare`)"
                .into()
        })
}

/// Loads the model, extracts (or reuses) the activations under `cache_dir`, and splits and
/// scales them.
pub fn load(
    cache_dir: &Path,
    (model_path, corpus): (PathBuf, Corpus),
    sizes: &RealSizes,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<RealData> {
    observer.message(&format!("real LM: loading {}", model_path.display()));
    let (model, tok) = Llama::load(&model_path, &device())?;
    let seqs = Sequences::new(&tok, &corpus.text, sizes.ctx, seed)?;
    let dir = cache_dir.join("sae-acts").join(format!(
        "smollm2-135m-L{}-{}-{}-s{seed}",
        sizes.layer, corpus.name, sizes.tokens
    ));
    let extraction_tokens_per_second =
        ensure_activations(&model, &seqs, &corpus.name, seed, sizes, &dir, observer)?;
    let (train_rows, eval_rows, d) = read_split(&dir, sizes.eval_rows)?;
    let c = norm_scale(&train_rows, d)?;
    let scaled = |rows: &[f32]| rows.iter().map(|v| v * c as f32).collect::<Vec<f32>>();
    let letters = letters::build(
        &model,
        &tok,
        sizes.layer,
        sizes.letter_tokens,
        c as f32,
        seed,
        observer,
    )?;
    Ok(RealData {
        letters,
        model,
        seqs,
        corpus: corpus.name,
        train_x: scaled(&train_rows),
        eval_x: scaled(&eval_rows),
        d,
        scale: c,
        extraction_tokens_per_second,
    })
}

/// Extracts the activations into `dir` unless a complete extraction with the same manifest
/// settings is there; returns the extraction speed when it ran. The extraction is written to a
/// scratch directory and renamed, so an interrupted run leaves nothing that looks complete.
fn ensure_activations(
    model: &Llama,
    seqs: &Sequences,
    corpus: &str,
    seed: u64,
    sizes: &RealSizes,
    dir: &Path,
    observer: &mut dyn Observer,
) -> Result<Option<f64>> {
    if dir.join(MANIFEST).is_file() {
        let m: Manifest = fsx::read_json(&dir.join(MANIFEST))?;
        // A store from before shuffling (no hash) is extracted again.
        if m.layer == sizes.layer
            && m.tokens == sizes.tokens
            && m.ctx == sizes.ctx
            && !m.config_hash.is_empty()
        {
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
        sizes.tokens, sizes.layer
    ));
    let config = ExtractConfig {
        layer: sizes.layer,
        tokens: sizes.tokens,
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
pub fn fold_scale(mut sae: Sae, c: f32) -> Sae {
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
        let why = find(&Cache::at(dir.path())).unwrap_err();
        assert!(why.contains("data fetch smollm2-135m"), "{why}");
    }
}
