//! Training a conditional GAN through the core [`Trainer`]: the state is the pair
//! `(Learner<Discriminator>, Learner<Generator>)`, and one trainer step is
//!
//! ```text
//! draw a real batch (x_i, y_i), i = 1..B, with replacement; z_i ~ N(0, I)
//! D step:  minimise L_D(head) on (x, y) and sg G(z, y)        (same labels for both halves)
//! G step:  fresh z';  minimise L_G(head) on G(z', y) (and x, y for SONA's BT-C)
//! ```
//!
//! Adam with β = (0.5, 0.999) for both players at one constant learning rate. Points are
//! standardised per column for training (a constant column keeps scale 1) and mapped back when
//! sampling. Checkpoints, exact resume and the NaN guard are the trainer's.

use std::path::Path;

use burn::optim::AdamConfig;
use burn::tensor::Device;
use genlab_core::data::Points;
use genlab_core::train::{
    CHECKPOINT_FILE, History, Learner, Observer, SeededRng, TrainOptions, Trainer,
};
use genlab_core::{Result, device, tensor, weights};
use serde::{Deserialize, Serialize};

use crate::error::GanError;
use crate::heads::{self, Batch, Head};
use crate::net::{Discriminator, Generator, NetSpec, onehot};

/// Everything that determines a training run (stored in checkpoints and the model directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanConfig {
    /// The discriminator head.
    pub head: Head,
    /// Trainer steps (one D and one G update each).
    pub steps: u64,
    /// Real (and generated) examples per step.
    pub batch: usize,
    /// Adam learning rate of both players.
    pub lr: f64,
    /// Hidden width of both networks.
    pub width: usize,
    /// Latent dimension.
    pub z_dim: usize,
    /// Seed of initialisation, batches and noise.
    pub seed: u64,
    /// Checkpoint every this many steps when a run directory is given (0: only at the end).
    pub checkpoint_every: u64,
}

impl GanConfig {
    /// Defaults for 2-D points: width 128, batch 128, 3000 steps at lr 10⁻³.
    pub fn new(head: Head) -> Self {
        GanConfig {
            head,
            steps: 3000,
            batch: 128,
            lr: 1e-3,
            width: 128,
            z_dim: 8,
            seed: 0,
            checkpoint_every: 500,
        }
    }

    /// Rejects settings that cannot train.
    pub fn validate(&self) -> std::result::Result<(), GanError> {
        let bad = |m: &str| Err(GanError::BadConfig(m.into()));
        if self.steps == 0 || self.batch < 2 {
            return bad("--steps must be at least 1 and --batch at least 2");
        }
        if self.width == 0 || self.z_dim == 0 {
            return bad("--width and --z-dim must be at least 1");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("--lr must be a positive number");
        }
        // The hidden layers' weights and a batch of activations.
        let sizes = [
            ("--width × --width", [self.width, self.width]),
            ("--batch × --width", [self.batch, self.width]),
        ];
        for (what, dims) in sizes {
            genlab_core::limits::elements(what, &dims)
                .map_err(|e| GanError::BadConfig(e.to_string()))?;
        }
        Ok(())
    }
}

/// What `sample` needs besides the generator's weights (the model directory's `model.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The networks' shape.
    pub net: NetSpec,
    /// Column means of the training data.
    pub mean: Vec<f32>,
    /// Column scales of the training data.
    pub scale: Vec<f32>,
    /// The run's configuration.
    pub config: GanConfig,
}

/// A trained generator, ready to sample.
#[derive(Debug)]
pub struct GanModel {
    /// Shape, normalisation and configuration.
    pub spec: ModelSpec,
    /// The generator (no autodiff).
    pub generator: Generator,
}

/// A finished run.
#[derive(Debug)]
pub struct Trained {
    /// The model.
    pub model: GanModel,
    /// d_loss and g_loss every 10 steps.
    pub history: History,
}

/// Checks a labelled data set and returns its labels and class count.
fn labelled(data: &Points) -> std::result::Result<(&[u32], usize), GanError> {
    let labels = data.labels.as_deref().ok_or_else(|| {
        GanError::BadData(
            "the data has no class labels: a conditional GAN needs a `label` or `class` column"
                .into(),
        )
    })?;
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    if data.len() < 2 || classes < 2 {
        return Err(GanError::BadData(format!(
            "need at least 2 points and 2 classes (got {} points, {classes} class(es))",
            data.len()
        )));
    }
    Ok((labels, classes))
}

/// Column means and scales (standard deviations; 1 for a constant column).
fn standardiser(data: &Points) -> (Vec<f32>, Vec<f32>) {
    let (mean, std) = data.column_stats();
    let scale = std
        .iter()
        .map(|&s| if s > 1e-6 { s as f32 } else { 1.0 })
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), scale)
}

