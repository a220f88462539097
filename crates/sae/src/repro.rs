//! `genlab repro ortsae`: does the chunked orthogonality penalty cut absorption and decoder
//! similarity at matched L0, at a small cost in explained variance? (Korznikov et al. 2025,
//! arXiv 2509.22033; the laptop-scale experiment of `shared/research/anchors-interpretability.md`
//! §2.4.)
//!
//! ```text
//! data    synthetic ground truth (crate::synthetic): G = 512 features in d = 64, parents with
//!         children (absorption), co-occurring pairs (composition), independent features;
//!         a fresh dictionary per seed, fresh samples every step
//! arms    BatchTopK (k = 8) | OrtSAE on BatchTopK, γ ∈ {0.3, 1, 3}, chunk 128 | ReLU with λ
//!         steered to L0 = 8 | Matryoshka BatchTopK (k = 8);  m = 512, same data stream and init
//!         per seed
//! eval    held-out samples: EV, L0 (inference JumpReLU θ for the BatchTopK family), dead
//!         fraction, mean max |cos| between decoder rows (+ histogram), GT features recovered
//!         one-to-one at cos ≥ 0.9 (Hungarian), absorption (partial, full) of the parents,
//!         composition: meta-SAE EV of the decoder rows and the fraction of latents that are
//!         two-feature composites
//! γ*      chosen on a separate tuning seed (its own dictionary and data): the γ with the lowest
//!         absorption among those whose EV is within 5% of BatchTopK's (the paper's γ is not
//!         known, [M]); the evaluation seeds never influence the choice
//! verdict on every evaluation seed, OrtSAE at γ* vs BatchTopK:
//!         absorption (partial, child-restricted) lower  ∧  mean max-cos lower
//!         ∧  EV_BatchTopK ≤ EV_OrtSAE / 0.95  ∧  L0 within 10% both ways (matched L0)
//! ```
//!
//! The other γ values are reported, not used by the verdict. Training uses lr = 3·10⁻³ (the
//! dictionary_learning rule gives 1.1·10⁻³ at m = 512, too slow for this step budget). The
//! real-LM part (BatchTopK vs OrtSAE at γ* on SmolLM2 residual-stream activations, with
//! CE-loss-recovered) is [`crate::repro_real`]; it runs when the model and a corpus are fetched,
//! joins the verdict then, and is skipped with the reason otherwise.

use std::collections::BTreeMap;
use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::{self, Better, Figure, LineSeries, Report, Table, Verdict};
use genlab_core::train::{Observer, SeededRng};

use crate::metrics::{
    ReconStats, absorption, composite_fraction, histogram, max_abs_cos, meta_sae_ev, recovery,
};
use crate::repro_real::{RealOutcome, RealScale, run_real};
use crate::synthetic::{GroundTruth, SyntheticSpec, SyntheticStream};
use crate::train::{Arch, TrainConfig, train};
use genlab_core::report::bars::{Bar, bars};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "sae",
    paper: "Korznikov, Galichin, Dontsov, Rogov, Tutubalina, Oseledets 2025, OrtSAE: Orthogonal Sparse Autoencoders Uncover Atomic Features (arXiv 2509.22033)",
    paper_effect: "",
    claim: "at matched L0, OrtSAE (BatchTopK + chunked max-cos² penalty on decoder rows) has lower feature absorption and lower mean max cosine between decoder rows than BatchTopK, with explained variance within 5%",
};

/// The OrtSAE γ sweep.
const GAMMAS: [f32; 3] = [0.3, 1.0, 3.0];
/// Peak learning rate of every arm.
const LR: f64 = 3e-3;
/// Offset of the tuning seed from the base seed.
const TUNING_SEED_OFFSET: u64 = 1000;
/// Mean L0 of every arm.
const K: usize = 8;
/// Dictionary size.
const WIDTH: usize = 512;
/// OrtSAE chunk size.
const CHUNK: usize = 128;

struct Scale {
    steps: u64,
    batch: usize,
    seeds: u64,
    eval_n: usize,
    meta_steps: u64,
    sweep_ks: Vec<usize>,
}

impl Scale {
    fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                steps: 200,
                batch: 256,
                seeds: 3,
                eval_n: 4096,
                meta_steps: 100,
                sweep_ks: vec![],
            }
        } else {
            Scale {
                steps: 1600,
                batch: 512,
                seeds: 3,
                eval_n: 16384,
                meta_steps: 300,
                sweep_ks: vec![4, 16],
            }
        }
    }
}

