//! Training a contrastive model on labelled rows: each step draws B examples, makes two
//! augmented views of each ([`crate::augment`]), encodes and projects the 2B views and
//! applies the objective ([`crate::objectives`]); Hydra also draws the pair classes y₂
//! ([`crate::objectives::Pairing`]) and evaluates the gates g(y, y₂) ([`crate::gate`]).
//! Adam, warm-up then cosine learning rate, gradient norm clipped at 5; the loop, its
//! checkpoints and exact resume are `genlab_core::train::Trainer`'s.

use std::path::Path;

use burn::optim::AdamConfig;
use burn::tensor::{Tensor, TensorData};
use genlab_core::data::Points;
use genlab_core::train::{
    History, Learner, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Error, Result, device};
use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::encoder::EncoderSpec;
use crate::model::{ContrastiveModel, ContrastiveNet, NetSpec};
use crate::objectives::Objective;
use crate::objectives::objective::{LossInput, objective_loss};
use crate::objectives::similarity::view_labels;

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// The objective.
    pub objective: Objective,
    /// The encoder (an MLP's input dimension is taken from the data).
    pub encoder: EncoderSpec,
    /// Representation dimension.
    pub rep: usize,
    /// Projector hidden width.
    pub proj_hidden: usize,
    /// Projection dimension D.
    pub dim: usize,
    /// The view augmentation.
    pub augment: Augment,
    /// Optimisation steps.
    pub steps: u64,
    /// Examples per batch (2B views).
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Seed of initialisation, batches, augmentations and pairings.
    pub seed: u64,
}

impl TrainConfig {
    /// The vector defaults (method note §3.4): MLP 64 → 256 → 128, projector 128 → 128 → 64,
    /// batch 256, lr 2·10⁻³, Hydra with arbitrary pairs and the instance term, τ = 0.1.
    pub const VECTORS: TrainConfig = TrainConfig {
        objective: Objective::Hydra {
            pairing: crate::objectives::Pairing::Arbitrary,
            instance: 1.0,
            tau: 0.1,
        },
        encoder: EncoderSpec::Mlp {
            input: 0,
            hidden: 256,
        },
        rep: 128,
        proj_hidden: 128,
        dim: 64,
        augment: Augment::VECTOR,
        steps: 1500,
        batch: 256,
        lr: 2e-3,
        seed: 0,
    };

    /// The image defaults: the CNN with 16 first-layer channels, batch 128.
    pub const IMAGES: TrainConfig = TrainConfig {
        encoder: EncoderSpec::Cnn { channels: 16 },
        augment: Augment::IMAGE,
        batch: 128,
        steps: 600,
        ..TrainConfig::VECTORS
    };
}

/// Column `(mean, std)` of `points` (std floored at 10⁻⁶).
fn standardization(points: &Points) -> (Vec<f32>, Vec<f32>) {
    let (mean, var) = points.column_stats();
    let std = var.iter().map(|v| (v.sqrt() as f32).max(1e-6)).collect();
    (mean.iter().map(|&m| m as f32).collect(), std)
}

/// Checks the data and builds the network spec.
fn net_spec(data: &Points, config: &TrainConfig) -> Result<(NetSpec, Vec<u32>)> {
    let labels = data
        .labels
        .clone()
        .ok_or_else(|| Error::InvalidInput("contrastive training needs class labels".into()))?;
    if data.len() < 2 || config.batch < 2 || config.steps == 0 {
        return Err(Error::InvalidInput(
            "training needs at least 2 rows, batch ≥ 2 and steps ≥ 1".into(),
        ));
    }
    if config.dim == 0 {
        return Err(Error::InvalidInput(
            "the projection dimension (--dim) must be at least 1".into(),
        ));
    }
    if !(config.lr > 0.0 && config.lr.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "the learning rate (--lr) must be a positive number, got {}",
            config.lr
        )));
    }
    // Two views of a batch through the projection head, and its weights.
    genlab_core::limits::elements("--batch × 2 × --dim", &[config.batch, 2, config.dim])?;
    genlab_core::limits::elements(
        "--dim × projection width",
        &[config.dim, config.proj_hidden],
    )?;
    let classes = *labels.iter().max().expect("non-empty") as usize + 1;
    if classes < 2 {
        return Err(Error::InvalidInput(
            "the labels name a single class; need at least 2".into(),
        ));
    }
    let (encoder, standardize) = match config.encoder {
        EncoderSpec::Mlp { hidden, .. } => (
            EncoderSpec::Mlp {
                input: data.d,
                hidden,
            },
            Some(standardization(data)),
        ),
        EncoderSpec::Cnn { channels } => {
            if data.d != 784 {
                return Err(Error::InvalidInput(format!(
                    "the CNN encoder takes 28×28 images (784 columns), the data has {}",
                    data.d
                )));
            }
            (EncoderSpec::Cnn { channels }, None)
        }
    };
    let spec = NetSpec {
        encoder,
        rep: config.rep,
        proj_hidden: config.proj_hidden,
        dim: config.dim,
        classes,
        objective: config.objective,
        standardize,
        training: serde_json::Value::Null,
    };
    Ok((spec, labels))
}

