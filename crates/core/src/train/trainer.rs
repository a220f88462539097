//! [`Trainer`]: the one loop every training run in genlab goes through.
//!
//! The trainer owns what is easy to get subtly wrong and identical across families — the step
//! count, the learning-rate schedule, checkpoints (every N steps, at the end, and when the
//! observer asks to stop), exact resume, the NaN/inf guard, the metric history and progress —
//! while the family supplies one step:
//!
//! ```text
//! for step in resumed..steps:
//!     if observer.should_stop(): save checkpoint; return Interrupted
//!     lr      = schedule(step)
//!     metrics = step_fn(state, Step { index: step, lr, rng })   // the family's step
//!     check every metric is finite (naming the step and the metric)
//!     record metrics every `log_every` steps; observer.step(step + 1, metrics ++ lr)
//!     eval hook every `eval_every` steps; checkpoint every `checkpoint_every` steps
//! save checkpoint
//! ```
//!
//! What a step changes lives in its *state* `S: Stateful` — one [`Learner`](super::Learner)
//! (model + optimiser), a tuple of them (a GAN's discriminator and generator, stepped in the
//! order the step function chooses), or a hand-gradient trainer's own buffers. A frozen model
//! (a teacher) is not state: the step function captures it, so it is never checkpointed.
//!
//! Resume is exact: a run of N steps equals N/2 steps, a kill, and a resumed run to N, weight
//! for weight, because the checkpoint holds the whole state, the host RNG position, the step
//! and the history, and the schedule is a pure function of the step.
//!
//! A run can also be *extended*: resuming a checkpoint of k completed steps (a finished run, or
//! an interrupted one) with a larger `steps` M continues from step k to M. The contract:
//!
//! ```text
//! steps 0..k   keep the learning rate they were taken with (the old options' schedule)
//! steps k..M   take lr = new schedule(step), the schedule the new options compute over M
//! ```
//!
//! so the extended run equals an uninterrupted M-step run, weight for weight, exactly when the
//! two schedules agree on steps 0..k — always under a constant learning rate, and never for a
//! decayed schedule extended after its decay (its learning rate rises again to where the longer
//! schedule is at step k). The configuration check that allows a new budget but nothing else
//! is in the `resume` module; a budget below k is refused.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::checkpoint::{Blobs, Checkpoint};
use super::guard::check_finite;
use super::observer::Observer;
use super::resume::compatible;
use super::schedule::LrSchedule;
use super::seed::SeededRng;
use crate::error::{Error, Result};

/// Named values a step reports, the loss first (e.g. `[("loss", 0.3)]`, or a GAN's
/// `[("d_loss", …), ("g_loss", …)]`).
pub type Metrics = Vec<(&'static str, f64)>;

/// A callback that measures the state during training (metric-vs-step curves); it gets the
/// state and the number of completed steps.
pub type StateHook<'a, S> = &'a mut dyn FnMut(&S, u64) -> Result<()>;

/// Everything a step function is given besides the state.
#[derive(Debug)]
pub struct Step<'a> {
    /// The 0-based index of this step.
    pub index: u64,
    /// The learning rate at this step, from the schedule.
    pub lr: f64,
    /// The run's host RNG (checkpointed; draw batches and noise from it).
    pub rng: &'a mut SeededRng,
}

/// Something the trainer checkpoints: it writes itself as named blobs and reads them back.
pub trait Stateful {
    /// Adds this state's blobs to `blobs`.
    fn save(&self, blobs: &mut Blobs) -> Result<()>;
    /// Restores this state from `blobs` (written by [`Stateful::save`] of the same shape).
    fn load(&mut self, blobs: &Blobs) -> Result<()>;
}

impl Stateful for () {
    fn save(&self, _: &mut Blobs) -> Result<()> {
        Ok(())
    }
    fn load(&mut self, _: &Blobs) -> Result<()> {
        Ok(())
    }
}

macro_rules! stateful_tuple {
    ($($t:ident . $i:tt),+) => {
        impl<$($t: Stateful),+> Stateful for ($($t,)+) {
            fn save(&self, blobs: &mut Blobs) -> Result<()> {
                $(self.$i.save(blobs)?;)+
                Ok(())
            }
            fn load(&mut self, blobs: &Blobs) -> Result<()> {
                $(self.$i.load(blobs)?;)+
                Ok(())
            }
        }
    };
}
stateful_tuple!(A.0, B.1);
stateful_tuple!(A.0, B.1, C.2);

/// `(step, metric values)` every `log_every` steps, with the metric names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Metric names, in the order of each row's values.
    pub names: Vec<String>,
    /// `(completed steps, values)`.
    pub rows: Vec<(u64, Vec<f64>)>,
}

