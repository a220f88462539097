//! Arm (D) of `genlab repro cmt`: MeanFlow post-training from scratch vs after CMT-MF
//! mid-training on the trajectories of a flow-matching teacher, at equal compute (an MF step
//! costs 5b: forward and backward 3b plus the two JVP evaluations; a CMT-MF step 2M NFE per
//! trajectory plus 3b). Measured by the 1-step score (energy distance on the mixture,
//! FD-digits on the digits) during post-training; reported,
//! not part of the verdict.

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Tensor};
use genlab_core::data::Points;
use genlab_core::experiment::{Lines, ReportBuilder};
use genlab_core::report::LineSeries;
use genlab_core::train::{
    Learner, NoObserver, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Result, device, tensor};

use super::task::Task;
use super::{Sizes, TARGET_FACTOR};
use crate::meanflow::{MeanFlow, MeanFlowMap, cmt_mf_pairs, u};
use genlab_flow::consistency::FlowMap;
use genlab_flow::flow_matching::FlowMatching;
use genlab_flow::model::FlowModel;
use genlab_flow::net::{TimeMlp, TimeMlpConfig};
use genlab_flow::ode::Solver;
use genlab_flow::process::Process;

/// Trajectory steps of the teacher: 36 ordered pairs per trajectory.
const MF_M: usize = 8;
/// The arms, in run order.
const ARMS: [&str; 2] = ["D: MF scratch", "D: CMT-MF→MF"];

/// What every (D) arm shares.
struct Setup<'a> {
    teacher: FlowModel,
    task: &'a Task,
    sizes: &'a Sizes,
    /// The training data in the teacher's normalised space.
    normalised: Points,
    mf: MeanFlow,
    /// Teacher trajectories per CMT-MF step.
    n_traj: usize,
    /// MF steps after CMT-MF mid-training (equal compute with `mf_budget` from scratch).
    post_after_mid: u64,
}

/// One arm on one seed.
struct ArmRun {
    /// `(post-training step, 1-step score)` at each checkpoint.
    curve: Vec<(u64, f64)>,
    /// The first checkpoint within the target, or the budget plus one interval.
    steps_to_target: f64,
}

/// Both arms on every seed, and the computed comparison.
pub(super) struct MeanFlowArms {
    /// Per arm (in the order of [`ARMS`]), per seed.
    runs: [Vec<ArmRun>; 2],
    note: String,
    /// The task's metric name and key.
    metric: &'static str,
    key: &'static str,
}

/// Trains the flow-matching teacher on `task`'s data, then both arms on every seed.
pub(super) fn run(
    seeds: &[u64],
    sizes: &Sizes,
    task: &Task,
    observer: &mut dyn Observer,
) -> Result<MeanFlowArms> {
    let fm = Process::FlowMatching(FlowMatching);
    let (teacher, _) = super::train_teacher(task, fm, sizes, seeds[0], observer)?;
    let pairs_per_traj = MF_M * (MF_M + 1) / 2;
    let n_traj = sizes.batch.div_ceil(pairs_per_traj);
    let mid_units =
        sizes.mf_mid_steps as f64 * (2.0 * MF_M as f64 * n_traj as f64 / sizes.batch as f64 + 3.0);
    let setup = Setup {
        normalised: teacher.spec.norm.encode(&task.data),
        teacher,
        task,
        sizes,
        mf: MeanFlow::default(),
        n_traj,
        post_after_mid: sizes.mf_budget - (mid_units / 5.0).ceil() as u64,
    };
    let mut runs: [Vec<ArmRun>; 2] = Default::default();
    for &seed in seeds {
        let [scratch, cmt_mf] = run_seed(&setup, seed, observer)?;
        runs[0].push(scratch);
        runs[1].push(cmt_mf);
    }
    let wins = (runs[1].iter().zip(&runs[0]))
        .filter(|(c, s)| c.steps_to_target < s.steps_to_target)
        .count();
    let note = format!(
        "(D) MeanFlow, 1-step target ≤ {TARGET_FACTOR} × the FM teacher's {}: \
         CMT-MF→MF reached it in fewer post-training steps than MF from scratch on {wins} of {} \
         seeds ({} CMT-MF steps, then {} MF steps; scratch: {} MF steps; JVP by central finite \
         difference, h = {}).",
        task.metric,
        seeds.len(),
        sizes.mf_mid_steps,
        setup.post_after_mid,
        sizes.mf_budget,
        setup.mf.jvp_h
    );
    Ok(MeanFlowArms {
        runs,
        note,
        metric: task.metric,
        key: task.key,
    })
}