/// One batch: the 2B augmented views (first views first) and the B labels.
pub(crate) fn views(
    x: &[f32],
    d: usize,
    labels: &[u32],
    config: &TrainConfig,
    rng: &mut SeededRng,
) -> (Vec<f32>, Vec<u32>) {
    let idx = rng.indices(config.batch, labels.len());
    let mut out = Vec::with_capacity(2 * idx.len() * d);
    for _ in 0..2 {
        for &i in &idx {
            config.augment.view(&x[i * d..(i + 1) * d], rng, &mut out);
        }
    }
    (out, idx.iter().map(|&i| labels[i]).collect())
}

/// The objective's loss on one batch of `views` with labels `y`.
pub(crate) fn batch_loss(
    net: &ContrastiveNet,
    spec: &NetSpec,
    views: Vec<f32>,
    y: &[u32],
    rng: &mut SeededRng,
) -> Tensor<1> {
    let device = device::train_device();
    let d = spec.encoder.input();
    let x = Tensor::<2>::from_data(TensorData::new(views, [2 * y.len(), d]), &device);
    let z = net.project(net.represent(x));
    let yv = view_labels(y);
    let pair = match (spec.objective, net.gate()) {
        (Objective::Hydra { pairing, .. }, Some(gate)) => {
            let y2 = view_labels(&pairing.pair_labels(y, spec.classes as u32, rng));
            let g = gate.forward(&yv, &y2, &device);
            Some((g, y2))
        }
        _ => None,
    };
    let input = LossInput {
        z,
        y: &yv,
        pair: pair
            .as_ref()
            .map(|(g, y2)| (g.clone(), y2.as_slice(), net.inv_tau())),
    };
    objective_loss(&spec.objective, input)
}

