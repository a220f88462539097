//! Stage B, slot learning: the [`crate::coda`] objective minimised through the core
//! [`Trainer`] for one arm, with the pretrained decoder frozen except its cross-attention
//! K/V/O. A trained slot model is saved as a model directory (`model.json` + `weights.bpk`).
//!
//! ```text
//! per step:  batch of b scenes (b even);  draws (shared slot noise, u, ε, swaps)
//!            λ = 0 before `cl_warmup` steps, then `lambda` (contrastive arms)
//!            θ ← AdamW(θ, ∇ L), ‖∇‖ clipped to 1   θ = encoder, slot attention, map, K/V/O
//! ```

use std::path::Path;

use burn::module::Module;
use genlab_core::train::{
    Checkpoint, History, Learner, LrSchedule, Observer, SeededRng, TrainOptions, Trainer,
    seed_device,
};
use genlab_core::{Error, Result, device, weights};
use serde::{Deserialize, Serialize};

use crate::coda::{Arm, Draws, Frozen, SlotModel, SlotSpec, coda_loss};
use crate::decoder::{Decoder, PATCH, to_patches};
use crate::encoder::patches;
use crate::scene::Scenes;

/// Stage B's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SlotTrainConfig {
    /// The slot model's sizes.
    pub spec: SlotSpec,
    /// Which arm.
    pub arm: Arm,
    /// Batch size (even: the two halves pair up for the negatives).
    pub batch: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Peak learning rate (warm-up, then constant as in CODA).
    pub lr: f64,
    /// λ_cl, the contrastive weight.
    pub lambda: f64,
    /// Steps before the contrastive term switches on.
    pub cl_warmup: u64,
    /// Seed (initialisation, batches, draws).
    pub seed: u64,
}

impl SlotTrainConfig {
    /// Checks the sizes.
    pub fn validate(&self) -> Result<()> {
        if self.batch < 2 || self.batch % 2 != 0 {
            return Err(Error::InvalidInput(format!(
                "the batch must be even and at least 2 (got {})",
                self.batch
            )));
        }
        if self.steps == 0 || self.spec.slots == 0 {
            return Err(Error::InvalidInput(
                "steps and slots must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// λ at 0-based step `step`.
    pub fn lambda_at(&self, step: u64) -> f64 {
        if self.arm.contrastive() && step >= self.cl_warmup {
            self.lambda
        } else {
            0.0
        }
    }
}

/// What `genlab slots train` saves beside the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotRecord {
    /// The configuration it was trained with.
    pub config: SlotTrainConfig,
    /// The decoder cache key it was trained against.
    pub decoder: String,
    /// The decoder's blocks (one K/V/O set each).
    pub decoder_blocks: usize,
    /// Final positive denoising error (mean of the last tenth).
    pub final_err_pos: f64,
}

/// A trained slot model.
#[derive(Debug)]
pub struct TrainedSlots {
    /// The model (inference device).
    pub model: SlotModel,
    /// Loss, err_pos, err_neg every few steps.
    pub history: History,
}

/// Trains one arm on `scenes` against `decoder`; checkpoints into `run_dir` when given.
pub fn train_slots(
    scenes: &Scenes,
    decoder: &Decoder,
    config: &SlotTrainConfig,
    run_dir: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<TrainedSlots> {
    config.validate()?;
    if scenes.len() < 2 {
        return Err(Error::InvalidInput(format!(
            "need at least 2 training images, got {}",
            scenes.len()
        )));
    }
    let dev = device::train_device();
    let (frozen, kvo) = Frozen::from_decoder(decoder, &dev);
    seed_device(&dev, config.seed);
    let model = config.spec.init(kvo, &dev);
    let optim = genlab_core::ops::FusedAdamW {
        weight_decay: 0.01,
        ..Default::default()
    }
    .init();
    let mut learner = Learner::new("model", model, optim).with_clip(Some(1.0));
    let schedule = LrSchedule::WarmupCosine {
        peak: config.lr,
        min_lr: config.lr,
        warmup: (config.steps / 20).max(1),
        total: config.steps,
    };
    let meta = serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let mut options = TrainOptions::new(config.steps, schedule)
        .with_meta(meta)
        .with_resume(resume)
        .with_log_every(10)
        .with_phase(format!(
            "slots {} (seed {})",
            config.arm.name(),
            config.seed
        ));
    if let Some(dir) = run_dir {
        options = options.with_checkpoint(Checkpoint::path_in(dir), 200);
    }
    let size = scenes.size;
    let tokens = (size / PATCH) * (size / PATCH);
    let outcome = Trainer::new(options, observer).run(
        &mut learner,
        &mut SeededRng::new(config.seed),
        |l: &mut Learner<SlotModel>, step| {
            let idx = step.rng.indices(config.batch, scenes.len());
            let batch = scenes.select(&idx);
            let enc = patches(&batch.images, size, &dev);
            let x0 = to_patches(&batch.images, size, &dev);
            let draws = Draws::new(&config.spec, config.batch, tokens, 48, step.rng, &dev);
            let lambda = config.lambda_at(step.index);
            let losses = coda_loss(l.model(), &frozen, config.arm, lambda, enc, x0, &draws);
            let err_pos = losses.err_pos.into_scalar::<f32>() as f64;
            let err_neg = losses
                .err_neg
                .map_or(0.0, |e| e.into_scalar::<f32>() as f64);
            let loss = l.step(losses.total, step.lr, step.index)?;
            Ok(vec![
                ("loss", loss),
                ("err_pos", err_pos),
                ("err_neg", err_neg),
            ])
        },
        None,
    )?;
    Ok(TrainedSlots {
        model: learner.into_parts().0.valid(),
        history: outcome.history,
    })
}

/// Saves a trained slot model as a model directory.
pub fn save(dir: &Path, record: &SlotRecord, model: &SlotModel) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    weights::save_model(dir, record, model)
}

/// Loads a model directory written by [`save`] (inference device).
pub fn load(dir: &Path) -> Result<(SlotRecord, SlotModel)> {
    let dev = device::device();
    weights::load_model(dir, "slots", |r: &SlotRecord| {
        let spec = &r.config.spec;
        let kvo = crate::decoder::DecoderSpec {
            size: spec.size,
            width: spec.context,
            blocks: r.decoder_blocks,
            caption_len: crate::decoder::WORDS,
            vocab: 1,
            target: crate::decoder::Target::Eps,
        }
        .init(&dev)
        .kvo;
        spec.init(kvo, &dev)
    })
}

/// The mean of the last tenth of a history series.
pub fn tail_mean(history: &History, name: &str) -> f64 {
    let s = history.series(name);
    if s.is_empty() {
        return f64::NAN;
    }
    let tail = &s[s.len() - (s.len() / 10).max(1)..];
    tail.iter().map(|x| x.1).sum::<f64>() / tail.len() as f64
}
