//! Consistency mid-training (Hu, Lai, Mitsufuji, Ermon, ICLR 2026, "Consistency Mid-Training",
//! <https://arxiv.org/abs/2509.24526>; reference code sony/cmt `DPMSolverLoss`, read through
//! `shared/research/anchors-generative.md` §1.2).
//!
//! A frozen teacher solves its probability-flow ODE from x_T = T z down to t_0 = ε in M steps
//! uniform in logSNR (a geometric σ grid), and every point of the trajectory becomes a training
//! pair whose target is the trajectory's endpoint:
//!
//! ```text
//! teacher:  x̂_{t_M} = T z → x̂_{t_{M−1}} → … → x̂_{t_0}      (t_i geometric, t_0 = ε)
//! CMT-CM:   L = E_z E_{i=1..M} d(f_θ(x̂_{t_i}, t_i), x̂_{t_0})
//! KD:       only i = M (the endpoint pair x_T → x̂_{t_0}): "Slow CMT", M× fewer pairs per solve
//! d(a, b) = ‖a − b‖²  or pseudo-Huber √(‖a − b‖² + c²) − c
//! ```
//!
//! The target is fixed, so no stop-gradient, Δt schedule or time weighting is needed. The
//! teacher solver is a parameter: DPM-Solver++(2M) as in the reference code (M evaluations per
//! trajectory, `genlab_flow::ode`), or Heun (2M: the grid ends at ε > 0, so every step is a
//! full Heun step). CMT-MF, the two-time average-velocity form for MeanFlow students, is in
//! [`crate::meanflow`].

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::Tensor;
use std::path::Path;

use genlab_core::train::{
    CHECKPOINT_FILE, History, Learner, Observer, SeededRng, TrainOptions, Trainer,
};
use genlab_core::{Error, Result};

use genlab_flow::consistency::Consistency;
use genlab_flow::edm::EdmField;
use genlab_flow::model::{FlowModel, StudentKind, StudentSpec};
use genlab_flow::net::TimeMlp;
use genlab_flow::ode::{Solver, Trajectory, solve};
use genlab_flow::process::Process;

/// Mid-training pairs: inputs on teacher trajectories, their times, and their targets.
#[derive(Debug, Clone)]
pub struct Pairs {
    /// Trajectory points, `[n, dim]`.
    pub x: Tensor<2>,
    /// Their noise levels, `[n, 1]`.
    pub t: Tensor<2>,
    /// The trajectory endpoints, `[n, dim]`.
    pub target: Tensor<2>,
}

/// Which pairs a trajectory contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    /// Every point except the endpoint (CMT-CM).
    Trajectory,
    /// Only the starting point x_T (knowledge distillation, the "Slow CMT" ablation).
    EndpointOnly,
}

/// The teacher grid: `m` steps geometric in σ from T down to ε (M + 1 levels).
pub fn trajectory_grid(cm: &Consistency, m: usize) -> Vec<f32> {
    let (hi, lo) = (cm.edm.sigma_max.ln(), cm.edm.sigma_min.ln());
    (0..=m)
        .map(|i| (hi + (lo - hi) * i as f32 / m as f32).exp())
        .collect()
}

/// Solves the teacher ODE from `T z` along [`trajectory_grid`] with `solver`, recording every
/// step. Returns `None` for a teacher that is not an EDM model.
pub fn teacher_trajectory(
    teacher: &FlowModel,
    cm: &Consistency,
    z: Tensor<2>,
    m: usize,
    solver: Solver,
) -> Option<Trajectory> {
    let Process::Edm(edm) = &teacher.spec.process else {
        return None;
    };
    let grid = trajectory_grid(cm, m);
    Some(solve(
        &EdmField {
            edm,
            net: &teacher.net,
        },
        z.mul_scalar(edm.sigma_max),
        &grid,
        solver,
        true,
    ))
}

/// Builds the training pairs of one recorded trajectory batch.
pub fn pairs(traj: &Trajectory, kind: PairKind) -> Pairs {
    let endpoint = traj.last();
    let [b, _] = endpoint.dims();
    let device = endpoint.device();
    let m = traj.states.len() - 1;
    let used: Vec<usize> = match kind {
        PairKind::Trajectory => (0..m).collect(),
        PairKind::EndpointOnly => vec![0],
    };
    let x = Tensor::cat(used.iter().map(|&i| traj.states[i].clone()).collect(), 0);
    let times: Vec<f32> = used
        .iter()
        .flat_map(|&i| std::iter::repeat_n(traj.times[i], b))
        .collect();
    let t = genlab_core::tensor::column(&times, &device);
    let target = Tensor::cat(vec![endpoint; used.len()], 0);
    Pairs { x, t, target }
}

