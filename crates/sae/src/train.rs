//! The training loop shared by every architecture.
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
//! Deviation from `dictionary_learning`: the schedule is genlab-core's warm-up + cosine decay
//! (theirs: warm-up, constant, optional linear decay).

use serde::{Deserialize, Serialize};

use genlab_core::train::{LrSchedule, Observer, SeededRng, check_finite};
use genlab_core::{Error, Result};

use crate::acts::ActivationSource;
use crate::adam::Adam;
use crate::aux::DeadTracker;
use crate::batchtopk::Threshold;
use crate::decoder_norm::{normalise_rows, remove_parallel_gradient};
use crate::init::{BiasInit, init_sae};
use crate::loss::{AuxInput, Objective, Selection, loss_and_grads};
use crate::matryoshka::Groups;
use crate::ortsae::{Ortho, Reduce, partition};
use crate::relu::L0Controller;
use crate::sae::{Activation, Sae};

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

    fn batch_family(self) -> bool {
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
    /// Warm-up steps.
    pub warmup: u64,
    /// Final lr as a fraction of the peak.
    pub min_lr_fraction: f64,
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
            warmup: 100,
            min_lr_fraction: 0.1,
            l1: 0.1,
            l0_control: true,
            matryoshka_fractions: vec![1.0 / 16.0, 1.0 / 16.0, 1.0 / 8.0, 1.0 / 4.0, 1.0 / 2.0],
            ortho_gamma: 0.25,
            ortho_chunk: 128,
            ortho_reduce: Reduce::Max,
            aux_alpha: 1.0 / 32.0,
            k_aux: None,
            dead_after_tokens: 10_000_000,
            threshold_beta: 0.999,
            threshold_start: 1000,
            bias_init: BiasInit::GeometricMedian,
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

    /// Refuses settings that cannot train.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.width == 0 || self.batch == 0 || self.steps == 0 {
            return bad("width, batch and steps must be at least 1".into());
        }
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
        if self.arch == Arch::Matryoshka {
            Groups::from_fractions(self.width, &self.matryoshka_fractions)?;
        }
        Ok(())
    }
}

/// A trained SAE and its training curve.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The SAE (with its inference activation set).
    pub sae: Sae,
    /// `(step, loss, batch FVU, L0, dead fraction)` at each report.
    pub history: Vec<(u64, f64, f64, f64, f64)>,
    /// ReLU: the final λ.
    pub final_l1: f32,
}

