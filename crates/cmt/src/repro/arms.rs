//! The arms (A), (B), (C), (E) at equal compute, and how one arm is trained — mid-training on
//! teacher trajectories (if any), then ECT or ECD post-training measured every `eval_every`
//! steps on fixed noises.

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::Tensor;
use genlab_core::data::Points;
use genlab_core::train::{Learner, NoObserver, Observer, SeededRng, TrainOptions, Trainer};
use genlab_core::{Error, Result, device, tensor};

use super::task::Task;
use super::{M, Sizes, T_MID, TEACHER_SOLVER};
use crate::ecd;
use crate::ect::Ect;
use crate::mid_training::{PairKind, cmt_loss, sample_pairs, teacher_trajectory};
use genlab_flow::consistency::{Consistency, ConsistencyMap, one_step, two_step};
use genlab_flow::model::FlowModel;
use genlab_flow::net::TimeMlp;
use genlab_flow::ode::Solver;
use genlab_flow::process::Process;
use serde::Serialize;

/// Arm (A), the baseline of the verdict.
pub(super) const ECT: &str = "A: ECT";
/// Arm (B), the method of the verdict.
pub(super) const CMT: &str = "B: CMT→ECT";

/// The post-training objective of an arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Post {
    /// Easy consistency tuning (x_r from the same data noise).
    Ect,
    /// Consistency distillation (x_r from one teacher Heun step).
    Ecd,
}

/// How post-training sets Δt = t − r.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(super) enum DeltaT {
    /// ECT's schedule: q = 2, Δt halving every eighth of post-training.
    Annealed,
    /// A constant small Δt ≈ t (1 + 8 sigmoid(−t)) / q (the post-CMT setting of the paper).
    Constant(f32),
}

impl DeltaT {
    /// The ECT settings of a post-training run of `steps` steps.
    pub fn ect(self, dim: usize, steps: u64) -> Ect {
        match self {
            DeltaT::Annealed => Ect::annealed(dim, steps / 8),
            DeltaT::Constant(q) => Ect::constant(dim, q),
        }
    }
}

impl std::fmt::Display for DeltaT {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeltaT::Annealed => f.write_str("annealed Δt (q = 2, halving ×8)"),
            DeltaT::Constant(q) => write!(f, "constant Δt (q = {q})"),
        }
    }
}

/// Post-training settings: the learning rate (Adam, constant) and the Δt rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(super) struct PostSettings {
    /// Learning rate.
    pub lr: f64,
    /// Δt rule.
    pub delta_t: DeltaT,
}

impl std::fmt::Display for PostSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lr {:e}, {}", self.lr, self.delta_t)
    }
}

/// One arm: its mid-training (0 steps: none) and its post-training.
pub(super) struct ArmSpec {
    /// The arm's name in the report.
    pub name: &'static str,
    /// Mid-training steps.
    pub mid_steps: u64,
    /// The pairs mid-training regresses on.
    pub kind: PairKind,
    /// Post-training steps.
    pub post_steps: u64,
    /// Post-training objective.
    pub post: Post,
    /// Compute spent before post-training, in ECT-step equivalents (4b each).
    pub mid_cost: f64,
}

/// Network evaluations (in units of the batch b) of one step of each kind, with a teacher
/// that spends `nfe` evaluations per trajectory of [`M`] steps.
pub(super) struct Costs {
    /// ECT: student forward + backward ≈ 3, target forward 1.
    pub ect: f64,
    /// ECD: ECT plus the teacher's Heun step (2).
    pub ecd: f64,
    /// CMT: b/M trajectories of `nfe` evaluations each, + 3.
    pub cmt: f64,
    /// KD: one trajectory of `nfe` evaluations per pair, + 3.
    pub kd: f64,
}

impl Costs {
    /// The costs with a teacher that spends `nfe` evaluations per trajectory.
    pub fn new(nfe: usize) -> Costs {
        Costs {
            ect: 4.0,
            ecd: 6.0,
            cmt: nfe as f64 / M as f64 + 3.0,
            kd: nfe as f64 + 3.0,
        }
    }
}

