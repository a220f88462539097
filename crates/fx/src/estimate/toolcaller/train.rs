//! Teacher-forced training of the tool-caller.
//!
//! For a target sequence `y_0 … y_T` (`y_0 = <bos>`) the loss is the cross-entropy of the
//! grammar-restricted next-token distribution, averaged over the target tokens of the batch:
//!
//! ```text
//! L = − Σ_{i,t} log p̃_θ(y_{t+1}^i | y_≤t^i, audio^i) / Σ_i T_i,
//! p̃(y | ·) = softmax(logits + b_t)[y],   b_t[y] = 0 if the grammar allows y after y_≤t, −10⁴ else
//! ```
//!
//! — the distribution decoding chooses from ([`super::decode`]), so no capacity goes into
//! ruling out impossible tokens (forced tokens such as `<sep>` without plan cost nothing).
//!
//! **Number loss.** Cross-entropy treats a bin next to the true one like a far one. LLM2Fx-Tools
//! adds 0.3 × a Number Token Loss on digit tokens (`SonyResearch/LLM2Fx`,
//! `llm2fx-tools/llm4mp/models/llm/trainer.py`: `ce_loss + ntl * 0.3`). The analogue on bin
//! tokens is the Wasserstein-1 distance between the predicted bin distribution and the true
//! bin, in units of the parameter's range:
//!
//! ```text
//! L_num = Σ_{bin positions} Σ_b p̃(b) · |b − b*| / (K − 1)  /  #bin positions     (K bins)
//! L_total = L + λ_num · L_num,   λ_num = 0.3 by default
//! ```
//!
//! **Dry-dropout**: each example's dry features are replaced by zeros and the blind flag set
//! with probability `dry_dropout`, so one model serves reverse engineering and blind
//! estimation. (The LLM2Fx-Tools trainer draws one coin per batch and zeroes the attention mask
//! of the dry segment, `SonyResearch/LLM2Fx`, `llm2fx-tools/llm4mp/models/llm/trainer.py`; the
//! probability is a config value not in the public code. Per-example coins give the same
//! expected mix with less gradient variance.)
//!
//! Effect, plan and end tokens can be up-weighted in the cross-entropy (`structure_weight`;
//! default 1, i.e. a plain per-token mean). Measured once at 3 (plan variant, seed 0): exact
//! set on new examples of the training sources 0.44 vs 0.41, parameter MAE 0.213 vs 0.194, and
//! slightly worse on the held-out sweep — within seed-to-seed spread, so it is left at 1.
//!
//! Optimiser: AdamW (fused), warm-up + cosine schedule, gradient norm clipped to 1, on the
//! [`genlab_core::train::Trainer`]; the seed fixes initialisation, batches and dropout coins.

use std::time::Instant;

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use genlab_core::ops::FusedAdamW;
use genlab_core::train::{Learner, Observer, SeededRng, TrainOptions, Trainer, seed_device};
use genlab_core::{Error, Result, device};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::corpus::Corpus;
use super::net::{Inputs, NetConfig, Standardizer, ToolCallerNet, inputs_tensor, int_tensor};
use super::tokens::{BIN0, GrammarState, VOCAB, encode};
use super::{ModelSpec, ToolCaller};
use crate::estimate::features::FEATURE_DIM;

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Network shape.
    pub net: NetConfig,
    /// Put the plan (effect set) before the calls.
    pub plan: bool,
    /// Optimisation steps.
    pub steps: u64,
    /// Examples per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Probability of hiding an example's dry input.
    pub dry_dropout: f64,
    /// Weight of the bin-distance (number) loss.
    #[serde(default)]
    pub number_loss: f64,
    /// Cross-entropy weight of effect, plan and end tokens relative to bin tokens.
    #[serde(default = "one")]
    pub structure_weight: f64,
    /// Seed of initialisation, batches and dropout.
    pub seed: u64,
}

impl TrainConfig {
    /// The default run for the plan or no-plan variant.
    pub fn new(plan: bool, seed: u64) -> Self {
        TrainConfig {
            net: NetConfig::default(),
            plan,
            steps: 1500,
            batch: 64,
            lr: 2e-3,
            dry_dropout: 0.3,
            number_loss: 0.3,
            structure_weight: 1.0,
            seed,
        }
    }
}

fn one() -> f64 {
    1.0
}

/// How a run went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRecord {
    /// `(step, loss)` every 10 steps.
    pub losses: Vec<(u64, f64)>,
    /// Wall time of the optimisation loop.
    pub seconds: f64,
    /// Steps per second of wall time.
    pub steps_per_second: f64,
}

