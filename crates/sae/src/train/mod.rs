//! Training, shared by every architecture: [`train`] drives a [`SaeState`] through
//! genlab-core's [`Trainer`], which owns the loop — schedule, checkpoints, exact resume, the
//! NaN guard and progress — while [`SaeState::step`] is the hand-gradient step:
//!
//! ```text
//! init:   W_dec rows random unit, W_enc = W_dec, b_enc = 0, b_dec = geometric median of batch 1
//! step:   (L, ∇) = loss_and_grads(batch)                    [crate::loss]
//!         ∇W_dec ← ∇W_dec − parallel components              [crate::decoder_norm]
//!         clip ‖∇‖ ≤ 1, Adam(0.9, 0.999), lr warm-up + cosine  [crate::adam]
//!         W_dec rows ← unit norm
//!         dead-latent counters, BatchTopK θ EMA, ReLU λ control
//! lr:     2·10⁻⁴ / √(m / 2¹⁴) by default (dictionary_learning's BatchTopK rule)
//! ```
//!
//! The checkpoint holds the SAE, Adam's moments and step, the dead-latent counters, θ, λ, the
//! partition RNG (the trainer's RNG) and the activation source's [`Position`](crate::acts::Position),
//! so a resumed run reads the same batches and ends with the same weights, bit for bit.
//!
//! The schedule ([`crate::schedule`]) is warm-up + cosine by default, or constant (SAELens's
//! default) with `lr_schedule: Constant`, each with an optional final linear decay to 0. The
//! trainer is handed a constant schedule for its bookkeeping and the step reads the rate from
//! [`TrainConfig::lr_at`] (genlab-core's `LrSchedule` has no warm-up + constant + decay shape).
//!
//! ## genlab's defaults beside SAELens's (`TrainConfig::saelens_defaults`)
//!
//! | knob                 | genlab default                         | SAELens 6.54 BatchTopK (`train_toy_sae`, `BatchTopKTrainingSAEConfig`) |
//! |----------------------|----------------------------------------|---------------------------------------------------|
//! | lr                   | 2e-4/√(m/2¹⁴)                          | 3e-4                                              |
//! | schedule             | warm-up 100 + cosine to 0.1 η          | constant, warm-up 0, decay 0                      |
//! | AuxK coefficient α   | 1/32, loss ÷ ‖e − ē‖² (OpenAI)         | 1.0, loss unnormalised × min(dead/k_aux, 1)       |
//! |                      | (`aux_normalised: true`)               | (`aux_normalised: false`)                         |
//! | dead latent          | silent > 10⁷ tokens                    | silent > `dead_feature_window` = 1000 steps       |
//! | θ EMA                | β = 0.999 from step 1000               | rate 0.01 (β = 0.99) from step 0                  |
//! | b_dec init           | geometric median of batch 1            | zeros                                             |
//! | decoder              | unit rows, parallel gradient removed   | free rows, init norm 0.1, acts rescaled by ‖W_dec,j‖ ([`crate::free_decoder`]) |
//! | normalisation        | none                                   | none (`expected_average_only_in` offered)         |
//! | clip, Adam           | 1.0, (0.9, 0.999)                      | 1.0, (0.9, 0.999)                                 |
//!
//! Measured by `bench/saelens_parity.py` (2026-12-05, under load; 2M synthetic vectors, d = 64,
//! 512 true features, width 512, k = 8, batch 4096, lr 1e-3, one epoch, 3 seeds, held-out
//! FVU, true features recovered at cos ≥ 0.9, parent absorption): SAELens 6.54 FVU
//! 0.2747 ± 0.0006, recovered 34.0 ± 2.5, absorption 0.154 ± 0.008, 301 s per run; genlab
//! `--saelens-defaults` 0.2762 ± 0.0010, 28.7 ± 2.3, 0.163 ± 0.019, 16 s; genlab's own defaults
//! 0.351, 0, 0.308; constant lr with unit rows 0.293, 9, 0.187. The decoder parametrisation is
//! what closes the gap.
//!
//! The preset copies every row (the AuxK form too, `aux_normalised: false`) except the
//! norm-estimation sample of `expected_average_only_in` (see [`crate::normalise`]) and AuxK's
//! candidates: genlab takes the top k_aux *positive* dead pre-activations, SAELens the top k_aux
//! dead pre-activations whatever their sign.

