//! `genlab repro fx`: can an order-aware estimator recover effect chains better than the
//! fixed-order regression baseline of LLM2Fx-Tools (Doh, Koo et al., ICLR 2026)? The CPU-scale
//! experiment of `shared/research/anchors-multimodal.md` §2(d).
//!
//! ```text
//! data     procedural dry sources, 16 kHz stereo, 1 s; chains of N = 1..3 distinct effects on the
//!          step grid (crate::estimate::dataset); LP-Fx triviality filter: drop pairs whose MRSTFT(wet, dry)
//!          < 0.3. Training sources: pluck, pad, drum (crate::sources::procedural) and tones, noise
//!          (crate::sources::extra) — [`training_set`]. Held-out test sources: sweep and arp
//!          (never seen in training) and, when fetched, recorded music and a SoundFont piano;
//!          the same number of pairs for each N and source, ≈ 60 in all — [`test_set`]
//! window   every measurement keeps 0.5 s of wet signal after the dry end (long echo tails are
//!          cut there, for every arm alike)
//! arms     tier 1  analysis-by-synthesis (crate::estimate::search; detectors + greedy MRSTFT search)
//!          tier 2  regression baseline (crate::estimate::regression; presence + parameters, fixed order)
//!          tier 3  the autoregressive tool-caller (crate::estimate::toolcaller), with and without a plan
//!                  (the effect set) before the ordered calls
//!          no-op and random-chain baselines
//! metrics  crate::estimate::metrics: validity, presence P/R/F1 and exact set, Spearman ρ / Kendall τ,
//!          exact-order accuracy (N ≥ 2), normalised parameter MAE, MRSTFT of the re-render;
//!          overall, by N and per effect
//! verdict  order-aware arm vs tier 2 on the N ≥ 2 test examples: exact-order accuracy higher
//!          ∧ mean MRSTFT lower. The order-aware arm is tier 3 when present, otherwise tier 1
//!          (the report says which)
//! ```
//!
//! 16 kHz (not 22.05) because tier 1 re-renders hundreds of candidates per example and the
//! STFT cost scales with the sample count; the EQ's high shelf is then limited to 7.2 kHz
//! (0.45·fs), so its cut-off above that is not identifiable (it counts in the parameter MAE).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use genlab_core::data::Cache;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::bars::{Bar, bars};
use genlab_core::report::{self, Arms, Better, Figure, LineSeries, Report, Table};
use genlab_core::train::Observer;
use genlab_core::{Error, Result};
use rayon::prelude::*;

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::Chain;
use crate::engine::mrstft::{AURALOSS, Resolution};
use crate::engine::spec::EFFECTS;
use crate::estimate::dataset::{DatasetSpec, Example, example};
use crate::estimate::metrics::{ExampleScore, Summary, evaluate, per_effect, summarise};
use crate::estimate::objective::{ChainObjective, Pair, SEARCH_RESOLUTIONS};
use crate::estimate::regression::{RegressionConfig, features, train};
use crate::estimate::search::{AnalysisBySynthesis, SearchOptions};
use crate::estimate::toolcaller::ToolCaller;
use crate::estimate::toolcaller::audio::FeatureConfig;
use crate::estimate::toolcaller::corpus::Corpus;
use crate::estimate::toolcaller::train::{
    TrainConfig as ToolCallerConfig, TrainRecord, train as train_tool_caller,
};
use crate::estimate::{ChainEstimator, Estimate, NoOp, RandomChain};
use crate::sources::dry_source;

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "fx",
    paper: "Doh, Koo et al. 2026, LLM2Fx-Tools: tool calling for music post-production (ICLR 2026, arXiv 2512.01559)",
    paper_effect: "",
    claim: "an order-aware chain estimator recovers effect chains of N >= 2 effects with higher exact-order accuracy and lower MRSTFT than a fixed-order regression baseline (on a held-out source type)",
};