/// Target sequences of a corpus with their grammar slots and allowed-token sets.
pub(crate) struct Targets {
    tokens: Vec<Vec<u32>>,
    /// Slot after each token.
    slots: Vec<Vec<u32>>,
    /// Allowed next tokens after each token, as a bit set over the vocabulary.
    allowed: Vec<Vec<u32>>,
}

impl Targets {
    pub(crate) fn new(corpus: &Corpus, plan: bool) -> Result<Targets> {
        let mut t = Targets {
            tokens: Vec::with_capacity(corpus.len()),
            slots: Vec::with_capacity(corpus.len()),
            allowed: Vec::with_capacity(corpus.len()),
        };
        for (chain, &permitted) in corpus.chains.iter().zip(&corpus.permitted) {
            let tokens = encode(chain, plan)?;
            let mut state = GrammarState::with_permitted(plan, permitted);
            let (mut slots, mut allowed) = (Vec::new(), Vec::new());
            for &y in &tokens {
                state.push(y)?;
                slots.push(state.slot() as u32);
                allowed.push(state.allowed().iter().fold(0u32, |m, &a| m | 1 << a));
            }
            t.tokens.push(tokens);
            t.slots.push(slots);
            t.allowed.push(allowed);
        }
        Ok(t)
    }
}

/// One teacher-forced batch (host side).
pub(crate) struct Batch {
    n: usize,
    len: usize,
    frames: Inputs,
    inputs: Vec<u32>,
    slots: Vec<u32>,
    targets: Vec<i64>,
    bias: Vec<f32>,
    weight: Vec<f32>,
    /// `|b − b*|/(K − 1)` for each bin token at bin positions, 0 elsewhere.
    distance: Vec<f32>,
    bin_positions: usize,
}

/// Disallowed tokens' logit offset.
const MASKED: f32 = -1e4;

#[allow(clippy::too_many_arguments)]
pub(crate) fn batch(
    corpus: &Corpus,
    targets: &Targets,
    net: &NetConfig,
    input: (&Standardizer, Option<&Standardizer>),
    idx: &[usize],
    dry_dropout: f64,
    structure_weight: f32,
    rng: &mut SeededRng,
    device: &Device,
) -> Batch {
    let n = idx.len();
    let len = idx
        .iter()
        .map(|&i| targets.tokens[i].len() - 1)
        .max()
        .unwrap_or(1);
    let mut clips = Vec::with_capacity(n);
    for &i in idx {
        let blind = rng.rng().random::<f64>() < dry_dropout;
        clips.push(corpus.clip(i, blind));
    }
    let mut b = Batch {
        n,
        len,
        frames: inputs_tensor(net, input.0, input.1, &clips, device),
        inputs: vec![0; n * len],
        slots: vec![0; n * len],
        targets: vec![0; n * len],
        bias: vec![0.0; n * len * VOCAB],
        weight: vec![0.0; n * len],
        distance: vec![0.0; n * len * VOCAB],
        bin_positions: 0,
    };
    for (r, &i) in idx.iter().enumerate() {
        let y = &targets.tokens[i];
        for t in 0..y.len() - 1 {
            let at = r * len + t;
            b.inputs[at] = y[t];
            b.slots[at] = targets.slots[i][t];
            b.targets[at] = y[t + 1] as i64;
            b.weight[at] = if y[t + 1] >= BIN0 {
                1.0
            } else {
                structure_weight
            };
            let allowed = targets.allowed[i][t];
            for v in 0..VOCAB {
                if allowed & (1 << v) == 0 {
                    b.bias[at * VOCAB + v] = MASKED;
                }
            }
            if y[t + 1] >= BIN0 {
                let k = (allowed >> BIN0).count_ones() as usize;
                let truth = (y[t + 1] - BIN0) as f32;
                for bin in 0..k {
                    b.distance[at * VOCAB + BIN0 as usize + bin] =
                        (bin as f32 - truth).abs() / (k.max(2) - 1) as f32;
                }
                b.bin_positions += 1;
            }
        }
    }
    b
}

