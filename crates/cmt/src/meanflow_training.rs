//! A 1–2-step MeanFlow student of a user's flow-matching model (`genlab cmt meanflow`):
//! CMT-MF mid-training on the teacher's trajectories, then (optionally, with data) MeanFlow
//! post-training ([`crate::meanflow`] has the equations):
//!
//! ```text
//! mid-training:  z ~ N(0, I) → teacher trajectory x̂ (M steps, t = 1 → 0)
//!                L = mean over i > j of ‖u_θ(x̂_i, t_j, t_i) − (x̂_i − x̂_j)/(t_i − t_j)‖²
//! post-training: L = ‖u_θ(z_t, r, t) − sg(v − (t − r) JVP)‖² on the data (MeanFlow)
//! sampling:      1 step x = z − u(z, 0, 1); 2 steps via t_mid
//! ```
//!
//! The student's network is the teacher's architecture with a second time input (r), freshly
//! initialised from the seed (MeanFlow's u is not the teacher's velocity at r ≠ t).

use std::path::Path;

use burn::optim::AdamConfig;
use genlab_core::data::Points;
use genlab_core::train::{
    CHECKPOINT_FILE, History, Learner, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Error, Result, device, tensor};
use serde::{Deserialize, Serialize};

use crate::meanflow::{MeanFlow, cmt_mf_pairs, u};
use genlab_flow::model::{FlowModel, StudentKind, StudentSpec};
use genlab_flow::ode::Solver;
use genlab_flow::process::Process;

/// The post-training phase's checkpoint (mid-training's is the usual `checkpoint.bin`).
pub const POST_CHECKPOINT_FILE: &str = "checkpoint-post.bin";

/// Settings of [`distill_meanflow`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanFlowConfig {
    /// CMT-MF mid-training steps.
    pub mid_steps: u64,
    /// MeanFlow post-training steps on the data (0: none).
    pub post_steps: u64,
    /// Pairs (mid-training) or samples (post-training) per step, about.
    pub batch: usize,
    /// Teacher solver steps per trajectory (M (M + 1)/2 pairs each).
    pub trajectory_steps: usize,
    /// Teacher ODE solver.
    pub solver: Solver,
    /// Mid-training learning rate (Adam, constant); post-training uses 0.3 × it.
    pub lr: f64,
    /// Intermediate time of the 2-step sampler, in (0, 1).
    pub t_mid: f32,
    /// Seed of the initialisation, trajectories and minibatches.
    pub seed: u64,
}

impl Default for MeanFlowConfig {
    fn default() -> Self {
        MeanFlowConfig {
            mid_steps: 2000,
            post_steps: 0,
            batch: 256,
            trajectory_steps: 8,
            solver: Solver::DpmPp2M,
            lr: 1e-3,
            t_mid: 0.5,
            seed: 0,
        }
    }
}