/// Draws `n_traj` trajectories from the teacher with `solver` and returns their pairs.
#[allow(clippy::too_many_arguments)]
pub fn sample_pairs(
    teacher: &FlowModel,
    cm: &Consistency,
    n_traj: usize,
    m: usize,
    solver: Solver,
    kind: PairKind,
    rng: &mut SeededRng,
    device: &burn::tensor::Device,
) -> Option<Pairs> {
    let z = rng.normal([n_traj, teacher.dim()], device);
    teacher_trajectory(teacher, cm, z, m, solver).map(|tr| pairs(&tr, kind))
}

/// Teacher evaluations per trajectory of `m` steps with `solver`.
pub fn teacher_nfe(solver: Solver, m: usize) -> usize {
    match solver {
        Solver::Euler | Solver::DpmPp2M => m,
        Solver::Heun => 2 * m,
        Solver::Rk4 => 4 * m,
    }
}

/// The mid-training loss: mean over pairs of d(f_θ(x, t), target), with pseudo-Huber constant
/// `huber_c` (0: squared L2).
pub fn cmt_loss(cm: &Consistency, net: &TimeMlp, p: &Pairs, huber_c: f32) -> Tensor<1> {
    let sq = (cm.f(net, p.x.clone(), p.t.clone()) - p.target.clone())
        .square()
        .sum_dim(1);
    if huber_c > 0.0 {
        sq.add_scalar(huber_c * huber_c)
            .sqrt()
            .sub_scalar(huber_c)
            .mean()
    } else {
        sq.mean()
    }
}

/// Settings of [`distill`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DistillConfig {
    /// Mid-training steps.
    pub steps: u64,
    /// Pairs per step (batch / M trajectories each step).
    pub batch: usize,
    /// Teacher solver steps M per trajectory.
    pub trajectory_steps: usize,
    /// Teacher ODE solver (older configurations without it used Heun).
    #[serde(default = "heun")]
    pub solver: Solver,
    /// Learning rate (Adam, constant).
    pub lr: f64,
    /// Intermediate noise level stored for 2-step sampling.
    pub t_mid: f32,
    /// Seed of the trajectories.
    pub seed: u64,
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            steps: 2000,
            batch: 256,
            trajectory_steps: 16,
            solver: Solver::DpmPp2M,
            lr: 1e-3,
            t_mid: 0.8,
            seed: 0,
        }
    }
}

/// The solver of configurations written before the solver was a setting.
fn heun() -> Solver {
    Solver::Heun
}