mod state;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use genlab_core::train::{History, LrSchedule, Observer, SeededRng, TrainOptions, Trainer};
use genlab_core::{Error, Result};

use crate::acts::ActivationSource;
use crate::init::BiasInit;
use crate::matryoshka::Groups;
use crate::normalise::Normalise;
use crate::ortsae::Reduce;
use crate::sae::{Activation, Sae};
use crate::schedule::{Schedule, Shape};

pub use state::{Plan, SaeState, restore_f32s};

/// The architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// ReLU + L1.
    Relu,
    /// Per-sample TopK.
    TopK,
    /// BatchTopK (JumpReLU with one θ at inference).
    BatchTopK,
    /// Matryoshka BatchTopK.
    Matryoshka,
    /// BatchTopK + chunked orthogonality penalty.
    OrtSae,
}

impl Arch {
    /// Name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Relu => "relu",
            Arch::TopK => "topk",
            Arch::BatchTopK => "batchtopk",
            Arch::Matryoshka => "matryoshka",
            Arch::OrtSae => "ortsae",
        }
    }

    /// BatchTopK, Matryoshka and OrtSAE: trained with batch-wide selection, θ at inference.
    pub fn batch_family(self) -> bool {
        matches!(self, Arch::BatchTopK | Arch::Matryoshka | Arch::OrtSae)
    }
}

/// Every setting of a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Architecture.
    pub arch: Arch,
    /// Dictionary size m.
    pub width: usize,
    /// Target L0 (k of TopK / BatchTopK; the ReLU controller's target when `l0_control`).
    pub k: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Vectors per batch.
    pub batch: usize,
    /// Peak learning rate (None: 2e-4 / √(m / 2¹⁴)).
    pub lr: Option<f64>,
    /// Shape of the main phase of the schedule.
    #[serde(default)]
    pub lr_schedule: Shape,
    /// Warm-up steps.
    pub warmup: u64,
    /// Final lr of the cosine as a fraction of the peak.
    pub min_lr_fraction: f64,
    /// Final steps of linear decay to 0 (SAELens `lr_decay_steps`).
    #[serde(default)]
    pub lr_decay_steps: u64,
    /// Activation normalisation during training (folded into the saved weights).
    #[serde(default)]
    pub normalise: Normalise,
    /// ReLU: initial L1 weight λ.
    pub l1: f32,
    /// ReLU: adapt λ so that L0 → k.
    pub l0_control: bool,
    /// Matryoshka group fractions (sum 1).
    pub matryoshka_fractions: Vec<f64>,
    /// OrtSAE weight γ.
    pub ortho_gamma: f32,
    /// OrtSAE chunk size s.
    pub ortho_chunk: usize,
    /// OrtSAE reduction of the squared cosines.
    pub ortho_reduce: Reduce,
    /// AuxK weight α.
    pub aux_alpha: f32,
    /// AuxK loss divided by the residual variance (true) or SAELens's unnormalised form.
    #[serde(default = "yes")]
    pub aux_normalised: bool,
    /// AuxK latents per sample (None: d/2).
    pub k_aux: Option<usize>,
    /// A latent is dead after this many tokens without firing.
    pub dead_after_tokens: u64,
    /// BatchTopK θ EMA factor β.
    pub threshold_beta: f64,
    /// First step that updates θ.
    pub threshold_start: u64,
    /// `b_dec` initialisation.
    pub bias_init: BiasInit,
    /// None: unit decoder rows (genlab). Some(n): free rows initialised at norm n, the
    /// activations rescaled by the row norms (SAELens; [`crate::free_decoder`]).
    #[serde(default)]
    pub decoder_init_norm: Option<f32>,
    /// Gradient-norm clip (0: off).
    pub clip: f32,
    /// Seed of the initialisation and the OrtSAE partitions.
    pub seed: u64,
    /// Observer reporting interval (steps).
    pub log_every: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            arch: Arch::BatchTopK,
            width: 512,
            k: 8,
            steps: 2000,
            batch: 1024,
            lr: None,
            lr_schedule: Shape::Cosine,
            warmup: 100,
            min_lr_fraction: 0.1,
            lr_decay_steps: 0,
            normalise: Normalise::None,
            l1: 0.1,
            l0_control: true,
            matryoshka_fractions: vec![1.0 / 16.0, 1.0 / 16.0, 1.0 / 8.0, 1.0 / 4.0, 1.0 / 2.0],
            ortho_gamma: 0.25,
            ortho_chunk: 128,
            ortho_reduce: Reduce::Max,
            aux_alpha: 1.0 / 32.0,
            aux_normalised: true,
            k_aux: None,
            dead_after_tokens: 10_000_000,
            threshold_beta: 0.999,
            threshold_start: 1000,
            bias_init: BiasInit::GeometricMedian,
            decoder_init_norm: None,
            clip: 1.0,
            seed: 0,
            log_every: 50,
        }
    }
}

