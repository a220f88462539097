//! `genlab repro contrastive` (alias `hydra`): can any two classes be a positive pair when
//! similarity is measured in a learned pair-specific subspace? (Wu et al., arXiv 2410.18200,
//! "Rethinking Positive Pairs in Contrastive Learning"; method note
//! `shared/research/anchors-interpretability.md` §3.4.)
//!
//! Two parts, each run as data → arms → measure → verdict → figures, with the same six arms
//! ([`arms::ARMS`]: SimCLR, SupCon, Hydra = instance + disparate with arbitrary pairs, its
//! identical / distinct pairing ablations, SimLAP = disparate alone) on every seed:
//!
//! - **synthetic** ([`synthetic`]): C = 20 classes over F = 32 binary factors with a known
//!   sharing matrix ([`crate::factors`]), MLP encoder;
//! - **Fashion-MNIST** ([`fashion`]): a seeded subset, the small CNN; gate dendrogram.
//!
//! Verdict (all must hold, each over ≥ 3 seeds by `genlab_core::report::paired`): on both data
//! sets Hydra's RankMe of the projections is higher than SupCon's and its linear probe is
//! higher than SimCLR's; on the synthetic set the Spearman correlation between the gate
//! overlap cos(g(a, a), g(b, b)) and the true shared-factor count is positive.
//!
//! Deviation from the note, named: the note's noise σ = 0.1 makes every arm's linear probe
//! 100% on this set (measured), so no probe comparison is possible; we use σ = 1.0, where
//! probes sit below 100%.

mod arms;
mod fashion;
mod figures;
mod synthetic;
mod verdict;

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReportBuilder, ReproOptions, Scales};
use genlab_core::report::{self, Report, Table, mean_std, sig3};
use genlab_core::train::Observer;
use serde::Serialize;

use crate::augment::Augment;
use crate::encoder::EncoderSpec;
use crate::factors::FactorConfig;
use crate::train::TrainConfig;
use arms::{ARMS, METRICS, Measured};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "contrastive",
    paper: "Wu, Atito, Mo, Feng, Kittler, Awais 2024/2025, Rethinking Positive Pairs in \
            Contrastive Learning (Hydra / SimLAP, arXiv 2410.18200)",
    paper_effect: "qualitative at our scale: the paper reports Hydra/SimLAP beating standard \
                   contrastive learning on ImageNet-1k (Hydra-MoCo ViT-B 84.02% top-1 after \
                   fine-tuning), no dimensional collapse (SupCon collapses towards C − 1 \
                   directions) and class relationships in the gates; linear-probe numbers vs \
                   SimCLR were not retrieved",
    claim: "Training with arbitrary class pairs as positives, measured in a learned \
            pair-gated subspace (Hydra), gives a higher effective rank (RankMe of the \
            projections) than SupCon and a higher linear-probe accuracy than SimCLR, on a \
            factor-structured synthetic set and on Fashion-MNIST; and its gate overlap \
            correlates positively (Spearman) with the true number of shared factors",
};

/// The sizes of one run.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    /// The synthetic set (its seed is each run seed).
    factors: FactorConfig,
    /// Training on the synthetic set (objective and seed replaced per arm and seed).
    vectors: TrainConfig,
    /// Fashion-MNIST training images per seed (a seeded subset).
    fashion_train: usize,
    /// Fashion-MNIST test images (a fixed subset).
    fashion_test: usize,
    /// Training on Fashion-MNIST.
    images: TrainConfig,
    /// Seeds.
    seeds: usize,
}

const FACTORS: FactorConfig = FactorConfig {
    noise: 1.0,
    ..FactorConfig::DEFAULT
};

