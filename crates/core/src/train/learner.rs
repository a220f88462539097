//! [`Learner`]: one trainable model with its optimiser, gradient clip and EMA — the unit of
//! state a [`Trainer`](super::Trainer) step updates. A single-model run has one; a GAN has two
//! (stepped in the order its step function chooses).
//!
//! ```text
//! step(loss, lr):  ℓ = loss (checked finite)
//!                  g = ∇θ ℓ ;  g ← g · min(1, c / ‖g‖)   (when a clip c is set; ‖g‖ checked)
//!                  θ ← optimiser(θ, g, lr) ;  θ_ema ← β θ_ema + (1 − β) θ   (when an EMA is set)
//! ```

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Tensor};

use super::checkpoint::Blobs;
use super::clip::clip_grad_norm;
use super::ema::Ema;
use super::guard::check_finite;
use super::trainer::Stateful;
use crate::error::{Error, Result};

/// A model, its optimiser and their per-model settings.
pub struct Learner<M> {
    name: String,
    /// Always `Some` between steps; taken while the optimiser consumes the model.
    model: Option<M>,
    /// Always `Some`; taken while a checkpoint's state is loaded into it.
    optim: Option<ModuleOptimizer>,
    clip: Option<f64>,
    ema: Option<Ema<M>>,
}

impl<M: Module> Learner<M> {
    /// A learner called `name` (the prefix of its checkpoint records and of its NaN-guard
    /// messages), with no clipping and no EMA.
    pub fn new(name: &str, model: M, optim: ModuleOptimizer) -> Self {
        Learner {
            name: name.to_string(),
            model: Some(model),
            optim: Some(optim),
            clip: None,
            ema: None,
        }
    }

    /// Clips the global gradient norm to `max` (`None`: no clipping).
    pub fn with_clip(mut self, max: Option<f64>) -> Self {
        self.clip = max;
        self
    }

    /// Keeps an EMA of the weights with this decay (`None`: none), starting from the current
    /// weights.
    pub fn with_ema(mut self, decay: Option<f64>) -> Self {
        self.ema = decay.map(|d| Ema::new(self.model(), d));
        self
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("a learner's model is present between steps")
    }

    /// The EMA of the weights, when one is kept.
    pub fn ema(&self) -> Option<&M> {
        self.ema.as_ref().map(|e| &e.model)
    }

    /// The trained model and its EMA.
    pub fn into_parts(self) -> (M, Option<M>) {
        let model = self
            .model
            .expect("a learner's model is present between steps");
        (model, self.ema.map(|e| e.model))
    }

    /// The weights to sample from: the EMA when kept, else the model without autodiff.
    pub fn into_inference(self) -> M {
        match self.into_parts() {
            (_, Some(ema)) => ema.valid(),
            (model, None) => model.valid(),
        }
    }

    /// One optimisation step on `loss` at learning rate `lr` (see the module doc); `step` names
    /// the step in a NaN-guard error. Returns the loss value.
    pub fn step(&mut self, loss: Tensor<1>, lr: f64, step: u64) -> Result<f64> {
        let value = loss.clone().into_scalar::<f32>() as f64;
        self.guard(step, "loss", value)?;
        let model = self
            .model
            .take()
            .expect("a learner's model is present between steps");
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let grads = match self.clip {
            Some(max) => {
                let (g, norm) = clip_grad_norm(grads, &model, max);
                if let Err(e) = self.guard(step, "gradient norm", norm) {
                    self.model = Some(model);
                    return Err(e);
                }
                g
            }
            None => grads,
        };
        let model = self.optimiser().step(lr, model, grads);
        if let Some(e) = self.ema.as_mut() {
            e.update(&model);
        }
        self.model = Some(model);
        Ok(value)
    }

    /// The NaN/inf guard; the quantity's name is only formatted when it fires (this runs every
    /// step).
    fn guard(&self, step: u64, what: &str, value: f64) -> Result<()> {
        if value.is_finite() {
            Ok(())
        } else {
            check_finite(step, &self.quantity(what), value)
        }
    }

    /// `loss` for the learner called `model` (a single-model run), `disc loss` for `disc`.
    fn quantity(&self, what: &str) -> String {
        if self.name == "model" {
            what.to_string()
        } else {
            format!("{} {what}", self.name)
        }
    }

    fn optimiser(&mut self) -> &mut ModuleOptimizer {
        self.optim
            .as_mut()
            .expect("a learner's optimiser is present")
    }

    fn record_name(&self, part: &str) -> String {
        format!("{}.{part}", self.name)
    }
}

fn bad(e: burn::store::RecordError) -> Error {
    Error::InvalidInput(format!("checkpoint record: {e}"))
}

fn module_bytes<M: Module>(m: &M) -> Result<Vec<u8>> {
    Ok(m.clone().into_record().into_bytes().map_err(bad)?.to_vec())
}

fn load_module<M: Module>(m: M, bytes: &[u8]) -> Result<M> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).map_err(bad)?;
    m.try_load_record(record).map_err(bad)
}

impl<M: Module> Stateful for Learner<M> {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        blobs.put(&self.record_name("model"), module_bytes(self.model())?)?;
        let optim = self
            .optim
            .as_ref()
            .expect("a learner's optimiser is present");
        let optim = optim.into_bytes().map_err(bad)?.to_vec();
        blobs.put(&self.record_name("optim"), optim)?;
        if let Some(e) = &self.ema {
            blobs.put(&self.record_name("ema"), module_bytes(&e.model)?)?;
        }
        Ok(())
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        let model = self
            .model
            .take()
            .expect("a learner's model is present between steps");
        self.model = Some(load_module(model, blobs.get(&self.record_name("model"))?)?);
        let bytes = Bytes::from_bytes_vec(blobs.get(&self.record_name("optim"))?.to_vec());
        let optim = self.optim.take().expect("a learner's optimiser is present");
        self.optim = Some(optim.from_bytes(bytes).map_err(bad)?);
        let ema_record = self.record_name("ema");
        if let Some(e) = self.ema.as_mut() {
            e.model = load_module(e.model.clone(), blobs.get(&ema_record)?)?;
        }
        Ok(())
    }
}

/// A measurement of a single model during training: it gets the model and the number of
/// completed steps.
pub type ModelHook<'a, M> = &'a mut dyn FnMut(&M, u64) -> Result<()>;

impl super::trainer::Trainer<'_> {
    /// The common case: one learner trained on `loss_fn(model, rng, step)`, its loss reported
    /// as `loss`; `eval` measures the model every `eval_every` steps.
    pub fn fit<M, L>(
        &mut self,
        learner: &mut Learner<M>,
        rng: &mut super::seed::SeededRng,
        mut loss_fn: L,
        eval: Option<ModelHook<'_, M>>,
    ) -> Result<super::trainer::Outcome>
    where
        M: Module,
        L: FnMut(&M, &mut super::seed::SeededRng, u64) -> Tensor<1>,
    {
        let step = |l: &mut Learner<M>, s: super::trainer::Step<'_>| {
            let loss = loss_fn(l.model(), s.rng, s.index);
            Ok(vec![("loss", l.step(loss, s.lr, s.index)?)])
        };
        match eval {
            Some(hook) => {
                let mut on_learner = |l: &Learner<M>, done: u64| hook(l.model(), done);
                self.run(learner, rng, step, Some(&mut on_learner))
            }
            None => self.run(learner, rng, step, None),
        }
    }
}
