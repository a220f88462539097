//! `genlab repro cmt`: does consistency mid-training make ECT post-training reach its target
//! sooner? (Hu et al. 2026, sony/cmt; the smallest faithful experiment of
//! `shared/research/anchors-generative.md` §1.4, on the 8-Gaussian mixture.)
//!
//! One EDM teacher is trained; every arm's student starts from its weights:
//!
//! ```text
//! (A) ECT            K post-training steps, Δt annealed (q = 2, halving every K/8 steps)
//! (B) CMT → ECT      mid-training on teacher trajectories (M = 16 Heun steps), then ECT with a
//!                    constant small Δt (q = 256) for the remaining budget
//! (C) KD → ECT       mid-training on endpoint pairs only, same mid compute as (B), then as (B)
//! (E) ECD            consistency distillation: ECT's schedule, but x_r is one teacher Heun
//!                    step from x_t; a step costs 6b, so it gets 2/3 of A's steps
//! (D) MeanFlow       on a flow-matching teacher: MF from scratch vs CMT-MF mid-training then
//!                    MF, equal compute; 1-step energy distance vs steps (reported, not in the
//!                    verdict)
//! ```
//!
//! Equal total compute, counted in single-sample network evaluations: an ECT step costs 4b
//! (student forward + backward ≈ 3, target forward 1), a CMT step 5b (2M teacher NFE per
//! trajectory, b/M trajectories, + 3b), a KD step 35b (2M NFE for every pair + 3b).
//!
//! Measured at checkpoints during post-training, on fixed noises and held-out data: the
//! flow-map error E‖f(Tz, T) − teacher ODE(z)‖², 1- and 2-step energy distance (V-statistic) to
//! held-out data, and the first checkpoint where the 2-step energy distance is within 1.1× the
//! teacher's (18-step Heun). Not reaching it counts as K + one checkpoint interval for every arm
//! (so two misses tie). Verdict: (B) reaches the target in fewer post-training steps than (A) on
//! every seed.

use std::collections::BTreeMap;

use burn::module::Module;
use burn::optim::AdamConfig;
use genlab_core::data::{Mixture, Points, digits};
use genlab_core::metrics::DigitClassifier;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::metrics::Gaussian;
use genlab_core::metrics::energy_distance_biased;
use genlab_core::report::{self, Better, Figure, LineSeries, Report, ScatterSeries, Table};
use genlab_core::train::{FitConfig, NoObserver, Observer, SeededRng, fit, seed_device};
use genlab_core::{Error, Result, device, tensor};

use crate::mid_training::{PairKind, cmt_loss, sample_pairs, teacher_trajectory};
use genlab_flow::consistency::{Consistency, ConsistencyMap, FlowMap, one_step, two_step};
use crate::ect::Ect;
use genlab_flow::edm::Edm;
use genlab_flow::model::FlowModel;
use genlab_flow::net::TimeMlp;
use genlab_flow::ode::Solver;
use genlab_flow::process::Process;
use genlab_flow::train::{TrainConfig, train};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "cmt",
    paper: "Hu, Lai, Mitsufuji, Ermon 2026, Consistency Mid-Training (ICLR 2026, arXiv 2509.24526)",
    paper_effect: "",
    claim: "mid-training on teacher ODE trajectories lets ECT post-training reach 2-step quality \
            within 1.1× of the teacher in fewer post-training steps than ECT from the teacher's weights",
};

/// `genlab list` entry of the digits run.
pub const INFO_DIGITS: ExperimentInfo = ExperimentInfo {
    name: "cmt-digits",
    paper: INFO.paper,
    paper_effect: "",
    claim: "the `cmt` claim on the 8×8 digits (64-D), with FD-digits as the quality metric",
};

/// What the experiment runs on: training data, and how samples are scored against held-out
/// data (lower is better).
struct Task {
    /// Metric name for tables and plots.
    metric: &'static str,
    /// Short key in arm metrics (`final_2step_<key>`).
    key: &'static str,
    data: Points,
    scorer: Scorer,
}

enum Scorer {
    /// V-statistic energy distance to fresh draws from the mixture.
    Energy(Mixture),
    /// FD-digits against the features of all real digits.
    Fd(Box<DigitClassifier>, Gaussian),
}