/// Trains a model on the labelled rows `data` (see the module doc). With `checkpoint`, the
/// run is saved there every 250 steps, at the end and when the observer asks to stop;
/// `resume` continues from it. Returns the model and the loss history (every 10 steps).
pub fn train(
    data: &Points,
    config: &TrainConfig,
    checkpoint: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(ContrastiveModel, History)> {
    let (spec, labels) = net_spec(data, config)?;
    let x = spec.prepare(data)?;
    let device = device::train_device();
    seed_device(&device, config.seed);
    let meta = serde_json::to_value(config).expect("config serialises");
    let mut options = TrainOptions::warmup_cosine(config.steps, config.lr)
        .with_resume(resume)
        .with_meta(meta.clone())
        .with_phase(format!("train {}", config.objective.name()));
    if let Some(path) = checkpoint {
        options = options.with_checkpoint(path, 250);
    }
    let mut learner =
        Learner::new("model", spec.init(&device), AdamConfig::new().init()).with_clip(Some(5.0));
    let d = data.d;
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut SeededRng::new(config.seed),
        |net, rng, _| {
            let (v, y) = views(&x, d, &labels, config, rng);
            batch_loss(net, &spec, v, &y, rng)
        },
        None,
    )?;
    let final_loss = outcome.history.losses().last().map_or(f64::NAN, |l| l.1);
    let spec = NetSpec {
        training: serde_json::json!({ "config": meta, "final_loss": final_loss, "rows": data.len() }),
        ..spec
    };
    Ok((
        ContrastiveModel {
            spec,
            net: learner.into_inference(),
        },
        outcome.history,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::Pairing;
    use genlab_core::testing::scratch;
    use genlab_core::train::NoObserver;
    use genlab_core::train::testing::{StopAt, assert_same_weights, weights};

    /// Three well-separated classes of 6-d rows.
    fn blobs() -> Points {
        let mut rng = SeededRng::new(9);
        let noise = rng.normal_vec(90 * 6);
        let data = (0..90 * 6)
            .map(|k| {
                let (i, j) = (k / 6, k % 6);
                (if j % 3 == i % 3 { 3.0 } else { 0.0 }) + 0.3 * noise[k]
            })
            .collect();
        Points::new(6, data, Some((0..90).map(|i| (i % 3) as u32).collect())).unwrap()
    }

    fn tiny(objective: Objective, steps: u64) -> TrainConfig {
        TrainConfig {
            objective,
            encoder: EncoderSpec::Mlp {
                input: 0,
                hidden: 32,
            },
            rep: 16,
            proj_hidden: 16,
            dim: 8,
            steps,
            batch: 24,
            ..TrainConfig::VECTORS
        }
    }

    const HYDRA: Objective = Objective::Hydra {
        pairing: Pairing::Arbitrary,
        instance: 1.0,
        tau: 0.1,
    };

    /// Exact resume: N steps straight == stopped at N/2, then resumed to N, weight for weight.
    #[test]
    fn resume_equals_uninterrupted() {
        let data = blobs();
        let config = tiny(HYDRA, 30);
        let (straight, h1) = train(&data, &config, None, false, &mut NoObserver).unwrap();
        let (_dir, checkpoint) = scratch(genlab_core::train::CHECKPOINT_FILE);
        let err = train(
            &data,
            &config,
            Some(&checkpoint),
            false,
            &mut StopAt::new(15),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Interrupted { step: 15, .. }), "{err}");
        let (resumed, h2) =
            train(&data, &config, Some(&checkpoint), true, &mut NoObserver).unwrap();
        assert_same_weights(
            &weights(&straight.net),
            &weights(&resumed.net),
            "contrastive",
        );
        assert_eq!(h1, h2);
    }

    #[test]
    fn training_separates_classes_and_round_trips() {
        let data = blobs();
        for objective in [
            Objective::SimClr { tau: 0.1 },
            Objective::SupCon { tau: 0.1 },
            HYDRA,
        ] {
            let (model, history) =
                train(&data, &tiny(objective, 60), None, false, &mut NoObserver).unwrap();
            // Below chance: uniform similarities give NT-Xent = ln(2B − 1) = ln 47.
            let last = history.losses().last().unwrap().1;
            assert!(last < 47f64.ln(), "{objective:?}: final loss {last}");
            let (h, _) = model.embed(&data).unwrap();
            let acc = crate::metrics::probe::knn_accuracy(&h, &h, 5).unwrap();
            assert!(acc > 0.9, "{objective:?}: k-NN accuracy {acc}");
            let dir = tempfile::tempdir().unwrap();
            model.save(dir.path()).unwrap();
            let back = crate::model::ContrastiveModel::load(dir.path()).unwrap();
            assert_eq!(back.embed(&data).unwrap().0, h);
            assert_eq!(back.pair_gates(), model.pair_gates());
        }
    }

    #[test]
    fn refuses_unusable_data() {
        let mut data = blobs();
        let config = tiny(HYDRA, 2);
        let unlabelled = Points {
            labels: None,
            ..data.clone()
        };
        let err = train(&unlabelled, &config, None, false, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("labels"), "{err}");
        data.labels = Some(vec![0; 90]);
        let err = train(&data, &config, None, false, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("single class"), "{err}");
        let cnn = TrainConfig {
            encoder: EncoderSpec::Cnn { channels: 4 },
            ..config
        };
        let err = train(&blobs(), &cnn, None, false, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("784"), "{err}");
    }
}