impl TrainConfig {
    /// The peak learning rate actually used.
    pub fn peak_lr(&self) -> f64 {
        self.lr
            .unwrap_or(2e-4 / (self.width as f64 / 16384.0).sqrt())
    }

    /// The learning rate as a function of the step.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            shape: self.lr_schedule,
            peak: self.peak_lr(),
            min_lr_fraction: self.min_lr_fraction,
            warmup: self.warmup.min(self.steps / 2),
            decay: self.lr_decay_steps,
            total: self.steps,
        }
    }

    /// The learning rate at 0-based `step`.
    pub fn lr_at(&self, step: u64) -> f64 {
        self.schedule().lr(step)
    }

    /// SAELens's BatchTopK training defaults (see the module doc) on top of `self`: lr 3e-4
    /// constant, no warm-up or decay, AuxK α = 1, dead after 1000 steps of `batch` tokens,
    /// θ EMA rate 0.01 from step 0, `b_dec` = 0.
    pub fn saelens_defaults(self) -> TrainConfig {
        TrainConfig {
            lr: Some(3e-4),
            lr_schedule: Shape::Constant,
            warmup: 0,
            lr_decay_steps: 0,
            aux_alpha: 1.0,
            aux_normalised: false,
            dead_after_tokens: 1000 * self.batch as u64,
            threshold_beta: 0.99,
            threshold_start: 0,
            bias_init: BiasInit::Zero,
            decoder_init_norm: Some(0.1),
            normalise: Normalise::None,
            ..self
        }
    }

    /// The activation the trained SAE uses at inference.
    pub fn inference_activation(&self, threshold: f32) -> Activation {
        match self.arch {
            Arch::Relu => Activation::Relu,
            Arch::TopK => Activation::TopK { k: self.k },
            _ => Activation::JumpRelu { threshold },
        }
    }

    /// Refuses settings that cannot train.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.width == 0 || self.batch == 0 || self.steps == 0 {
            return bad("width, batch and steps must be at least 1".into());
        }
        genlab_core::limits::elements("--batch × --width", &[self.batch, self.width])?;
        if self.k == 0 || self.k > self.width {
            return bad(format!("k = {} must be in 1..={}", self.k, self.width));
        }
        if self.arch == Arch::OrtSae
            && (self.ortho_chunk < 2 || self.ortho_gamma.is_nan() || self.ortho_gamma < 0.0)
        {
            return bad("ortsae needs a chunk size ≥ 2 and γ ≥ 0".into());
        }
        if !(self.peak_lr() > 0.0 && self.peak_lr().is_finite()) {
            return bad(format!("learning rate {} must be positive", self.peak_lr()));
        }
        if let Some(n) = self.decoder_init_norm
            && !(n > 0.0 && n.is_finite())
        {
            return bad(format!("the decoder init norm {n} must be positive"));
        }
        if !(0.0..1.0).contains(&self.threshold_beta) {
            return bad(format!(
                "the threshold EMA factor β = {} must be in [0, 1)",
                self.threshold_beta
            ));
        }
        if !(self.aux_alpha >= 0.0 && self.aux_alpha.is_finite()) {
            return bad(format!(
                "the AuxK coefficient {} must be finite and ≥ 0",
                self.aux_alpha
            ));
        }
        if self.lr_decay_steps + self.warmup.min(self.steps / 2) > self.steps {
            return bad(format!(
                "warm-up ({}) plus decay ({}) steps exceed the {} training steps",
                self.warmup, self.lr_decay_steps, self.steps
            ));
        }
        if self.arch == Arch::Matryoshka {
            Groups::from_fractions(self.width, &self.matryoshka_fractions)?;
        }
        Ok(())
    }
}