impl Task {
    fn mixture(rng: &mut SeededRng) -> Task {
        let mixture = Mixture::EightGaussians;
        Task {
            metric: "energy distance",
            key: "energy",
            data: mixture.sample(20_000, rng.rng()),
            scorer: Scorer::Energy(mixture),
        }
    }

    fn digits(cache_dir: &std::path::Path) -> Result<Task> {
        let classifier = DigitClassifier::load_or_train(cache_dir)?;
        let data = digits();
        let reference = classifier.feature_gaussian(&data)?;
        Ok(Task {
            metric: "FD-digits",
            key: "fd",
            data,
            scorer: Scorer::Fd(Box::new(classifier), reference),
        })
    }

    fn dim(&self) -> usize {
        self.data.d
    }

    /// Held-out data for one seed (digits: the metric's fixed reference, so none is drawn).
    fn held_out(&self, n: usize, rng: &mut SeededRng) -> Points {
        match &self.scorer {
            Scorer::Energy(m) => m.sample(n, rng.rng()),
            Scorer::Fd(..) => Points::new(self.dim(), vec![], None).expect("empty points"),
        }
    }

    fn score(&self, samples: &Points, held_out: &Points) -> Result<f64> {
        match &self.scorer {
            Scorer::Energy(_) => energy_distance_biased(samples, held_out),
            Scorer::Fd(classifier, reference) => classifier.fd(samples, reference),
        }
    }
}

/// Trajectory steps M of the teacher solver.
const M: usize = 16;
/// The 2-step sampler's intermediate noise level (sony/cmt uses 0.77569 on CIFAR-10).
const T_MID: f32 = 0.8;
/// How close to the teacher the 2-step samples must get.
const TARGET_FACTOR: f64 = 1.1;

struct Scale {
    teacher_steps: u64,
    budget: u64,
    mid_steps: u64,
    batch: usize,
    eval_every: u64,
    eval_points: usize,
    seeds: u64,
    mf_budget: u64,
    mf_mid_steps: u64,
}

impl Scale {
    fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                teacher_steps: 700,
                budget: 280,
                mid_steps: 50,
                batch: 256,
                eval_every: 40,
                eval_points: 600,
                seeds: 3,
                mf_budget: 160,
                mf_mid_steps: 40,
            }
        } else {
            Scale {
                teacher_steps: 4000,
                budget: 2400,
                mid_steps: 320,
                batch: 256,
                eval_every: 100,
                eval_points: 2000,
                seeds: 3,
                mf_budget: 1200,
                mf_mid_steps: 200,
            }
        }
    }
}

/// One arm's measurements at each checkpoint.
#[derive(Default, Clone)]
struct Curve {
    steps: Vec<u64>,
    two_step: Vec<f64>,
    one_step: Vec<f64>,
    flow_map_error: Vec<f64>,
    losses: Vec<f64>,
    /// One-step samples at the last checkpoint (data space).
    last_one_step: Option<Points>,
}

/// Fixed evaluation inputs of one seed.
struct Eval {
    held_out: Points,
    z: burn::tensor::Tensor<2>,
    z2: burn::tensor::Tensor<2>,
    teacher_end: burn::tensor::Tensor<2>,
}

/// Runs the experiment on the 8-Gaussian mixture (with the MeanFlow arms).
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let mut rng = SeededRng::new(opts.seed);
    run_task(&Task::mixture(&mut rng), &INFO, opts, observer)
}

/// Runs the experiment on the 8×8 digits (arms A, B, C, E).
pub fn run_digits(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    run_task(
        &Task::digits(&opts.cache_dir)?,
        &INFO_DIGITS,
        opts,
        observer,
    )
}

