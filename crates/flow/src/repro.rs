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
//! Verdict: every model arm's energy distance ≤ 1.5 × its floor.

use genlab_core::data::{Mixture, Points, digits};
use genlab_core::metrics::DigitClassifier;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::metrics::{energy_distance_biased, frechet_points, mmd_rbf};
use genlab_core::report::{self, Figure, LineSeries, Report, ScatterSeries, Table, Verdict};
use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Result, device};
use std::collections::BTreeMap;

use crate::edm::Edm;
use crate::flow_matching::FlowMatching;
use crate::ode::Solver;
use crate::process::Process;
use crate::train::{TrainConfig, train};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "flow",
    paper: "Karras et al. 2022, EDM (arXiv 2206.00364); Lipman et al. 2023, Flow Matching (arXiv 2210.02747)",
    paper_effect: "",
    claim: "EDM diffusion and flow matching trained on a 2-D mixture and on 8×8 digits sample within \
            1.5× of the data-vs-data energy-distance floor at their default step counts",
};

/// The verdict's tolerance over the floor.
const FACTOR: f64 = 1.5;

/// Run sizes: quick (≤ 30 s) or default (≤ 3 min) on 2 cores.
struct Scale {
    train_steps: u64,
    digits_train_steps: u64,
    eval_points: usize,
    resplits: usize,
    step_counts: Vec<usize>,
}

impl Scale {
    fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                train_steps: 1000,
                digits_train_steps: 800,
                eval_points: 1000,
                resplits: 2,
                step_counts: vec![2, 4, 8, 18, 32],
            }
        } else {
            Scale {
                train_steps: 4000,
                digits_train_steps: 4000,
                eval_points: 3000,
                resplits: 4,
                step_counts: vec![1, 2, 4, 8, 18, 32, 64],
            }
        }
    }
}

/// One dataset: training points and K pairs of equal-size held-out sets (A_k, B_k).
struct Dataset {
    name: &'static str,
    train: Points,
    splits: Vec<(Points, Points)>,
}

fn datasets(scale: &Scale, rng: &mut SeededRng) -> Vec<Dataset> {
    let mixture = Mixture::EightGaussians;
    let train = mixture.sample(20_000, rng.rng());
    let splits = (0..scale.resplits)
        .map(|_| {
            (
                mixture.sample(scale.eval_points, rng.rng()),
                mixture.sample(scale.eval_points, rng.rng()),
            )
        })
        .collect();
    let all = digits();
    let shuffled = all.select(&rng.permutation(all.len()));
    let (digits_train, held_out) = shuffled.split_at(all.len() - 600);
    let digit_splits = (0..scale.resplits)
        .map(|_| {
            let p = rng.permutation(held_out.len());
            (held_out.select(&p[..300]), held_out.select(&p[300..600]))
        })
        .collect();
    vec![
        Dataset {
            name: "8gaussians",
            train,
            splits,
        },
        Dataset {
            name: "digits",
            train: digits_train,
            splits: digit_splits,
        },
    ]
}