/// Trains an SAE on `source` with `config`.
pub fn train(
    source: &mut dyn ActivationSource,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    config.validate()?;
    let (d, m, batch) = (source.dim(), config.width, config.batch);
    let mut rng = SeededRng::new(config.seed);
    let mut init_rng = rng.fork();
    let mut ortho_rng = rng.fork();
    let mut x = Vec::with_capacity(batch * d);
    source.next_batch(batch, &mut x)?;
    let mut sae = init_sae(d, m, &x, config.bias_init, Activation::Relu, &mut init_rng);
    let groups = match config.arch {
        Arch::Matryoshka => Groups::from_fractions(m, &config.matryoshka_fractions)?,
        _ => Groups::single(m),
    };
    let ortho = (config.arch == Arch::OrtSae).then_some(Ortho {
        gamma: config.ortho_gamma,
        chunk: config.ortho_chunk,
        reduce: config.ortho_reduce,
    });
    let k_aux = config.k_aux.unwrap_or((d / 2).max(1)).min(m);
    let schedule = LrSchedule::WarmupCosine {
        peak: config.peak_lr(),
        min_lr: config.peak_lr() * config.min_lr_fraction,
        warmup: config.warmup.min(config.steps / 2),
        total: config.steps,
    };
    let controller = L0Controller {
        target: config.k as f64,
        rate: 0.02,
    };
    let mut adam = Adam::new(&[m * d, m, m * d, d]);
    let mut dead = DeadTracker::new(m, config.dead_after_tokens);
    let mut threshold = Threshold::new(
        config.threshold_beta,
        config.threshold_start.min(config.steps / 2),
    );
    let mut lambda = config.l1;
    let mut history = Vec::new();
    observer.start(&format!("train {}", config.arch.name()), config.steps);
    for step in 0..config.steps {
        if step > 0 {
            source.next_batch(batch, &mut x)?;
        }
        if observer.should_stop() {
            return Err(Error::Interrupted {
                step,
                checkpoint: None,
            });
        }
        let selection = match config.arch {
            Arch::Relu => Selection::Relu { l1: lambda },
            Arch::TopK => Selection::TopK { k: config.k },
            _ => Selection::BatchTopK { k: config.k },
        };
        let dead_mask = dead.dead();
        let chunks = ortho.map(|o| partition(m, o.chunk, &mut ortho_rng));
        let objective = Objective {
            selection,
            groups: &groups,
            aux: (config.aux_alpha > 0.0).then_some(AuxInput {
                dead: &dead_mask,
                k_aux,
                alpha: config.aux_alpha,
                residual: None,
            }),
            ortho: ortho.zip(chunks.as_deref()),
        };
        let mut st = loss_and_grads(&sae, &x, &objective);
        check_finite(step, "loss", st.loss.total)?;
        remove_parallel_gradient(&sae.w_dec, &mut st.grads.w_dec, d);
        let g = &mut st.grads;
        adam.step(
            &mut [
                &mut sae.w_enc,
                &mut sae.b_enc,
                &mut sae.w_dec,
                &mut sae.b_dec,
            ],
            &mut [&mut g.w_enc, &mut g.b_enc, &mut g.w_dec, &mut g.b_dec],
            schedule.lr(step) as f32,
            config.clip,
        );
        normalise_rows(&mut sae.w_dec, d);
        dead.update(&st.codes);
        if config.arch.batch_family() {
            threshold.update(step, &st.codes);
        }
        let l0 = st.codes.mean_l0();
        if config.arch == Arch::Relu && config.l0_control {
            lambda = controller.next(lambda as f64, l0) as f32;
        }
        if (step + 1) % config.log_every.max(1) == 0 || step + 1 == config.steps {
            let fvu = st.loss.mse / st.loss.var.max(f64::MIN_POSITIVE);
            let dead_frac = dead.dead_fraction();
            history.push((step + 1, st.loss.total, fvu, l0, dead_frac));
            observer.step(
                step + 1,
                &[
                    ("loss", st.loss.total),
                    ("fvu", fvu),
                    ("l0", l0),
                    ("dead", dead_frac),
                ],
            );
        }
    }
    observer.finish();
    sae.activation = match config.arch {
        Arch::Relu => Activation::Relu,
        Arch::TopK => Activation::TopK { k: config.k },
        _ => Activation::JumpRelu {
            threshold: threshold.value(),
        },
    };
    Ok(Trained {
        sae,
        history,
        final_l1: lambda,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acts::InMemory;
    use crate::linalg::dot;
    use genlab_core::train::NoObserver;

    /// Inputs that are exactly sparse in a 6-atom orthonormal dictionary of R^8.
    fn sparse_data(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SeededRng::new(seed);
        let u = rng.uniform_vec(n * 2);
        let mut x = vec![0.0f32; n * 8];
        for b in 0..n {
            let atom = (u[2 * b] * 6.0) as usize % 6;
            x[b * 8 + atom] = 1.0 + u[2 * b + 1];
        }
        x
    }

    fn config(arch: Arch) -> TrainConfig {
        TrainConfig {
            arch,
            width: 12,
            k: 1,
            steps: 300,
            batch: 64,
            lr: Some(1e-2),
            warmup: 10,
            dead_after_tokens: 2000,
            threshold_start: 100,
            ortho_chunk: 6,
            matryoshka_fractions: vec![0.5, 0.5],
            log_every: 100,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn every_architecture_learns_a_one_sparse_dictionary_with_unit_rows() {
        for arch in [
            Arch::Relu,
            Arch::TopK,
            Arch::BatchTopK,
            Arch::Matryoshka,
            Arch::OrtSae,
        ] {
            let mut src = InMemory::new(8, sparse_data(2000, 1), 2).unwrap();
            // ReLU + L1 cannot reach L0 = 1 without heavy shrinkage; give its controller room.
            let mut c = config(arch);
            if arch == Arch::Relu {
                c.k = 2;
            }
            let t = train(&mut src, &c, &mut NoObserver).unwrap();
            let (_, _, fvu, _, _) = *t.history.last().unwrap();
            let first_fvu = t.history[0].2;
            assert!(
                fvu < 0.2 && fvu < first_fvu,
                "{arch:?}: batch FVU {first_fvu} → {fvu} {:?} λ={}",
                t.history,
                t.final_l1
            );
            for j in 0..t.sae.m {
                let r = t.sae.dec_row(j);
                assert!((dot(r, r) - 1.0).abs() < 1e-4, "{arch:?}: row {j} not unit");
            }
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let run = || {
            let mut src = InMemory::new(8, sparse_data(500, 3), 4).unwrap();
            let mut c = config(Arch::OrtSae);
            c.steps = 30;
            train(&mut src, &c, &mut NoObserver).unwrap().sae
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn batchtopk_gets_an_inference_threshold() {
        let mut src = InMemory::new(8, sparse_data(2000, 5), 6).unwrap();
        let t = train(&mut src, &config(Arch::BatchTopK), &mut NoObserver).unwrap();
        match t.sae.activation {
            Activation::JumpRelu { threshold } => assert!(threshold > 0.0),
            a => panic!("{a:?}"),
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut src = InMemory::new(8, sparse_data(10, 1), 1).unwrap();
        let mut c = config(Arch::TopK);
        c.k = 0;
        assert!(train(&mut src, &c, &mut NoObserver).is_err());
        c.k = 13;
        assert!(train(&mut src, &c, &mut NoObserver).is_err());
    }
}
