//! `genlab repro fx`: can an order-aware estimator recover effect chains better than the
//! fixed-order regression baseline of LLM2Fx-Tools (Doh, Koo et al., ICLR 2026)? The CPU-scale
//! experiment of `shared/research/anchors-multimodal.md` §2(d).
//!
//! ```text
//! data     procedural dry sources, 16 kHz stereo, 1 s; chains of N = 1..3 distinct effects on
//!          the step grid (estimate::dataset); LP-Fx triviality filter: drop pairs whose
//!          MRSTFT(wet, dry) < 0.3. Training sources: pluck, pad, drum, tones, noise, and the
//!          randomised synth and keys chords —
//!          [`training_set`]. Held-out test sources: sweep and arp (never seen in training)
//!          and, when fetched, recorded music and a SoundFont piano; the same number of pairs
//!          for each N and source — [`test_set`]                                    (data.rs)
//! window   every measurement keeps 0.5 s of wet signal after the dry end (long echo tails
//!          are cut there, for every arm alike)
//! arms     tier 1  analysis-by-synthesis (estimate::search; detectors + greedy MRSTFT search)
//!          tier 2  regression baseline (estimate::regression; presence + parameters, fixed order)
//!          tier 3  the autoregressive tool-caller (estimate::toolcaller; frames + tier 2's
//!                  descriptors as one more encoder token), with and without a plan (the
//!                  effect set) before the ordered calls, the most probable of 4 grammar-
//!                  constrained beams; also decoded greedily
//!          hybrid  tier 3's 4 beams and the empty chain as tier 1's starting points, the
//!                  best 2 refined, never worse than the best start (estimate::learned::hybrid)          (tiers.rs)
//!          no-op and random-chain baselines
//! metrics  estimate::metrics: validity, presence P/R/F1 and exact set, Spearman ρ / Kendall τ,
//!          exact-order accuracy (N ≥ 2), normalised parameter MAE, MRSTFT of the re-render;
//!          overall, by N and per effect                                           (measure.rs)
//! seeds    the base seed runs every arm; every further seed draws its own pairs and retrains
//!          the verdict's two arms (tier 2, tier 3 with plan)
//! verdict  tier 3 vs tier 2 on the N ≥ 2 test pairs: exact-order accuracy higher ∧ mean
//!          MRSTFT lower, each paired over the seeds (≥ 3 seeds needed)            (verdict.rs)
//! ```
//!
//! 16 kHz (not 22.05) because tier 1 re-renders hundreds of candidates per example and the
//! STFT cost scales with the sample count; the EQ's high shelf is then limited to 7.2 kHz
//! (0.45·fs), so its cut-off above that is not identifiable (it counts in the parameter MAE).

mod data;
mod figures;
mod measure;
mod notes;
mod tables;
mod tiers;
mod verdict;

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReportBuilder, ReproOptions, Scales};
use genlab_core::report::{Arms, Report};
use genlab_core::train::Observer;
use serde::Serialize;

pub use data::{test_set, training_set};

use crate::estimate::ChainEstimator;
use crate::estimate::search::AnalysisBySynthesis;
use crate::estimate::{NoOp, RandomChain};
use measure::ArmScores;
use tiers::Tier3;

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "fx",
    paper: "Doh, Koo et al. 2026, LLM2Fx-Tools: tool calling for music post-production (ICLR 2026, arXiv 2512.01559)",
    paper_effect: "qualitative (result tables not retrieved): LLM2Fx-Tools beats the regression baseline on effect presence and order correlation, and correct order improves perceptual similarity",
    claim: "the autoregressive tool-caller (tier 3: plan before the calls, the most probable of 4 grammar-constrained beams) recovers held-out chains of N >= 2 effects (source types never seen in training) with higher exact-order accuracy AND lower mean MRSTFT of the re-render than the fixed-order regression baseline (tier 2) trained on the same pairs, each paired over >= 3 seeds",
};

const SAMPLE_RATE: u32 = 16_000;
const SECONDS: f64 = 1.0;
const MAX_TAIL_SECONDS: f64 = 0.5;
const MAX_EFFECTS: usize = 3;
/// LP-Fx triviality threshold on MRSTFT(wet, dry) for N < 5.
const TRIVIAL: f64 = 0.3;
/// Procedural training sources (sources::procedural, sources::extra, sources::synth).
const TRAIN_SOURCES: [&str; 7] = ["pluck", "pad", "drum", "tones", "noise", "synth", "keys"];
/// Procedural held-out sources, never seen in training.
const TEST_SOURCES: [&str; 2] = ["sweep", "arp"];
/// Real-audio held-out sources, used when their data is in the cache (recorded music,
/// a SoundFont piano).
const REAL_TEST_SOURCES: [&str; 2] = ["music", "sf2-piano"];

