//! [`fit`]: the positional-argument entry point of the first families, now a thin layer over
//! [`Trainer::fit`](super::Trainer::fit). Transitional: it goes once every trainer is ported.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Tensor;

use super::learner::Learner;
use super::observer::Observer;
use super::schedule::LrSchedule;
use super::seed::SeededRng;
use super::trainer::{TrainOptions, Trainer};
use crate::error::Result;

/// Settings of the shared training loop.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitConfig {
    /// Total optimisation steps of the run (a resumed run continues up to this count).
    pub steps: u64,
    /// Learning rate as a function of the step.
    pub schedule: LrSchedule,
    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub clip_norm: Option<f64>,
    /// Keep an EMA of the weights with this decay (`None`: no EMA).
    pub ema_decay: Option<f64>,
    /// Write a checkpoint every this many steps (0: only at the end and on interruption).
    pub checkpoint_every: u64,
    /// Record the loss in the returned history every this many steps.
    pub log_every: u64,
    /// Call the evaluation hook every this many steps (0: never; also after the last step).
    #[serde(default)]
    pub eval_every: u64,
}

impl FitConfig {
    /// `steps` steps at a constant `lr`, gradient norm clipped to 1, no EMA, no checkpoints,
    /// loss logged every 10 steps, no evaluation: the setting of short experiment phases.
    pub fn constant(steps: u64, lr: f64) -> Self {
        FitConfig {
            steps,
            schedule: LrSchedule::Constant { lr },
            clip_norm: Some(1.0),
            ema_decay: None,
            checkpoint_every: 0,
            log_every: 10,
            eval_every: 0,
        }
    }

    /// [`FitConfig::constant`]'s setting with a warm-up (the first 5% of the steps) and a
    /// cosine decay from `lr` to `lr · 0.05`.
    pub fn warmup_cosine(steps: u64, lr: f64) -> Self {
        FitConfig {
            schedule: TrainOptions::warmup_cosine(steps, lr).schedule,
            ..FitConfig::constant(steps, lr)
        }
    }
}

/// A callback that measures the model during training.
pub type EvalHook<'a, M> = &'a mut dyn FnMut(&M, u64) -> Result<()>;

/// What [`fit`] returns.
#[derive(Debug)]
pub struct FitOutcome<M> {
    /// The trained module.
    pub model: M,
    /// Its EMA, when `ema_decay` was set.
    pub ema: Option<M>,
    /// `(step, loss)` history, every `log_every` steps (including steps before a resume).
    pub losses: Vec<(u64, f64)>,
    /// The host RNG after training (continue drawing from it for evaluation).
    pub rng: SeededRng,
    /// The step the run resumed from, if it did.
    pub resumed_from: Option<u64>,
}

/// Trains `model` for `config.steps` steps on the objective `loss_fn(model, rng, step)`.
#[allow(clippy::too_many_arguments)]
pub fn fit<M, L>(
    model: M,
    optim: ModuleOptimizer,
    mut rng: SeededRng,
    config: &FitConfig,
    checkpoint: Option<&Path>,
    resume: bool,
    meta: serde_json::Value,
    loss_fn: L,
    eval: Option<EvalHook<'_, M>>,
    observer: &mut dyn Observer,
) -> Result<FitOutcome<M>>
where
    M: Module,
    L: FnMut(&M, &mut SeededRng, u64) -> Tensor<1>,
{
    let mut learner = Learner::new("model", model, optim)
        .with_clip(config.clip_norm)
        .with_ema(config.ema_decay);
    let mut options = TrainOptions::new(config.steps, config.schedule.clone())
        .with_log_every(config.log_every)
        .with_eval_every(config.eval_every)
        .with_resume(resume)
        .with_meta(meta);
    if let Some(path) = checkpoint {
        options = options.with_checkpoint(path, config.checkpoint_every);
    }
    let outcome = Trainer::new(options, observer).fit(&mut learner, &mut rng, loss_fn, eval)?;
    let (model, ema) = learner.into_parts();
    Ok(FitOutcome {
        model,
        ema,
        losses: outcome.history.losses(),
        rng,
        resumed_from: outcome.resumed_from,
    })
}
