//! What stays fixed for a run ([`Plan`]), one SAE being trained ([`Member`]) with its step in
//! the order of the module doc of [`crate::train`], and the run ([`SaeState`]): one activation
//! stream feeding one SAE, or several (a sweep), each batch read once.

use genlab_core::train::{Blobs, History, LrSchedule, Metrics, SeededRng, Stateful};
use genlab_core::{Error, Result};

use super::{Arch, TrainConfig, Trained};
use crate::acts::{ActivationSource, Position};
use crate::adam::Adam;
use crate::aux::{AuxPick, DeadTracker};
use crate::batchtopk::Threshold;
use crate::decoder_norm::{normalise_rows, remove_parallel_gradient};
use crate::free_decoder;
use crate::init::init_sae;
use crate::loss::{AuxInput, Objective, Selection, loss_and_grads_timed};
use crate::matryoshka::Groups;
use crate::normalise::{MeanNorm, Normalise, fold, scale};
use crate::ortsae::{Ortho, partition};
use crate::phase::{Laps, Phase};
use crate::relu::L0Controller;
use crate::sae::{Activation, Sae};

/// The settings a step reads, derived once from the [`TrainConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    arch: Arch,
    k: usize,
    groups: Groups,
    ortho: Option<Ortho>,
    k_aux: usize,
    aux_alpha: f32,
    aux_normalised: bool,
    aux_pick: AuxPick,
    clip: f32,
    controller: Option<L0Controller>,
    free_decoder: bool,
    schedule: LrSchedule,
    log_every: u64,
    steps: u64,
}

impl Plan {
    /// The plan of `config` on `d`-dimensional activations.
    pub fn new(config: &TrainConfig, d: usize) -> Result<Plan> {
        let m = config.width;
        Ok(Plan {
            arch: config.arch,
            k: config.k,
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
            aux_pick: config.aux_pick,
            clip: config.clip,
            controller: (config.arch == Arch::Relu && config.l0_control).then_some(L0Controller {
                target: config.k as f64,
                rate: 0.02,
            }),
            free_decoder: config.decoder_init_norm.is_some(),
            schedule: config.schedule(),
            log_every: config.log_every.max(1),
            steps: config.steps,
        })
    }
}

/// One SAE being trained, all of it checkpointed: the SAE, Adam, the dead-latent counters, the
/// BatchTopK threshold θ, ReLU's λ, the normalisation factor, the OrtSAE partition stream and
/// its own training curve.
pub struct Member {
    config: TrainConfig,
    plan: Plan,
    sae: Sae,
    adam: Adam,
    dead: DeadTracker,
    threshold: Threshold,
    lambda: f32,
    /// The activation normalisation factor s (1 without normalisation; see [`crate::normalise`]).
    norm_scale: f32,
    /// OrtSAE's partitions are its only draws during training.
    rng: SeededRng,
    history: History,
    /// The batch times s (unused when s = 1).
    scaled: Vec<f32>,
}

impl Member {
    /// A fresh SAE of `config` initialised on `first` (the raw first batch, which it is
    /// trained on at step 0), with zero Adam moments, no dead latents, θ unset and λ at
    /// `config.l1`. The seed's stream is forked twice: the initialisation, then the partitions.
    pub fn new(config: &TrainConfig, d: usize, first: &[f32], norm_scale: f32) -> Result<Member> {
        let m = config.width;
        let plan = Plan::new(config, d)?;
        let mut rng = SeededRng::new(config.seed);
        let mut init_rng = rng.fork();
        let partition_rng = rng.fork();
        let mut batch = first.to_vec();
        scale(&mut batch, norm_scale);
        let sae = match &config.init_from {
            Some(dir) => start_from(dir, config, d)?,
            None => {
                let mut sae = init_sae(
                    d,
                    m,
                    &batch,
                    config.bias_init,
                    config.decoder_directions,
                    Activation::Relu,
                    &mut init_rng,
                );
                if let Some(n) = config.decoder_init_norm {
                    free_decoder::init(&mut sae, n);
                }
                sae
            }
        };
        Ok(Member {
            plan,
            sae,
            adam: Adam::new(&[m * d, m, m * d, d]),
            dead: DeadTracker::new(m, config.dead_after_tokens),
            threshold: Threshold::new(
                config.threshold_beta,
                config.threshold_start.min(config.steps / 2),
                config.threshold_from_zero,
            ),
            lambda: config.l1,
            norm_scale,
            rng: partition_rng,
            history: History::default(),
            scaled: Vec::new(),
            config: config.clone(),
        })
    }

    /// The SAE being trained (raw parameters).
    pub fn sae(&self) -> &Sae {
        &self.sae
    }

