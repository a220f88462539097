//! Training the denoiser with label dropout (one network gives p_c and, with the null class,
//! p_u). Each sequence gets a time t (stratified over the batch), each token is masked with
//! probability 1 − α_t, and the loss is the cross-entropy of the clean token at the masked
//! positions, averaged over masked tokens:
//!
//! ```text
//! L = − Σ_{i, ℓ masked} log p_θ(x₀^{iℓ} | x_t^i, c̃^i) / #masked,   c̃ = ∅ with probability p_uncond
//! ```
//!
//! The continuous-time NELBO weights the same per-token terms by −α'_t/(1 − α_t) (1/t here); any
//! positive weighting has the same minimiser — the true posterior marginals, which are all the
//! samplers use — and the per-token average has far lower variance at small t, so we use it
//! (MaskGIT's objective).

use std::path::Path;

use burn::optim::AdamConfig;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};
use genlab_core::train::{
    History, Learner, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Error, Result, device, limits};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::model::{ModelSpec, TokenMlp, TokenModel};
use crate::noise::NoiseSchedule;
use crate::tokens::TokenData;

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimisation steps.
    pub steps: u64,
    /// Sequences per minibatch.
    pub batch: usize,
    /// Peak learning rate of the warm-up/cosine schedule.
    pub lr: f64,
    /// Hidden width of the MLP.
    pub width: usize,
    /// Number of linear layers.
    pub depth: usize,
    /// Probability of replacing the class by the null class.
    pub p_uncond: f64,
    /// The forward (masking) process α_t.
    pub noise: NoiseSchedule,
    /// Seed of the initialisation, minibatches, times and masks.
    pub seed: u64,
}

impl TrainConfig {
    /// The defaults of `genlab guidance train`.
    pub const DEFAULT: TrainConfig = TrainConfig {
        steps: 3000,
        batch: 128,
        lr: 2e-3,
        width: 384,
        depth: 3,
        p_uncond: 0.1,
        noise: NoiseSchedule::DEFAULT,
        seed: 0,
    };
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig::DEFAULT
    }
}

/// One masked batch: network input, clean targets and the mask.
pub(crate) struct MaskedBatch {
    tokens: Vec<u32>,
    classes: Vec<u32>,
    targets: Vec<i64>,
    masked: Vec<f32>,
}

pub(crate) fn masked_batch(
    data: &TokenData,
    config: &TrainConfig,
    rng: &mut SeededRng,
) -> MaskedBatch {
    let (d, v) = (data.seq_len, data.vocab as u32);
    let idx = rng.indices(config.batch, data.len());
    let n = idx.len();
    let mut b = MaskedBatch {
        tokens: Vec::with_capacity(n * d),
        classes: Vec::with_capacity(n),
        targets: Vec::with_capacity(n * d),
        masked: Vec::with_capacity(n * d),
    };
    let r = rng.rng();
    for (k, &i) in idx.iter().enumerate() {
        let t = (k as f64 + r.random::<f64>()) / n as f64;
        let p_mask = 1.0 - config.noise.alpha(t);
        for &x in data.row(i) {
            let m = r.random::<f64>() < p_mask;
            b.tokens.push(if m { v } else { x });
            b.targets.push(x as i64);
            b.masked.push(if m { 1.0 } else { 0.0 });
        }
        let null = r.random::<f64>() < config.p_uncond;
        b.classes.push(if null {
            data.classes as u32
        } else {
            data.labels[i]
        });
    }
    b
}

/// The loss of the module doc on one batch.
pub(crate) fn loss(net: &TokenMlp, spec: &ModelSpec, b: &MaskedBatch) -> Tensor<1> {
    let device = device::train_device();
    let (n, d) = (b.classes.len(), spec.seq_len);
    let logp = log_softmax(net.logits(spec.encode(&b.tokens, &b.classes, &device)), 2);
    let targets =
        Tensor::<3, Int>::from_data(TensorData::new(b.targets.clone(), [n, d, 1]), &device);
    let picked = logp.gather(2, targets).reshape([n, d]);
    let count = b.masked.iter().sum::<f32>().max(1.0);
    let mask = Tensor::<2>::from_data(TensorData::new(b.masked.clone(), [n, d]), &device);
    (picked * mask).sum().neg() / count
}