impl History {
    /// `(step, value)` of the metric `name` (empty if it was never reported).
    pub fn series(&self, name: &str) -> Vec<(u64, f64)> {
        let Some(i) = self.names.iter().position(|n| n == name) else {
            return Vec::new();
        };
        self.rows.iter().map(|(s, v)| (*s, v[i])).collect()
    }

    /// `(step, value)` of the first metric, the loss.
    pub fn losses(&self) -> Vec<(u64, f64)> {
        self.rows.iter().map(|(s, v)| (*s, v[0])).collect()
    }

    /// A one-metric history called `loss` from `(step, loss)` pairs.
    pub fn from_losses(losses: &[(u64, f64)]) -> History {
        History {
            names: vec!["loss".into()],
            rows: losses.iter().map(|&(s, l)| (s, vec![l])).collect(),
        }
    }

    /// Writes the history as CSV (`step,<metric>,…`, one row per record) to `path`, atomically
    /// (a training run's `losses.csv`).
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut csv = format!("step,{}\n", self.names.join(","));
        for (step, values) in &self.rows {
            csv.push_str(&step.to_string());
            for v in values {
                csv.push_str(&format!(",{v}"));
            }
            csv.push('\n');
        }
        crate::fsx::atomic_write(path, csv.as_bytes())
    }

    fn push(&mut self, step: u64, metrics: &Metrics) {
        if self.names.is_empty() {
            self.names = metrics.iter().map(|(n, _)| n.to_string()).collect();
        }
        self.rows
            .push((step, metrics.iter().map(|(_, v)| *v).collect()));
    }
}

/// Settings of a training run. Build with [`TrainOptions::new`] (or one of the schedule
/// shortcuts) and the `with_*` methods; everything but the step count and schedule has a
/// default.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Total steps of the run (a resumed run continues up to this count, which may exceed the
    /// count it was started with: see the module doc).
    pub steps: u64,
    /// Learning rate as a function of the step.
    pub schedule: LrSchedule,
    /// Record metrics every this many steps (and after the last). Default 10.
    pub log_every: u64,
    /// Call the evaluation hook every this many steps and after the last (0: never). Default 0.
    pub eval_every: u64,
    /// Checkpoint file (`None`: no checkpoints, no resume). Default `None`.
    pub checkpoint: Option<PathBuf>,
    /// Also checkpoint every this many steps (0: only at the end and on interruption).
    pub checkpoint_every: u64,
    /// Continue from an existing checkpoint file, if there is one.
    pub resume: bool,
    /// The run's configuration: stored in the checkpoint and required to match on resume, so
    /// a changed configuration is never silently mixed into a resumed run — except the
    /// settings the trainer owns (keys `steps`/`*_steps` for the step budget, `warmup`,
    /// `log_every`, `eval_every`, `checkpoint_every`, when the new value is the trainer's own:
    /// exactly as the `resume` module doc states), so a longer `steps` extends the run.
    pub meta: serde_json::Value,
    /// The phase name shown by the observer. Default `"train"`.
    pub phase: String,
}

impl TrainOptions {
    /// `steps` steps under `schedule`, with the defaults above.
    pub fn new(steps: u64, schedule: LrSchedule) -> Self {
        TrainOptions {
            steps,
            schedule,
            log_every: 10,
            eval_every: 0,
            checkpoint: None,
            checkpoint_every: 0,
            resume: false,
            meta: serde_json::Value::Null,
            phase: "train".into(),
        }
    }

    /// `steps` steps at a constant `lr`.
    pub fn constant(steps: u64, lr: f64) -> Self {
        TrainOptions::new(steps, LrSchedule::Constant { lr })
    }

    /// `steps` steps with a warm-up over the first 5% and a cosine decay from `lr` to
    /// `lr · 0.05`.
    pub fn warmup_cosine(steps: u64, lr: f64) -> Self {
        TrainOptions::new(
            steps,
            LrSchedule::WarmupCosine {
                peak: lr,
                min_lr: lr * 0.05,
                warmup: (steps / 20).max(1),
                total: steps,
            },
        )
    }

    /// Checkpoints to `path` at the end, on interruption and every `every` steps (0: never
    /// in between).
    pub fn with_checkpoint(mut self, path: impl Into<PathBuf>, every: u64) -> Self {
        self.checkpoint = Some(path.into());
        self.checkpoint_every = every;
        self
    }

    /// Resumes from the checkpoint when `resume` and the file exists.
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// The configuration recorded in (and checked against) the checkpoint.
    pub fn with_meta(mut self, meta: serde_json::Value) -> Self {
        self.meta = meta;
        self
    }

    /// Metric history every `every` steps.
    pub fn with_log_every(mut self, every: u64) -> Self {
        self.log_every = every;
        self
    }