/// Both arms on one seed, from scratch first.
fn run_seed(setup: &Setup, seed: u64, observer: &mut dyn Observer) -> Result<[ArmRun; 2]> {
    let (sizes, teacher) = (setup.sizes, &setup.teacher);
    let plain = device::device();
    let mut rng = SeededRng::new(seed.wrapping_mul(0x51_7CC1).wrapping_add(7));
    let held_out = setup.task.held_out(sizes.eval_points, &mut rng);
    let teacher_samples = teacher.sample(
        sizes.eval_points,
        teacher.spec.steps,
        Solver::Heun,
        &mut rng,
        &plain,
    );
    let target = TARGET_FACTOR * setup.task.score(&teacher_samples, &held_out)?;
    let z = rng.normal([sizes.eval_points, setup.task.dim()], &plain);
    let mut one_step_energy = |net: &TimeMlp| -> Result<f64> {
        let x = MeanFlowMap { net: &net.valid() }.jump(z.clone(), 1.0, 0.0);
        let x = setup.teacher.spec.norm.decode(&tensor::to_points(x));
        setup.task.score(&x, &held_out)
    };
    let miss = (sizes.mf_budget + sizes.eval_every) as f64;
    let mut arm = |mid_steps: u64| -> Result<ArmRun> {
        let mut arm_rng = rng.fork();
        let train_device = device::train_device();
        let mut net = meanflow_net(setup.task.dim(), seed, &train_device);
        let post_steps = if mid_steps > 0 {
            net = mid_train(setup, net, mid_steps, &mut arm_rng.fork(), observer)?;
            setup.post_after_mid
        } else {
            sizes.mf_budget
        };
        let curve = post_train(
            setup,
            net,
            post_steps,
            &mut arm_rng.fork(),
            &mut one_step_energy,
        )?;
        let reached = curve.iter().find(|(_, e)| *e <= target);
        let steps_to_target = reached.map_or(miss, |(s, _)| *s as f64);
        Ok(ArmRun {
            curve,
            steps_to_target,
        })
    };
    Ok([arm(0)?, arm(sizes.mf_mid_steps)?])
}

/// A MeanFlow network u(z, r, t) with two time inputs, initialised from `seed`.
fn meanflow_net(dim: usize, seed: u64, device: &Device) -> TimeMlp {
    seed_device(device, seed);
    TimeMlpConfig::new(dim).with_n_times(2).init(device)
}

/// CMT-MF: regress u on every ordered pair of teacher trajectories (Adam at 1e-3, gradient
/// norm clipped to 1).
fn mid_train(
    setup: &Setup,
    net: TimeMlp,
    steps: u64,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<TimeMlp> {
    let device = device::train_device();
    let mut learner = Learner::new("model", net, AdamConfig::new().init()).with_clip(Some(1.0));
    let options = TrainOptions::constant(steps, 1e-3).with_phase("(D) CMT-MF mid-training");
    Trainer::new(options, observer).fit(
        &mut learner,
        rng,
        |net, rng, _| {
            let zt = rng.normal([setup.n_traj, setup.task.dim()], &device);
            let traj = setup.teacher.trajectory(zt, MF_M, Solver::Heun, true);
            let (z, r, t, target) = cmt_mf_pairs(&traj);
            (u(net, z, r, t) - target).square().mean()
        },
        None,
    )?;
    Ok(learner.into_parts().0)
}

/// MeanFlow post-training (Adam at 3e-4, gradient norm clipped to 1), measured by `measure`
/// at its start and every `eval_every` steps.
fn post_train(
    setup: &Setup,
    net: TimeMlp,
    steps: u64,
    rng: &mut SeededRng,
    measure: &mut dyn FnMut(&TimeMlp) -> Result<f64>,
) -> Result<Vec<(u64, f64)>> {
    let device = device::train_device();
    let batch = setup.sizes.batch;
    let mut curve = vec![(0, measure(&net)?)];
    let mut learner = Learner::new("model", net, AdamConfig::new().init()).with_clip(Some(1.0));
    let options = TrainOptions::constant(steps, 3e-4).with_eval_every(setup.sizes.eval_every);
    let mut hook = |net: &TimeMlp, step: u64| -> Result<()> {
        curve.push((step, measure(net)?));
        Ok(())
    };
    Trainer::new(options, &mut NoObserver).fit(
        &mut learner,
        rng,
        |net, rng, _| {
            let idx = rng.indices(batch, setup.normalised.len());
            let x0 = tensor::rows_to_tensor(&setup.normalised, &idx, &device);
            let eps: Tensor<2> = rng.normal([batch, setup.task.dim()], &device);
            let (t, r) = setup.mf.sample_times(batch, rng);
            setup.mf.loss(net, x0, eps, &t, &r)
        },
        Some(&mut hook),
    )?;
    Ok(curve)
}

impl MeanFlowArms {
    /// Adds the arms (mean ± std over seeds), the first seed's curves and the comparison.
    pub(super) fn write(&self, report: &mut ReportBuilder) -> Result<()> {
        let mut lines = Vec::new();
        for (name, runs) in ARMS.iter().zip(&self.runs) {
            let over_seeds = |f: &dyn Fn(&ArmRun) -> Option<f64>| -> Vec<f64> {
                runs.iter().map(|r| f(r).unwrap_or(f64::NAN)).collect()
            };
            let steps = over_seeds(&|r| Some(r.steps_to_target));
            let initial = over_seeds(&|r| r.curve.first().map(|p| p.1));
            let last = over_seeds(&|r| r.curve.last().map(|p| p.1));
            report
                .metric_over_seeds(name, "steps_to_target", &steps)
                .metric_over_seeds(name, &format!("initial_1step_{}", self.key), &initial)
                .metric_over_seeds(name, &format!("final_1step_{}", self.key), &last);
            lines.push(LineSeries {
                label: name.to_string(),
                points: (runs[0].curve.iter())
                    .map(|&(s, e)| (s as f64, e))
                    .collect(),
            });
        }
        let chart = Lines {
            title: &format!("(D) MeanFlow 1-step {} (first seed)", self.metric),
            x_label: "post-training step",
            y_label: self.metric,
            series: &lines,
            log_y: true,
        };
        report.lines(
            "meanflow_one_step_energy.svg",
            chart,
            format!(
                "(D) MeanFlow post-training from scratch vs from CMT-MF mid-training: 1-step {}.",
                self.metric
            ),
        )?;
        report.note(&self.note);
        Ok(())
    }
}