    /// One training step on the raw `batch` (0-based `index`), reporting the end of each
    /// [`Phase`] after the batch to `laps`. Returns the loss, the batch FVU, the mean L0 and the
    /// dead fraction, and records them every `log_every` steps.
    pub fn step(&mut self, index: u64, batch: &[f32], laps: Laps) -> Result<Metrics> {
        let (d, m) = (self.sae.d, self.sae.m);
        let plan = &self.plan;
        let lr = plan.schedule.lr(index);
        let x: &[f32] = if self.norm_scale == 1.0 {
            batch
        } else {
            self.scaled.clear();
            self.scaled.extend_from_slice(batch);
            scale(&mut self.scaled, self.norm_scale);
            &self.scaled
        };
        let selection = match plan.arch {
            Arch::Relu => Selection::Relu { l1: self.lambda },
            Arch::TopK => Selection::TopK { k: plan.k },
            _ => Selection::BatchTopK { k: plan.k },
        };
        let dead_mask = self.dead.dead();
        let chunks = plan.ortho.map(|o| partition(m, o.chunk, &mut self.rng));
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
                pick: plan.aux_pick,
            }),
            ortho: plan.ortho.zip(chunks.as_deref()),
        };
        let effective = plan
            .free_decoder
            .then(|| free_decoder::effective(&self.sae));
        let on = effective.as_ref().unwrap_or(&self.sae);
        let mut st = loss_and_grads_timed(on, x, &objective, laps);
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
        let metrics: Metrics = vec![
            ("loss", st.loss.total),
            (
                "batch_fvu",
                st.loss.mse / st.loss.var.max(f64::MIN_POSITIVE),
            ),
            ("l0", l0),
            ("dead_fraction", self.dead.dead_fraction()),
        ];
        let done = index + 1;
        if done.is_multiple_of(plan.log_every) || done == plan.steps {
            if self.history.names.is_empty() {
                self.history.names = metrics.iter().map(|(n, _)| n.to_string()).collect();
            }
            let values = metrics.iter().map(|(_, v)| *v).collect();
            self.history.rows.push((done, values));
        }
        Ok(metrics)
    }

    /// The trained SAE with its inference activation, its history and the final λ.
    pub fn into_trained(self) -> Trained {
        let mut sae = match self.config.decoder_init_norm {
            Some(_) => free_decoder::effective(&self.sae),
            None => self.sae,
        };
        sae.activation = self.config.inference_activation(self.threshold.value());
        fold(&mut sae, self.norm_scale);
        Trained {
            sae,
            history: self.history,
            final_l1: self.lambda,
        }
    }

    fn save(&self, blobs: &mut Blobs, prefix: &str) -> Result<()> {
        let s = &self.sae;
        for (name, values) in [
            ("sae.w_enc", &s.w_enc),
            ("sae.b_enc", &s.b_enc),
            ("sae.w_dec", &s.w_dec),
            ("sae.b_dec", &s.b_dec),
        ] {
            blobs.put_f32s(&format!("{prefix}{name}"), values)?;
        }
        self.adam.save_prefixed(blobs, prefix)?;
        blobs.put_json(&format!("{prefix}dead_latents"), &self.dead)?;
        blobs.put_json(&format!("{prefix}threshold"), &self.threshold)?;
        blobs.put_f32s(&format!("{prefix}l1_lambda"), &[self.lambda])?;
        blobs.put_f32s(&format!("{prefix}norm_scale"), &[self.norm_scale])?;
        blobs.put_json(&format!("{prefix}partition_rng"), &self.rng.state())?;
        blobs.put_json(&format!("{prefix}history"), &self.history)
    }

    fn load(&mut self, blobs: &Blobs, prefix: &str) -> Result<()> {
        let key = |name: &str| format!("{prefix}{name}");
        let s = &mut self.sae;
        for (name, values) in [
            ("sae.w_enc", &mut s.w_enc),
            ("sae.b_enc", &mut s.b_enc),
            ("sae.w_dec", &mut s.w_dec),
            ("sae.b_dec", &mut s.b_dec),
        ] {
            restore_f32s(blobs, &key(name), values)?;
        }
        self.adam.load_prefixed(blobs, prefix)?;
        let dead: DeadTracker = blobs.get_json(&key("dead_latents"))?;
        if dead.dead().len() != self.sae.m {
            return Err(mismatch("dead_latents"));
        }
        self.dead = dead;
        self.threshold = blobs.get_json(&key("threshold"))?;
        let mut lambda = vec![0.0];
        restore_f32s(blobs, &key("l1_lambda"), &mut lambda)?;
        self.lambda = lambda[0];
        let mut norm_scale = vec![1.0];
        restore_f32s(blobs, &key("norm_scale"), &mut norm_scale)?;
        self.norm_scale = norm_scale[0];
        self.rng = SeededRng::from_state(blobs.get_json(&key("partition_rng"))?);
        self.history = blobs.get_json(&key("history"))?;
        Ok(())
    }
}