    /// Evaluation hook every `every` steps.
    pub fn with_eval_every(mut self, every: u64) -> Self {
        self.eval_every = every;
        self
    }

    /// The phase name the observer shows.
    pub fn with_phase(mut self, phase: impl Into<String>) -> Self {
        self.phase = phase.into();
        self
    }
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The metric history, including steps before a resume.
    pub history: History,
    /// The step the run resumed from, if it did.
    pub resumed_from: Option<u64>,
}

/// Drives a [`Stateful`] state through `options.steps` steps of a family's step function,
/// reporting through an [`Observer`].
pub struct Trainer<'o> {
    options: TrainOptions,
    observer: &'o mut dyn Observer,
}

impl<'o> Trainer<'o> {
    /// A trainer with these options, reporting to `observer`.
    pub fn new(options: TrainOptions, observer: &'o mut dyn Observer) -> Self {
        Trainer { options, observer }
    }

    /// Runs the loop (see the module doc). On resume, `state` and `rng` are overwritten from
    /// the checkpoint first; on return they hold the trained state and the RNG after training.
    pub fn run<S, F>(
        &mut self,
        state: &mut S,
        rng: &mut SeededRng,
        mut step_fn: F,
        mut eval: Option<StateHook<'_, S>>,
    ) -> Result<Outcome>
    where
        S: Stateful,
        F: FnMut(&mut S, Step<'_>) -> Result<Metrics>,
    {
        let o = &self.options;
        let mut history = History::default();
        let mut step = 0;
        let mut resumed_from = None;
        if let Some(path) = o.checkpoint.as_deref()
            && o.resume
            && path.exists()
        {
            let ck = Checkpoint::load(path)?;
            let refuse = |msg: String| Error::Checkpoint {
                path: path.to_path_buf(),
                msg,
            };
            let extension = compatible(&ck.meta, &o.meta, o, ck.step).map_err(|why| {
                refuse(format!(
                    "was written with a different configuration ({why}); use a new output \
                     directory or drop --resume"
                ))
            })?;
            if ck.step > o.steps {
                return Err(refuse(format!(
                    "holds {} completed steps, more than the {} asked for; pass at least --steps {} \
                     to continue it",
                    ck.step, o.steps, ck.step
                )));
            }
            state.load(&ck.blobs)?;
            *rng = SeededRng::from_state(ck.rng);
            step = ck.step;
            history = ck.history;
            resumed_from = Some(step);
            let budget = match extension.stored_steps {
                Some(before) if before != o.steps => format!(
                    "; step budget {before} → {}, the learning-rate schedule now spans {} steps",
                    o.steps, o.steps
                ),
                _ => String::new(),
            };
            self.observer.message(&format!(
                "resumed from step {step} ({}){budget}",
                path.display()
            ));
        } else if let Some(path) = o.checkpoint.as_deref()
            && o.resume
        {
            self.observer.message(&format!(
                "--resume: no checkpoint at {}; starting from step 0",
                path.display()
            ));
        }

        self.observer.start(&o.phase, o.steps);
        while step < o.steps {
            if self.observer.should_stop() {
                save(o, state, rng, step, &history)?;
                return Err(Error::Interrupted {
                    step,
                    checkpoint: o.checkpoint.clone(),
                });
            }
            let lr = o.schedule.lr(step);
            let metrics = step_fn(
                state,
                Step {
                    index: step,
                    lr,
                    rng: &mut *rng,
                },
            )?;
            for (name, value) in &metrics {
                check_finite(step, name, *value)?;
            }
            step += 1;
            if step % o.log_every.max(1) == 0 || step == o.steps {
                history.push(step, &metrics);
            }
            let mut shown = metrics;
            shown.push(("lr", lr));
            self.observer.step(step, &shown);
            if let Some(hook) = eval.as_mut()
                && o.eval_every > 0
                && (step % o.eval_every == 0 || step == o.steps)
            {
                hook(state, step)?;
            }
            if o.checkpoint_every > 0 && step % o.checkpoint_every == 0 && step < o.steps {
                save(o, state, rng, step, &history)?;
            }
        }
        save(o, state, rng, step, &history)?;
        self.observer.finish();
        Ok(Outcome {
            history,
            resumed_from,
        })
    }
}

/// Writes the checkpoint, when the options name one.
fn save<S: Stateful>(
    o: &TrainOptions,
    state: &S,
    rng: &SeededRng,
    step: u64,
    history: &History,
) -> Result<()> {
    let Some(path) = o.checkpoint.as_deref() else {
        return Ok(());
    };
    let mut blobs = Blobs::default();
    state.save(&mut blobs)?;
    Checkpoint {
        step,
        rng: rng.state(),
        history: history.clone(),
        meta: o.meta.clone(),
        blobs,
    }
    .save(path)
}