fn yes() -> bool {
    true
}

/// A trained SAE and its training curve.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The SAE (with its inference activation set).
    pub sae: Sae,
    /// `loss`, `batch_fvu`, `l0` and `dead_fraction` every `log_every` steps (and after the
    /// last), including steps before a resume.
    pub history: History,
    /// ReLU: the final λ.
    pub final_l1: f32,
}

/// Checkpointing of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpointing {
    /// The checkpoint file (written at the end, on interruption and every `every` steps).
    pub path: PathBuf,
    /// Steps between checkpoints (0: only at the end and on interruption).
    pub every: u64,
    /// Continue from `path` if it exists.
    pub resume: bool,
    /// What the activations are (e.g. their path): recorded in the checkpoint beside the
    /// configuration and required to match on resume.
    pub source: String,
}

/// Trains an SAE on `source` with `config`, without checkpoints.
pub fn train(
    source: &mut dyn ActivationSource,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    run(source, config, None, observer)
}

/// [`train`] with checkpoints, and resumed from one when `checkpointing.resume`. An
/// interruption (the observer's `should_stop`) saves the checkpoint and returns
/// [`Error::Interrupted`].
pub fn train_resumable(
    source: &mut dyn ActivationSource,
    config: &TrainConfig,
    checkpointing: &Checkpointing,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    run(source, config, Some(checkpointing), observer)
}

fn run(
    source: &mut dyn ActivationSource,
    config: &TrainConfig,
    checkpointing: Option<&Checkpointing>,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    config.validate()?;
    genlab_core::limits::elements(
        "--width × activation width d",
        &[config.width, source.dim()],
    )?;
    let mut rng = SeededRng::new(config.seed);
    let mut init_rng = rng.fork();
    // The partitions are the only draws during training: their stream is the trainer's RNG.
    let mut partition_rng = rng.fork();
    let plan = Plan::new(config, source.dim())?;
    let mut state = SaeState::new(source, config, &mut init_rng)?;
    let meta = serde_json::json!({
        "train_config": config,
        "source": checkpointing.map(|c| c.source.as_str()),
    });
    let reported = LrSchedule::Constant {
        lr: config.peak_lr(),
    };
    let mut options = TrainOptions::new(config.steps, reported)
        .with_log_every(config.log_every)
        .with_meta(meta)
        .with_phase(format!("train {}", config.arch.name()));
    if let Some(c) = checkpointing {
        options = options
            .with_checkpoint(&c.path, c.every)
            .with_resume(c.resume);
    }
    let outcome = Trainer::new(options, observer).run(
        &mut state,
        &mut partition_rng,
        |state, step| {
            let lr = config.lr_at(step.index);
            state.step(&plan, step.index, lr, step.rng, &mut |_| {})
        },
        None,
    )?;
    Ok(state.into_trained(config, outcome.history))
}

#[cfg(test)]
mod tests;