/// The arms at equal compute (module doc of [`super`]): (B) and (C) spend part of A's budget
/// on mid-training, (E) pays for the teacher's Heun step with fewer steps.
pub(super) fn specs(sizes: &Sizes, costs: &Costs) -> Vec<ArmSpec> {
    let mid_compute = costs.cmt * sizes.mid_steps as f64; // in units of b
    let mid_cost = mid_compute / costs.ect;
    let post_after_mid = sizes.budget - mid_cost.ceil() as u64;
    let kd_steps = (mid_compute / costs.kd).round().max(1.0) as u64;
    let after_mid = |name, mid_steps: u64, kind, per_step: f64| ArmSpec {
        name,
        mid_steps,
        kind,
        post_steps: post_after_mid,
        post: Post::Ect,
        mid_cost: mid_steps as f64 * per_step / costs.ect,
    };
    let from_teacher = |name, post_steps: u64, post| ArmSpec {
        name,
        mid_steps: 0,
        kind: PairKind::Trajectory,
        post_steps,
        post,
        mid_cost: 0.0,
    };
    vec![
        from_teacher(ECT, sizes.budget, Post::Ect),
        after_mid(CMT, sizes.mid_steps, PairKind::Trajectory, costs.cmt),
        after_mid("C: KD→ECT", kd_steps, PairKind::EndpointOnly, costs.kd),
        from_teacher(
            "E: ECD",
            (sizes.budget as f64 * costs.ect / costs.ecd) as u64,
            Post::Ecd,
        ),
    ]
}

/// The position of the arm called `name`.
pub(super) fn index(specs: &[ArmSpec], name: &str) -> usize {
    specs
        .iter()
        .position(|s| s.name == name)
        .expect("the verdict's arms are among the specs")
}

/// What every arm shares: the frozen EDM teacher, its consistency parameterisation, the task.
pub(super) struct Setup<'a> {
    /// The frozen teacher.
    pub teacher: &'a FlowModel,
    /// The student parameterisation, with the teacher's noise levels.
    pub cm: Consistency,
    /// Data and score.
    pub task: &'a Task,
    /// Run sizes.
    pub sizes: &'a Sizes,
    /// The training data in the teacher's normalised space.
    normalised: Points,
}

impl<'a> Setup<'a> {
    /// Checks that `teacher` is an EDM model.
    pub fn new(teacher: &'a FlowModel, task: &'a Task, sizes: &'a Sizes) -> Result<Self> {
        let Process::Edm(edm) = teacher.spec.process else {
            return Err(Error::InvalidInput(
                "the CMT teacher must be an EDM model".into(),
            ));
        };
        Ok(Setup {
            teacher,
            cm: Consistency { edm },
            task,
            sizes,
            normalised: teacher.spec.norm.encode(&task.data),
        })
    }
}

/// Fixed evaluation inputs of one seed.
pub(super) struct Eval {
    /// Held-out data (empty for the digits, whose reference is fixed).
    pub held_out: Points,
    /// The noises of the 1-step samples and of the flow-map error.
    pub z: Tensor<2>,
    z2: Tensor<2>,
    /// The teacher's 64-step Heun ODE solution from `T z`: the flow map's target.
    pub teacher_end: Tensor<2>,
}

impl Eval {
    /// Draws held-out data and the noises from `rng`, and the teacher's samples (its default
    /// sampler) after them.
    pub fn draw(setup: &Setup, rng: &mut SeededRng) -> Result<(Eval, Points)> {
        let n = setup.sizes.eval_points;
        let plain = device::device();
        let held_out = setup.task.held_out(n, rng);
        let z = rng.normal([n, setup.task.dim()], &plain);
        let z2 = rng.normal([n, setup.task.dim()], &plain);
        let teacher_end = teacher_trajectory(setup.teacher, &setup.cm, z.clone(), 64, Solver::Heun)
            .expect("Setup checked the teacher is EDM")
            .last();
        let teacher = setup.teacher;
        let samples = teacher.sample(n, teacher.spec.steps, Solver::Heun, rng, &plain);
        let eval = Eval {
            held_out,
            z,
            z2,
            teacher_end,
        };
        Ok((eval, samples))
    }
}