/// Tier 1's arm name.
const TIER1: &str = crate::estimate::search::NAME;
/// Tier 2's arm name.
const TIER2: &str = crate::estimate::regression::NAME;
/// The name of the tier-3 arm (with the plan), the verdict's method.
pub const TIER3: &str = "tier 3: autoregressive tool-caller";
/// Tier 3 without the plan (the calls are emitted directly).
pub const TIER3_NO_PLAN: &str = "tier 3 without plan";
/// Tier 3 (with plan) decoded greedily instead of by beam search.
pub const TIER3_GREEDY: &str = "tier 3 greedy";
/// Tier 3's beams refined by tier 1's search.
pub const HYBRID: &str = "hybrid: tier-3 beams refined by tier 1";
/// Beam width of the tier-3 arms' decoding (the most probable beam is their estimate).
const TIER3_BEAMS: usize = 4;

/// The sizes of a run.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    /// Training pairs of every learned tier.
    train_pairs: usize,
    /// Test pairs in all, split evenly over chain lengths and test sources.
    test_pairs: usize,
    /// Tier 2 optimisation steps.
    regression_steps: u64,
    /// Tier 1 renders per pair.
    search_budget: usize,
    /// Tier 3 optimisation steps of each variant (plan / no plan).
    tool_caller_steps: u64,
    /// Tier 3 batch size.
    tool_caller_batch: usize,
    /// Seeds of the verdict (the base seed runs every arm).
    seeds: usize,
}

const SCALES: Scales<Sizes> = Scales {
    quick: Sizes {
        train_pairs: 200,
        test_pairs: 12,
        regression_steps: 500,
        search_budget: 250,
        tool_caller_steps: 150,
        tool_caller_batch: 32,
        seeds: 3,
    },
    full: Sizes {
        train_pairs: 2000,
        test_pairs: 60,
        regression_steps: 1500,
        search_budget: 500,
        tool_caller_steps: 1000,
        tool_caller_batch: 64,
        seeds: 3,
    },
};

/// Wall time per named phase, for the report's config.
#[derive(Debug, Default)]
struct Phases(serde_json::Map<String, serde_json::Value>);

impl Phases {
    /// Runs `f`, recording its wall time under `name`.
    fn time<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let out = f()?;
        self.0
            .insert(name.into(), started.elapsed().as_secs_f64().into());
        Ok(out)
    }
}

/// Which arms a seed runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArmSet {
    /// Every arm (the base seed: tables, figures, notes).
    Every,
    /// The verdict's two arms (the further seeds).
    Verdict,
}

/// What one seed measured.
struct SeedRun {
    seed: u64,
    /// Per-example scores of each arm, in table order.
    scores: Vec<ArmScores>,
    /// Arm metrics (see `measure::arm_metrics`).
    arms: Arms,
    /// The source of each test pair.
    example_sources: Vec<String>,
    train_pairs: usize,
    regression_final_loss: Option<f64>,
    /// The tier-3 variants with their training records.
    tier3: Vec<Tier3>,
    phases: Phases,
}

