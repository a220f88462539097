//! Stage A, the stand-in for a pretrained Stable Diffusion: the caption-conditioned decoder of
//! [`crate::decoder`] trained on generated scenes with 10% caption dropout, once per seed, and
//! cached.
//!
//! ```text
//! per step:  (x₀, caption) ~ scenes;  caption ← PAD…PAD with probability p_drop (CFG dropout)
//!            u ~ U(0, 1), ε ~ N(0, I);  L = mean w(u) (ε − ε_θ(x_u, u, enc(caption)))²  (see
//!            [`crate::diffusion`] for the weight)
//! ```
//!
//! The cache lives in `<cache>/slots-decoder/<key>/` (`model.json` + `weights.bpk`, each written
//! atomically, the spec last, so a half-written entry is retrained rather than read).

use std::path::{Path, PathBuf};

use burn::module::Module;
use genlab_core::train::{
    Learner, LrSchedule, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Result, device, weights};
use serde::{Deserialize, Serialize};

use crate::decoder::{Decoder, DecoderSpec, to_patches};
use crate::diffusion::{noisy, weighted_loss};
use crate::layers::Grad;
use crate::scene::{PAD, SceneConfig, Scenes, generate};

/// Stage A's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    /// The decoder's sizes.
    pub spec: DecoderSpec,
    /// The scenes it is trained on.
    pub scenes: SceneConfig,
    /// Training scenes (a fixed set drawn from the seed).
    pub n_scenes: usize,
    /// Batch size.
    pub batch: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Peak learning rate (warm-up + cosine).
    pub lr: f64,
    /// Caption dropout probability.
    pub cfg_drop: f64,
    /// Seed (scenes, initialisation, batches).
    pub seed: u64,
}

impl PretrainConfig {
    /// The standard decoder (the one `repro slots` and `genlab slots train` share, so the
    /// cache serves both): width 64, 2 blocks, 4000 scenes, batch 32, peak lr 2·10⁻³.
    pub const fn standard(seed: u64, steps: u64) -> PretrainConfig {
        let scenes = SceneConfig::DEFAULT;
        PretrainConfig {
            spec: DecoderSpec {
                size: scenes.size,
                width: 64,
                blocks: 2,
                caption_len: 4 * scenes.max_objects,
                vocab: crate::scene::VOCAB,
                target: crate::decoder::Target::V,
            },
            scenes,
            n_scenes: 4000,
            batch: 32,
            steps,
            lr: 2e-3,
            cfg_drop: 0.1,
            seed,
        }
    }

    /// The cache directory name of this configuration.
    pub fn key(&self) -> String {
        let s = &self.spec;
        let version = match s.target {
            crate::decoder::Target::Eps => "v1",
            crate::decoder::Target::V => "v1-vpred",
        };
        format!(
            "{version}-w{}-b{}-h{}-n{}-steps{}-batch{}-lr{}-seed{}",
            s.width,
            s.blocks,
            crate::decoder::HEADS,
            self.n_scenes,
            self.steps,
            self.batch,
            self.lr,
            self.seed
        )
    }
}

/// The decoder's training scenes for `config` (its seed's first stream).
pub fn training_scenes(config: &PretrainConfig) -> Scenes {
    generate(
        &config.scenes,
        config.n_scenes,
        &mut SeededRng::new(config.seed ^ 0xdec0),
    )
}

/// A trained decoder and how it was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecoderRecord {
    /// The configuration.
    pub config: PretrainConfig,
    /// Final training loss (mean of the last tenth of the run).
    pub final_loss: f64,
    /// Wall seconds the training took.
    pub seconds: f64,
}

/// The cache directory of `config` under `cache_dir`.
pub fn cache_path(cache_dir: &Path, config: &PretrainConfig) -> PathBuf {
    cache_dir.join("slots-decoder").join(config.key())
}

/// The cached decoder of `config`, or a freshly trained (and cached) one. Returns the decoder
/// (inference device), its record and whether it came from the cache.
pub fn load_or_train(
    cache_dir: &Path,
    config: &PretrainConfig,
    observer: &mut dyn Observer,
) -> Result<(Decoder, DecoderRecord, bool)> {
    let dir = cache_path(cache_dir, config);
    let dev = device::device();
    if dir.join(weights::MODEL_SPEC_FILE).exists() {
        let (record, decoder) =
            weights::load_model(&dir, "slots", |r: &DecoderRecord| r.config.spec.init(&dev))?;
        return Ok((decoder, record, true));
    }
    let started = std::time::Instant::now();
    let (decoder, final_loss) = train(config, observer)?;
    let record = DecoderRecord {
        config: *config,
        final_loss,
        seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::create_dir_all(&dir).map_err(|e| genlab_core::Error::io(&dir, e))?;
    weights::save_model(&dir, &record, &decoder)?;
    Ok((decoder, record, false))
}

/// Trains the decoder of `config`; returns it (inference device) and its final loss.
pub fn train(config: &PretrainConfig, observer: &mut dyn Observer) -> Result<(Decoder, f64)> {
    let scenes = training_scenes(config);
    let dev = device::train_device();
    seed_device(&dev, config.seed);
    let model = config.spec.init(&dev);
    let optim = genlab_core::ops::FusedAdamW::default().init();
    let mut learner = Learner::new("model", model, optim).with_clip(Some(1.0));
    let schedule = LrSchedule::WarmupCosine {
        peak: config.lr,
        min_lr: config.lr / 10.0,
        warmup: (config.steps / 20).max(1),
        total: config.steps,
    };
    let options = TrainOptions::new(config.steps, schedule)
        .with_phase(format!("decoder pre-training (seed {})", config.seed));
    let (size, l) = (config.scenes.size, config.scenes.caption_len());
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut SeededRng::new(config.seed),
        |m: &Decoder, rng, _| {
            let idx = rng.indices(config.batch, scenes.len());
            let batch = scenes.select(&idx);
            let mut captions = batch.captions.clone();
            let drop = rng.uniform_vec(config.batch);
            for (i, d) in drop.iter().enumerate() {
                if (*d as f64) < config.cfg_drop {
                    captions[i * l..(i + 1) * l].fill(PAD);
                }
            }
            denoising_loss(m, &batch.images, size, &captions, rng, &dev)
        },
        None,
    )?;
    let losses = outcome.history.losses();
    let tail = &losses[losses.len() - (losses.len() / 10).max(1)..];
    let final_loss = tail.iter().map(|l| l.1).sum::<f64>() / tail.len() as f64;
    Ok((learner.into_parts().0.valid(), final_loss))
}

/// L_dm of a batch of images with their captions.
pub fn denoising_loss(
    m: &Decoder,
    images: &[f32],
    size: usize,
    captions: &[u32],
    rng: &mut SeededRng,
    dev: &burn::tensor::Device,
) -> burn::tensor::Tensor<1> {
    let x0 = to_patches(images, size, dev);
    let [b, n, d] = x0.dims();
    let u = rng.uniform_vec(b);
    let eps = rng.normal([b, n, d], dev);
    let xu = noisy(x0, eps.clone(), &u);
    let context = m.text.forward(captions, dev);
    let pred = m.body.forward(xu, &u, context, &m.kvo, Grad::Flow);
    weighted_loss(eps, pred, &u)
}