const SAMPLE_RATE: u32 = 16_000;
const SECONDS: f64 = 1.0;
const MAX_TAIL_SECONDS: f64 = 0.5;
const MAX_EFFECTS: usize = 3;
/// LP-Fx triviality threshold on MRSTFT(wet, dry) for N < 5.
const TRIVIAL: f64 = 0.3;
/// Procedural training sources (crate::sources::procedural, crate::sources::extra).
const TRAIN_SOURCES: [&str; 5] = ["pluck", "pad", "drum", "tones", "noise"];
/// Procedural held-out sources, never seen in training.
const TEST_SOURCES: [&str; 2] = ["sweep", "arp"];
/// Real-audio held-out sources, used when their data is in the cache (recorded music,
/// a SoundFont piano).
const REAL_TEST_SOURCES: [&str; 2] = ["music", "sf2-piano"];

struct Scale {
    train_n: usize,
    /// Test pairs in all, split evenly over chain lengths and test sources.
    test_pairs: usize,
    regression: RegressionConfig,
    search: SearchOptions,
    /// Tier 3: optimisation steps and batch size of each variant (plan / no plan).
    tool_caller_steps: u64,
    tool_caller_batch: usize,
}

impl Scale {
    fn new(quick: bool, seed: u64) -> Scale {
        let regression = RegressionConfig {
            steps: if quick { 500 } else { 1500 },
            seed,
            max_tail_seconds: MAX_TAIL_SECONDS,
            ..RegressionConfig::default()
        };
        let search = SearchOptions {
            max_effects: MAX_EFFECTS,
            budget: if quick { 250 } else { 500 },
            max_tail_seconds: MAX_TAIL_SECONDS,
            ..SearchOptions::default()
        };
        Scale {
            train_n: if quick { 300 } else { 2000 },
            test_pairs: if quick { 12 } else { 60 },
            regression,
            search,
            tool_caller_steps: if quick { 150 } else { 1000 },
            tool_caller_batch: if quick { 32 } else { 64 },
        }
    }
}

/// Tier 3 as a [`ChainEstimator`]: the tool-caller's greedy, grammar-constrained decoding.
struct Tier3 {
    model: ToolCaller,
    name: String,
}

impl ChainEstimator for Tier3 {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        let (chain, rationale) = self.model.estimate(dry, wet)?;
        Ok(Estimate { chain, rationale })
    }
}