/// Trains a denoiser on `data` with the loss of the module doc: Adam, a warm-up then cosine
/// learning rate, gradient norm clipped to 1. With `checkpoint`, the run is saved there every
/// 500 steps, at the end and when the observer asks to stop; `resume` continues from it.
/// Returns the model and the loss history (every 50 steps).
pub fn train(
    data: &TokenData,
    config: &TrainConfig,
    checkpoint: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(TokenModel, History)> {
    if data.is_empty() || config.batch == 0 || config.steps == 0 {
        return Err(Error::InvalidInput(
            "training needs data, batch ≥ 1 and steps ≥ 1".into(),
        ));
    }
    if !(config.lr > 0.0 && config.lr.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "the learning rate must be a positive number, got {}",
            config.lr
        )));
    }
    if !(0.0..1.0).contains(&config.p_uncond) {
        return Err(Error::InvalidInput(format!(
            "p_uncond must be in [0, 1), got {}",
            config.p_uncond
        )));
    }
    let spec = ModelSpec {
        seq_len: data.seq_len,
        vocab: data.vocab,
        classes: data.classes,
        width: config.width,
        depth: config.depth,
        noise: config.noise,
        training: serde_json::Value::Null,
    };
    spec.check_shape()?;
    config.noise.validate()?;
    limits::elements("--batch × input width", &[config.batch, spec.input_width()])?;
    spec.validate(&data.tokens, &data.labels)?;
    let device = device::train_device();
    seed_device(&device, config.seed);
    let meta = serde_json::to_value(config).expect("config serialises");
    let mut options = TrainOptions::warmup_cosine(config.steps, config.lr)
        .with_log_every(50)
        .with_resume(resume)
        .with_meta(meta.clone())
        .with_phase("train masked-diffusion denoiser");
    if let Some(path) = checkpoint {
        options = options.with_checkpoint(path, 500);
    }
    let mut learner =
        Learner::new("model", spec.init(&device), AdamConfig::new().init()).with_clip(Some(1.0));
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut SeededRng::new(config.seed),
        |net, rng, _| loss(net, &spec, &masked_batch(data, config, rng)),
        None,
    )?;
    let final_loss = outcome.history.losses().last().map_or(f64::NAN, |l| l.1);
    let spec = ModelSpec {
        training: serde_json::json!({ "config": meta, "final_loss": final_loss, "sequences": data.len() }),
        ..spec
    };
    let net = learner.into_inference();
    Ok((TokenModel { spec, net }, outcome.history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guidance::Rule;
    use crate::sampler::{Denoiser, SampleConfig, Sampler, sample};
    use crate::schedule::GuidanceSchedule;
    use burn::module::{Module, ModuleMapper, Param};
    use genlab_core::testing::scratch;
    use genlab_core::train::NoObserver;
    use genlab_core::train::testing::{StopAt, assert_same_weights, weights};
    use rand::SeedableRng;

    /// Two classes of length-4 sequences over V = 3: class 0 is all 0s or all 1s, class 1 is
    /// all 2s. A trained model must learn p(x₀ | fully masked, c) and the copy structure.
    fn toy() -> TokenData {
        let mut text = String::new();
        for i in 0..60 {
            text.push_str(&format!("0: {0} {0} {0} {0}\n", i % 2));
            text.push_str("1: 2 2 2 2\n");
        }
        TokenData::parse(&text, Path::new("toy")).unwrap()
    }

    /// A small, fast configuration of `steps` steps.
    fn quick_config(steps: u64) -> TrainConfig {
        TrainConfig {
            steps,
            batch: 64,
            width: 64,
            depth: 2,
            lr: 1e-2,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn loss_value_on_a_uniform_model_is_log_vocab() {
        // A network with all weights zero predicts uniform: per-token loss = ln V.
        let data = toy();
        let config = quick_config(300);
        let spec = ModelSpec {
            seq_len: 4,
            vocab: 3,
            classes: 2,
            width: 8,
            depth: 2,
            noise: NoiseSchedule::default(),
            training: serde_json::Value::Null,
        };
        struct Zero;
        impl ModuleMapper for Zero {
            fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
                p.map(|t| t.zeros_like())
            }
        }
        let net = spec.init(&device::train_device()).map(&mut Zero);
        let mut rng = SeededRng::new(1);
        let value =
            genlab_core::tensor::to_vec(loss(&net, &spec, &masked_batch(&data, &config, &mut rng)))
                [0];
        assert!((value as f64 - 3f64.ln()).abs() < 1e-5, "{value}");
    }

    #[test]
    fn a_trained_toy_model_samples_its_classes() {
        let data = toy();
        let (model, history) =
            train(&data, &quick_config(300), None, false, &mut NoObserver).unwrap();
        let losses = history.losses();
        // Uniform guessing costs ln 3 = 1.10; the irreducible loss (class 0's first unmasked
        // token is a coin flip) is below 0.25.
        assert!(losses.last().unwrap().1 < 0.4, "{losses:?}");
        // Fully masked: class 1 → token 2 with high probability; class 0 → 0 or 1 evenly.
        let (pc, pu) = model.denoise(&[3, 3, 3, 3, 3, 3, 3, 3], &[1, 0]).unwrap();
        assert!(pc[2] > 0.9, "p(2 | ∅, c=1) = {}", pc[2]);
        assert!((pc[12] - 0.5).abs() < 0.2 && (pc[13] - 0.5).abs() < 0.2);
        assert!((pu[2] - 0.5).abs() < 0.2, "p_u(2) = {}", pu[2]);
        let config = SampleConfig {
            sampler: Sampler::Ancestral,
            rule: Rule::Normalized,
            schedule: GuidanceSchedule::Constant { w: 2.0 },
            // Enough steps that two positions rarely unmask together (they would be drawn
            // independently from 50/50 marginals).
            steps: 64,
            noise: model.spec.noise,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let s = sample(&model, &[0; 50], &config, &mut rng).unwrap();
        let consistent = s
            .tokens
            .chunks(4)
            .filter(|x| x.iter().all(|&t| t == x[0] && t < 2))
            .count();
        assert!(
            consistent >= 45,
            "{consistent}/50 class-0 samples are constant 0s or 1s"
        );
    }

    /// Exact resume: N steps straight == stopped at N/2, then resumed to N, weight for weight.
    #[test]
    fn resume_equals_uninterrupted() {
        let data = toy();
        let config = quick_config(120);
        let (straight, straight_history) =
            train(&data, &config, None, false, &mut NoObserver).unwrap();
        let (_dir, checkpoint) = scratch(genlab_core::train::CHECKPOINT_FILE);
        let mut stop = StopAt::new(60);
        let err = train(&data, &config, Some(&checkpoint), false, &mut stop).unwrap_err();
        assert!(matches!(err, Error::Interrupted { step: 60, .. }), "{err}");
        let (resumed, resumed_history) =
            train(&data, &config, Some(&checkpoint), true, &mut NoObserver).unwrap();
        assert_same_weights(&weights(&straight.net), &weights(&resumed.net), "guidance");
        assert_eq!(straight_history, resumed_history);
        // A changed configuration is never mixed into a resumed run.
        let other = TrainConfig { lr: 5e-3, ..config };
        let err = train(&data, &other, Some(&checkpoint), true, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("different configuration"), "{err}");
    }

    #[test]
    fn save_load_round_trip_gives_the_same_probabilities() {
        let data = toy();
        let config = quick_config(5);
        let (model, _) = train(&data, &config, None, false, &mut NoObserver).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let back = TokenModel::load(dir.path()).unwrap();
        let x = [3, 0, 3, 1];
        assert_eq!(
            model.denoise(&x, &[1]).unwrap(),
            back.denoise(&x, &[1]).unwrap()
        );
        assert!(back.denoise(&[9, 0, 0, 0], &[0]).is_err());
        assert!(back.denoise(&x, &[7]).is_err());
    }
}
