//! What one training step reads and changes ([`SaeState`]), what stays fixed for the run
//! ([`Plan`]), and the step itself ([`SaeState::step`]), in the order of the module doc of
//! [`crate::train`].

use genlab_core::train::{Blobs, Metrics, SeededRng, Stateful};
use genlab_core::{Error, Result};

use super::{Arch, TrainConfig, Trained};
use crate::acts::{ActivationSource, Position};
use crate::adam::Adam;
use crate::aux::DeadTracker;
use crate::batchtopk::Threshold;
use crate::decoder_norm::{normalise_rows, remove_parallel_gradient};
use crate::free_decoder;
use crate::init::init_sae;
use crate::loss::{AuxInput, Objective, Selection, loss_and_grads_timed};
use crate::matryoshka::Groups;
use crate::normalise::{Normalise, fold, scale, scale_factor};
use crate::ortsae::{Ortho, partition};
use crate::phase::{Laps, Phase};
use crate::relu::L0Controller;
use crate::sae::{Activation, Sae};

/// The settings a step reads, derived once from the [`TrainConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    arch: Arch,
    k: usize,
    batch: usize,
    groups: Groups,
    ortho: Option<Ortho>,
    k_aux: usize,
    aux_alpha: f32,
    aux_normalised: bool,
    clip: f32,
    controller: Option<L0Controller>,
    free_decoder: bool,
}

impl Plan {
    /// The plan of `config` on `d`-dimensional activations.
    pub fn new(config: &TrainConfig, d: usize) -> Result<Plan> {
        let m = config.width;
        Ok(Plan {
            arch: config.arch,
            k: config.k,
            batch: config.batch,
            groups: match config.arch {
                Arch::Matryoshka => Groups::from_fractions(m, &config.matryoshka_fractions)?,
                _ => Groups::single(m),
            },
            ortho: (config.arch == Arch::OrtSae).then_some(Ortho {
                gamma: config.ortho_gamma,
                chunk: config.ortho_chunk,
                reduce: config.ortho_reduce,
            }),
            k_aux: config.k_aux.unwrap_or((d / 2).max(1)).min(m),
            aux_alpha: config.aux_alpha,
            aux_normalised: config.aux_normalised,
            clip: config.clip,
            controller: (config.arch == Arch::Relu && config.l0_control).then_some(L0Controller {
                target: config.k as f64,
                rate: 0.02,
            }),
            free_decoder: config.decoder_init_norm.is_some(),
        })
    }
}

/// Everything a step changes, all of it checkpointed: the SAE, Adam, the dead-latent counters,
/// the BatchTopK threshold θ, ReLU's λ, and the activation source (through its position).
pub struct SaeState<'s> {
    sae: Sae,
    adam: Adam,
    dead: DeadTracker,
    threshold: Threshold,
    lambda: f32,
    /// The activation normalisation factor s (1 without normalisation; see [`crate::normalise`]).
    norm_scale: f32,
    source: &'s mut dyn ActivationSource,
    /// The batch of the current step; the first one also initialised the SAE.
    batch: Vec<f32>,
}