/// Trains the tool-caller with and without the plan on `train_set`.
fn train_tier3(
    train_set: &[Example],
    scale: &Scale,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<Vec<(Tier3, TrainRecord)>> {
    let corpus = Corpus::from_examples(train_set, FeatureConfig::default());
    [(true, TIER3), (false, TIER3_NO_PLAN)]
        .into_iter()
        .map(|(plan, name)| {
            observer.message(&format!(
                "training {name} ({} steps)",
                scale.tool_caller_steps
            ));
            let config = ToolCallerConfig {
                steps: scale.tool_caller_steps,
                batch: scale.tool_caller_batch,
                ..ToolCallerConfig::new(plan, seed)
            };
            let (model, record) = train_tool_caller(&corpus, &config, observer)?;
            Ok((
                Tier3 {
                    model,
                    name: name.to_string(),
                },
                record,
            ))
        })
        .collect()
}

fn spec(
    sources: &[&str],
    n: usize,
    min_effects: usize,
    max_effects: usize,
    cache_dir: Option<&Path>,
) -> DatasetSpec {
    DatasetSpec {
        sources: sources.iter().map(|s| s.to_string()).collect(),
        cache_dir: cache_dir.map(Path::to_path_buf),
        n,
        min_effects,
        max_effects,
        sample_rate: SAMPLE_RATE,
        seconds: SECONDS,
        stereo: true,
    }
}

/// MRSTFT(wet, dry) in the analysis window.
fn change(ex: &Example, resolutions: &[Resolution]) -> Result<f64> {
    let pair = Pair::new(&ex.dry, &ex.wet, Some(MAX_TAIL_SECONDS))?;
    ChainObjective::new(&pair, resolutions)?.distance(&Chain::default())
}

/// The first `n` non-trivial examples `make(0), make(1), …` (indices scanned in parallel
/// batches, kept in index order, so the set is deterministic).
fn non_trivial(
    n: usize,
    make: &(dyn Fn(usize) -> Result<Example> + Sync),
    resolutions: &[Resolution],
) -> Result<Vec<Example>> {
    let mut kept = Vec::with_capacity(n);
    let mut start = 0;
    while kept.len() < n {
        if start > 20 * n + 100 {
            return Err(Error::InvalidInput("too few non-trivial examples".into()));
        }
        let batch = (n - kept.len()).max(16);
        let found: Vec<Option<Example>> = (start..start + batch)
            .into_par_iter()
            .map(|i| {
                let ex = make(i)?;
                Ok((change(&ex, resolutions)? >= TRIVIAL).then_some(ex))
            })
            .collect::<Result<_>>()?;
        kept.extend(found.into_iter().flatten().take(n - kept.len()));
        start += batch;
    }
    Ok(kept)
}

/// The training pairs every learned tier uses: `n` non-trivial pairs, N uniform in 1..=3,
/// sources uniform over [`TRAIN_SOURCES`]. Filtered with the search resolutions (cheaper;
/// training labels only need "audibly processed").
pub fn training_set(n: usize, seed: u64) -> Result<Vec<Example>> {
    let spec = spec(&TRAIN_SOURCES, n, 1, MAX_EFFECTS, None);
    non_trivial(n, &|i| example(&spec, seed, i), &SEARCH_RESOLUTIONS)
}

/// The held-out test pairs: for each N in 1..=3 and each of `sources`, `per_n` non-trivial
/// pairs, filtered with the auraloss resolutions (the LP-Fx rule).
pub fn test_set(
    per_n: usize,
    seed: u64,
    sources: &[String],
    cache_dir: Option<&Path>,
) -> Result<Vec<Example>> {
    let mut out = Vec::with_capacity(sources.len() * per_n * MAX_EFFECTS);
    for n in 1..=MAX_EFFECTS {
        for (k, source) in sources.iter().enumerate() {
            let s = spec(&[source.as_str()], per_n, n, n, cache_dir);
            let set_seed = seed ^ (0x7e57 + n as u64) ^ ((k as u64) << 32);
            out.extend(non_trivial(
                per_n,
                &|i| example(&s, set_seed, i),
                &AURALOSS,
            )?);
        }
    }
    Ok(out)
}

/// The held-out sources of this run: the procedural ones, then each real-audio one whose data
/// is in the cache.
fn test_sources(cache_dir: &Path) -> Vec<String> {
    let cache = Cache::at(cache_dir);
    TEST_SOURCES
        .iter()
        .map(|s| s.to_string())
        .chain(
            REAL_TEST_SOURCES
                .iter()
                .filter(|name| dry_source(name, SAMPLE_RATE, 0.05, 0, Some(&cache)).is_ok())
                .map(|s| s.to_string()),
        )
        .collect()
}

/// Arm metrics: the overall summary, the N ≥ 2 summary and one per chain length.
fn arm_metrics(scores: &[ExampleScore]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let mut put = |prefix: &str, s: &Summary| {
        for (k, v) in [
            ("validity", s.validity),
            ("precision", s.precision),
            ("recall", s.recall),
            ("f1", s.f1),
            ("exact_set", s.exact_set),
            ("spearman", s.spearman),
            ("kendall", s.kendall),
            ("exact_order_n2", s.exact_order_n2),
            ("param_mae", s.param_mae),
            ("mrstft", s.mrstft),
            ("seconds", s.seconds),
        ] {
            m.insert(format!("{prefix}{k}"), v);
        }
    };
    put("", &summarise(scores));
    let n2: Vec<ExampleScore> = scores.iter().filter(|s| s.n_true >= 2).cloned().collect();
    put("n2_", &summarise(&n2));
    for n in 1..=MAX_EFFECTS {
        let sel: Vec<ExampleScore> = scores.iter().filter(|s| s.n_true == n).cloned().collect();
        put(&format!("n{n}_only_"), &summarise(&sel));
    }
    m
}

fn f(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let started = Instant::now();
    let scale = Scale::new(opts.quick, opts.seed);
    let mut seconds = serde_json::Map::new();

    // ---- data ----
    let sources = test_sources(&opts.cache_dir);
    let per_n = (scale.test_pairs / (MAX_EFFECTS * sources.len())).max(1);
    observer.message(&format!(
        "generating {} training pairs ({}) and {} test pairs per N and source ({})",
        scale.train_n,
        TRAIN_SOURCES.join(", "),
        per_n,
        sources.join(", ")
    ));
    let phase = Instant::now();
    let train_set = training_set(scale.train_n, opts.seed)?;
    let test_set = test_set(per_n, opts.seed, &sources, Some(&opts.cache_dir))?;
    let train_features: Vec<Vec<f32>> = train_set
        .par_iter()
        .map(|e| features(&e.dry, &e.wet, MAX_TAIL_SECONDS))
        .collect::<Result<_>>()?;
    let train_chains: Vec<Chain> = train_set.iter().map(|e| e.chain.clone()).collect();
    seconds.insert("data".into(), phase.elapsed().as_secs_f64().into());

    // ---- tier 2 ----
    observer.message(&format!(
        "training the regression baseline ({} steps)",
        scale.regression.steps
    ));
    let phase = Instant::now();
    let (regressor, losses) = train(&train_features, &train_chains, &scale.regression, observer)?;
    seconds.insert("train tier 2".into(), phase.elapsed().as_secs_f64().into());

    // ---- arms ----
    let tier1 = AnalysisBySynthesis {
        options: scale.search,
    };
    let random = RandomChain {
        max_effects: MAX_EFFECTS,
        seed: opts.seed ^ 0x5a5a,
    };
    let phase = Instant::now();
    let tier3 = train_tier3(&train_set, &scale, opts.seed, observer)?;
    seconds.insert(
        "train tier 3 (both variants)".into(),
        phase.elapsed().as_secs_f64().into(),
    );
    let mut estimators: Vec<&dyn ChainEstimator> = vec![&tier1, &regressor];
    estimators.extend(tier3.iter().map(|(t, _)| t as &dyn ChainEstimator));
    estimators.extend([&NoOp as &dyn ChainEstimator, &random]);
    let names: Vec<String> = estimators.iter().map(|e| e.name()).collect();
    let tier1_arm = tier1.name();
    let order_arm = if names.iter().any(|n| n == TIER3) {
        TIER3.to_string()
    } else {
        tier1_arm.clone()
    };
    let baseline_arm = regressor.name();

    let mut arms = Arms::new();
    let mut all_scores: Vec<(String, Vec<ExampleScore>)> = Vec::new();
    for estimator in estimators {
        let name = estimator.name();
        observer.message(&format!(
            "evaluating {name} on {} held-out pairs",
            test_set.len()
        ));
        let phase = Instant::now();
        let scores = evaluate(estimator, &test_set, MAX_TAIL_SECONDS)?;
        seconds.insert(format!("eval {name}"), phase.elapsed().as_secs_f64().into());
        arms.insert(name.clone(), arm_metrics(&scores));
        all_scores.push((name, scores));
    }

    // ---- verdict ----
    let order = report::compare(
        &arms,
        "n2_exact_order_n2",
        &order_arm,
        &baseline_arm,
        Better::Higher,
    )?;
    let mrstft = report::compare(&arms, "n2_mrstft", &order_arm, &baseline_arm, Better::Lower)?;
    let verdict = report::all_of(
        &format!("{order_arm} vs {baseline_arm} on held-out N ≥ 2 chains"),
        vec![order, mrstft],
    );

    // ---- tables ----
    let mut tables = vec![
        overall_table(&all_scores),
        by_length_table(&all_scores),
        per_effect_table(&all_scores),
    ];
    let example_sources: Vec<&str> = test_set.iter().map(|e| e.source.as_str()).collect();
    tables.push(by_source_table(&all_scores, &example_sources, &sources));

    // ---- figures ----
    let figures = vec![
        mrstft_figure(opts, &all_scores)?,
        order_figure(opts, &arms)?,
    ];

    let mut r = Report::new(INFO.name, INFO.paper, INFO.claim, opts.seed, verdict);
    r.seeds = vec![opts.seed];
    r.quick = opts.quick;
    r.arms = arms.clone();
    r.tables = tables;
    r.figures = figures;
    r.config = serde_json::json!({
        "sample_rate": SAMPLE_RATE, "seconds": SECONDS, "max_tail_seconds": MAX_TAIL_SECONDS,
        "max_effects": MAX_EFFECTS, "trivial_mrstft": TRIVIAL, "stereo": true,
        "train_sources": TRAIN_SOURCES, "test_sources": sources,
        "train_pairs": train_chains.len(), "test_pairs_per_n_and_source": per_n,
        "regression": scale.regression,
        "search": {
            "max_effects": scale.search.max_effects, "candidates": scale.search.candidates,
            "min_score": scale.search.min_score, "penalty": scale.search.penalty,
            "finalists": scale.search.finalists, "passes": scale.search.passes,
            "budget": scale.search.budget,
        },
        "regression_final_loss": losses.last().map(|l| l.1),
        "verdict_arm": order_arm,
        "phase_seconds": seconds,
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    r.notes = vec![
        format!(
            "The verdict compares `{order_arm}` (with its plan of the effect set before the calls) with the fixed-order regression baseline on the held-out N ≥ 2 pairs. For reference, tier 1 (analysis-by-synthesis, also order-aware) vs tier 2: exact order N ≥ 2 {:.3} vs {:.3}, MRSTFT N ≥ 2 {:.3} vs {:.3}.",
            arms[&tier1_arm]["n2_exact_order_n2"],
            arms[&baseline_arm]["n2_exact_order_n2"],
            arms[&tier1_arm]["n2_mrstft"],
            arms[&baseline_arm]["n2_mrstft"],
        ),
        format!(
            "Reasoning before calling (plan vs no plan, measured here): presence F1 {:.3} vs {:.3}, exact order N ≥ 2 {:.3} vs {:.3}, MRSTFT N ≥ 2 {:.3} vs {:.3}.",
            arms[TIER3]["f1"],
            arms[TIER3_NO_PLAN]["f1"],
            arms[TIER3]["n2_exact_order_n2"],
            arms[TIER3_NO_PLAN]["n2_exact_order_n2"],
            arms[TIER3]["n2_mrstft"],
            arms[TIER3_NO_PLAN]["n2_mrstft"],
        ),
        format!(
            "Tier 3 is a small transformer (d_model 64, 4 heads, 1 encoder + 2 decoder layers) over 29 tool/parameter-bin tokens, trained on the same {} pairs as tier 2 ({} steps × {}, dry-dropout 0.3; {}); decoding is greedy and grammar-constrained, so every output is a valid chain by construction.",
            train_chains.len(),
            scale.tool_caller_steps,
            scale.tool_caller_batch,
            tier3
                .iter()
                .map(|(t, rec)| format!("{}: {:.1} steps/s", t.name, rec.steps_per_second))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        format!(
            "Test pairs use the {} sources, never seen in training{}; training uses {}. 16 kHz stereo, 1 s dry, 0.5 s of tail kept in every measurement.",
            sources.join(", "),
            if sources.len() > TEST_SOURCES.len() {
                " (music: recorded tracks, 8 kHz originals resampled; sf2-piano: TimGM6mb SoundFont)"
            } else {
                " (real-audio test sources skipped: run `genlab data fetch moh-music` and `genlab data fetch timgm6mb`)"
            },
            TRAIN_SOURCES.join(", "),
        ),
        "Tier 1 searches with cheaper STFT resolutions (50 % overlap: hops 512/1024/256) and reports with the auraloss ones; a render budget bounds its cost per pair (see config).".into(),
        "Sweep channels are identical, so a stereo widener alone does nothing on them (side = 0), and its constant level makes a compressor or limiter act almost as a fixed gain: such effects are present in the truth but barely observable, for every arm (see the by-source table; the arp source has dynamics and stereo spread).".into(),
    ];
    Ok(r)
}

/// The name of the tier-3 arm, for the plug-in point.
pub const TIER3: &str = "tier 3: autoregressive tool-caller";
/// Tier 3 without the plan (the calls are emitted directly).
pub const TIER3_NO_PLAN: &str = "tier 3 without plan";

fn overall_table(all: &[(String, Vec<ExampleScore>)]) -> Table {
    Table {
        title: "Held-out pairs, all N (micro presence P/R/F1; ρ, τ over common effects; exact order over N ≥ 2)".into(),
        columns: [
            "arm", "valid", "P", "R", "F1", "exact set", "ρ", "τ", "exact order N≥2", "param MAE", "MRSTFT", "s / pair",
        ]
        .map(String::from)
        .to_vec(),
        rows: all
            .iter()
            .map(|(name, scores)| {
                let s = summarise(scores);
                vec![
                    name.clone(),
                    f(s.validity),
                    f(s.precision),
                    f(s.recall),
                    f(s.f1),
                    f(s.exact_set),
                    f(s.spearman),
                    f(s.kendall),
                    f(s.exact_order_n2),
                    f(s.param_mae),
                    f(s.mrstft),
                    format!("{:.2}", s.seconds),
                ]
            })
            .collect(),
    }
}

fn by_length_table(all: &[(String, Vec<ExampleScore>)]) -> Table {
    let mut rows = Vec::new();
    for (name, scores) in all {
        for n in 1..=MAX_EFFECTS {
            let sel: Vec<ExampleScore> = scores.iter().filter(|s| s.n_true == n).cloned().collect();
            let s = summarise(&sel);
            rows.push(vec![
                name.clone(),
                n.to_string(),
                f(s.f1),
                f(s.exact_set),
                f(s.exact_order_n2),
                f(s.kendall),
                f(s.param_mae),
                f(s.mrstft),
            ]);
        }
    }
    Table {
        title: "By true chain length N".into(),
        columns: [
            "arm",
            "N",
            "F1",
            "exact set",
            "exact order",
            "τ",
            "param MAE",
            "MRSTFT",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

fn by_source_table(
    all: &[(String, Vec<ExampleScore>)],
    example_sources: &[&str],
    sources: &[String],
) -> Table {
    let mut rows = Vec::new();
    for (name, scores) in all {
        for source in sources {
            let sel: Vec<ExampleScore> = scores
                .iter()
                .zip(example_sources)
                .filter(|(_, s)| **s == source.as_str())
                .map(|(x, _)| x.clone())
                .collect();
            let s = summarise(&sel);
            rows.push(vec![
                name.clone(),
                source.to_string(),
                s.n.to_string(),
                f(s.f1),
                f(s.exact_set),
                f(s.exact_order_n2),
                f(s.param_mae),
                f(s.mrstft),
            ]);
        }
    }
    Table {
        title: "By held-out source (all N; the no-op row is MRSTFT(wet, dry))".into(),
        columns: [
            "arm",
            "source",
            "pairs",
            "F1",
            "exact set",
            "exact order N≥2",
            "param MAE",
            "MRSTFT",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

fn per_effect_table(all: &[(String, Vec<ExampleScore>)]) -> Table {
    let mut columns = vec!["arm".to_string()];
    columns.extend(EFFECTS.iter().map(|e| e.name.to_string()));
    let mut support = vec!["(present in truth)".to_string()];
    if let Some((_, scores)) = all.first() {
        support.extend(
            per_effect(scores)
                .iter()
                .map(|c| (c.tp + c.fn_).to_string()),
        );
    }
    let mut rows = vec![support];
    rows.extend(all.iter().map(|(name, scores)| {
        let mut row = vec![name.clone()];
        row.extend(per_effect(scores).iter().map(|c| f(c.f1())));
        row
    }));
    Table {
        title: "Presence F1 per effect (held-out pairs)".into(),
        columns,
        rows,
    }
}

fn mrstft_figure(opts: &ReproOptions, all: &[(String, Vec<ExampleScore>)]) -> Result<Figure> {
    let series: Vec<LineSeries> = all
        .iter()
        .map(|(name, scores)| LineSeries {
            label: name.clone(),
            points: (1..=MAX_EFFECTS)
                .map(|n| {
                    let sel: Vec<ExampleScore> =
                        scores.iter().filter(|s| s.n_true == n).cloned().collect();
                    (n as f64, summarise(&sel).mrstft)
                })
                .collect(),
        })
        .collect();
    let file = "mrstft_by_length.svg";
    report::plot::lines(
        &opts.dir.join(file),
        "MRSTFT of the re-rendered estimate vs chain length",
        "true chain length N",
        "mean MRSTFT to the target (lower is better)",
        &series,
        false,
    )?;
    Ok(Figure {
        file: file.into(),
        caption: "Mean MRSTFT (auraloss resolutions) between the target and the estimated chain rendered over the dry input, per true chain length, on held-out pairs (sweep and arp sources); no-op = the dry signal itself.".into(),
    })
}

fn order_figure(opts: &ReproOptions, arms: &Arms) -> Result<Figure> {
    let data: Vec<Bar> = arms
        .iter()
        .map(|(name, m)| Bar {
            label: name.clone(),
            value: m.get("n2_exact_order_n2").copied().unwrap_or(f64::NAN),
            error: 0.0,
        })
        .collect();
    let file = "order_accuracy.svg";
    bars(
        &opts.dir.join(file),
        "Exact-order accuracy on held-out chains with N ≥ 2",
        "fraction with the exact effect sequence",
        &data,
    )?;
    Ok(Figure {
        file: file.into(),
        caption: "Fraction of held-out N ≥ 2 pairs whose estimated effect sequence equals the true one (names and order). The regression baseline emits the canonical order, so it is right only when the true order happens to be canonical.".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triviality_filter_keeps_only_audible_changes_in_order() {
        let kept = training_set(10, 4).unwrap();
        assert_eq!(kept.len(), 10);
        for ex in &kept {
            assert!(change(ex, &SEARCH_RESOLUTIONS).unwrap() >= TRIVIAL);
        }
        let again = training_set(10, 4).unwrap();
        assert!(kept.iter().zip(&again).all(|(a, b)| a.chain == b.chain));
        let sources: std::collections::HashSet<_> =
            kept.iter().map(|e| e.source.as_str()).collect();
        assert!(
            sources.contains("tones") || sources.contains("noise"),
            "{sources:?}"
        );
        let procedural: Vec<String> = TEST_SOURCES.iter().map(|s| s.to_string()).collect();
        let test = test_set(2, 4, &procedural, None).unwrap();
        assert_eq!(test.len(), 12);
        assert!(test.iter().all(|e| procedural.contains(&e.source)));
        assert_eq!(test.iter().filter(|e| e.source == "arp").count(), 6);
        let lengths: Vec<usize> = test.iter().map(|e| e.chain.stages.len()).collect();
        assert_eq!(lengths, vec![1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    }

    #[test]
    fn arm_metrics_split_by_length() {
        let truth = crate::engine::sampler::sample_chain(
            &mut genlab_core::train::SeededRng::new(1),
            2,
            true,
        )
        .unwrap();
        let scores = vec![crate::estimate::metrics::score(&truth, Some(&truth))];
        let m = arm_metrics(&scores);
        assert_eq!(m["n2_exact_order_n2"], 1.0);
        assert_eq!(m["n2_only_f1"], 1.0);
        assert!(m["n1_only_f1"] == 0.0 && m["n1_only_exact_order_n2"].is_nan());
    }
}