/// Data → train → measure on one seed, for the arms of `set`.
fn run_seed(
    size: &Sizes,
    seed: u64,
    sources: &[String],
    opts: &ReproOptions,
    set: ArmSet,
    observer: &mut dyn Observer,
) -> Result<SeedRun> {
    let mut phases = Phases::default();
    let per_n = (size.test_pairs / (MAX_EFFECTS * sources.len())).max(1);
    observer.message(&format!(
        "seed {seed}: generating {} training pairs ({}) and {per_n} test pairs per N and source ({})",
        size.train_pairs,
        TRAIN_SOURCES.join(", "),
        sources.join(", ")
    ));
    let (train_set, test_set) = phases.time("data", || {
        Ok((
            training_set(size.train_pairs, seed)?,
            test_set(per_n, seed, sources, Some(&opts.cache_dir))?,
        ))
    })?;

    let corpus = phases.time("features", || tiers::corpus(&train_set))?;
    let regression = tiers::regression_config(size, seed);
    let (regressor, losses) = phases.time("train tier 2", || {
        tiers::train_tier2(&corpus, &regression, observer)
    })?;
    let variants: &[(bool, &str)] = match set {
        ArmSet::Every => &[(true, TIER3), (false, TIER3_NO_PLAN)],
        ArmSet::Verdict => &[(true, TIER3)],
    };
    let tier3 = phases.time("train tier 3", || {
        tiers::train_tier3(&corpus, size, seed, variants, observer)
    })?;
    let greedy = tier3[0].decoded_with(1, TIER3_GREEDY);

    let tier1 = AnalysisBySynthesis {
        options: tiers::search_options(size),
    };
    let hybrid = tiers::Hybrid {
        tier3: &tier3[0],
        options: tiers::search_options(size),
    };
    let random = RandomChain {
        max_effects: MAX_EFFECTS,
        seed: seed ^ 0x5a5a,
    };
    let mut estimators: Vec<&dyn ChainEstimator> = Vec::new();
    if set == ArmSet::Every {
        estimators.push(&tier1);
    }
    estimators.push(&regressor);
    estimators.extend(tier3.iter().map(|t| t as &dyn ChainEstimator));
    if set == ArmSet::Every {
        estimators.extend([&greedy as &dyn ChainEstimator, &hybrid, &NoOp, &random]);
    }
    let scores = measure::evaluate_arms(&estimators, &test_set, observer, &mut phases)?;
    let arms = scores
        .iter()
        .map(|a| (a.name.clone(), measure::arm_metrics(&a.scores)))
        .collect();
    Ok(SeedRun {
        seed,
        scores,
        arms,
        example_sources: test_set.iter().map(|e| e.source.clone()).collect(),
        train_pairs: train_set.len(),
        regression_final_loss: losses.last().map(|l| l.1),
        tier3,
        phases,
    })
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let started = Instant::now();
    let size = opts.scale(&SCALES);
    let seeds = opts.seeds(size.seeds);
    let sources = data::test_sources(&opts.cache_dir);

    // ---- data → train → measure, every arm on the base seed, the verdict's on the others ----
    let mut runs = vec![run_seed(
        size,
        seeds[0],
        &sources,
        opts,
        ArmSet::Every,
        observer,
    )?];
    for &seed in &seeds[1..] {
        runs.push(run_seed(
            size,
            seed,
            &sources,
            opts,
            ArmSet::Verdict,
            observer,
        )?);
    }
    let first = &runs[0];

    // ---- verdict ----
    let verdict = verdict::verdict(&runs)?;

    // ---- report: arms, tables, figures, notes ----
    let mut report = ReportBuilder::new(&INFO, opts);
    report.seeds(&seeds).arms(first.arms.clone());
    verdict::record_over_seeds(&mut report, &runs);
    report
        .table(tables::overall(&first.scores))
        .table(tables::by_length(&first.scores))
        .table(tables::per_effect_f1(&first.scores))
        .table(tables::by_source(
            &first.scores,
            &first.example_sources,
            &sources,
        ))
        .table(tables::per_seed(&runs));
    figures::add(&mut report, first, &sources)?;
    for note in notes::notes(first, size, &sources, &seeds) {
        report.note(note);
    }
    let tier1 = tiers::search_options(size);
    report
        .config("sample_rate", SAMPLE_RATE)
        .config("seconds", SECONDS)
        .config("max_tail_seconds", MAX_TAIL_SECONDS)
        .config("max_effects", MAX_EFFECTS)
        .config("trivial_mrstft", TRIVIAL)
        .config("stereo", true)
        .config("train_sources", TRAIN_SOURCES)
        .config("test_sources", &sources)
        .config("sizes", size)
        .config("train_pairs", first.train_pairs)
        .config("test_pairs", first.example_sources.len())
        .config("regression", tiers::regression_config(size, seeds[0]))
        .config(
            "search",
            serde_json::json!({
                "max_effects": tier1.max_effects, "candidates": tier1.candidates,
                "min_score": tier1.min_score, "penalty": tier1.penalty,
                "finalists": tier1.finalists, "passes": tier1.passes, "budget": tier1.budget,
            }),
        )
        .config("regression_final_loss", first.regression_final_loss)
        .config("verdict_arm", TIER3)
        .config(
            "phase_seconds",
            runs.iter()
                .map(|r| {
                    (
                        r.seed.to_string(),
                        serde_json::Value::Object(r.phases.0.clone()),
                    )
                })
                .collect::<serde_json::Map<_, _>>(),
        )
        .config("total_seconds", started.elapsed().as_secs_f64());
    if !verdict.holds {
        verdict::tried(&mut report, first);
    }
    Ok(report.finish(verdict))
}