/// Trains a MeanFlow student of the flow-matching `teacher` (module doc); `data` is needed
/// when `post_steps > 0`. Returns the student and its loss history (mid, then post-training).
/// With `run_dir`, mid-training checkpoints to `run_dir/checkpoint.bin` and post-training to
/// `run_dir/checkpoint-post.bin`; `resume` continues from them.
pub fn distill_meanflow(
    teacher: &FlowModel,
    data: Option<&Points>,
    config: &MeanFlowConfig,
    run_dir: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(FlowModel, History)> {
    let bad = |m: String| Err(Error::InvalidInput(m));
    if !matches!(teacher.spec.process, Process::FlowMatching(_))
        || teacher.spec.consistency.is_some()
    {
        return bad(
            "MeanFlow distillation needs a flow-matching teacher (train it with `genlab flow \
             train --process fm`)"
                .into(),
        );
    }
    let m = config.trajectory_steps;
    if config.mid_steps + config.post_steps == 0 || config.batch == 0 || m == 0 {
        return bad(
            "MeanFlow distillation needs steps ≥ 1, batch ≥ 1 and trajectory steps ≥ 1".into(),
        );
    }
    if !(config.lr > 0.0 && config.lr.is_finite()) {
        return bad(format!(
            "the learning rate must be a positive number, got {}",
            config.lr
        ));
    }
    genlab_core::limits::at_most("trajectory steps", m, 64)?;
    genlab_core::limits::elements("batch × data dimension", &[config.batch, teacher.dim()])?;
    let normalised = match (config.post_steps, data) {
        (0, _) => None,
        (_, None) => return bad("MeanFlow post-training needs data (--data)".into()),
        (_, Some(d)) if d.d != teacher.dim() => {
            return bad(format!(
                "the data has dimension {}, the teacher {}",
                d.d,
                teacher.dim()
            ));
        }
        (_, Some(d)) if d.is_empty() => return bad("the data is empty".into()),
        (_, Some(d)) => Some(teacher.spec.norm.encode(d)),
    };
    let mut spec = teacher.spec.clone();
    spec.net.n_times = 2;
    spec.consistency = Some(StudentSpec {
        t_mid: config.t_mid,
        kind: StudentKind::MeanFlow,
    });
    spec.steps = 2;
    spec.validate()?;

    let device = device::train_device();
    seed_device(&device, config.seed);
    let net = spec.net.init(&device);
    let mut rng = SeededRng::new(config.seed);
    let mut learner = Learner::new("model", net, AdamConfig::new().init()).with_clip(Some(1.0));
    let dim = teacher.dim();
    let n_traj = config.batch.div_ceil(m * (m + 1) / 2).max(1);
    let mut history = History::default();
    if config.mid_steps > 0 {
        let options =
            TrainOptions::constant(config.mid_steps, config.lr).with_phase("cmt-mf mid-training");
        let meta = phase_meta(config, "post_steps", None)?;
        let options = crate::checkpointed(options, run_dir, CHECKPOINT_FILE, resume, &meta)?;
        let outcome = Trainer::new(options, observer).fit(
            &mut learner,
            &mut rng.fork(),
            |net, rng, _| {
                let z = rng.normal([n_traj, dim], &device);
                let traj = teacher.trajectory(z, m, config.solver, true);
                let (zs, r, t, target) = cmt_mf_pairs(&traj);
                (u(net, zs, r, t) - target).square().mean()
            },
            None,
        )?;
        history = outcome.history;
    }
    if let Some(normalised) = normalised {
        let mf = MeanFlow::default();
        let batch = config.batch;
        let options = TrainOptions::constant(config.post_steps, 0.3 * config.lr)
            .with_phase("meanflow post-training");
        let meta = phase_meta(config, "mid_steps", Some("mid_training_length"))?;
        let options = crate::checkpointed(options, run_dir, POST_CHECKPOINT_FILE, resume, &meta)?;
        let outcome = Trainer::new(options, observer).fit(
            &mut learner,
            &mut rng.fork(),
            |net, rng, _| {
                let idx = rng.indices(batch, normalised.len());
                let x0 = tensor::rows_to_tensor(&normalised, &idx, &device);
                let eps = rng.normal([batch, dim], &device);
                let (t, r) = mf.sample_times(batch, rng);
                mf.loss(net, x0, eps, &t, &r)
            },
            None,
        )?;
        let offset = config.mid_steps;
        history.names = outcome.history.names.clone();
        history.rows.extend(
            outcome
                .history
                .rows
                .into_iter()
                .map(|(s, v)| (s + offset, v)),
        );
    }
    Ok((
        FlowModel {
            spec,
            net: learner.into_inference(),
        },
        history,
    ))
}

/// `config` as one phase's checkpoint records it: the other phase's step budget `other` is not
/// this phase's (the trainer lets a `*_steps` key grow with its own budget only), so it is
/// dropped (`rename: None`: a longer post-training may follow a finished mid-training) or kept
/// under a name compared strictly (a post-training run never continues after a changed
/// mid-training).
fn phase_meta(
    config: &MeanFlowConfig,
    other: &str,
    rename: Option<&str>,
) -> Result<serde_json::Value> {
    let mut meta = serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?;
    if let Some(map) = meta.as_object_mut()
        && let Some(value) = map.remove(other)
        && let Some(name) = rename
    {
        map.insert(name.into(), value);
    }
    Ok(meta)
}