/// Consistency mid-training of a student initialised from `teacher` (an EDM model), with an
/// EMA of its weights (decay 0.995) and the gradient norm clipped to 1: the result samples in
/// 1 or 2 steps. Returns the student (its EMA weights) and its loss history. With `run_dir`,
/// the run checkpoints to `run_dir/checkpoint.bin` and `resume` continues it from there.
pub fn distill(
    teacher: &FlowModel,
    config: &DistillConfig,
    run_dir: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(FlowModel, History)> {
    let Process::Edm(edm) = teacher.spec.process else {
        return Err(Error::InvalidInput(
            "CMT distillation needs an EDM teacher (train it with `genlab flow train --process edm`)"
                .into(),
        ));
    };
    if config.steps == 0 || config.trajectory_steps == 0 || config.batch < config.trajectory_steps {
        return Err(Error::InvalidInput(
            "distillation needs steps ≥ 1 and batch ≥ trajectory steps ≥ 1".into(),
        ));
    }
    if !(config.lr > 0.0 && config.lr.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "the learning rate must be a positive number, got {}",
            config.lr
        )));
    }
    genlab_core::limits::at_most(
        "trajectory steps",
        config.trajectory_steps,
        genlab_flow::model::MAX_SOLVER_STEPS,
    )?;
    genlab_core::limits::elements("batch × data dimension", &[config.batch, teacher.dim()])?;
    // The student's spec is checked before training: a NaN t_mid wrote a student that could
    // not be loaded (issue 25), and the teacher's own spec is copied on.
    let mut spec = teacher.spec.clone();
    spec.consistency = Some(StudentSpec {
        t_mid: config.t_mid,
        kind: StudentKind::Consistency,
    });
    spec.steps = 2;
    spec.validate()?;
    let cm = Consistency { edm };
    let device = genlab_core::device::train_device();
    let n_traj = config.batch / config.trajectory_steps;
    let mut student = Learner::new(
        "model",
        teacher.net.clone().train(),
        AdamConfig::new().init(),
    )
    .with_clip(Some(1.0))
    .with_ema(Some(0.995));
    let options = TrainOptions::constant(config.steps, config.lr).with_phase("cmt distill");
    let options = crate::checkpointed(options, run_dir, CHECKPOINT_FILE, resume, config)?;
    let outcome = Trainer::new(options, observer).fit(
        &mut student,
        &mut SeededRng::new(config.seed),
        |net, rng, _| {
            let p = sample_pairs(
                teacher,
                &cm,
                n_traj,
                config.trajectory_steps,
                config.solver,
                PairKind::Trajectory,
                rng,
                &device,
            )
            .expect("EDM teacher checked above");
            cmt_loss(&cm, net, &p, 0.0)
        },
        None,
    )?;
    Ok((
        FlowModel {
            spec,
            net: student.into_inference(),
        },
        outcome.history,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use burn::tensor::TensorData;
    use genlab_flow::edm::Edm;

    /// A hand-made trajectory of 2 samples over 3 levels (M = 2).
    fn trajectory(device: &Device) -> Trajectory {
        let s = |v: [f32; 2]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [2, 1]), device);
        Trajectory {
            times: vec![80.0, 1.0, 0.002],
            states: vec![s([8.0, -4.0]), s([1.0, 0.5]), s([0.3, 0.2])],
            nfe: 4,
        }
    }

    #[test]
    fn trajectory_pairs_point_every_state_at_the_endpoint() {
        let device = Device::flex();
        let p = pairs(&trajectory(&device), PairKind::Trajectory);
        let v = |t: Tensor<2>| genlab_core::tensor::to_vec(t);
        assert_eq!(v(p.x), vec![8.0, -4.0, 1.0, 0.5]);
        assert_eq!(v(p.t), vec![80.0, 80.0, 1.0, 1.0]);
        assert_eq!(v(p.target), vec![0.3, 0.2, 0.3, 0.2]);
        let kd = pairs(&trajectory(&device), PairKind::EndpointOnly);
        assert_eq!(
            (v(kd.x), v(kd.t), v(kd.target)),
            (vec![8.0, -4.0], vec![80.0, 80.0], vec![0.3, 0.2])
        );
    }

    #[test]
    fn grid_is_uniform_in_log_snr() {
        let g = trajectory_grid(
            &Consistency {
                edm: Edm::default(),
            },
            16,
        );
        assert_eq!(g.len(), 17);
        assert!((g[0] - 80.0).abs() < 1e-3 && (g[16] - 0.002).abs() < 1e-6);
        let r: Vec<f32> = g.windows(2).map(|w| (w[0] / w[1]).ln()).collect();
        assert!(r.iter().all(|x| (x - r[0]).abs() < 1e-4));
    }

    /// Issue 25: `--t-mid NaN` wrote a student that could not be loaded; the teacher's
    /// corrupt normaliser was copied on. Both are refused before any training step.
    #[test]
    fn distill_refuses_an_unloadable_student_up_front() {
        let device = Device::flex();
        let teacher = |mean: Vec<f32>| FlowModel {
            spec: genlab_flow::ModelSpec {
                process: Process::Edm(Edm::default()),
                net: genlab_flow::TimeMlpConfig::new(2)
                    .with_width(8)
                    .with_depth(2),
                norm: genlab_flow::Normalizer { mean, factor: 1.0 },
                solver: genlab_flow::Solver::Heun,
                steps: 4,
                consistency: None,
            },
            net: genlab_flow::testutil::tiny_net(2, &device),
        };
        let mut nobody = genlab_core::train::NoObserver;
        for t_mid in [f32::NAN, -1.0, 1e9] {
            let config = DistillConfig {
                t_mid,
                steps: 1,
                ..DistillConfig::default()
            };
            let err =
                distill(&teacher(vec![0.0, 0.0]), &config, None, false, &mut nobody).unwrap_err();
            assert!(err.to_string().contains("t_mid"), "{t_mid}: {err}");
        }
        let config = DistillConfig {
            steps: 1,
            ..DistillConfig::default()
        };
        let err = distill(&teacher(vec![]), &config, None, false, &mut nobody).unwrap_err();
        assert!(err.to_string().contains("norm.mean"), "{err}");
    }
}