fn run_task(
    task: &Task,
    info: &ExperimentInfo,
    opts: &ReproOptions,
    observer: &mut dyn Observer,
) -> Result<Report> {
    let scale = Scale::new(opts.quick);
    let data = &task.data;
    let dim = task.dim();
    let edm = Edm::default();
    let cm = Consistency { edm };
    let plain = device::device();

    observer.message(&format!(
        "training the EDM teacher ({} steps)",
        scale.teacher_steps
    ));
    let teacher_config = TrainConfig {
        steps: scale.teacher_steps,
        seed: opts.seed,
        ..TrainConfig::new(Process::Edm(edm))
    };
    let teacher = train(data, &teacher_config, None, false, observer)?.model;
    let norm = teacher.spec.norm.clone();

    let mid_compute = 5 * scale.mid_steps; // in units of b network evaluations
    let post_after_mid = scale.budget - mid_compute.div_ceil(4);
    let kd_steps = (mid_compute as f64 / 35.0).round().max(1.0) as u64;

    // (E) distils from the teacher with ECT's schedule: each step also costs the teacher's
    // Heun step (2 forward NFE per sample), 6b instead of 4b.
    let ecd_steps = scale.budget * 4 / 6;
    let arms: [(&str, u64, PairKind, Ect, u64, Post); 4] = [
        (
            "A: ECT",
            0,
            PairKind::Trajectory,
            Ect::annealed(dim, scale.budget / 8),
            scale.budget,
            Post::Ect,
        ),
        (
            "B: CMT→ECT",
            scale.mid_steps,
            PairKind::Trajectory,
            Ect::constant(dim, 256.0),
            post_after_mid,
            Post::Ect,
        ),
        (
            "C: KD→ECT",
            kd_steps,
            PairKind::EndpointOnly,
            Ect::constant(dim, 256.0),
            post_after_mid,
            Post::Ect,
        ),
        (
            "E: ECD",
            0,
            PairKind::Trajectory,
            Ect::annealed(dim, ecd_steps / 8),
            ecd_steps,
            Post::Ecd,
        ),
    ];

    let mut per_seed: BTreeMap<&str, Vec<(Curve, f64)>> = BTreeMap::new();
    let mut teacher_energies = Vec::new();
    let mut verdicts = Vec::new();
    let mut scatter_samples: Vec<(String, Points)> = Vec::new();
    for s in 0..scale.seeds {
        let seed = opts.seed + s;
        let mut seed_rng = SeededRng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(1));
        let held_out = task.held_out(scale.eval_points, &mut seed_rng);
        let z = seed_rng.normal([scale.eval_points, dim], &plain);
        let z2 = seed_rng.normal([scale.eval_points, dim], &plain);
        let teacher_end = teacher_trajectory(&teacher, &cm, z.clone(), 64)
            .map(|t| t.last())
            .ok_or_else(|| Error::InvalidInput("the CMT teacher must be an EDM model".into()))?;
        let teacher_samples = teacher.sample(
            scale.eval_points,
            teacher.spec.steps,
            Solver::Heun,
            &mut seed_rng,
            &plain,
        );
        let teacher_energy = task.score(&teacher_samples, &held_out)?;
        teacher_energies.push(teacher_energy);
        let eval = Eval {
            held_out,
            z,
            z2,
            teacher_end,
        };

        let mut seed_arms = report::Arms::new();
        for (name, mid_steps, kind, ect, post_steps, post) in &arms {
            observer.message(&format!("seed {seed}: {name}"));
            let mut arm_rng = seed_rng.fork();
            let curve = run_arm(
                &teacher,
                &cm,
                task,
                &norm,
                &eval,
                *mid_steps,
                *kind,
                ect,
                *post_steps,
                *post,
                &scale,
                &mut arm_rng,
                observer,
            )?;
            let target = TARGET_FACTOR * teacher_energy;
            let reached = curve
                .steps
                .iter()
                .zip(&curve.two_step)
                .find(|(_, e)| **e <= target)
                .map(|(s, _)| *s as f64);
            // Not reached: the same penalty for every arm (A's budget plus one interval), so two
            // arms that both miss tie and the claim does not hold.
            let steps_to_target = reached.unwrap_or((scale.budget + scale.eval_every) as f64);
            seed_arms.insert(
                name.to_string(),
                BTreeMap::from([("steps_to_target".into(), steps_to_target)]),
            );
            if s == 0
                && let Some(p) = &curve.last_one_step
            {
                scatter_samples.push((format!("{name} (1 step)"), p.clone()));
            }
            per_seed
                .entry(name)
                .or_default()
                .push((curve, steps_to_target));
        }
        verdicts.push(report::compare(
            &seed_arms,
            "steps_to_target",
            "B: CMT→ECT",
            "A: ECT",
            Better::Lower,
        )?);
        if s == 0 {
            scatter_samples.push(("teacher (18-step Heun)".into(), teacher_samples));
        }
    }

    // Aggregate over seeds: mean ± std of every summary number.
    let mut arms_out: report::Arms = BTreeMap::new();
    let mut table = Table {
        title: format!(
            "Per seed: post-training steps to reach 2-step {} ≤ 1.1 × teacher",
            task.metric
        ),
        columns: vec!["arm".into()],
        rows: vec![],
    };
    table
        .columns
        .extend((0..scale.seeds).map(|s| format!("seed {}", opts.seed + s)));
    for (name, runs) in &per_seed {
        let col = |f: &dyn Fn(&(Curve, f64)) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
        let mut m = BTreeMap::new();
        let mut put = |key: &str, xs: Vec<f64>| put_mean_std(&mut m, key, &xs);
        put("steps_to_target", col(&|r| r.1));
        put(
            &format!("final_2step_{}", task.key),
            col(&|r| *r.0.two_step.last().unwrap_or(&f64::NAN)),
        );
        // Where post-training helped most: the best 2-step checkpoint and its step.
        put(
            &format!("best_2step_{}", task.key),
            col(&|r| r.0.two_step.iter().copied().fold(f64::INFINITY, f64::min)),
        );
        put(
            "best_2step_at_step",
            col(&|r| {
                let best =
                    r.0.two_step
                        .iter()
                        .enumerate()
                        .min_by(|a, b| a.1.total_cmp(b.1));
                best.map(|(i, _)| r.0.steps[i] as f64).unwrap_or(f64::NAN)
            }),
        );
        put(
            &format!("final_1step_{}", task.key),
            col(&|r| *r.0.one_step.last().unwrap_or(&f64::NAN)),
        );
        put(
            "initial_flow_map_error",
            col(&|r| *r.0.flow_map_error.first().unwrap_or(&f64::NAN)),
        );
        put(
            "final_flow_map_error",
            col(&|r| *r.0.flow_map_error.last().unwrap_or(&f64::NAN)),
        );
        put(
            "post_loss_cv",
            col(&|r| coefficient_of_variation(&r.0.losses)),
        );
        let (mid, post, _, _, _) = arms
            .iter()
            .find(|a| a.0 == *name)
            .map(|a| (a.1, a.4, 0, 0, 0))
            .unwrap_or_default();
        m.insert("mid_steps".into(), mid as f64);
        m.insert("post_steps".into(), post as f64);
        arms_out.insert(name.to_string(), m);
        let mut row = vec![name.to_string()];
        row.extend(runs.iter().map(|r| format!("{}", r.1)));
        table.rows.push(row);
    }
    let mut curves = Table {
        title: format!(
            "Seed {}: 2-step {} / flow-map error at each checkpoint",
            opts.seed, task.metric
        ),
        columns: vec!["step".into()],
        rows: vec![],
    };
    for name in per_seed.keys() {
        curves.columns.push(format!("{name} 2-step"));
        curves.columns.push(format!("{name} flow-map"));
    }
    let longest = per_seed
        .values()
        .map(|r| r[0].0.steps.len())
        .max()
        .unwrap_or(0);
    for i in 0..longest {
        let mut row = vec![
            per_seed
                .values()
                .find_map(|r| r[0].0.steps.get(i))
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ];
        for runs in per_seed.values() {
            let c = &runs[0].0;
            row.push(
                c.two_step
                    .get(i)
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_default(),
            );
            row.push(
                c.flow_map_error
                    .get(i)
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or_default(),
            );
        }
        curves.rows.push(row);
    }
    let (tm, ts) = report::mean_std(&teacher_energies);
    arms_out.insert(
        "teacher".into(),
        BTreeMap::from([
            (format!("{}_18step", task.key), tm),
            (format!("{}_18step_std", task.key), ts),
        ]),
    );

    // Figures: metric-vs-step curves of seed 0, and one-step samples.
    let mut figures = Vec::new();
    let two_step_title = format!("2-step {} during post-training (seed 0)", task.metric);
    for (file, title, y, pick) in [
        (
            "two_step_metric.svg",
            two_step_title.as_str(),
            task.metric,
            0usize,
        ),
        (
            "flow_map_error.svg",
            "Flow-map error E‖f(Tz,T) − teacher ODE(z)‖² (seed 0)",
            "squared error",
            1,
        ),
    ] {
        let series: Vec<LineSeries> = per_seed
            .iter()
            .map(|(name, runs)| {
                let c = &runs[0].0;
                let ys = if pick == 0 {
                    &c.two_step
                } else {
                    &c.flow_map_error
                };
                LineSeries {
                    label: name.to_string(),
                    points: c
                        .steps
                        .iter()
                        .map(|&s| s as f64)
                        .zip(ys.iter().copied())
                        .collect(),
                }
            })
            .collect();
        report::plot::lines(
            &opts.dir.join(file),
            title,
            "post-training step",
            y,
            &series,
            true,
        )?;
        figures.push(Figure {
            file: file.into(),
            caption: format!("{title}; step 0 is the start of post-training."),
        });
    }

    for (i, (label, samples)) in scatter_samples.iter().enumerate() {
        let file = format!("samples_{i}.svg");
        let title = format!("{label}, seed {}", opts.seed);
        match &task.scorer {
            Scorer::Energy(mixture) => {
                let pts = |p: &Points| p.rows().map(|r| (r[0], r[1])).collect::<Vec<_>>();
                let reference = ScatterSeries {
                    label: "held-out data".into(),
                    points: pts(&mixture.sample(2000, SeededRng::new(opts.seed).rng())),
                    colour: 7,
                };
                let series = vec![
                    reference,
                    ScatterSeries {
                        label: label.clone(),
                        points: pts(samples),
                        colour: i,
                    },
                ];
                report::plot::scatter(&opts.dir.join(&file), &title, &series)?;
            }
            Scorer::Fd(..) => {
                let images: Vec<Vec<f32>> = samples.rows().take(40).map(|r| r.to_vec()).collect();
                report::plot::image_grid(
                    &opts.dir.join(&file),
                    &title,
                    &images,
                    8,
                    8,
                    10,
                    (0.0, 16.0),
                )?;
            }
        }
        figures.push(Figure {
            file,
            caption: format!(
                "{label}: samples at the end of post-training (teacher: its own default sampler)."
            ),
        });
    }
    let mut notes = Vec::new();
    if let Scorer::Energy(_) = task.scorer {
        let (mf_arms, mf_lines, mf_note) = meanflow_arms(opts, &scale, data, observer)?;
        arms_out.extend(mf_arms);
        report::plot::lines(
            &opts.dir.join("meanflow_one_step_energy.svg"),
            "(D) MeanFlow 1-step energy distance (seed 0)",
            "post-training step",
            "energy distance",
            &mf_lines,
            true,
        )?;
        figures.push(Figure { file: "meanflow_one_step_energy.svg".into(), caption: "(D) MeanFlow post-training from scratch vs from CMT-MF mid-training: 1-step energy distance to held-out data.".into() });
        notes.push(mf_note);
    }
    let verdict = report::across_seeds(&verdicts)?;
    let mut r = Report::new(info.name, info.paper, info.claim, opts.seed, verdict);
    r.seeds = (0..scale.seeds).map(|s| opts.seed + s).collect();
    r.arms = arms_out;
    r.tables = vec![table, curves];
    r.figures = figures;
    r.config = serde_json::json!({
        "teacher": teacher_config, "budget_ect_step_equivalents": scale.budget, "mid_steps_cmt": scale.mid_steps,
        "kd_steps": kd_steps, "post_steps_after_mid": post_after_mid, "batch": scale.batch, "trajectory_steps_M": M,
        "t_mid": T_MID, "eval_every": scale.eval_every, "eval_points": scale.eval_points, "target_factor": TARGET_FACTOR,
    });
    // A secondary, computed comparison: at equal post-training steps, how often is (B)'s 2-step
    // energy distance below (A)'s?
    let (mut below, mut total) = (0usize, 0usize);
    if let (Some(a), Some(b)) = (per_seed.get("A: ECT"), per_seed.get("B: CMT→ECT")) {
        for ((ca, _), (cb, _)) in a.iter().zip(b) {
            for (i, e) in cb.two_step.iter().enumerate() {
                if let Some(ea) = ca.two_step.get(i) {
                    total += 1;
                    below += usize::from(e < ea);
                }
            }
        }
    }
    // Does post-training improve on where it starts? (step 0 = after mid-training, if any)
    for (name, runs) in &per_seed {
        let start: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.0.two_step.first().copied())
            .collect();
        let end: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.0.two_step.last().copied())
            .collect();
        let (s0, _) = report::mean_std(&start);
        let (s1, _) = report::mean_std(&end);
        notes.push(format!(
            "{name}: 2-step {} {s0:.4} at the start of post-training → {s1:.4} at its end (mean over seeds).",
            task.metric
        ));
    }
    notes.extend([
        format!(
            "At equal post-training steps (all seeds, every checkpoint of B's shorter post-training), B's 2-step {} is below A's at {below} of {total} checkpoints.", task.metric
        ),
        "Teacher solver: Heun on a geometric σ grid (the reference uses DPM-Solver++(2M)).".into(),
    ]);
    if let Scorer::Energy(_) = task.scorer {
        notes.push("The 8×8-digits version of this experiment is `genlab repro cmt-digits` (run separately to keep each under 5 minutes).".into());
    }
    r.notes = notes;
    Ok(r)
}

