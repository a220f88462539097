//! Training, shared by every architecture: [`train`] drives a [`SaeState`] through
//! genlab-core's [`Trainer`], which owns the loop — schedule, checkpoints, exact resume, the
//! NaN guard and progress — while [`Member::step`] is the hand-gradient step:
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
//! partition RNG, the training curve and the activation source's
//! [`Position`](crate::acts::Position), so a resumed run reads the same batches and ends with
//! the same weights, bit for bit.
//!
//! **Sweeps.** [`train_sweep`] trains several SAEs (e.g. widths × k) from one activation
//! stream: each batch is read once and fed to every SAE in turn. Each SAE keeps its own
//! initialisation and partition streams (forked from its seed exactly as a single run forks
//! them), so every SAE of a sweep is bit-identical to the same configuration trained alone
//! (tested).
//!
//! The schedule is genlab-core's `LrSchedule`: `WarmupCosine` (genlab's default: warm-up 100,
//! cosine to 0.1 η) or `WarmupConstantDecay` (SAELens's `constant` with `lr_warm_up_steps` and
//! `lr_decay_steps`; the final linear decay to 0 is offered with the constant shape only).
//!
//! ## genlab's defaults beside SAELens's (`TrainConfig::saelens_defaults`)
//!
//! Checked against the source of sae-lens 6.54.12 (`saes/batchtopk_sae.py`, `saes/topk_sae.py`,
//! `saes/sae.py`, `training/sae_trainer.py`, `training/optim.py`,
//! `training/activation_scaler.py`, `config.py` `SAETrainerConfig`):
//!
//! | knob                 | genlab default                         | SAELens 6.54 BatchTopK = `--saelens-defaults` |
//! |----------------------|----------------------------------------|---------------------------------------------------|
//! | lr                   | 2e-4/√(m/2¹⁴)                          | 3e-4                                              |
//! | schedule             | warm-up 100 + cosine to 0.1 η          | constant, warm-up 0, decay 0 (warm-up (s+1)/W, decay η(T−s)/D: same formulas) |
//! | Adam                 | (0.9, 0.999), ε 1e-8                   | (0.9, 0.999), ε 1e-8                              |
//! | gradient clip        | global norm 1.0 on the raw parameters  | `clip_grad_norm_(…, 1.0)` on the raw parameters    |
//! | loss                 | Σ_d (x − x̂)², mean over the batch      | the same                                          |
//! | AuxK coefficient α   | 1/32, loss ÷ ‖e − ē‖² (OpenAI)         | 1.0, loss unnormalised × min(#dead/k_aux, 1)      |
//! | AuxK candidates      | top k_aux *positive* dead pre-acts     | top k_aux dead pre-acts of any sign (`aux_pick: AnySign`) |
//! | k_aux                | min(d/2, #dead)                        | min(d/2, #dead)                                   |
//! | dead latent          | silent > 10⁷ tokens                    | silent > `dead_feature_window` = 1000 steps (mask taken before the step) |
//! | θ EMA                | β = 0.999 from step 1000, starts at the first minimum | rate 0.01 (β = 0.99) from step 0, starts at 0 (`threshold_from_zero`) |
//! | inference            | JumpReLU at θ (one value)              | JumpReLU, `threshold` = θ repeated                |
//! | b_enc, b_dec init    | 0, geometric median of batch 1         | 0, 0                                              |
//! | decoder init         | unit rows, Gaussian directions, W_enc = W_decᵀ | `kaiming_uniform_` rows scaled to 0.1, W_enc = W_decᵀ (`decoder_directions: Uniform`) |
//! | decoder training     | unit rows, parallel gradient removed   | free rows, acts rescaled by ‖W_dec,j‖ ([`crate::free_decoder`]) |
//! | normalisation        | none                                   | none; `expected_average_only_in` over 1000 batches (`norm_batches`) |
//!
//! Every row of the right-hand column is what `--saelens-defaults` sets. What still differs:
//! the random streams (torch's and genlab's draws of the same distributions differ), ties in
//! top-k (genlab: lower index; torch: unspecified), summation order, and the batches SAELens
//! consumes for its norm estimate (genlab rewinds; see [`crate::normalise`]).
//!
//! Measured by `bench/saelens_parity.py` (2026-12-05, under load, seeds 0–4, mean ± s.e.;
//! 2M synthetic vectors, d = 64, 512 true features, width 512, k = 8, batch 4096, lr 1e-3,
//! one epoch = 488 steps, fewer than the 1000-step dead window, so AuxK never runs on either
//! side there; held-out FVU, true features recovered at cos ≥ 0.9, parent absorption):
//!
//! | side                                   | FVU             | recovered  | absorption    | s/run |
//! |----------------------------------------|-----------------|------------|---------------|-------|
//! | SAELens 6.54                           | 0.2754 ± 0.0006 | 32.4 ± 2.3 | 0.164 ± 0.010 | 356   |
//! | genlab `--saelens-defaults`            | 0.2755 ± 0.0006 | 35.2 ± 1.3 | 0.156 ± 0.009 | 12    |
//! | the same, Gaussian decoder directions  | 0.2759 ± 0.0006 | 30.4 ± 1.9 | 0.167 ± 0.014 | 12    |
//! | genlab from SAELens's init and batches | 0.2754 ± 0.0006 | 32.6 ± 2.2 | 0.163 ± 0.010 | 11    |
//!
//! Paired with SAELens seed by seed: `--saelens-defaults` ΔFVU +0.0001 ± 0.0010, Δrecovered
//! +2.8 ± 3.0, Δabsorption −0.007 ± 0.018 (equal within noise; the inits differ); from
//! SAELens's own initial weights and batches ΔFVU 0.00000 ± 0.00001, Δrecovered +0.2 ± 0.2,
//! Δabsorption −0.0001 ± 0.0003, and the training losses agree to 1e-7 (relative) over the
//! first 10 steps and to 1e-3 at step 488: the two implementations compute the same training
//! run, and what is left between the first two rows is the random initialisation.