/// One trained arm's measurements.
struct Measured {
    metrics: BTreeMap<String, f64>,
    maxcos: Vec<f32>,
}

/// A fresh seed from `rng`.
fn draw_seed(rng: &mut SeededRng) -> u64 {
    rand::RngCore::next_u64(rng.rng())
}

fn gamma_arm(g: f32) -> String {
    format!("OrtSAE γ={g}")
}

fn config(arch: Arch, k: usize, gamma: f32, scale: &Scale, seed: u64) -> TrainConfig {
    TrainConfig {
        arch,
        width: WIDTH,
        k,
        steps: scale.steps,
        batch: scale.batch,
        lr: Some(LR),
        warmup: scale.steps / 20,
        l1: 0.3,
        l0_control: true,
        ortho_gamma: gamma,
        ortho_chunk: CHUNK,
        dead_after_tokens: (scale.steps / 10).max(20) * scale.batch as u64,
        threshold_beta: 0.99,
        threshold_start: scale.steps / 2,
        seed,
        log_every: (scale.steps / 20).max(1),
        ..TrainConfig::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn run_arm(
    gt: &GroundTruth,
    eval_x: &[f32],
    eval_truth: &crate::codes::Codes,
    cfg: &TrainConfig,
    data_seed: u64,
    meta_steps: u64,
    observer: &mut dyn Observer,
) -> Result<Measured> {
    let started = Instant::now();
    let mut stream = SyntheticStream::new(gt, data_seed);
    let trained = train(&mut stream, cfg, observer)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let train_dead = trained
        .history
        .series("dead_fraction")
        .last()
        .map_or(f64::NAN, |h| h.1);
    let sae = &trained.sae;
    let d = sae.d;
    let codes = sae.encode(eval_x);
    let recon = sae.decode(&codes);
    let mut stats = ReconStats::new(d, sae.m);
    stats.add(eval_x, &recon, &codes);
    let r = stats.finish();
    let maxcos = max_abs_cos(&sae.w_dec, d);
    let rec = recovery(&gt.dict, &sae.w_dec, d, 0.9);
    let parent_latents: Vec<usize> = gt
        .parents
        .iter()
        .map(|&p| rec.matched[p].unwrap_or(0))
        .collect();
    let child_latents: Vec<Vec<usize>> = gt
        .children
        .iter()
        .map(|kids| kids.iter().filter_map(|&c| rec.matched[c]).collect())
        .collect();
    let absorbed = |carriers| {
        absorption(
            &sae.w_dec,
            d,
            |i| gt.feature(i),
            &gt.parents,
            &parent_latents,
            carriers,
            eval_truth,
            &codes,
        )
    };
    let abs = absorbed(Some(&child_latents));
    let abs_any = absorbed(None);
    let meta_ev = meta_sae_ev(&sae.w_dec, d, meta_steps, 2e-3, cfg.seed ^ 0x3e7a)?;
    let mean_maxcos = maxcos.iter().map(|&c| c as f64).sum::<f64>() / maxcos.len() as f64;
    let metrics = BTreeMap::from([
        ("ev".to_string(), r.ev),
        ("l0".to_string(), r.l0),
        ("dead_fraction".to_string(), r.dead_fraction),
        ("train_dead_fraction".to_string(), train_dead),
        ("mean_maxcos".to_string(), mean_maxcos),
        ("gt_recovered".to_string(), rec.recovered as f64),
        ("gt_mean_best_cos".to_string(), rec.mean_best),
        ("absorption_partial".to_string(), abs.partial),
        ("absorption_full".to_string(), abs.full),
        ("absorption_partial_any".to_string(), abs_any.partial),
        ("absorption_full_any".to_string(), abs_any.full),
        ("meta_sae_ev".to_string(), meta_ev),
        (
            "composite_fraction".to_string(),
            composite_fraction(&sae.w_dec, &gt.dict, d),
        ),
        ("train_seconds".to_string(), train_seconds),
    ]);
    Ok(Measured { metrics, maxcos })
}

/// One seed's ground truth, held-out set, and seeds for the data stream and the initialisation.
struct Setting {
    gt: GroundTruth,
    eval_x: Vec<f32>,
    eval_truth: crate::codes::Codes,
    data_seed: u64,
    init_seed: u64,
}

impl Setting {
    fn new(seed: u64, eval_n: usize) -> Result<Setting> {
        let mut rng = SeededRng::new(seed);
        let spec = SyntheticSpec {
            seed: draw_seed(&mut rng),
            ..SyntheticSpec::default()
        };
        let gt = GroundTruth::new(&spec)?;
        let (eval_x, eval_truth) = gt.sample(eval_n, &mut rng.fork());
        Ok(Setting {
            gt,
            eval_x,
            eval_truth,
            data_seed: draw_seed(&mut rng),
            init_seed: draw_seed(&mut rng),
        })
    }

    fn run(
        &self,
        arch: Arch,
        k: usize,
        gamma: f32,
        scale: &Scale,
        meta_steps: u64,
        observer: &mut dyn Observer,
    ) -> Result<Measured> {
        let cfg = config(arch, k, gamma, scale, self.init_seed);
        run_arm(
            &self.gt,
            &self.eval_x,
            &self.eval_truth,
            &cfg,
            self.data_seed,
            meta_steps,
            observer,
        )
    }
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let started = Instant::now();
    let scale = Scale::new(opts.quick);

    // γ* on the tuning seed: lowest absorption with EV within 5% of BatchTopK.
    let tuning_seed = opts.seed + TUNING_SEED_OFFSET;
    let tuning = Setting::new(tuning_seed, scale.eval_n)?;
    observer.message(&format!("tuning seed {tuning_seed}: BatchTopK"));
    let base = tuning.run(Arch::BatchTopK, K, 0.0, &scale, 1, observer)?;
    let mut tuning_rows = vec![vec![
        "BatchTopK".to_string(),
        format!("{:.4}", base.metrics["ev"]),
        format!("{:.4}", base.metrics["absorption_partial"]),
        format!("{:.4}", base.metrics["mean_maxcos"]),
        String::new(),
    ]];
    let mut best: Option<(f32, f64)> = None;
    for &g in &GAMMAS {
        observer.message(&format!("tuning seed {tuning_seed}: OrtSAE γ = {g}"));
        let t = tuning.run(Arch::OrtSae, K, g, &scale, 1, observer)?;
        let eligible = t.metrics["ev"] >= 0.95 * base.metrics["ev"];
        let absorption = t.metrics["absorption_partial"];
        if eligible && best.is_none_or(|(_, a)| absorption < a) {
            best = Some((g, absorption));
        }
        tuning_rows.push(vec![
            gamma_arm(g),
            format!("{:.4}", t.metrics["ev"]),
            format!("{absorption:.4}"),
            format!("{:.4}", t.metrics["mean_maxcos"]),
            if eligible {
                "EV within 5%".into()
            } else {
                "EV below 95%".into()
            },
        ]);
    }
    // If no γ keeps EV within 5%, the smallest one is used (and the verdict will say so).
    let gamma_star = best.map_or(GAMMAS[0], |b| b.0);
    let headline = gamma_arm(gamma_star);

    let mut arms: Vec<(String, Arch, f32)> = vec![("BatchTopK".into(), Arch::BatchTopK, 0.0)];
    arms.extend(GAMMAS.iter().map(|&g| (gamma_arm(g), Arch::OrtSae, g)));
    arms.push(("ReLU (L0-steered)".into(), Arch::Relu, 0.0));
    arms.push(("Matryoshka".into(), Arch::Matryoshka, 0.0));

    let mut per_arm: BTreeMap<String, Vec<BTreeMap<String, f64>>> = BTreeMap::new();
    let mut first_maxcos: Vec<(String, Vec<f32>)> = Vec::new();
    let mut verdicts = Vec::new();
    let mut seed_rows = Vec::new();
    let mut sweep: Vec<(String, usize, f64, f64)> = Vec::new();
    for s in 0..scale.seeds {
        let seed = opts.seed + s;
        let setting = Setting::new(seed, scale.eval_n)?;
        let mut seed_arms = report::Arms::new();
        for (name, arch, gamma) in &arms {
            observer.message(&format!("seed {seed}: {name}"));
            let m = setting.run(*arch, K, *gamma, &scale, scale.meta_steps, observer)?;
            if s == 0 {
                first_maxcos.push((name.clone(), m.maxcos.clone()));
            }
            seed_arms.insert(name.clone(), m.metrics.clone());
            per_arm.entry(name.clone()).or_default().push(m.metrics);
        }
        if s == 0 {
            for &k in &scale.sweep_ks {
                for (name, arch, gamma) in [
                    ("BatchTopK", Arch::BatchTopK, 0.0),
                    ("OrtSAE", Arch::OrtSae, gamma_star),
                ] {
                    observer.message(&format!("seed {seed}: {name} at k = {k} (EV-vs-L0 sweep)"));
                    let m = setting.run(arch, k, gamma, &scale, 1, observer)?;
                    sweep.push((name.to_string(), k, m.metrics["l0"], m.metrics["ev"]));
                }
            }
        }
        let parts = vec![
            report::compare(
                &seed_arms,
                "absorption_partial",
                &headline,
                "BatchTopK",
                Better::Lower,
            )?,
            report::compare(
                &seed_arms,
                "mean_maxcos",
                &headline,
                "BatchTopK",
                Better::Lower,
            )?,
            report::within_factor(&seed_arms, "ev", "BatchTopK", &headline, 1.0 / 0.95)?,
            report::within_factor(&seed_arms, "l0", &headline, "BatchTopK", 1.1)?,
            report::within_factor(&seed_arms, "l0", "BatchTopK", &headline, 1.1)?,
        ];
        let v = report::all_of(&format!("seed {seed}"), parts);
        seed_rows.push(vec![
            seed.to_string(),
            if v.holds {
                "holds".into()
            } else {
                "fails".into()
            },
            v.detail.clone(),
        ]);
        verdicts.push(v);
    }
    let synthetic_verdict: Verdict = report::across_seeds(&verdicts)?;

    // The same comparison on real SmolLM2 activations, when fetched.
    let real_scale = RealScale::new(opts.quick);
    let real = run_real(
        &opts.cache_dir,
        &real_scale,
        gamma_star,
        CHUNK,
        opts.seed,
        observer,
    )?;
    let verdict = match &real {
        RealOutcome::Ran(r) => report::all_of(
            "synthetic (every seed) and real LM",
            vec![synthetic_verdict, r.verdict.clone()],
        ),
        RealOutcome::Skipped(_) => synthetic_verdict,
    };

    // Mean ± std over seeds.
    let mut arms_out = report::Arms::new();
    let metric_names: Vec<String> = per_arm
        .values()
        .next()
        .map(|v| v[0].keys().cloned().collect())
        .unwrap_or_default();
    let mut summary = Table {
        title: format!(
            "Synthetic ground truth (G = 512, d = 64, m = {WIDTH}, k = {K}): mean ± std over {} seeds",
            scale.seeds
        ),
        columns: vec!["arm".into()],
        rows: vec![],
    };
    summary.columns.extend(metric_names.iter().cloned());
    for (name, _, _) in &arms {
        let runs = &per_arm[name];
        let mut m = BTreeMap::new();
        let mut row = vec![name.clone()];
        for key in &metric_names {
            let xs: Vec<f64> = runs.iter().map(|r| r[key]).collect();
            let (mean, std) = report::mean_std(&xs);
            m.insert(key.clone(), mean);
            m.insert(format!("{key}_std"), std);
            row.push(format!("{mean:.4} ± {std:.4}"));
        }
        arms_out.insert(name.clone(), m);
        summary.rows.push(row);
    }

    // Figures.
    let mut figures = Vec::new();
    let hist: Vec<LineSeries> = first_maxcos
        .iter()
        .map(|(name, c)| LineSeries {
            label: name.clone(),
            points: histogram(c, 25),
        })
        .collect();
    report::plot::lines(
        &opts.dir.join("maxcos_density.svg"),
        &format!(
            "Max |cos| of each decoder row to its closest other row (seed {})",
            opts.seed
        ),
        "max |cos| to another decoder row",
        "density",
        &hist,
        false,
    )?;
    figures.push(Figure {
        file: "maxcos_density.svg".into(),
        caption: "Density of each feature's maximum |cosine| to any other decoder row, per arm (the paper's density plot); lower = more orthogonal.".into(),
    });
    for (file, metric, title, y) in [
        (
            "absorption_bars.svg",
            "absorption_partial",
            "Absorption (partial, mean over parent-active inputs)",
            "absorption fraction",
        ),
        (
            "absorption_full_bars.svg",
            "absorption_full",
            "Full absorption rate",
            "fully absorbed fraction",
        ),
        (
            "composition_bars.svg",
            "meta_sae_ev",
            "Composition: meta-SAE EV on decoder rows",
            "meta-SAE explained variance",
        ),
        (
            "composite_bars.svg",
            "composite_fraction",
            "Composition: latents that are 2-feature composites",
            "fraction of latents",
        ),
        ("ev_bars.svg", "ev", "Explained variance (held-out)", "EV"),
    ] {
        let data: Vec<Bar> = arms
            .iter()
            .map(|(name, _, _)| Bar {
                label: name.clone(),
                value: arms_out[name][metric],
                error: arms_out[name][&format!("{metric}_std")],
            })
            .collect();
        bars(&opts.dir.join(file), title, y, &data)?;
        figures.push(Figure {
            file: file.into(),
            caption: format!("{title}: mean ± std over seeds."),
        });
    }
    let mut ev_l0: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (name, _, _) in &arms {
        for r in &per_arm[name] {
            ev_l0
                .entry(name.clone())
                .or_default()
                .push((r["l0"], r["ev"]));
        }
    }
    for (name, _, l0, ev) in &sweep {
        let key = if name == "OrtSAE" {
            headline.clone()
        } else {
            name.clone()
        };
        ev_l0.entry(key).or_default().push((*l0, *ev));
    }
    let ev_series: Vec<LineSeries> = ev_l0
        .into_iter()
        .map(|(label, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            LineSeries { label, points }
        })
        .collect();
    report::plot::lines(
        &opts.dir.join("ev_vs_l0.svg"),
        "Explained variance vs L0 (held-out, every seed; k sweep on the first seed)",
        "L0",
        "EV",
        &ev_series,
        false,
    )?;
    figures.push(Figure {
        file: "ev_vs_l0.svg".into(),
        caption: "EV against inference L0; BatchTopK and OrtSAE also at k = 4 and 16 on the first evaluation seed (full run only).".into(),
    });

    let mut r = Report::new(INFO.name, INFO.paper, INFO.claim, opts.seed, verdict);
    r.seeds = (0..scale.seeds).map(|s| opts.seed + s).collect();
    r.quick = opts.quick;
    r.threads = rayon::current_num_threads();
    r.arms = arms_out;
    r.config = serde_json::json!({
        "synthetic": SyntheticSpec::default(),
        "width": WIDTH, "k": K, "chunk": CHUNK, "gammas": GAMMAS, "gamma_star": gamma_star, "tuning_seed": tuning_seed,
        "steps": scale.steps, "batch": scale.batch, "eval_samples": scale.eval_n,
        "meta_sae": {"steps": scale.meta_steps, "lr": 2e-3, "width_fraction": 0.25, "k": 4},
        "sweep_ks": scale.sweep_ks,
        "train": config(Arch::OrtSae, K, gamma_star, &scale, 0),
    });
    let mut tables = vec![
        summary,
        Table {
            title: format!(
                "γ selection on tuning seed {tuning_seed} (lowest absorption with EV ≥ 95% of BatchTopK) → γ* = {gamma_star}"
            ),
            columns: vec![
                "arm".into(),
                "EV".into(),
                "absorption (partial)".into(),
                "mean max-cos".into(),
                "eligible".into(),
            ],
            rows: tuning_rows,
        },
        Table {
            title: "Per-seed verdict (OrtSAE at the headline γ vs BatchTopK)".into(),
            columns: vec!["seed".into(), "verdict".into(), "detail".into()],
            rows: seed_rows,
        },
    ];
    if !sweep.is_empty() {
        tables.push(Table {
            title: "EV-vs-L0 sweep (first seed)".into(),
            columns: vec!["arm".into(), "k".into(), "L0".into(), "EV".into()],
            rows: sweep
                .iter()
                .map(|(n, k, l0, ev)| {
                    vec![
                        n.clone(),
                        k.to_string(),
                        format!("{l0:.3}"),
                        format!("{ev:.4}"),
                    ]
                })
                .collect(),
        });
    }
    r.tables = tables;
    r.figures = figures;
    r.notes = vec![
        format!("The verdict uses γ* = {gamma_star}, chosen on tuning seed {tuning_seed} only; the other γ values are reported, not judged."),
        "Absorption counts only the latents matched to a parent's own children as carriers (absorption_partial / _full); the note's unrestricted version (any latent with cos > 0.2) is reported as absorption_partial_any / _full_any and has a chance-alignment floor in d = 64.".into(),
        "dead_fraction counts latents that never fire on the held-out set at inference; for the BatchTopK family most of them do have positive pre-activations that stay below the single global JumpReLU threshold θ. train_dead_fraction is the AuxK criterion at the end of training (no firing for steps/10 batches). Both are equal-condition comparisons across arms.".into(),
        "ReLU's λ is steered during training towards L0 = k (multiplicative control) instead of a per-seed λ search.".into(),
        format!("Training is {} steps × {} samples per arm (the note's 30k steps do not fit the time budget); meta-SAE: {} steps, lr 2e-3 (SAEBench: 1500 steps, lr 5e-4).", scale.steps, scale.batch, scale.meta_steps),
    ];
    add_real_part(&mut r, &real, &real_scale, opts)?;
    r.wall_seconds = started.elapsed().as_secs_f64();
    Ok(r)
}

/// The real-LM table, figure, arms (prefixed `real LM: `), configuration and notes.
fn add_real_part(
    r: &mut Report,
    real: &RealOutcome,
    scale: &RealScale,
    opts: &ReproOptions,
) -> Result<()> {
    let res = match real {
        RealOutcome::Skipped(why) => {
            r.notes.insert(0, format!("Real-LM part skipped: {why}."));
            return Ok(());
        }
        RealOutcome::Ran(res) => res,
    };
    let keys = [
        ("ev", "EV"),
        ("l0", "L0"),
        ("dead_fraction", "dead"),
        ("mean_maxcos", "mean max-cos"),
        ("ce_loss_recovered", "CE-loss-recovered"),
        ("ce_sae", "CE with SAE"),
        ("train_seconds", "train s"),
    ];
    let mut table = Table {
        title: format!(
            "Real LM: SmolLM2-135M layer-{} residual stream on {} ({} training + {} held-out rows, m = {}, k = {}, {} steps × {}); CE clean {:.4}, zero-ablated {:.4} nats",
            scale.layer,
            res.corpus,
            scale.tokens - scale.eval_rows,
            scale.eval_rows,
            scale.width,
            scale.k,
            scale.steps,
            scale.batch,
            res.arms[0].1["ce_clean"],
            res.arms[0].1["ce_zero_ablation"],
        ),
        columns: std::iter::once("arm".to_string())
            .chain(keys.iter().map(|(_, label)| label.to_string()))
            .collect(),
        rows: vec![],
    };
    for (name, m) in &res.arms {
        table.rows.push(
            std::iter::once(name.clone())
                .chain(keys.iter().map(|(key, _)| format!("{:.4}", m[*key])))
                .collect(),
        );
        r.arms.insert(format!("real LM: {name}"), m.clone());
    }
    r.tables.insert(1, table);
    let hist: Vec<LineSeries> = res
        .maxcos
        .iter()
        .map(|(name, c)| LineSeries {
            label: name.clone(),
            points: histogram(c, 25),
        })
        .collect();
    report::plot::lines(
        &opts.dir.join("real_maxcos_density.svg"),
        "Real LM: max |cos| of each decoder row to its closest other row",
        "max |cos| to another decoder row",
        "density",
        &hist,
        false,
    )?;
    r.figures.insert(1, Figure {
        file: "real_maxcos_density.svg".into(),
        caption: format!(
            "SmolLM2-135M layer {}: density of each feature's maximum |cosine| to any other decoder row, BatchTopK vs OrtSAE.",
            scale.layer
        ),
    });
    r.config["real_lm"] = serde_json::json!({
        "model": "smollm2-135m (Q4_1 GGUF, dequantised)", "corpus": res.corpus,
        "scale": scale, "activation_scale_factor": res.scale_factor,
    });
    r.notes.insert(0, format!(
        "Real-LM part ({}): {}. Activations were scaled by c = {:.4} so that E‖x‖² = d before training, and c was folded back into the SAE for CE-loss-recovered. {} Absorption is not measured on the real LM (it needs per-letter spelling probes, not built).",
        if res.verdict.holds { "holds" } else { "does not hold" },
        res.verdict.detail,
        res.scale_factor,
        match res.extraction_tokens_per_second {
            Some(tps) => format!("Extraction ran in this run at {tps:.0} tokens/s."),
            None => "Activations were reused from the cache (extracted by an earlier run with the same settings).".to_string(),
        },
    ));
    Ok(())
}