fn coefficient_of_variation(xs: &[f64]) -> f64 {
    let half = &xs[xs.len() / 2..];
    let (m, s) = report::mean_std(half);
    s / m.abs().max(f64::MIN_POSITIVE)
}

/// The post-training objective of an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    /// Easy consistency tuning (x_r from the same data noise).
    Ect,
    /// Consistency distillation (x_r from one teacher Heun step).
    Ecd,
}

/// Mid-training (if any) then ECT or ECD post-training of one student, evaluated every `eval_every`
/// post-training steps.
#[allow(clippy::too_many_arguments)]
fn run_arm(
    teacher: &FlowModel,
    cm: &Consistency,
    task: &Task,
    norm: &genlab_flow::model::Normalizer,
    eval: &Eval,
    mid_steps: u64,
    kind: PairKind,
    ect: &Ect,
    post_steps: u64,
    post: Post,
    scale: &Scale,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Curve> {
    let train_device = device::train_device();
    seed_device(&train_device, 0);
    let mut student: TimeMlp = teacher.net.clone().train();
    if mid_steps > 0 {
        let n_traj = match kind {
            PairKind::Trajectory => scale.batch / M,
            PairKind::EndpointOnly => scale.batch,
        };
        let config = FitConfig::constant(mid_steps, 1e-3);
        let out = fit(
            student,
            AdamConfig::new().init(),
            rng.fork(),
            &config,
            None,
            false,
            serde_json::Value::Null,
            |net, rng, _| {
                let pairs = sample_pairs(teacher, cm, n_traj, M, kind, rng, &train_device)
                    .expect("EDM teacher checked above");
                cmt_loss(cm, net, &pairs, 0.0)
            },
            None,
            observer,
        )?;
        student = out.model;
    }
    let normalised = norm.encode(&task.data);
    let dim = task.dim();
    let mut curve = Curve::default();
    let mut measure = |net: &TimeMlp, step: u64| -> Result<()> {
        let net = net.valid();
        let map = ConsistencyMap { cm, net: &net };
        let one = norm.decode(&tensor::to_points(one_step(&map, &cm.edm, eval.z.clone())));
        let two = norm.decode(&tensor::to_points(two_step(
            &map,
            &cm.edm,
            eval.z.clone(),
            eval.z2.clone(),
            T_MID,
        )));
        let end = one_step(&map, &cm.edm, eval.z.clone());
        let err = (end - eval.teacher_end.clone())
            .square()
            .sum_dim(1)
            .mean()
            .into_scalar::<f32>() as f64;
        curve.steps.push(step);
        curve.one_step.push(task.score(&one, &eval.held_out)?);
        curve.last_one_step = Some(one);
        curve.two_step.push(task.score(&two, &eval.held_out)?);
        curve.flow_map_error.push(err);
        Ok(())
    };
    measure(&student, 0)?;
    let config = FitConfig {
        eval_every: scale.eval_every,
        ..FitConfig::constant(post_steps, 1e-4)
    };
    let batch = scale.batch;
    // Untracked: its forward passes must not record autodiff graph nodes that nothing consumes.
    let frozen_teacher = teacher.net.clone().train().no_grad();
    let out = fit(
        student,
        AdamConfig::new().init(),
        rng.fork(),
        &config,
        None,
        false,
        serde_json::Value::Null,
        |net, rng, step| {
            let idx = rng.indices(batch, normalised.len());
            let x0 = tensor::rows_to_tensor(&normalised, &idx, &train_device);
            let eps = rng.normal([batch, dim], &train_device);
            let (t, r) = ect.sample_times(cm, batch, step, rng);
            match post {
                Post::Ect => ect.loss(cm, net, x0, eps, &t, &r),
                Post::Ecd => {
                    let d = crate::ecd::edm_teacher(&cm.edm, &frozen_teacher);
                    crate::ecd::loss(ect, cm, d, net, x0, eps, &t, &r)
                }
            }
        },
        Some(&mut measure),
        &mut NoObserver,
    )?;
    curve.losses = out.losses.iter().map(|l| l.1).collect();
    Ok(curve)
}

/// MeanFlow network: u(z, r, t) with two time inputs.
fn meanflow_net(seed: u64, device: &burn::tensor::Device) -> TimeMlp {
    seed_device(device, seed);
    genlab_flow::net::TimeMlpConfig::new(2)
        .with_n_times(2)
        .init(device)
}

/// Arm (D): MeanFlow post-training from scratch vs after CMT-MF mid-training on the
/// trajectories of a flow-matching teacher, at equal compute (an MF step costs 5b: forward and
/// backward 3b plus the two JVP evaluations; a CMT-MF step 2M NFE per trajectory plus 3b).
/// Returns the arms' summaries, seed 0's curves, and a computed one-line comparison.
fn meanflow_arms(
    opts: &ReproOptions,
    scale: &Scale,
    data: &Points,
    observer: &mut dyn Observer,
) -> Result<(report::Arms, Vec<LineSeries>, String)> {
    use genlab_flow::flow_matching::FlowMatching;
    use crate::meanflow::{MeanFlow, MeanFlowMap, cmt_mf_pairs};
    const MF_M: usize = 8; // trajectory steps: 36 ordered pairs per trajectory
    let plain = device::device();
    let train_device = device::train_device();
    observer.message("(D) training the flow-matching teacher");
    let teacher_config = TrainConfig {
        steps: scale.teacher_steps,
        seed: opts.seed,
        ..TrainConfig::new(Process::FlowMatching(FlowMatching))
    };
    let teacher = train(data, &teacher_config, None, false, observer)?.model;
    let norm = teacher.spec.norm.clone();
    let normalised = norm.encode(data);
    let mf = MeanFlow::default();
    let pairs_per_traj = MF_M * (MF_M + 1) / 2;
    let n_traj = scale.batch.div_ceil(pairs_per_traj);
    let mid_units =
        scale.mf_mid_steps as f64 * (2.0 * MF_M as f64 * n_traj as f64 / scale.batch as f64 + 3.0);
    let post_after_mid = scale.mf_budget - (mid_units / 5.0).ceil() as u64;
    let mut results: BTreeMap<&str, Vec<(Vec<(u64, f64)>, f64)>> = BTreeMap::new();
    let mut wins = 0;
    for s in 0..scale.seeds {
        let seed = opts.seed + s;
        let mut rng = SeededRng::new(seed.wrapping_mul(0x51_7CC1).wrapping_add(7));
        let held_out = Mixture::EightGaussians.sample(scale.eval_points, rng.rng());
        let teacher_energy = energy_distance_biased(
            &teacher.sample(
                scale.eval_points,
                teacher.spec.steps,
                Solver::Heun,
                &mut rng,
                &plain,
            ),
            &held_out,
        )?;
        let z = rng.normal([scale.eval_points, 2], &plain);
        let mut steps_to = Vec::new();
        for (name, mid) in [("D: MF scratch", 0), ("D: CMT-MF→MF", scale.mf_mid_steps)] {
            let mut arm_rng = rng.fork();
            let mut net = meanflow_net(seed, &train_device);
            if mid > 0 {
                let config = FitConfig::constant(mid, 1e-3);
                net = fit(
                    net,
                    AdamConfig::new().init(),
                    arm_rng.fork(),
                    &config,
                    None,
                    false,
                    serde_json::Value::Null,
                    |net, rng, _| {
                        let zt = rng.normal([n_traj, 2], &train_device);
                        let traj = teacher.trajectory(zt, MF_M, Solver::Heun, true);
                        let (z, r, t, target) = cmt_mf_pairs(&traj);
                        (crate::meanflow::u(net, z, r, t) - target).square().mean()
                    },
                    None,
                    observer,
                )?
                .model;
            }
            let mut curve: Vec<(u64, f64)> = Vec::new();
            let mut measure = |net: &TimeMlp, step: u64| -> Result<()> {
                let net = net.valid();
                let x = MeanFlowMap { net: &net }.jump(z.clone(), 1.0, 0.0);
                curve.push((
                    step,
                    energy_distance_biased(&norm.decode(&tensor::to_points(x)), &held_out)?,
                ));
                Ok(())
            };
            measure(&net, 0)?;
            let post = if mid > 0 {
                post_after_mid
            } else {
                scale.mf_budget
            };
            let config = FitConfig {
                eval_every: scale.eval_every,
                ..FitConfig::constant(post, 3e-4)
            };
            let batch = scale.batch;
            fit(
                net,
                AdamConfig::new().init(),
                arm_rng.fork(),
                &config,
                None,
                false,
                serde_json::Value::Null,
                |net, rng, _| {
                    let idx = rng.indices(batch, normalised.len());
                    let x0 = tensor::rows_to_tensor(&normalised, &idx, &train_device);
                    let eps = rng.normal([batch, 2], &train_device);
                    let (t, r) = mf.sample_times(batch, rng);
                    mf.loss(net, x0, eps, &t, &r)
                },
                Some(&mut measure),
                &mut NoObserver,
            )?;
            let target = TARGET_FACTOR * teacher_energy;
            let reached = curve
                .iter()
                .find(|(_, e)| *e <= target)
                .map(|(s, _)| *s as f64);
            let steps = reached.unwrap_or((scale.mf_budget + scale.eval_every) as f64);
            steps_to.push(steps);
            results.entry(name).or_default().push((curve, steps));
        }
        wins += usize::from(steps_to[1] < steps_to[0]);
    }
    let mut arms = report::Arms::new();
    let mut lines = Vec::new();
    for (name, runs) in &results {
        let mut m = BTreeMap::new();
        let mut put = |key: &str, xs: Vec<f64>| put_mean_std(&mut m, key, &xs);
        put("steps_to_target", runs.iter().map(|r| r.1).collect());
        put(
            "initial_1step_energy",
            runs.iter()
                .map(|r| r.0.first().map(|p| p.1).unwrap_or(f64::NAN))
                .collect(),
        );
        put(
            "final_1step_energy",
            runs.iter()
                .map(|r| r.0.last().map(|p| p.1).unwrap_or(f64::NAN))
                .collect(),
        );
        arms.insert(name.to_string(), m);
        lines.push(LineSeries {
            label: name.to_string(),
            points: runs[0].0.iter().map(|&(s, e)| (s as f64, e)).collect(),
        });
    }
    let note = format!(
        "(D) MeanFlow, 1-step target ≤ {TARGET_FACTOR} × the FM teacher's energy distance: CMT-MF→MF reached it in fewer post-training steps than MF from scratch on {wins} of {} seeds ({} CMT-MF steps, then {post_after_mid} MF steps; scratch: {} MF steps; JVP by central finite difference, h = {}).",
        scale.seeds, scale.mf_mid_steps, scale.mf_budget, mf.jvp_h
    );
    Ok((arms, lines, note))
}

/// Stores `key` = mean and `key_std` = sample std of `xs` (the arms-table convention).
fn put_mean_std(m: &mut BTreeMap<String, f64>, key: &str, xs: &[f64]) {
    let (mean, std) = report::mean_std(xs);
    m.insert(key.to_string(), mean);
    m.insert(format!("{key}_std"), std);
}
