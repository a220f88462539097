//! `genlab repro cmt` and `genlab repro cmt-digits`: does consistency mid-training make ECT
//! post-training reach its target sooner? (Hu et al. 2026, sony/cmt; the smallest faithful
//! experiment of `shared/research/anchors-generative.md` §1.4, on the 8-Gaussian mixture and
//! on the 8×8 digits.)
//!
//! One EDM teacher is trained; every arm's student starts from its weights:
//!
//! ```text
//! (A) ECT            K post-training steps from the teacher's weights
//! (B) CMT → ECT      mid-training on teacher trajectories (M = 16 DPM-Solver++(2M) steps, as
//!                    in sony/cmt), then ECT for the remaining budget
//! (C) KD → ECT       mid-training on endpoint pairs only, same mid compute as (B), then as (B)
//! (E) ECD            consistency distillation: x_r is one teacher Heun step from x_t; a step
//!                    costs 6b, so it gets 2/3 of A's steps
//! (D) MeanFlow       on a flow-matching teacher: MF from scratch vs CMT-MF mid-training then
//!                    MF, equal compute; 1-step score vs steps (reported, not in the verdict)
//! ```
//!
//! Post-training settings (learning rate, Δt rule) are chosen per arm on a separate tuning seed
//! by one rule for every arm ([`tuning`]), then the judged seeds run with them.
//!
//! Equal total compute, counted in single-sample network evaluations: an ECT step costs 4b
//! (student forward + backward ≈ 3, target forward 1), a CMT step 4b (M teacher NFE per
//! trajectory, b/M trajectories, + 3b), a KD step 19b (M NFE for every pair + 3b).
//!
//! Measured at checkpoints during post-training, on fixed noises and held-out data: the
//! flow-map error E‖f(Tz, T) − teacher ODE(z)‖², 1- and 2-step sample quality (energy distance
//! to held-out data on the mixture, FD-digits on the digits). The verdict judges the paper's
//! three claims for (B) against (A), each over at least three seeds (every seed, or a paired
//! mean gain beyond two standard errors):
//! 1. **steps to target**: the compute (ECT-step equivalents, mid-training included) until the
//!    2-step score first reaches the target — 1.1× the teacher's (18-step Heun), or, when A or
//!    B never gets there, the worse of A's and B's best scores (a level both reach, so the
//!    comparison is who gets there first); not reaching it counts as K plus one checkpoint
//!    interval;
//! 2. **stabler post-training**: lower relative step-to-step loss noise over the second half
//!    of post-training, √(½ mean (ℓ_{i+1} − ℓ_i)²) / mean ℓ (insensitive to the slow drift an
//!    annealed Δt puts in the loss);
//! 3. **final quality**: lower final 1-step and 2-step scores.
//!
//! The run (`run_task`, shared by both experiments): train the teacher → tune every arm on the
//! tuning seed → per judged seed, draw the evaluation inputs and train every arm → summarise
//! over seeds → verdict → figures; then arm (D).

mod arms;
mod cmt;
mod cmt_digits;
mod figures;
mod meanflow_arms;
mod summary;
mod task;
mod tuning;

pub use cmt::{INFO, run};
pub use cmt_digits::{INFO_DIGITS, run_digits};

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::experiment::{ExperimentInfo, ReportBuilder, ReproOptions, Scales};
use genlab_core::report::{self, Better, Verdict};
use genlab_core::train::{Observer, SeededRng};
use serde::Serialize;

use crate::mid_training;
use arms::{ArmSpec, Costs, Curve, Eval, Setup};
use genlab_flow::edm::Edm;
use genlab_flow::model::FlowModel;
use genlab_flow::ode::Solver;
use genlab_flow::process::Process;
use genlab_flow::train::{TrainConfig, train};
use task::Task;

/// The paper both experiments reproduce.
const PAPER: &str =
    "Hu, Lai, Mitsufuji, Ermon 2026, Consistency Mid-Training (ICLR 2026, arXiv 2509.24526)";

/// The paper's effect for the claim of both experiments (anchors-generative.md §1.3).
const PAPER_EFFECT: &str = "CIFAR-10 2-step FID 1.97 after CMT → ECT vs 2.12 for ECT after \
    51.2 M images; ImageNet-64 reaches sCT's 2-step FID 1.48 with ~98% less training; MeanFlow \
    on ImageNet-256 1-step FID 3.34 vs 3.43 from scratch with ~50% less training time";