/// Trains `config.head` on the labelled `data`. With `dir`, checkpoints go to
/// `dir/checkpoint.bin` and `resume` continues from one.
pub fn train(
    data: &Points,
    config: &GanConfig,
    dir: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    config.validate()?;
    let (labels, classes) = labelled(data)?;
    let (mean, scale) = standardiser(data);
    let mut normalised = data.clone();
    for row in normalised.data.chunks_mut(data.d) {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean[j]) / scale[j];
        }
    }
    let net = NetSpec {
        dim: data.d,
        classes,
        z_dim: config.z_dim,
        width: config.width,
    };
    let device = device::train_device();
    let mut rng = SeededRng::new(config.seed);
    let d = Discriminator::init(&net, &mut rng, &device);
    let g = Generator::init(&net, &mut rng, &device);
    let adam = || AdamConfig::new().with_beta_1(0.5).with_beta_2(0.999).init();
    let mut players = (
        Learner::new("disc", d, adam()),
        Learner::new("gen", g, adam()),
    );
    let mut options = TrainOptions::constant(config.steps, config.lr)
        .with_meta(serde_json::json!({ "config": config, "n": data.len(), "d": data.d, "classes": classes }))
        .with_phase(format!("gan {}", config.head));
    if let Some(dir) = dir {
        options = options
            .with_checkpoint(dir.join(CHECKPOINT_FILE), config.checkpoint_every)
            .with_resume(resume);
    }
    let (head, batch, z_dim) = (config.head, config.batch, config.z_dim);
    let outcome = Trainer::new(options, observer).run(
        &mut players,
        &mut rng,
        |(d, g), s| {
            let idx = s.rng.indices(batch, normalised.len());
            let ys: Vec<u32> = idx.iter().map(|&i| labels[i]).collect();
            let real = tensor::rows_to_tensor(&normalised, &idx, &device);
            let y = onehot(&ys, classes, &device);
            let fake = g
                .model()
                .forward(s.rng.normal([batch, z_dim], &device), y.clone())
                .detach();
            let b = Batch {
                real: real.clone(),
                fake,
                labels: &ys,
                y: y.clone(),
            };
            let d_loss = d.step(heads::d_loss(head, d.model(), &b), s.lr, s.index)?;
            let fake = g
                .model()
                .forward(s.rng.normal([batch, z_dim], &device), y.clone());
            let b = Batch {
                real,
                fake,
                labels: &ys,
                y,
            };
            let g_loss = g.step(heads::g_loss(head, d.model(), &b), s.lr, s.index)?;
            Ok(vec![("d_loss", d_loss), ("g_loss", g_loss)])
        },
        None,
    )?;
    let (_, g) = players;
    let spec = ModelSpec {
        net,
        mean,
        scale,
        config: config.clone(),
    };
    Ok(Trained {
        model: GanModel {
            spec,
            generator: g.into_inference(),
        },
        history: outcome.history,
    })
}

impl GanModel {
    /// One sample per entry of `labels`, in data units, labelled.
    pub fn sample(
        &self,
        labels: &[u32],
        rng: &mut SeededRng,
    ) -> std::result::Result<Points, GanError> {
        let classes = self.spec.net.classes;
        if let Some(&class) = labels.iter().find(|&&c| c as usize >= classes) {
            return Err(GanError::UnknownClass { class, classes });
        }
        let device = self.device();
        let z = rng.normal([labels.len(), self.spec.net.z_dim], &device);
        let x = self.generator.forward(z, onehot(labels, classes, &device));
        let mut data = tensor::to_vec(x);
        let d = self.spec.net.dim;
        for row in data.chunks_mut(d) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = *v * self.spec.scale[j] + self.spec.mean[j];
            }
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(GanError::BadConfig(
                "the generator produced non-finite values: it diverged (retrain with a lower --lr)"
                    .into(),
            ));
        }
        Ok(Points {
            d,
            data,
            labels: Some(labels.to_vec()),
        })
    }

    /// `per_class` samples of every class, class by class.
    pub fn sample_balanced(
        &self,
        per_class: usize,
        rng: &mut SeededRng,
    ) -> std::result::Result<Points, GanError> {
        let labels: Vec<u32> = (0..self.spec.net.classes as u32)
            .flat_map(|c| std::iter::repeat_n(c, per_class))
            .collect();
        self.sample(&labels, rng)
    }

    fn device(&self) -> Device {
        device::device()
    }

    /// Writes the model directory (`model.json` + `weights.bpk`).
    pub fn save(&self, dir: &Path) -> Result<()> {
        weights::save_model(dir, &self.spec, &self.generator)
    }

    /// Reads a model directory written by [`GanModel::save`].
    pub fn load(dir: &Path) -> Result<Self> {
        let device = device::device();
        let (spec, generator) = weights::load_model(dir, "gan", |s: &ModelSpec| {
            Generator::init(&s.net, &mut SeededRng::new(0), &device)
        })?;
        Ok(GanModel { spec, generator })
    }
}

#[cfg(test)]
mod tests;