impl<'s> SaeState<'s> {
    /// A fresh SAE initialised on the first batch of `source` (drawing from `init_rng`), with
    /// zero Adam moments, no dead latents, θ unset and λ at `config.l1`.
    pub fn new(
        source: &'s mut dyn ActivationSource,
        config: &TrainConfig,
        init_rng: &mut SeededRng,
    ) -> Result<SaeState<'s>> {
        let (d, m) = (source.dim(), config.width);
        let mut batch = Vec::with_capacity(config.batch * d);
        source.next_batch(config.batch, &mut batch)?;
        let norm_scale = match config.normalise {
            Normalise::None => 1.0,
            Normalise::ExpectedAverageOnlyIn => scale_factor(&batch, d),
        };
        scale(&mut batch, norm_scale);
        let mut sae = init_sae(d, m, &batch, config.bias_init, Activation::Relu, init_rng);
        if let Some(n) = config.decoder_init_norm {
            free_decoder::init(&mut sae, n);
        }
        Ok(SaeState {
            sae,
            adam: Adam::new(&[m * d, m, m * d, d]),
            dead: DeadTracker::new(m, config.dead_after_tokens),
            threshold: Threshold::new(
                config.threshold_beta,
                config.threshold_start.min(config.steps / 2),
            ),
            lambda: config.l1,
            norm_scale,
            source,
            batch,
        })
    }

    /// The SAE being trained.
    pub fn sae(&self) -> &Sae {
        &self.sae
    }

    /// One training step (0-based `index`, learning rate `lr`; `rng` draws OrtSAE's partition),
    /// reporting the end of each [`Phase`] to `laps`. Returns the loss, the batch FVU, the mean
    /// L0 and the dead fraction.
    pub fn step(
        &mut self,
        plan: &Plan,
        index: u64,
        lr: f64,
        rng: &mut SeededRng,
        laps: Laps,
    ) -> Result<Metrics> {
        let (d, m) = (self.sae.d, self.sae.m);
        if index > 0 {
            self.source.next_batch(plan.batch, &mut self.batch)?;
            scale(&mut self.batch, self.norm_scale);
        }
        laps(Phase::Batch);
        let selection = match plan.arch {
            Arch::Relu => Selection::Relu { l1: self.lambda },
            Arch::TopK => Selection::TopK { k: plan.k },
            _ => Selection::BatchTopK { k: plan.k },
        };
        let dead_mask = self.dead.dead();
        let chunks = plan.ortho.map(|o| partition(m, o.chunk, rng));
        laps(Phase::Partition);
        let objective = Objective {
            selection,
            groups: &plan.groups,
            aux: (plan.aux_alpha > 0.0).then_some(AuxInput {
                dead: &dead_mask,
                k_aux: plan.k_aux,
                alpha: plan.aux_alpha,
                residual: None,
                normalised: plan.aux_normalised,
            }),
            ortho: plan.ortho.zip(chunks.as_deref()),
        };
        let effective = plan
            .free_decoder
            .then(|| free_decoder::effective(&self.sae));
        let on = effective.as_ref().unwrap_or(&self.sae);
        let mut st = loss_and_grads_timed(on, &self.batch, &objective, laps);
        if plan.free_decoder {
            free_decoder::pull_back(&self.sae, &mut st.grads);
        } else {
            remove_parallel_gradient(&self.sae.w_dec, &mut st.grads.w_dec, d);
        }
        laps(Phase::ParallelRemoval);
        let (s, g) = (&mut self.sae, &mut st.grads);
        self.adam.step(
            &mut [&mut s.w_enc, &mut s.b_enc, &mut s.w_dec, &mut s.b_dec],
            &mut [&mut g.w_enc, &mut g.b_enc, &mut g.w_dec, &mut g.b_dec],
            lr as f32,
            plan.clip,
        );
        laps(Phase::Adam);
        if !plan.free_decoder {
            normalise_rows(&mut self.sae.w_dec, d);
        }
        laps(Phase::Renormalise);
        self.dead.update(&st.codes);
        if plan.arch.batch_family() {
            self.threshold.update(index, &st.codes);
        }
        let l0 = st.codes.mean_l0();
        if let Some(controller) = plan.controller {
            self.lambda = controller.next(self.lambda as f64, l0) as f32;
        }
        laps(Phase::Counters);
        Ok(vec![
            ("loss", st.loss.total),
            (
                "batch_fvu",
                st.loss.mse / st.loss.var.max(f64::MIN_POSITIVE),
            ),
            ("l0", l0),
            ("dead_fraction", self.dead.dead_fraction()),
        ])
    }

    /// The trained SAE with its inference activation, the history and the final λ.
    pub fn into_trained(
        self,
        config: &TrainConfig,
        history: genlab_core::train::History,
    ) -> Trained {
        let mut sae = match config.decoder_init_norm {
            Some(_) => free_decoder::effective(&self.sae),
            None => self.sae,
        };
        sae.activation = config.inference_activation(self.threshold.value());
        fold(&mut sae, self.norm_scale);
        Trained {
            sae,
            history,
            final_l1: self.lambda,
        }
    }
}

impl Stateful for SaeState<'_> {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        for (name, values) in self.parameters() {
            blobs.put_f32s(name, values)?;
        }
        self.adam.save(blobs)?;
        blobs.put_json("dead_latents", &self.dead)?;
        blobs.put_json("threshold", &self.threshold)?;
        blobs.put_f32s("l1_lambda", &[self.lambda])?;
        blobs.put_f32s("norm_scale", &[self.norm_scale])?;
        blobs.put_json("data_cursor", &self.source.position())
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        let s = &mut self.sae;
        for (name, values) in [
            ("sae.w_enc", &mut s.w_enc),
            ("sae.b_enc", &mut s.b_enc),
            ("sae.w_dec", &mut s.w_dec),
            ("sae.b_dec", &mut s.b_dec),
        ] {
            restore_f32s(blobs, name, values)?;
        }
        self.adam.load(blobs)?;
        let dead: DeadTracker = blobs.get_json("dead_latents")?;
        if dead.dead().len() != self.sae.m {
            return Err(mismatch("dead_latents"));
        }
        self.dead = dead;
        self.threshold = blobs.get_json("threshold")?;
        let mut lambda = vec![0.0];
        restore_f32s(blobs, "l1_lambda", &mut lambda)?;
        self.lambda = lambda[0];
        let mut norm_scale = vec![1.0];
        restore_f32s(blobs, "norm_scale", &mut norm_scale)?;
        self.norm_scale = norm_scale[0];
        let position: Position = blobs.get_json("data_cursor")?;
        self.source.seek(&position)
    }
}

impl SaeState<'_> {
    fn parameters(&self) -> [(&'static str, &[f32]); 4] {
        let s = &self.sae;
        [
            ("sae.w_enc", &s.w_enc),
            ("sae.b_enc", &s.b_enc),
            ("sae.w_dec", &s.w_dec),
            ("sae.b_dec", &s.b_dec),
        ]
    }
}

/// Reads the f32 record `name` into `dst`, which it must fill exactly.
pub fn restore_f32s(blobs: &Blobs, name: &str, dst: &mut [f32]) -> Result<()> {
    let values = blobs.get_f32s(name)?;
    if values.len() != dst.len() {
        return Err(mismatch(name));
    }
    dst.copy_from_slice(&values);
    Ok(())
}

fn mismatch(name: &str) -> Error {
    Error::InvalidInput(format!(
        "checkpoint record `{name}` does not fit this SAE (another width or input size)"
    ))
}