/// Trajectory steps M of the teacher solver.
const M: usize = 16;
/// The teacher solver of mid-training (sony/cmt's).
const TEACHER_SOLVER: Solver = Solver::DpmPp2M;
/// The 2-step sampler's intermediate noise level (sony/cmt uses 0.77569 on CIFAR-10).
const T_MID: f32 = 0.8;
/// How close to the teacher the 2-step samples must get.
const TARGET_FACTOR: f64 = 1.1;

/// Run sizes.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    /// EDM (and flow-matching) teacher training steps.
    teacher_steps: u64,
    /// Post-training budget K of arm (A), in ECT-step equivalents.
    budget: u64,
    /// Mid-training steps of arm (B).
    mid_steps: u64,
    /// Pairs (or samples) per step.
    batch: usize,
    /// Post-training steps between checkpoints.
    eval_every: u64,
    /// Held-out points and fixed noises per checkpoint.
    eval_points: usize,
    /// Seeds of every arm.
    seeds: usize,
    /// Post-training budget of MeanFlow from scratch, arm (D).
    mf_budget: u64,
    /// CMT-MF mid-training steps, arm (D).
    mf_mid_steps: u64,
    /// Tuning runs last 1/`tune_fraction` of each arm's post-training steps.
    tune_fraction: u64,
}

/// Quick (seconds) or default (minutes) on 2 cores.
const SCALES: Scales<Sizes> = Scales {
    quick: Sizes {
        teacher_steps: 700,
        budget: 280,
        mid_steps: 50,
        batch: 256,
        eval_every: 40,
        eval_points: 600,
        seeds: 3,
        mf_budget: 160,
        mf_mid_steps: 40,
        tune_fraction: 8,
    },
    full: Sizes {
        teacher_steps: 4000,
        budget: 2400,
        mid_steps: 320,
        batch: 256,
        eval_every: 100,
        eval_points: 2000,
        seeds: 3,
        mf_budget: 1200,
        mf_mid_steps: 200,
        tune_fraction: 4,
    },
};

/// What one seed measured.
struct SeedRun {
    /// The seed.
    seed: u64,
    /// The teacher's 18-step quality on this seed's held-out data.
    teacher_score: f64,
    /// The teacher's samples.
    teacher_samples: Points,
    /// One curve per arm, in the order of the arm specs.
    curves: Vec<Curve>,
    /// The seed's evaluation inputs.
    eval: Eval,
}

impl SeedRun {
    /// The 2-step target of this seed: 1.1× the teacher's score, or — when (A) or (B) never
    /// gets there — the worse of their best scores, a level both reach.
    fn target(&self, specs: &[ArmSpec]) -> f64 {
        let best = |name| {
            let c = &self.curves[arms::index(specs, name)];
            c.two_step.iter().copied().fold(f64::INFINITY, f64::min)
        };
        (TARGET_FACTOR * self.teacher_score).max(best(arms::ECT).max(best(arms::CMT)))
    }

    /// Compute (ECT-step equivalents, mid-training included) until `arm`'s 2-step score first
    /// reaches the target; K plus one checkpoint interval if it never does.
    fn compute_to_target(&self, arm: usize, specs: &[ArmSpec], sizes: &Sizes) -> f64 {
        let miss = (sizes.budget + sizes.eval_every) as f64;
        self.curves[arm]
            .steps_to(self.target(specs))
            .map_or(miss, |s| specs[arm].mid_cost + s as f64)
    }
}

/// The RNG of one seed's evaluation inputs and arms (tuning seed included).
fn seed_rng(seed: u64) -> SeededRng {
    SeededRng::new(seed.wrapping_mul(0x9E37_79B9).wrapping_add(1))
}

