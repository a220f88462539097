//! E1, `genlab repro attribution-lds`: TRAK and its baselines scored by LDS on a
//! Gaussian-mixture classification task, for a multinomial logistic regression and a
//! one-hidden-layer MLP (`shared/research/anchors-interpretability.md` §1.6).
//!
//! Per seed: data → ground truth (retrain on each α-subset, record the test margins) → M
//! models on the full set → margin gradients, projected with each model's own Gaussian P at
//! every k → TRAK for every (M, k), Grad-Dot and Grad-Cos (exact loss gradients of model 0),
//! exact influence (logistic regression only) and random scores → LDS per test point.
//!
//! TRAK's damping λ_r is chosen per run from a sweep by the LDS of separate validation
//! queries (the retrained models are evaluated on validation and test queries alike); every
//! reported LDS is on the test queries only.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Device;
use genlab_core::Result;
use genlab_core::train::{Observer, SeededRng};
use rayon::prelude::*;
use serde::Serialize;

use crate::attributors::{self, Features, Scores};
use crate::classify::{self, FitConfig, Labelled, Mixture, dense, example_grads};
use crate::influence::exact_if;
use crate::lds::{lds, mean_se, subsets};
use crate::project::{ProjKind, Projector};

/// The sizes of one E1 run.
#[derive(Debug, Clone, Serialize)]
pub struct LdsSizes {
    /// Training examples N.
    pub n_train: usize,
    /// Test (query) examples the LDS is reported on.
    pub n_test: usize,
    /// Validation queries (λ_r is chosen on their LDS, never on the test queries').
    pub n_val: usize,
    /// The task.
    pub mixture: Mixture,
    /// Logistic regression training.
    pub logreg: FitConfig,
    /// MLP training.
    pub mlp: FitConfig,
    /// LDS subsets.
    pub subsets: usize,
    /// Subset fraction α.
    pub alpha: f64,
    /// Ensemble sizes M.
    pub ms: &'static [usize],
    /// Projection dimensions k.
    pub ks: &'static [usize],
    /// The TRAK damping values λ_r (relative to the kernel's mean eigenvalue) tried at the
    /// largest (M, k); the one with the best validation LDS is used for the whole grid.
    pub lambda_sweep: &'static [f64],
    /// Seeds (each: new data, models and subsets).
    pub seeds: usize,
}

/// The method names of the report, per model kind.
pub fn trak_name(m: usize, k: usize) -> String {
    format!("TRAK M={m} k={k}")
}

/// Per-method LDS (mean over test points, and its s.e.) of one model kind on one seed.
pub type SeedLds = BTreeMap<String, (f64, f64)>;

/// Runs one seed for one model kind; returns every method's LDS. With `cache`, the retrained
/// outputs are kept as `cache/<SHA-256 of the retraining configuration>.json` and reused by
/// any later run with the same configuration (the retraining is the expensive part).
pub fn run_kind(
    kind: &str,
    config: &FitConfig,
    sizes: &LdsSizes,
    seed: u64,
    cache: Option<&Path>,
    observer: &mut dyn Observer,
) -> Result<SeedLds> {
    let device = Device::flex().autodiff();
    let mut rng = SeededRng::new(seed);
    let (train, test) =
        sizes
            .mixture
            .sample(sizes.n_train, sizes.n_val + sizes.n_test, &mut rng.fork());
    let masks = subsets(train.len(), sizes.subsets, sizes.alpha, &mut rng.fork());
    let base = seed.wrapping_mul(1_000_003);
    let retrain = |observer: &mut dyn Observer| -> Result<Vec<Vec<f64>>> {
        observer.start(
            &format!("{kind} seed {seed}: retrain on {} subsets", masks.len()),
            masks.len() as u64,
        );
        let mut outputs = Vec::with_capacity(masks.len());
        for (c, chunk) in masks.chunks(8).enumerate() {
            let part: Vec<Result<Vec<f64>>> = chunk
                .par_iter()
                .enumerate()
                .map(|(j, mask)| {
                    let idx: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
                    let model = classify::fit(
                        &train.select(&idx),
                        config,
                        base + (c * 8 + j) as u64,
                        &device,
                    )?;
                    Ok(classify::margins(&model, &test))
                })
                .collect();
            for o in part {
                outputs.push(o?);
            }
            observer.step(outputs.len() as u64, &[]);
        }
        observer.finish();
        Ok(outputs)
    };
    let key = serde_json::json!({
        "v": 1, "kind": kind, "config": config, "mixture": sizes.mixture, "n_train": sizes.n_train,
        "n_queries": sizes.n_val + sizes.n_test, "subsets": sizes.subsets, "alpha": sizes.alpha,
        "seed": seed,
    });
    let outputs = match cache {
        Some(dir) => cached(dir, &key, || retrain(observer))?,
        None => retrain(observer)?,
    };
    let m_max = *sizes.ms.iter().max().unwrap_or(&1);
    let models: Vec<_> = (0..m_max)
        .into_par_iter()
        .map(|m| classify::fit(&train, config, base + 10_000 + m as u64, &device))
        .collect::<Result<_>>()?;
    let split = |s: &Scores| -> Result<(f64, (f64, f64))> {
        let per_query = lds(s, &masks, &outputs)?;
        let (val, test) = per_query.split_at(sizes.n_val);
        Ok((mean_se(val).0, mean_se(test)))
    };
    let mut scores: BTreeMap<String, Scores> = BTreeMap::new();
    let mut lambda = f64::NAN;
    for (name, s) in trak_scores(&models, &train, &test, sizes, seed, |s| Ok(split(s)?.0))? {
        if name == LAMBDA_KEY {
            lambda = s[0];
        } else {
            scores.insert(name, s);
        }
    }
    let loss_train = dense(&example_grads(&models[0], &train, true));
    let loss_test = dense(&example_grads(&models[0], &test, true));
    scores.insert(
        "Grad-Dot".into(),
        attributors::grad_dot(&loss_train, &loss_test)?,
    );
    scores.insert(
        "Grad-Cos".into(),
        attributors::grad_cos(&loss_train, &loss_test)?,
    );
    if config.hidden == 0 {
        scores.insert(
            "exact IF".into(),
            exact_if(&models[0], &train, &test, config.l2)?,
        );
    }
    scores.insert(
        "random".into(),
        attributors::random(train.len(), test.len(), seed ^ 0x5eed),
    );
    let mut result: SeedLds = scores
        .into_iter()
        .map(|(name, s)| Ok((name, split(&s)?.1)))
        .collect::<Result<_>>()?;
    result.insert(LAMBDA_KEY.into(), (lambda, 0.0));
    Ok(result)
}