/// The loss of the module doc on one batch, with number-loss weight `number_loss`.
pub(crate) fn loss(net: &ToolCallerNet, b: &Batch, number_loss: f64, device: &Device) -> Tensor<1> {
    let (n, len) = (b.n, b.len);
    let memory = net.encode(b.frames.clone());
    let logits = net.logits(
        memory,
        int_tensor(&b.inputs, n, len, device),
        int_tensor(&b.slots, n, len, device),
    );
    let bias = Tensor::<3>::from_data(TensorData::new(b.bias.clone(), [n, len, VOCAB]), device);
    let logp = log_softmax(logits + bias, 2);
    let targets =
        Tensor::<3, Int>::from_data(TensorData::new(b.targets.clone(), [n, len, 1]), device);
    let picked = logp.clone().gather(2, targets).reshape([n, len]);
    let weight = Tensor::<2>::from_data(TensorData::new(b.weight.clone(), [n, len]), device);
    let count = b.weight.iter().sum::<f32>().max(1.0);
    let ce = (picked * weight).sum().neg() / count;
    if number_loss == 0.0 || b.bin_positions == 0 {
        return ce;
    }
    let distance =
        Tensor::<3>::from_data(TensorData::new(b.distance.clone(), [n, len, VOCAB]), device);
    let expected = (logp.exp() * distance).sum() / b.bin_positions as f32;
    ce + expected * number_loss
}