/// The part both experiments share (see the module doc): the report so far and the verdict.
fn run_task(
    task: &Task,
    info: &ExperimentInfo,
    opts: &ReproOptions,
    observer: &mut dyn Observer,
) -> Result<(ReportBuilder, Verdict)> {
    let sizes = opts.scale(&SCALES);
    let seeds = opts.seeds(sizes.seeds);
    let edm = Process::Edm(Edm::default());
    let (teacher, teacher_config) = train_teacher(task, edm, sizes, opts.seed, observer)?;
    let setup = Setup::new(&teacher, task, sizes)?;
    let costs = Costs::new(mid_training::teacher_nfe(TEACHER_SOLVER, M));
    let specs = arms::specs(sizes, &costs);
    let tuning_seed = opts.seed + tuning::TUNING_SEED_OFFSET;
    let tuned = tuning::tune(&setup, &specs, tuning_seed, observer)?;
    let runs = seeds
        .iter()
        .map(|&seed| run_seed(&setup, &specs, &tuned, seed, observer))
        .collect::<Result<Vec<_>>>()?;

    let mut report = ReportBuilder::new(info, opts);
    report
        .seeds(&seeds)
        .config("teacher", &teacher_config)
        .config("sizes", sizes)
        .config("trajectory_steps_M", M)
        .config("teacher_solver", TEACHER_SOLVER)
        .config("t_mid", T_MID)
        .config("target_factor", TARGET_FACTOR)
        .config("tuning_seed", tuning_seed)
        .config("tuning_lrs", tuning::LRS)
        .config("tuning_fraction", 1.0 / sizes.tune_fraction as f64);
    summary::write(&mut report, task, sizes, &specs, &runs);
    summary::tuning(&mut report, task, &specs, &tuned);
    summary::teacher_solvers(&mut report, &setup, &runs[0].eval)?;
    let verdict = verdict(task, sizes, &specs, &runs)?;
    if !verdict.holds {
        summary::tried(&mut report, task, &specs, &tuned, tuning_seed);
    }
    figures::write(&mut report, opts, task, &specs, &runs)?;
    Ok((report, verdict))
}

/// A teacher of `process` trained on the task's data from `seed`, and its configuration.
fn train_teacher(
    task: &Task,
    process: Process,
    sizes: &Sizes,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<(FlowModel, TrainConfig)> {
    observer.message(&format!(
        "training the {} teacher ({} steps)",
        process.name(),
        sizes.teacher_steps
    ));
    let config = TrainConfig {
        steps: sizes.teacher_steps,
        seed,
        ..TrainConfig::new(process)
    };
    let teacher = train(&task.data, &config, None, false, observer)?.model;
    Ok((teacher, config))
}

/// One seed: the evaluation inputs, then every arm (its tuned settings) from its own fork of
/// the seed's RNG.
fn run_seed(
    setup: &Setup,
    specs: &[ArmSpec],
    tuned: &[tuning::Tuned],
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<SeedRun> {
    let mut rng = seed_rng(seed);
    let (eval, teacher_samples) = Eval::draw(setup, &mut rng)?;
    let teacher_score = setup.task.score(&teacher_samples, &eval.held_out)?;
    let mut curves = Vec::new();
    for (spec, tuned) in specs.iter().zip(tuned) {
        observer.message(&format!("seed {seed}: {} ({})", spec.name, tuned.chosen));
        let mut arm_rng = rng.fork();
        let student = arms::mid_train(setup, spec, &mut arm_rng.fork(), observer)?;
        curves.push(arms::post_train(
            setup,
            spec,
            tuned.chosen,
            student,
            spec.post_steps,
            Some(setup.sizes.eval_every),
            &eval,
            &mut arm_rng.fork(),
        )?);
    }
    Ok(SeedRun {
        seed,
        teacher_score,
        teacher_samples,
        curves,
        eval,
    })
}

/// The paper's three claims for (B) against (A), each over the seeds: less compute to the
/// target, less noisy post-training loss, lower final 1- and 2-step scores.
fn verdict(task: &Task, sizes: &Sizes, specs: &[ArmSpec], runs: &[SeedRun]) -> Result<Verdict> {
    let (cmt, ect) = (arms::index(specs, arms::CMT), arms::index(specs, arms::ECT));
    let paired = |metric: &str, f: &dyn Fn(&SeedRun, usize) -> f64| {
        let pairs: Vec<(f64, f64)> = runs.iter().map(|r| (f(r, cmt), f(r, ect))).collect();
        report::paired(metric, arms::CMT, arms::ECT, Better::Lower, &pairs)
    };
    let last = |xs: &[f64]| xs.last().copied().unwrap_or(f64::NAN);
    let key = task.key;
    let parts = vec![
        paired("compute_to_target", &|r, i| {
            r.compute_to_target(i, specs, sizes)
        })?,
        paired("post_loss_noise", &|r, i| {
            summary::loss_noise(&r.curves[i].losses)
        })?,
        paired(&format!("final_1step_{key}"), &|r, i| {
            last(&r.curves[i].one_step)
        })?,
        paired(&format!("final_2step_{key}"), &|r, i| {
            last(&r.curves[i].two_step)
        })?,
    ];
    let v = report::all_of("CMT→ECT vs ECT, tuned post-training", parts);
    Ok(Verdict {
        effect: format!("{} vs {}: {}", arms::CMT, arms::ECT, v.effect),
        ..v
    })
}