/// Mean over the resplits of `metric(model_or_floor_sample_k, A_k)`.
fn mean_over_splits(
    splits: &[(Points, Points)],
    mut f: impl FnMut(usize, &Points, &Points) -> Result<f64>,
) -> Result<f64> {
    let mut total = 0.0;
    for (k, (a, b)) in splits.iter().enumerate() {
        total += f(k, a, b)?;
    }
    Ok(total / splits.len() as f64)
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let scale = Scale::new(opts.quick);
    let mut rng = SeededRng::new(opts.seed);
    let data = datasets(&scale, &mut rng);
    let classifier = DigitClassifier::load_or_train(&opts.cache_dir)?;
    let device = device::device();

    let mut arms: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut sweep = Table {
        title: "Energy distance to held-out data vs solver steps".into(),
        columns: vec![
            "process".into(),
            "data".into(),
            "steps".into(),
            "NFE".into(),
            "energy".into(),
            "energy / floor".into(),
            "MMD".into(),
        ],
        rows: vec![],
    };
    let mut ratio_lines: Vec<LineSeries> = Vec::new();
    let mut loss_lines: Vec<LineSeries> = Vec::new();
    let mut figures: Vec<Figure> = Vec::new();
    let mut configs = serde_json::Map::new();

    for ds in &data {
        // The floor: two independent held-out sets.
        let floor = mean_over_splits(&ds.splits, |_, a, b| energy_distance_biased(a, b))?;
        let floor_mmd = mean_over_splits(&ds.splits, |_, a, b| mmd_rbf(a, b))?;
        let floor_arm = format!("floor/{}", ds.name);
        arms.insert(
            floor_arm.clone(),
            BTreeMap::from([("energy".into(), floor), ("mmd".into(), floor_mmd)]),
        );
        if ds.name == "digits" {
            let fd = mean_over_splits(&ds.splits, |_, a, b| {
                frechet_points(&classifier.features(a)?, &classifier.features(b)?)
            })?;
            arms.get_mut(&floor_arm)
                .expect("inserted")
                .insert("fd_digits".into(), fd);
        }

        for process in [
            Process::FlowMatching(FlowMatching),
            Process::Edm(Edm::default()),
        ] {
            let arm = format!("{}/{}", process.name(), ds.name);
            let config = TrainConfig {
                steps: if ds.name == "digits" {
                    scale.digits_train_steps
                } else {
                    scale.train_steps
                },
                batch: if ds.name == "digits" { 256 } else { 512 },
                seed: opts.seed,
                ..TrainConfig::new(process)
            };
            configs.insert(
                arm.clone(),
                serde_json::to_value(&config).unwrap_or_default(),
            );
            observer.message(&format!("training {arm} ({} steps)", config.steps));
            let trained = train(&ds.train, &config, None, false, observer)?;
            loss_lines.push(LineSeries {
                label: arm.clone(),
                points: trained.losses.iter().map(|&(s, l)| (s as f64, l)).collect(),
            });
            let model = &trained.model;

            let mut sampler_rng = rng.fork();
            let mut curve = Vec::new();
            let mut at_default = BTreeMap::new();
            for &steps in &scale.step_counts {
                let nfe = process.time_grid(steps).len() - 1;
                let nfe = 2 * nfe - usize::from(matches!(process, Process::Edm(_)));
                let samples: Vec<Points> = ds
                    .splits
                    .iter()
                    .map(|(a, _)| {
                        model.sample(a.len(), steps, Solver::Heun, &mut sampler_rng, &device)
                    })
                    .collect();
                let energy =
                    mean_over_splits(&ds.splits, |k, a, _| energy_distance_biased(&samples[k], a))?;
                let mmd = mean_over_splits(&ds.splits, |k, a, _| mmd_rbf(&samples[k], a))?;
                curve.push((nfe as f64, energy / floor));
                sweep.rows.push(vec![
                    process.name().into(),
                    ds.name.into(),
                    steps.to_string(),
                    nfe.to_string(),
                    fmt(energy),
                    fmt(energy / floor),
                    fmt(mmd),
                ]);
                if steps == model.spec.steps {
                    at_default.insert("energy".to_string(), energy);
                    at_default.insert("energy_over_floor".to_string(), energy / floor);
                    at_default.insert("mmd".to_string(), mmd);
                    at_default.insert("steps".to_string(), steps as f64);
                    at_default.insert("nfe".to_string(), nfe as f64);
                    if ds.name == "digits" {
                        let fd = mean_over_splits(&ds.splits, |k, a, _| {
                            frechet_points(
                                &classifier.features(&samples[k])?,
                                &classifier.features(a)?,
                            )
                        })?;
                        at_default.insert("fd_digits".to_string(), fd);
                    }
                    figures.push(sample_figure(opts, ds, &arm, &samples[0])?);
                }
            }
            at_default.insert(
                "final_loss".into(),
                trained.losses.last().map(|l| l.1).unwrap_or(f64::NAN),
            );
            arms.insert(arm.clone(), at_default);
            ratio_lines.push(LineSeries {
                label: arm.clone(),
                points: curve,
            });
            verdicts.push(report::within_factor(
                &arms, "energy", &arm, &floor_arm, FACTOR,
            )?);
        }
    }

    report::plot::lines(
        &opts.dir.join("energy_vs_nfe.svg"),
        "Energy distance / data floor vs NFE (Heun)",
        "NFE",
        "energy / floor",
        &ratio_lines,
        true,
    )?;
    figures.push(Figure { file: "energy_vs_nfe.svg".into(), caption: format!("Energy distance to held-out data divided by the data-vs-data floor, per NFE; the verdict line is {FACTOR}×.") });
    report::plot::lines(
        &opts.dir.join("loss.svg"),
        "Training loss",
        "step",
        "loss",
        &loss_lines,
        true,
    )?;
    figures.push(Figure {
        file: "loss.svg".into(),
        caption: "Training loss (every 10 steps).".into(),
    });

    let verdict = report::all_of(
        &format!("energy ≤ {FACTOR}× floor for every process and dataset"),
        verdicts,
    );
    let mut r = Report::new(INFO.name, INFO.paper, INFO.claim, opts.seed, verdict);
    r.seeds = vec![opts.seed];
    r.arms = arms;
    r.config = serde_json::json!({ "runs": configs, "eval_points_2d": scale.eval_points, "resplits": scale.resplits, "step_counts": scale.step_counts, "solver": "heun", "classifier_held_out_accuracy": classifier.held_out_accuracy });
    r.tables = vec![sweep];
    r.figures = figures;
    r.notes = vec![format!(
        "Energy distances are V-statistics averaged over {} resplits; the floor is the same estimator between two independent held-out sets of equal size.",
        scale.resplits
    )];
    Ok(r)
}

fn sample_figure(opts: &ReproOptions, ds: &Dataset, arm: &str, samples: &Points) -> Result<Figure> {
    let file = format!("{}.svg", arm.replace('/', "_"));
    let path = opts.dir.join(&file);
    if samples.d == 2 {
        let pts = |p: &Points| p.rows().map(|r| (r[0], r[1])).collect::<Vec<_>>();
        let series = vec![
            ScatterSeries {
                label: "held-out data".into(),
                points: pts(&ds.splits[0].0),
                colour: 7,
            },
            ScatterSeries {
                label: arm.into(),
                points: pts(samples),
                colour: 0,
            },
        ];
        report::plot::scatter(&path, &format!("{arm} samples"), &series)?;
    } else {
        let images: Vec<Vec<f32>> = samples.rows().take(64).map(|r| r.to_vec()).collect();
        report::plot::image_grid(
            &path,
            &format!("{arm} samples"),
            &images,
            8,
            8,
            8,
            (0.0, 16.0),
        )?;
    }
    Ok(Figure {
        file,
        caption: format!("{arm}: samples at the default step count"),
    })
}

fn fmt(x: f64) -> String {
    format!("{x:.4}")
}
