//! [`fit`]: the training loop every family shares. It owns the parts that are easy to get
//! subtly wrong — learning-rate schedule, gradient clipping, the NaN guard, EMA, checkpoints
//! and exact resume — and leaves the objective to the caller as a closure.
//!
//! Resume is exact: a run of N steps and a run of N/2 steps followed by a resumed run to N
//! produce bit-identical weights, because the checkpoint stores the weights, the optimizer
//! moments, the EMA, the host RNG position and the step, and the schedule is a pure function
//! of the step.

use std::path::Path;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Tensor};

use super::checkpoint::Checkpoint;
use super::clip::clip_grad_norm;
use super::ema::Ema;
use super::guard::check_finite;
use super::observer::Observer;
use super::schedule::LrSchedule;
use super::seed::SeededRng;
use crate::error::{Error, Result};

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
            schedule: LrSchedule::WarmupCosine {
                peak: lr,
                min_lr: lr * 0.05,
                warmup: (steps / 20).max(1),
                total: steps,
            },
            ..FitConfig::constant(steps, lr)
        }
    }
}

/// A callback that measures the model during training (e.g. metric-vs-step curves); it gets
/// the module and the number of completed steps.
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
///
/// With `checkpoint = Some(path)`, state is saved there every `checkpoint_every` steps, at the
/// end, and when the observer asks to stop; with `resume`, an existing checkpoint at `path` is
/// loaded first (its `meta` must equal `meta`, so a changed config is not silently mixed in).
#[allow(clippy::too_many_arguments)]
pub fn fit<M, L>(
    mut model: M,
    mut optim: ModuleOptimizer,
    mut rng: SeededRng,
    config: &FitConfig,
    checkpoint: Option<&Path>,
    resume: bool,
    meta: serde_json::Value,
    mut loss_fn: L,
    mut eval: Option<EvalHook<'_, M>>,
    observer: &mut dyn Observer,
) -> Result<FitOutcome<M>>
where
    M: Module,
    L: FnMut(&M, &mut SeededRng, u64) -> Tensor<1>,
{
    let mut ema = config.ema_decay.map(|d| Ema::new(&model, d));
    let mut losses = Vec::new();
    let mut step = 0;
    let mut resumed_from = None;

    if let (true, Some(path)) = (resume, checkpoint)
        && path.exists()
    {
        let ck = Checkpoint::load(path)?;
        if ck.meta != meta {
            return Err(Error::Checkpoint {
                path: path.to_path_buf(),
                msg: "was written with a different configuration; use a new output directory or \
                      drop --resume"
                    .into(),
            });
        }
        let record = |name: &str| -> Result<Bytes> {
            ck.blob(name)
                .map(|b| Bytes::from_bytes_vec(b.to_vec()))
                .ok_or_else(|| Error::Checkpoint {
                    path: path.to_path_buf(),
                    msg: format!("has no `{name}` record"),
                })
        };
        let bad = |e: burn::store::RecordError| Error::Checkpoint {
            path: path.to_path_buf(),
            msg: e.to_string(),
        };
        model = model
            .try_load_record(ModuleRecord::from_bytes(record("model")?).map_err(bad)?)
            .map_err(bad)?;
        optim = optim.from_bytes(record("optim")?).map_err(bad)?;
        if let Some(e) = ema.as_mut() {
            e.model = e
                .model
                .clone()
                .try_load_record(ModuleRecord::from_bytes(record("ema")?).map_err(bad)?)
                .map_err(bad)?;
        }
        rng = SeededRng::from_state(ck.rng);
        step = ck.step;
        losses = ck.losses;
        resumed_from = Some(step);
        observer.message(&format!("resumed from step {step} ({})", path.display()));
    }

    let save = |model: &M,
                optim: &ModuleOptimizer,
                ema: &Option<Ema<M>>,
                rng: &SeededRng,
                step: u64,
                losses: &[(u64, f64)]|
     -> Result<()> {
        let Some(path) = checkpoint else {
            return Ok(());
        };
        let bad = |e: burn::store::RecordError| Error::Checkpoint {
            path: path.to_path_buf(),
            msg: e.to_string(),
        };
        let mut blobs = vec![
            (
                "model".to_string(),
                model
                    .clone()
                    .into_record()
                    .into_bytes()
                    .map_err(bad)?
                    .to_vec(),
            ),
            (
                "optim".to_string(),
                optim.into_bytes().map_err(bad)?.to_vec(),
            ),
        ];
        if let Some(e) = ema {
            blobs.push((
                "ema".to_string(),
                e.model
                    .clone()
                    .into_record()
                    .into_bytes()
                    .map_err(bad)?
                    .to_vec(),
            ));
        }
        Checkpoint {
            step,
            rng: rng.state(),
            losses: losses.to_vec(),
            meta: meta.clone(),
            blobs,
        }
        .save(path)
    };

    observer.start("train", config.steps);
    while step < config.steps {
        if observer.should_stop() {
            save(&model, &optim, &ema, &rng, step, &losses)?;
            return Err(Error::Interrupted {
                step,
                checkpoint: checkpoint.map(Path::to_path_buf),
            });
        }
        let lr = config.schedule.lr(step);
        let loss = loss_fn(&model, &mut rng, step);
        let loss_value = loss.clone().into_scalar::<f32>() as f64;
        check_finite(step, "loss", loss_value)?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let grads = match config.clip_norm {
            Some(max) => {
                let (g, norm) = clip_grad_norm(grads, &model, max);
                check_finite(step, "gradient norm", norm)?;
                g
            }
            None => grads,
        };
        model = optim.step(lr, model, grads);
        if let Some(e) = ema.as_mut() {
            e.update(&model);
        }
        step += 1;
        if step % config.log_every.max(1) == 0 || step == config.steps {
            losses.push((step, loss_value));
        }
        observer.step(step, &[("loss", loss_value), ("lr", lr)]);
        if let Some(hook) = eval.as_mut()
            && config.eval_every > 0
            && (step % config.eval_every == 0 || step == config.steps)
        {
            hook(&model, step)?;
        }
        if config.checkpoint_every > 0 && step % config.checkpoint_every == 0 && step < config.steps
        {
            save(&model, &optim, &ema, &rng, step, &losses)?;
        }
    }
    save(&model, &optim, &ema, &rng, step, &losses)?;
    observer.finish();
    Ok(FitOutcome {
        model,
        ema: ema.map(|e| e.model),
        losses,
        rng,
        resumed_from,
    })
}
