//! `genlab repro flow`: EDM diffusion and flow matching, trained on a 2-D mixture (8 Gaussians)
//! and on the 8×8 digits, checked against the data-vs-data floor.
//!
//! For each (process, dataset) the samples' energy distance to held-out data is compared with
//! the energy distance between two independent held-out sets of the same size. Both use the
//! V-statistic (biased) estimator, whose expected value between two equal distributions is a
//! positive finite-sample floor; "within 1.5× of the floor" therefore bounds the model's excess
//! distance by half the estimator's own finite-sample bias. Each figure is averaged over K
//! independent resplits (2-D: fresh draws; digits: random halves of the held-out digits).
//!
//! Arms: `fm/<data>` and `edm/<data>` at their default solver step counts, `floor/<data>`.
//! Verdict: every model arm's energy distance ≤ 1.5 × its floor. The claim is about one
//! training run per arm (seed `--seed`), measured over K resplits, not a comparison over seeds.
//!
//! The run: data → train the four arms → measure floors and solver-step sweeps → verdict →
//! figures.

mod data;
mod figures;
mod measure;

use std::collections::BTreeMap;

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReportBuilder, ReproOptions, Scales};
use genlab_core::metrics::DigitClassifier;
use genlab_core::report::{self, Report, Verdict};
use genlab_core::train::{Observer, SeededRng};
use serde::Serialize;

use crate::edm::Edm;
use crate::flow_matching::FlowMatching;
use crate::process::Process;
use crate::train::{TrainConfig, Trained, train};
use data::Dataset;

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "flow",
    paper: "Karras et al. 2022, EDM (arXiv 2206.00364); Lipman et al. 2023, Flow Matching (arXiv 2210.02747)",
    paper_effect: "no effect size for this bound in the papers; their reference points are \
                   FID 1.79 for EDM (class-conditional CIFAR-10, 35 NFE Heun) and FID 6.35 for \
                   flow matching with the OT path (CIFAR-10, adaptive solver, 142 NFE)",
    claim: "EDM diffusion and flow matching trained on a 2-D mixture and on 8×8 digits sample within \
            1.5× of the data-vs-data energy-distance floor at their default step counts",
};

/// The verdict's tolerance over the floor.
const FACTOR: f64 = 1.5;

/// Run sizes.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    /// Training steps on the 2-D mixture.
    train_steps: u64,
    /// Training steps on the digits.
    digits_train_steps: u64,
    /// Points per held-out set of the 2-D mixture.
    eval_points: usize,
    /// Independent resplits K every distance is averaged over.
    resplits: usize,
    /// Solver step counts of the sweep.
    step_counts: &'static [usize],
}

/// Quick (≤ 30 s) or default (≤ 3 min) on 2 cores.
const SCALES: Scales<Sizes> = Scales {
    quick: Sizes {
        train_steps: 1000,
        digits_train_steps: 800,
        eval_points: 1000,
        resplits: 2,
        step_counts: &[2, 4, 8, 18, 32],
    },
    full: Sizes {
        train_steps: 4000,
        digits_train_steps: 4000,
        eval_points: 3000,
        resplits: 4,
        step_counts: &[1, 2, 4, 8, 18, 32, 64],
    },
};

/// One trained model of the experiment.
struct Arm<'d> {
    /// `<process>/<dataset>`.
    name: String,
    dataset: &'d Dataset,
    process: Process,
    trained: Trained,
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let sizes = opts.scale(&SCALES);
    let mut rng = SeededRng::new(opts.seed);
    let datasets = data::datasets(sizes, &mut rng);
    let classifier = DigitClassifier::load_or_train(&opts.cache_dir)?;
    let (arms, configs) = train_arms(&datasets, sizes, opts.seed, observer)?;

    let mut report = ReportBuilder::new(&INFO, opts);
    report
        .seeds(&[opts.seed])
        .config("runs", configs)
        .config("sizes", sizes)
        .config("solver", "heun")
        .config("classifier_held_out_accuracy", classifier.held_out_accuracy);
    let mut floors = BTreeMap::new();
    for ds in &datasets {
        let floor = measure::floor(ds, &classifier)?;
        floors.insert(ds.name, floor.energy);
        for (metric, value) in floor.metrics() {
            report.metric(&ds.floor_arm(), metric, value);
        }
    }
    let mut sweeps = Vec::new();
    for arm in &arms {
        // Each arm samples from its own fork, in arm order.
        let sweep = measure::sweep(
            arm,
            floors[arm.dataset.name],
            sizes,
            &classifier,
            &mut rng.fork(),
        )?;
        for (metric, value) in &sweep.at_default {
            report.metric(&arm.name, metric, *value);
        }
        sweeps.push(sweep);
    }
    report.table(measure::sweep_table(&arms, &sweeps));
    report.note(format!(
        "Energy distances are V-statistics averaged over {} resplits; the floor is the same \
         estimator between two independent held-out sets of equal size.",
        sizes.resplits
    ));

    let verdict = verdict(report.arms_so_far(), &arms)?;
    figures::write(&mut report, &arms, &sweeps)?;
    Ok(report.finish(verdict))
}

/// Both processes on every dataset, each from the run's seed.
fn train_arms<'d>(
    datasets: &'d [Dataset],
    sizes: &Sizes,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<(Vec<Arm<'d>>, BTreeMap<String, TrainConfig>)> {
    let mut arms = Vec::new();
    let mut configs = BTreeMap::new();
    for dataset in datasets {
        for process in [
            Process::FlowMatching(FlowMatching),
            Process::Edm(Edm::default()),
        ] {
            let name = format!("{}/{}", process.name(), dataset.name);
            let config = TrainConfig {
                steps: dataset.pick(sizes.train_steps, sizes.digits_train_steps),
                batch: dataset.pick(512, 256),
                seed,
                ..TrainConfig::new(process)
            };
            observer.message(&format!("training {name} ({} steps)", config.steps));
            let trained = train(&dataset.train, &config, None, false, observer)?;
            configs.insert(name.clone(), config);
            arms.push(Arm {
                name,
                dataset,
                process,
                trained,
            });
        }
    }
    Ok((arms, configs))
}

/// Every model arm within [`FACTOR`] × its dataset's floor; a failure names its arm.
fn verdict(measured: &report::Arms, arms: &[Arm]) -> Result<Verdict> {
    let parts = arms
        .iter()
        .map(|arm| {
            let v = report::within_factor(
                measured,
                "energy",
                &arm.name,
                &arm.dataset.floor_arm(),
                FACTOR,
            )?;
            Ok(Verdict {
                effect: format!("{}: {}", arm.name, v.effect),
                ..v
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(report::all_of(
        &format!("energy ≤ {FACTOR}× floor for every process and dataset"),
        parts,
    ))
}
