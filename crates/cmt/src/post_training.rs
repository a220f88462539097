//! Post-training of a consistency student on the user's data (`genlab cmt post-train`): ECT
//! ([`crate::ect`]) or ECD ([`crate::ecd`], with the EDM teacher's Heun step), from a student of
//! `genlab cmt distill` (CMT → ECT/ECD) or straight from an EDM model's weights (ECT/ECD from
//! the teacher, where f(x, t) ≈ D(x, t) at the start).
//!
//! ```text
//! repeat `steps` times: x₀ ~ data (normalised as the student's model was), ε ~ N(0, I),
//!     (t, r) from the ECT rule (constant Δt ≈ t(1 + 8 sigmoid(−t))/q, or ECT's annealing)
//!     ECT: L = (√(‖f_θ(x₀ + tε, t) − sg f_θ(x₀ + rε, r)‖² + c²) − c) / (t − r)
//!     ECD: the same with x_r = one teacher Heun step from x₀ + tε to r
//!     Adam at a constant lr, gradient norm clipped to 1
//! ```
//!
//! On `genlab repro cmt-digits` the tuned setting after CMT was a small lr (2e-5) with a
//! constant q = 256, and even then post-training made the 2-step samples worse than the
//! mid-trained student (see the report); the defaults follow that tuning.

use burn::module::Module;
use burn::optim::AdamConfig;
use genlab_core::data::Points;
use std::path::Path;

use genlab_core::train::{
    CHECKPOINT_FILE, History, Learner, Observer, SeededRng, TrainOptions, Trainer,
};
use genlab_core::{Error, Result, device, tensor};
use serde::{Deserialize, Serialize};

use crate::ecd;
use crate::ect::Ect;
use genlab_flow::consistency::Consistency;
use genlab_flow::model::{FlowModel, StudentKind, StudentSpec};
use genlab_flow::process::Process;

/// The post-training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Easy consistency tuning: x_r from the same data noise.
    Ect,
    /// Consistency distillation: x_r from one teacher Heun step.
    Ecd,
}

/// Settings of [`post_train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostTrainConfig {
    /// ECT or ECD.
    pub objective: Objective,
    /// Steps.
    pub steps: u64,
    /// Pairs per step.
    pub batch: usize,
    /// Learning rate (Adam, constant).
    pub lr: f64,
    /// Constant Δt with this q (`None`: ECT's annealing, q = 2 halving every steps/8).
    pub q: Option<f32>,
    /// Intermediate noise level stored for 2-step sampling (`None`: the student's, or 0.8).
    pub t_mid: Option<f32>,
    /// Seed of minibatches, noise and times.
    pub seed: u64,
}

impl Default for PostTrainConfig {
    fn default() -> Self {
        PostTrainConfig {
            objective: Objective::Ect,
            steps: 2000,
            batch: 256,
            lr: 2e-5,
            q: Some(256.0),
            t_mid: None,
            seed: 0,
        }
    }
}

/// Post-trains `student` (an EDM model or a consistency student of one) on `data`; ECD also
/// needs the EDM `teacher`. Returns the 1–2-step student and its loss history. With `run_dir`,
/// the run checkpoints to `run_dir/checkpoint.bin` and `resume` continues it from there.
pub fn post_train(
    student: &FlowModel,
    teacher: Option<&FlowModel>,
    data: &Points,
    config: &PostTrainConfig,
    run_dir: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(FlowModel, History)> {
    let bad = |m: String| Err(Error::InvalidInput(m));
    let Process::Edm(edm) = student.spec.process else {
        return bad("post-training needs an EDM model or a consistency student of one".into());
    };
    if data.d != student.dim() {
        return bad(format!(
            "the data has dimension {}, the student {}",
            data.d,
            student.dim()
        ));
    }
    if data.is_empty() || config.steps == 0 || config.batch == 0 {
        return bad("post-training needs data, steps ≥ 1 and batch ≥ 1".into());
    }
    if !(config.lr > 0.0 && config.lr.is_finite()) {
        return bad(format!(
            "the learning rate must be a positive number, got {}",
            config.lr
        ));
    }
    if let Some(q) = config.q
        && !(q.is_finite() && q > 1.0)
    {
        return bad(format!("q must be a number above 1, got {q}"));
    }
    genlab_core::limits::elements("batch × data dimension", &[config.batch, data.d])?;
    let teacher_net = match (config.objective, teacher) {
        (Objective::Ect, _) => None,
        (Objective::Ecd, None) => return bad("ECD needs the EDM teacher (--teacher)".into()),
        (Objective::Ecd, Some(t)) => {
            let same = t.spec.process == student.spec.process && t.dim() == student.dim();
            if t.spec.consistency.is_some() || !same {
                return bad(
                    "the ECD teacher must be the EDM model the student came from (same process \
                     and dimension, not a consistency student)"
                        .into(),
                );
            }
            Some(t.net.clone().train().no_grad())
        }
    };
    let mut spec = student.spec.clone();
    let t_mid = (config.t_mid)
        .or(student.spec.consistency.map(|s| s.t_mid))
        .unwrap_or(0.8);
    spec.consistency = Some(StudentSpec {
        t_mid,
        kind: StudentKind::Consistency,
    });
    spec.steps = 2;
    spec.validate()?;

    let cm = Consistency { edm };
    let ect = match config.q {
        Some(q) => Ect::constant(data.d, q),
        None => Ect::annealed(data.d, config.steps / 8),
    };
    let normalised = student.spec.norm.encode(data);
    let device = device::train_device();
    let (batch, dim) = (config.batch, data.d);
    let mut learner = Learner::new(
        "model",
        student.net.clone().train(),
        AdamConfig::new().init(),
    )
    .with_clip(Some(1.0));
    let phase = match config.objective {
        Objective::Ect => "cmt post-train (ECT)",
        Objective::Ecd => "cmt post-train (ECD)",
    };
    let options = TrainOptions::constant(config.steps, config.lr).with_phase(phase);
    let options = crate::checkpointed(options, run_dir, CHECKPOINT_FILE, resume, config)?;
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut SeededRng::new(config.seed),
        |net, rng, step| {
            let idx = rng.indices(batch, normalised.len());
            let x0 = tensor::rows_to_tensor(&normalised, &idx, &device);
            let eps = rng.normal([batch, dim], &device);
            let (t, r) = ect.sample_times(&cm, batch, step, rng);
            match &teacher_net {
                None => ect.loss(&cm, net, x0, eps, &t, &r),
                Some(tn) => {
                    let d = ecd::edm_teacher(&cm.edm, tn);
                    ecd::loss(&ect, &cm, d, net, x0, eps, &t, &r)
                }
            }
        },
        None,
    )?;
    Ok((
        FlowModel {
            spec,
            net: learner.into_inference(),
        },
        outcome.history,
    ))
}