/// The SAE saved in `dir` (SAELens layout) as the starting point of `config`'s run: its raw
/// weights as they are (free decoder rows keep their norms; unit-row training renormalises).
fn start_from(dir: &std::path::Path, config: &TrainConfig, d: usize) -> Result<Sae> {
    let (mut sae, _) = crate::saelens::load(dir)?;
    if sae.d != d || sae.m != config.width {
        return Err(Error::InvalidInput(format!(
            "the initial SAE in {} is d = {}, width {}; this run needs d = {d}, width {}",
            dir.display(),
            sae.d,
            sae.m,
            config.width
        )));
    }
    if config.decoder_init_norm.is_none() {
        normalise_rows(&mut sae.w_dec, d);
    }
    sae.activation = Activation::Relu;
    Ok(sae)
}

/// The factor s of `config`'s normalisation, estimated on the first `config.norm_batches`
/// batches of `source`, which is then moved back to where it was (so training reads the same
/// batches as without normalisation).
pub(crate) fn norm_scale(source: &mut dyn ActivationSource, config: &TrainConfig) -> Result<f32> {
    if config.normalise == Normalise::None {
        return Ok(1.0);
    }
    let start = source.position();
    let d = source.dim();
    let mut mean = MeanNorm::default();
    let mut buf = Vec::with_capacity(config.batch * d);
    for _ in 0..config.norm_batches.max(1) {
        source.next_batch(config.batch, &mut buf)?;
        mean.add(&buf, d);
    }
    source.seek(&start)?;
    Ok(mean.scale_factor(d))
}

/// A training run: one activation stream and the SAEs it feeds (one, or a sweep), with the
/// current batch and the stream's position, all checkpointed.
pub struct SaeState<'s> {
    members: Vec<Member>,
    source: &'s mut dyn ActivationSource,
    /// The batch of the current step; the first one also initialised the SAEs.
    batch: Vec<f32>,
}

impl<'s> SaeState<'s> {
    /// Fresh SAEs of `configs` (one or more, with equal batch, steps and seed) on `source`, each
    /// initialised on its first batch.
    pub fn new(
        source: &'s mut dyn ActivationSource,
        configs: &[TrainConfig],
    ) -> Result<SaeState<'s>> {
        let Some(first) = configs.first() else {
            return Err(Error::InvalidInput("no SAE to train".into()));
        };
        let d = source.dim();
        let mut scales = Vec::with_capacity(configs.len());
        for c in configs {
            c.validate()?;
            genlab_core::limits::elements("--width × activation width d", &[c.width, d])?;
            if (c.batch, c.steps, c.seed) != (first.batch, first.steps, first.seed) {
                return Err(Error::InvalidInput(
                    "SAEs trained from one stream need the same batch, steps and seed".into(),
                ));
            }
            scales.push(norm_scale(source, c)?);
        }
        let mut batch = Vec::with_capacity(first.batch * d);
        source.next_batch(first.batch, &mut batch)?;
        let members = configs
            .iter()
            .zip(scales)
            .map(|(c, s)| Member::new(c, d, &batch, s))
            .collect::<Result<Vec<_>>>()?;
        Ok(SaeState {
            members,
            source,
            batch,
        })
    }

    /// The SAEs being trained.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// One training step of every SAE on one batch (0-based `index`; step 0 uses the batch
    /// read at initialisation), reporting the end of each [`Phase`] to `laps`. With one SAE
    /// the metrics are its own; with several, the summed loss and the worst batch FVU.
    pub fn step(&mut self, index: u64, laps: Laps) -> Result<Metrics> {
        if index > 0 {
            let b = self.members[0].config.batch;
            self.source.next_batch(b, &mut self.batch)?;
        }
        laps(Phase::Batch);
        if self.members.len() == 1 {
            return self.members[0].step(index, &self.batch, laps);
        }
        let (mut loss, mut worst) = (0.0, 0.0f64);
        for member in self.members.iter_mut() {
            let metrics = member.step(index, &self.batch, laps)?;
            loss += metrics[0].1;
            worst = worst.max(metrics[1].1);
        }
        Ok(vec![("loss", loss), ("worst_batch_fvu", worst)])
    }

    /// The trained SAEs, in the order of the configurations.
    pub fn into_trained(self) -> Vec<Trained> {
        self.members.into_iter().map(Member::into_trained).collect()
    }

    fn prefix(&self, i: usize) -> String {
        if self.members.len() == 1 {
            String::new()
        } else {
            format!("m{i}.")
        }
    }
}

impl Stateful for SaeState<'_> {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        for (i, m) in self.members.iter().enumerate() {
            m.save(blobs, &self.prefix(i))?;
        }
        blobs.put_json("data_cursor", &self.source.position())
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        for i in 0..self.members.len() {
            let prefix = self.prefix(i);
            self.members[i].load(blobs, &prefix)?;
        }
        let position: Position = blobs.get_json("data_cursor")?;
        self.source.seek(&position)
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