/// The value cached under `key` in `dir`, or `make()` stored there.
fn cached(
    dir: &Path,
    key: &serde_json::Value,
    make: impl FnOnce() -> Result<Vec<Vec<f64>>>,
) -> Result<Vec<Vec<f64>>> {
    let manifest = crate::store::Manifest::new(key.clone(), 0, 0, 1);
    let path = dir.join(format!("{}.json", manifest.config_hash));
    if path.exists() {
        return genlab_core::fsx::read_json(&path);
    }
    let value = make()?;
    genlab_core::fsx::write_json(&path, &value)?;
    Ok(value)
}

/// TRAK for every (M, k) at the λ_r of the sweep with the best validation LDS (`val_lds`),
/// plus the sweep itself at the largest (M, k) and the chosen λ_r (as the `λ_r chosen` entry,
/// a constant score row whose "LDS" slot is replaced by the caller; see [`LAMBDA_KEY`]).
fn trak_scores(
    models: &[crate::mlp::Mlp],
    train: &Labelled,
    test: &Labelled,
    sizes: &LdsSizes,
    seed: u64,
    val_lds: impl Fn(&Scores) -> Result<f64>,
) -> Result<Vec<(String, Scores)>> {
    let mut grads: Vec<(Features, Features, Vec<f64>)> = Vec::new();
    for model in models {
        let g_train = dense(&example_grads(model, train, false));
        let g_test = dense(&example_grads(model, test, false));
        grads.push((g_train, g_test, classify::out_to_loss(model, train)));
    }
    let per_model = |k: usize, lambda: f64| -> Result<Vec<Scores>> {
        grads
            .iter()
            .enumerate()
            .map(|(m, (g_train, g_test, _))| {
                let proj = Projector::new(ProjKind::Gaussian, g_train.k, k, seed * 1000 + m as u64);
                let phi = Features::new(g_train.n, k, proj.project(&g_train.data)?)?;
                let psi = Features::new(g_test.n, k, proj.project(&g_test.data)?)?;
                attributors::trak(&phi, &psi, lambda)
            })
            .collect()
    };
    let qs: Vec<Option<&[f64]>> = grads.iter().map(|g| Some(g.2.as_slice())).collect();
    let mut out = Vec::new();
    let k_max = *sizes.ks.last().unwrap_or(&64);
    let (mut best, mut best_val) = (sizes.lambda_sweep[0], f64::NEG_INFINITY);
    for &lambda in sizes.lambda_sweep {
        let s = attributors::combine(&per_model(k_max, lambda)?, &qs)?;
        let v = val_lds(&s)?;
        if v > best_val {
            (best, best_val) = (lambda, v);
        }
        out.push((format!("{} λ_r={lambda}", trak_name(grads.len(), k_max)), s));
    }
    out.push((LAMBDA_KEY.into(), vec![best]));
    for &k in sizes.ks {
        let scores = per_model(k, best)?;
        for &m in sizes.ms {
            out.push((
                trak_name(m, k),
                attributors::combine(&scores[..m], &qs[..m])?,
            ));
        }
    }
    Ok(out)
}

/// The entry that carries the chosen λ_r instead of scores.
pub const LAMBDA_KEY: &str = "λ_r chosen";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::FitConfig;
    use genlab_core::train::NoObserver;

    /// Same seed, same LDS to the last digit, at 1 and 2 threads; the baselines are sane
    /// (random ≈ 0, TRAK and exact IF clearly positive).
    #[test]
    fn lds_is_deterministic_across_thread_counts() {
        let sizes = LdsSizes {
            n_train: 60,
            n_test: 6,
            n_val: 4,
            mixture: Mixture {
                d: 4,
                classes: 3,
                spread: 1.5,
                label_noise: 0.05,
            },
            logreg: FitConfig {
                hidden: 0,
                steps: 60,
                lr: 0.05,
                l2: 1e-2,
            },
            mlp: FitConfig {
                hidden: 8,
                steps: 60,
                lr: 0.01,
                l2: 1e-2,
            },
            subsets: 12,
            alpha: 0.5,
            ms: &[1, 2],
            ks: &[16],
            lambda_sweep: &[0.1, 1.0],
            seeds: 1,
        };
        let (_tmp, dir) = genlab_core::testing::scratch("lds-cache");
        let cache = Some(dir.as_path());
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                run_kind("logreg", &sizes.logreg, &sizes, 3, cache, &mut NoObserver).unwrap()
            })
        };
        let one = run(1);
        assert_eq!(
            one,
            run(2),
            "threads, and the cached retraining outputs of the first run"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        assert!(
            one["exact IF"].0 > 0.3 && one[&trak_name(2, 16)].0 > 0.2,
            "{one:?}"
        );
        assert!(one["random"].0.abs() < 0.5);
    }
}