/// One arm's measurements at each checkpoint of post-training.
#[derive(Default, Clone)]
pub(super) struct Curve {
    /// Post-training steps of the checkpoints (0: its start).
    pub steps: Vec<u64>,
    /// 2-step score.
    pub two_step: Vec<f64>,
    /// 1-step score.
    pub one_step: Vec<f64>,
    /// E‖f(Tz, T) − teacher ODE(z)‖².
    pub flow_map_error: Vec<f64>,
    /// Post-training loss at every step.
    pub losses: Vec<f64>,
    /// One-step samples at the last checkpoint (data space).
    pub last_one_step: Option<Points>,
}

impl Curve {
    /// Measures the student `net` after `step` post-training steps.
    fn measure(&mut self, setup: &Setup, eval: &Eval, net: &TimeMlp, step: u64) -> Result<()> {
        let net = net.valid();
        let map = ConsistencyMap {
            cm: &setup.cm,
            net: &net,
        };
        let edm = &setup.cm.edm;
        let end = one_step(&map, edm, eval.z.clone());
        let two = two_step(&map, edm, eval.z.clone(), eval.z2.clone(), T_MID);
        let norm = &setup.teacher.spec.norm;
        let one = norm.decode(&tensor::to_points(end.clone()));
        let two = norm.decode(&tensor::to_points(two));
        let err = (end - eval.teacher_end.clone())
            .square()
            .sum_dim(1)
            .mean()
            .into_scalar::<f32>() as f64;
        self.steps.push(step);
        self.one_step.push(setup.task.score(&one, &eval.held_out)?);
        self.last_one_step = Some(one);
        self.two_step.push(setup.task.score(&two, &eval.held_out)?);
        self.flow_map_error.push(err);
        Ok(())
    }

    /// The first checkpoint whose 2-step score is ≤ `target`, if any is.
    pub fn steps_to(&self, target: f64) -> Option<u64> {
        self.steps
            .iter()
            .zip(&self.two_step)
            .find(|(_, e)| **e <= target)
            .map(|(s, _)| *s)
    }
}