const SCALES: Scales<Sizes> = Scales {
    quick: Sizes {
        factors: FactorConfig {
            train: 3000,
            test: 1000,
            ..FACTORS
        },
        vectors: TrainConfig {
            steps: 120,
            batch: 128,
            ..TrainConfig::VECTORS
        },
        fashion_train: 2000,
        fashion_test: 1000,
        images: TrainConfig {
            steps: 40,
            batch: 64,
            encoder: EncoderSpec::Cnn { channels: 8 },
            augment: Augment::IMAGE,
            ..TrainConfig::IMAGES
        },
        seeds: 3,
    },
    full: Sizes {
        factors: FACTORS,
        vectors: TrainConfig {
            steps: 600,
            ..TrainConfig::VECTORS
        },
        fashion_train: 10_000,
        fashion_test: 2000,
        images: TrainConfig {
            steps: 300,
            ..TrainConfig::IMAGES
        },
        seeds: 3,
    },
};

/// Records every arm's metrics (mean and std over seeds) as `{part} {arm}`, and a table.
fn record_arms(report: &mut ReportBuilder, part: &str, per_seed: &[Vec<Measured>], extra: &[&str]) {
    let names: Vec<&str> = METRICS
        .iter()
        .map(|m| m.0)
        .chain(extra.iter().copied())
        .chain(["train_seconds"])
        .collect();
    let mut rows = Vec::new();
    for (i, a) in ARMS.iter().enumerate() {
        let mut row = vec![a.name.to_string()];
        for &metric in &names {
            let values: Vec<f64> = per_seed
                .iter()
                .filter_map(|s| s[i].metrics.get(metric).copied())
                .collect();
            if values.is_empty() {
                row.push("–".into());
                continue;
            }
            report.metric_over_seeds(&format!("{part} {}", a.name), metric, &values);
            let (m, s) = mean_std(&values);
            row.push(format!("{} ± {}", sig3(m), sig3(s)));
        }
        rows.push(row);
    }
    let mut columns = vec!["arm".to_string()];
    columns.extend(names.iter().map(|s| s.to_string()));
    report.table(Table {
        title: format!("{part}: mean ± std over seeds"),
        columns,
        rows,
    });
}

/// Runs the experiment: the synthetic part, then Fashion-MNIST, and the verdict over both.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let sizes = opts.scale(&SCALES);
    let seeds = opts.seeds(sizes.seeds);
    let mut report = ReportBuilder::new(&INFO, opts);
    report
        .seeds(&seeds)
        .config("sizes", sizes)
        .config(
            "arms",
            ARMS.iter()
                .map(|a| (a.name, a.objective))
                .collect::<Vec<_>>(),
        )
        .config("metrics", METRICS);
    let mut seconds = serde_json::Map::new();
    let started = Instant::now();
    let mut parts = synthetic::run(sizes, &seeds, &mut report, observer)?;
    seconds.insert("synthetic".into(), started.elapsed().as_secs_f64().into());
    let started = Instant::now();
    parts.extend(fashion::run(opts, sizes, &seeds, &mut report, observer)?);
    seconds.insert("fashion".into(), started.elapsed().as_secs_f64().into());
    report
        .config("phase_seconds", seconds)
        .note(
            "Arms: hydra = (NT-Xent + disparate)/2 with arbitrary pairs (the MoCo-v1 form, β = 1); \
             simlap = the disparate loss alone (v2). RankMe and the 1% count are on the test \
             projections z (where the loss acts and SupCon's C − 1 collapse is predicted); \
             probes and k-NN on the representation h.",
        )
        .key_figure("synthetic_spectra.svg");
    let verdict = report::all_of("contrastive", parts);
    if !verdict.holds {
        // Settings explored while building the experiment (development runs; their numbers
        // are in the issue 17 note), not arms of this run.
        report
            .tried(
                "Synthetic noise σ = 0.1 first: every probe (Hydra, SupCon, SimCLR) saturated, so \
                 the comparison could not separate them; σ = 1.0 is used.",
            )
            .tried(
                "The strict probe comparison (Hydra > SimCLR, not ≥) is kept as the paper states \
                 it; the probe gaps measured here are within seed noise.",
            );
    }
    Ok(report.finish(verdict))
}