mod state;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use genlab_core::train::{History, LrSchedule, Observer, SeededRng, TrainOptions, Trainer};
use genlab_core::{Error, Result};

use crate::acts::ActivationSource;
use crate::aux::AuxPick;
use crate::init::{BiasInit, Directions};
use crate::matryoshka::Groups;
use crate::normalise::Normalise;
use crate::ortsae::Reduce;
use crate::sae::{Activation, Sae};

pub use state::{Member, Plan, SaeState, restore_f32s};

/// The shape of the schedule's main phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Cosine from η to η · `min_lr_fraction` (genlab's default).
    #[default]
    Cosine,
    /// η throughout, then the optional linear decay (SAELens's default).
    Constant,
}

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
    /// AuxK candidates: positive dead pre-activations only, or any sign (SAELens).
    #[serde(default)]
    pub aux_pick: AuxPick,
    /// AuxK latents per sample (None: d/2).
    pub k_aux: Option<usize>,
    /// A latent is dead after this many tokens without firing.
    pub dead_after_tokens: u64,
    /// BatchTopK θ EMA factor β.
    pub threshold_beta: f64,
    /// First step that updates θ.
    pub threshold_start: u64,
    /// θ starts at 0 and the first update averages into it (SAELens), instead of starting at
    /// the first batch's minimum.
    #[serde(default)]
    pub threshold_from_zero: bool,
    /// `b_dec` initialisation.
    pub bias_init: BiasInit,
    /// None: unit decoder rows (genlab). Some(n): free rows initialised at norm n, the
    /// activations rescaled by the row norms (SAELens; [`crate::free_decoder`]).
    #[serde(default)]
    pub decoder_init_norm: Option<f32>,
    /// How the initial decoder directions are drawn.
    #[serde(default)]
    pub decoder_directions: Directions,
    /// Batches the normalisation factor is estimated on.
    #[serde(default = "thousand")]
    pub norm_batches: usize,
    /// Start from the SAE saved in this directory (SAELens layout) instead of a random
    /// initialisation.
    #[serde(default)]
    pub init_from: Option<PathBuf>,
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
            aux_pick: AuxPick::Positive,
            k_aux: None,
            dead_after_tokens: 10_000_000,
            threshold_beta: 0.999,
            threshold_start: 1000,
            threshold_from_zero: false,
            bias_init: BiasInit::GeometricMedian,
            decoder_init_norm: None,
            decoder_directions: Directions::Normal,
            norm_batches: 1000,
            init_from: None,
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

    /// The learning rate as a function of the step (warm-up capped at half the run).
    pub fn schedule(&self) -> LrSchedule {
        let warmup = self.warmup.min(self.steps / 2);
        match self.lr_schedule {
            Shape::Cosine => LrSchedule::WarmupCosine {
                peak: self.peak_lr(),
                min_lr: self.peak_lr() * self.min_lr_fraction,
                warmup,
                total: self.steps,
            },
            Shape::Constant => LrSchedule::WarmupConstantDecay {
                peak: self.peak_lr(),
                warmup,
                decay: self.lr_decay_steps,
                total: self.steps,
            },
        }
    }

    /// The learning rate at 0-based `step`.
    pub fn lr_at(&self, step: u64) -> f64 {
        self.schedule().lr(step)
    }

    /// SAELens's BatchTopK training defaults (the module doc's table) on top of `self`: lr 3e-4
    /// constant, no warm-up or decay, AuxK α = 1 unnormalised over dead pre-activations of any
    /// sign, dead after 1000 steps of `batch` tokens, θ from 0 with rate 0.01 from step 0,
    /// `b_dec` = 0, free decoder rows of norm 0.1 with uniform-cube directions, norm estimate
    /// over 1000 batches.
    pub fn saelens_defaults(self) -> TrainConfig {
        TrainConfig {
            lr: Some(3e-4),
            lr_schedule: Shape::Constant,
            warmup: 0,
            lr_decay_steps: 0,
            aux_alpha: 1.0,
            aux_normalised: false,
            aux_pick: AuxPick::AnySign,
            k_aux: None,
            dead_after_tokens: 1000 * self.batch as u64,
            threshold_beta: 0.99,
            threshold_start: 0,
            threshold_from_zero: true,
            bias_init: BiasInit::Zero,
            decoder_init_norm: Some(0.1),
            decoder_directions: Directions::Uniform,
            normalise: Normalise::None,
            norm_batches: 1000,
            clip: 1.0,
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
        if self.lr_decay_steps > 0 && self.lr_schedule == Shape::Cosine {
            return bad(
                "a final linear decay (--lr-decay-steps) needs the constant schedule; the cosine \
                 already decays"
                    .into(),
            );
        }
        if self.normalise != Normalise::None && self.norm_batches == 0 {
            return bad("the normalisation needs at least one batch (--norm-batches)".into());
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

fn thousand() -> usize {
    1000
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
    let mut all = run(source, std::slice::from_ref(config), None, observer)?;
    Ok(all.remove(0))
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
    let mut all = run(
        source,
        std::slice::from_ref(config),
        Some(checkpointing),
        observer,
    )?;
    Ok(all.remove(0))
}

/// Several SAEs trained from one pass over `source` (the same batch, steps and seed; any
/// architecture, width, k or rate), optionally checkpointed together. Each result equals
/// [`train`] of its configuration alone, bit for bit.
pub fn train_sweep(
    source: &mut dyn ActivationSource,
    configs: &[TrainConfig],
    checkpointing: Option<&Checkpointing>,
    observer: &mut dyn Observer,
) -> Result<Vec<Trained>> {
    run(source, configs, checkpointing, observer)
}

fn run(
    source: &mut dyn ActivationSource,
    configs: &[TrainConfig],
    checkpointing: Option<&Checkpointing>,
    observer: &mut dyn Observer,
) -> Result<Vec<Trained>> {
    let mut state = SaeState::new(source, configs)?;
    let first = &configs[0];
    let meta = match configs {
        [one] => serde_json::json!({
            "train_config": one,
            "source": checkpointing.map(|c| c.source.as_str()),
        }),
        many => serde_json::json!({
            "train_configs": many,
            "source": checkpointing.map(|c| c.source.as_str()),
        }),
    };
    let phase = match configs {
        [one] => format!("train {}", one.arch.name()),
        many => format!("train {} SAEs from one stream", many.len()),
    };
    let mut options = TrainOptions::new(first.steps, first.schedule())
        .with_log_every(first.log_every)
        .with_meta(meta)
        .with_phase(phase);
    if let Some(c) = checkpointing {
        options = options
            .with_checkpoint(&c.path, c.every)
            .with_resume(c.resume);
    }
    // Each SAE draws from its own streams (see `Member::new`); the trainer's is unused.
    let mut unused = SeededRng::new(first.seed);
    Trainer::new(options, observer).run(
        &mut state,
        &mut unused,
        |state, step| state.step(step.index, &mut |_| {}),
        None,
    )?;
    Ok(state.into_trained())
}

#[cfg(test)]
mod tests;