/// Mid-training (if any) of one student initialised from the teacher.
pub(super) fn mid_train(
    setup: &Setup,
    spec: &ArmSpec,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<TimeMlp> {
    let student: TimeMlp = setup.teacher.net.clone().train();
    if spec.mid_steps == 0 {
        return Ok(student);
    }
    // CMT (trajectory pairs) or KD (endpoint pairs): Adam at 1e-3, gradient norm clipped to 1.
    let device = device::train_device();
    let n_traj = match spec.kind {
        PairKind::Trajectory => setup.sizes.batch / M,
        PairKind::EndpointOnly => setup.sizes.batch,
    };
    let mut learner = Learner::new("model", student, AdamConfig::new().init()).with_clip(Some(1.0));
    let options = TrainOptions::constant(spec.mid_steps, 1e-3)
        .with_phase(format!("{} mid-training", spec.name));
    Trainer::new(options, observer).fit(
        &mut learner,
        rng,
        |net, rng, _| {
            let pairs = sample_pairs(
                setup.teacher,
                &setup.cm,
                n_traj,
                M,
                TEACHER_SOLVER,
                spec.kind,
                rng,
                &device,
            )
            .expect("Setup checked the teacher is EDM");
            cmt_loss(&setup.cm, net, &pairs, 0.0)
        },
        None,
    )?;
    Ok(learner.into_parts().0)
}

/// ECT or ECD post-training of `student` for `steps` steps with `settings` (Adam, gradient
/// norm clipped to 1), the loss logged at every step. With `eval_every`, measured at its start
/// and every `eval_every` steps; without, only at its end.
#[allow(clippy::too_many_arguments)]
pub(super) fn post_train(
    setup: &Setup,
    spec: &ArmSpec,
    settings: PostSettings,
    student: TimeMlp,
    steps: u64,
    eval_every: Option<u64>,
    eval: &Eval,
    rng: &mut SeededRng,
) -> Result<Curve> {
    let device = device::train_device();
    let (batch, dim, cm) = (setup.sizes.batch, setup.task.dim(), &setup.cm);
    let ect = settings.delta_t.ect(dim, steps);
    let mut curve = Curve::default();
    if eval_every.is_some() {
        curve.measure(setup, eval, &student, 0)?;
    }
    // Untracked: its forward passes must not record autodiff graph nodes that nothing consumes.
    let frozen_teacher = setup.teacher.net.clone().train().no_grad();
    let teacher = ecd::edm_teacher(&cm.edm, &frozen_teacher);
    let mut learner = Learner::new("model", student, AdamConfig::new().init()).with_clip(Some(1.0));
    let options = TrainOptions::constant(steps, settings.lr)
        .with_eval_every(eval_every.unwrap_or(0))
        .with_log_every(1);
    let mut measure = |net: &TimeMlp, step: u64| curve.measure(setup, eval, net, step);
    let outcome = Trainer::new(options, &mut NoObserver).fit(
        &mut learner,
        rng,
        |net, rng, step| {
            let idx = rng.indices(batch, setup.normalised.len());
            let x0 = tensor::rows_to_tensor(&setup.normalised, &idx, &device);
            let eps = rng.normal([batch, dim], &device);
            let (t, r) = ect.sample_times(cm, batch, step, rng);
            match spec.post {
                Post::Ect => ect.loss(cm, net, x0, eps, &t, &r),
                Post::Ecd => ecd::loss(&ect, cm, &teacher, net, x0, eps, &t, &r),
            }
        },
        Some(&mut measure),
    )?;
    if eval_every.is_none() {
        curve.measure(setup, eval, learner.model(), steps)?;
    }
    curve.losses = outcome.history.losses().iter().map(|l| l.1).collect();
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::SCALES;

    /// Compute in units of b network evaluations (module doc of [`super`]).
    fn cost(spec: &ArmSpec, costs: &Costs) -> f64 {
        let mid = match spec.kind {
            PairKind::Trajectory => costs.cmt,
            PairKind::EndpointOnly => costs.kd,
        };
        let post = match spec.post {
            Post::Ect => costs.ect,
            Post::Ecd => costs.ecd,
        };
        mid * spec.mid_steps as f64 + post * spec.post_steps as f64
    }

    #[test]
    fn every_arm_spends_the_budget_of_ect() {
        for solver in [Solver::DpmPp2M, Solver::Heun] {
            let costs = Costs::new(crate::mid_training::teacher_nfe(solver, M));
            for sizes in [&SCALES.quick, &SCALES.full] {
                let specs = specs(sizes, &costs);
                let budget = 4.0 * sizes.budget as f64;
                for spec in &specs {
                    // Whole steps: within one step of the dearest kind (a KD step).
                    let off = (cost(spec, &costs) - budget).abs();
                    assert!(
                        off <= costs.kd,
                        "{}: {} vs {budget}",
                        spec.name,
                        cost(spec, &costs)
                    );
                    let mid = spec.mid_cost * costs.ect;
                    let post = cost(spec, &costs) - spec.post_steps as f64 * 4.0;
                    assert!((mid - post).abs() < 1e-9 || spec.post == Post::Ecd);
                }
                assert_eq!(specs[index(&specs, CMT)].mid_steps, sizes.mid_steps);
            }
        }
    }

    #[test]
    fn steps_to_target_is_the_first_checkpoint_within_it() {
        let curve = Curve {
            steps: vec![0, 40, 80],
            two_step: vec![3.0, 2.0, 1.0],
            ..Curve::default()
        };
        assert_eq!(curve.steps_to(2.0), Some(40));
        assert_eq!(curve.steps_to(0.5), None);
    }
}