/// Trains a tool-caller on `corpus`.
pub fn train(
    corpus: &Corpus,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<(ToolCaller, TrainRecord)> {
    train_in(corpus, config, None, observer)
}

/// [`train`] with a run directory `(dir, resume)`: checkpoints go to `dir` every 100 steps
/// (and on interruption), and `resume` continues the run found there exactly.
pub fn train_in(
    corpus: &Corpus,
    config: &TrainConfig,
    run: Option<(&std::path::Path, bool)>,
    observer: &mut dyn Observer,
) -> Result<(ToolCaller, TrainRecord)> {
    if corpus.is_empty() || config.batch == 0 || config.steps == 0 {
        return Err(Error::InvalidInput(
            "training needs examples, batch ≥ 1 and steps ≥ 1".into(),
        ));
    }
    if !(0.0..1.0).contains(&config.dry_dropout) {
        return Err(Error::InvalidInput(format!(
            "dry_dropout must be in [0, 1), got {}",
            config.dry_dropout
        )));
    }
    if !(config.number_loss >= 0.0 && config.number_loss.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "number_loss must be a non-negative number, got {}",
            config.number_loss
        )));
    }
    if corpus.features != config.net.features {
        return Err(Error::InvalidInput(
            "the corpus was built with other audio features than the network expects".into(),
        ));
    }
    config.net.validate()?;
    let targets = Targets::new(corpus, config.plan)?;
    let input = corpus.standardizer();
    let descriptor_input = (config.net.descriptors > 0).then(|| corpus.descriptor_standardizer());
    if config.net.descriptors > 0 && config.net.descriptors != FEATURE_DIM {
        return Err(Error::InvalidInput(format!(
            "the descriptor token reads {FEATURE_DIM} descriptors, not {}",
            config.net.descriptors
        )));
    }
    let device = device::train_device();
    seed_device(&device, config.seed);
    let meta = serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?;
    let mut options = TrainOptions::warmup_cosine(config.steps, config.lr).with_phase(format!(
        "train tool-caller ({})",
        if config.plan { "plan" } else { "no plan" }
    ));
    if let Some((dir, resume)) = run {
        options = options
            .with_checkpoint(genlab_core::train::Checkpoint::path_in(dir), 100)
            .with_resume(resume);
    }
    let mut learner = Learner::new(
        "model",
        config.net.init(&device),
        FusedAdamW::default().init(),
    )
    .with_clip(Some(1.0));
    let mut rng = SeededRng::new(config.seed);
    let started = Instant::now();
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut rng,
        |net, rng, _| {
            let idx = rng.indices(config.batch, corpus.len());
            let b = batch(
                corpus,
                &targets,
                &config.net,
                (&input, descriptor_input.as_ref()),
                &idx,
                config.dry_dropout,
                config.structure_weight as f32,
                rng,
                &device,
            );
            loss(net, &b, config.number_loss, &device)
        },
        None,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let record = TrainRecord {
        losses: outcome.history.losses(),
        seconds,
        steps_per_second: config.steps as f64 / seconds.max(1e-9),
    };
    let final_loss = record.losses.last().map_or(f64::NAN, |l| l.1);
    let spec = ModelSpec {
        net: config.net,
        plan: config.plan,
        input,
        descriptor_input,
        training: serde_json::json!({
            "config": meta,
            "examples": corpus.len(),
            "final_loss": final_loss,
            "seconds": seconds,
        }),
    };
    Ok((
        ToolCaller {
            spec,
            net: learner.into_inference(),
        },
        record,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::toolcaller::audio::FeatureConfig;
    use crate::estimate::toolcaller::eval::evaluate;
    use genlab_core::train::NoObserver;

    fn tiny() -> (Corpus, TrainConfig) {
        let features = FeatureConfig {
            frames: 8,
            bands: 8,
            window_seconds: 0.4,
        };
        let spec = crate::testutil::pluck_and_drum(6, 3, 8000, 0.25);
        let corpus = Corpus::generate(&spec, 3, features, &mut NoObserver).unwrap();
        let config = TrainConfig {
            net: NetConfig {
                d_model: 32,
                d_ff: 64,
                features,
                ..NetConfig::default()
            },
            steps: 150,
            batch: 6,
            lr: 3e-3,
            dry_dropout: 0.0,
            ..TrainConfig::new(true, 9)
        };
        (corpus, config)
    }

    #[test]
    fn a_tiny_model_overfits_six_examples_deterministically() {
        let (corpus, config) = tiny();
        let (model, record) = train(&corpus, &config, &mut NoObserver).unwrap();
        let first = record.losses[0].1;
        let last = record.losses.last().unwrap().1;
        assert!(last < 0.25 * first, "loss {first} → {last}");
        // Memorised: the training chains come back exactly (names and order).
        let s = evaluate(&model, &corpus, false).unwrap();
        assert_eq!(s.exact_set, 1.0, "{s:?}");
        // Same seed, same run.
        let (_, again) = train(&corpus, &config, &mut NoObserver).unwrap();
        assert_eq!(record.losses, again.losses);
    }

    #[test]
    fn save_load_round_trip_gives_identical_predictions() {
        let (corpus, config) = tiny();
        let config = TrainConfig { steps: 5, ..config };
        let (model, _) = train(&corpus, &config, &mut NoObserver).unwrap();
        let dir = tempfile::tempdir().unwrap();
        model.save(dir.path()).unwrap();
        let back = ToolCaller::load(dir.path()).unwrap();
        assert_eq!(back.spec, model.spec);
        let clips: Vec<_> = (0..corpus.len()).map(|i| corpus.clip(i, false)).collect();
        let a = model.decode_features(&clips, &corpus.permitted).unwrap();
        let b = back.decode_features(&clips, &corpus.permitted).unwrap();
        assert_eq!(a, b);
        assert!(ToolCaller::load(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn batches_carry_the_grammar_and_bin_distances() {
        let (corpus, config) = tiny();
        let targets = Targets::new(&corpus, true).unwrap();
        let device = Device::flex();
        let input = corpus.standardizer();
        let descriptors = corpus.descriptor_standardizer();
        let idx: Vec<usize> = (0..corpus.len()).collect();
        let mut rng = SeededRng::new(0);
        let b = batch(
            &corpus,
            &targets,
            &config.net,
            (&input, Some(&descriptors)),
            &idx,
            0.0,
            1.0,
            &mut rng,
            &device,
        );
        let mut bins = 0;
        for (r, &i) in idx.iter().enumerate() {
            let y = &targets.tokens[i];
            for t in 0..b.len {
                let at = r * b.len + t;
                let row = |x: &[f32]| x[at * VOCAB..(at + 1) * VOCAB].to_vec();
                let (bias, dist) = (row(&b.bias), row(&b.distance));
                if t + 1 >= y.len() {
                    assert_eq!(b.weight[at], 0.0);
                    continue;
                }
                let target = y[t + 1] as usize;
                // The target is always allowed.
                assert_eq!(bias[target], 0.0);
                if target >= BIN0 as usize {
                    bins += 1;
                    let k = bias[BIN0 as usize..].iter().filter(|&&v| v == 0.0).count();
                    assert_eq!(dist[target], 0.0);
                    let far = (target - BIN0 as usize).max(k - 1 - (target - BIN0 as usize));
                    let top = dist.iter().fold(0.0f32, |m, &v| m.max(v));
                    assert!((top - far as f32 / (k - 1) as f32).abs() < 1e-6);
                } else {
                    assert!(dist.iter().all(|&v| v == 0.0));
                }
            }
        }
        assert_eq!(bins, b.bin_positions);
        assert!(bins > 0);
    }

    #[test]
    fn bad_settings_are_refused() {
        let (corpus, config) = tiny();
        for bad in [
            TrainConfig {
                dry_dropout: 1.0,
                ..config.clone()
            },
            TrainConfig {
                batch: 0,
                ..config.clone()
            },
            TrainConfig {
                number_loss: -1.0,
                ..config.clone()
            },
            TrainConfig {
                net: NetConfig {
                    heads: 3,
                    ..config.net
                },
                ..config.clone()
            },
            TrainConfig {
                net: NetConfig::default(),
                ..config.clone()
            },
        ] {
            assert!(train(&corpus, &bad, &mut NoObserver).is_err());
        }
    }
}
