//! Training: the segmentation analogue on mask prediction (then frozen), and the embedder in
//! two phases, each a [`Trainer`] run with the InfoNCE loss of [`crate::loss`]:
//!
//! ```text
//! seg pre-training   L = BCE(mask logits, area-pooled mask) for a random object under a random
//!                    point / box / mask prompt (SAM's prompt types)
//! general phase      half the batch unprompted (3×3 grid, whole-image caption), half SCaR
//!                    queries (prompted, caption of the entity in its scene); in-batch InfoNCE
//!                    within each half, averaged — the "MMEB-train" analogue: ordinary
//!                    retrieval plus referring queries, one task per in-batch softmax as
//!                    VLM2Vec batches one dataset at a time (one softmax over both halves
//!                    collapsed each half to a point: telling the halves apart was enough)
//! SCaR phase         SCaR queries only, in-batch + their 9 hard negatives as extra columns —
//!                    the "+SCaR-train" stage, after which the forgetting check re-measures
//!                    unprompted retrieval
//! ```
//!
//! The frozen model runs on the inference device and its map reaches the autodiff graph as a
//! constant ([`crate::nn::to_device_const`]), so no gradient can reach it; region arms draw the
//! prompt type (point, box or mask) per batch, so one model answers all three.

use std::path::Path;

use burn::optim::AdamConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use genlab_core::train::{
    History, Learner, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Error, Result, device};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::caption::{Query, describe_all, queries};
use crate::embedder::{Arm, EmbedConfig, Embedder, QueryInput};
use crate::loss::{TAU, info_nce};
use crate::nn::{images_tensor, to_device_const};
use crate::scene::{BBox, crop};
use crate::seg::{
    Prompt, PromptBatch, PromptKind, SegConfig, SegModel, bce_with_logits, pooled_mask,
};
use crate::vocab::{box_tokens, pad_batch, tokenize};

/// Crop margin of the crop-only arm, in pixels.
pub const CROP_MARGIN: usize = 1;

/// Rendered SCaR-lite queries with their tokens.
pub struct ScarData {
    /// The structured queries.
    pub queries: Vec<Query>,
    /// Their images, `[3, 32, 32]` each.
    pub images: Vec<Vec<f32>>,
    /// Ground-truth caption tokens.
    pub truth: Vec<Vec<u32>>,
    /// The nine negatives' tokens per query.
    pub negatives: Vec<Vec<Vec<u32>>>,
    /// Whole-image caption tokens (unprompted retrieval).
    pub full: Vec<Vec<u32>>,
}

impl ScarData {
    /// `n` queries from `seed` on stream `split` (0 train, 1 eval).
    pub fn generate(seed: u64, split: u64, n: usize) -> ScarData {
        let queries = queries(seed, split, n);
        let tok = |s: &str| tokenize(s).expect("generated captions are in the vocabulary");
        ScarData {
            images: queries.iter().map(|q| q.scene.render()).collect(),
            truth: queries.iter().map(|q| tok(&q.truth.text())).collect(),
            negatives: queries
                .iter()
                .map(|q| q.negatives.iter().map(|(_, c)| tok(&c.text())).collect())
                .collect(),
            full: queries
                .iter()
                .map(|q| tok(&describe_all(&q.scene)))
                .collect(),
            queries,
        }
    }

    /// Number of queries.
    pub fn len(&self) -> usize {
        self.queries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }
}

/// The prompt of `kind` on query `q`'s target.
pub fn prompt_for(q: &Query, kind: PromptKind) -> Prompt {
    match kind {
        PromptKind::Point => {
            let (x, y) = q.scene.point(q.target);
            Prompt::Point(x, y)
        }
        PromptKind::Box => Prompt::Box(q.scene.objects[q.target].bbox()),
        PromptKind::Mask => Prompt::Mask(q.scene.mask(q.target)),
        PromptKind::Grid => Prompt::Grid,
    }
}

/// The fusion input of `arm` for images with prompts and boxes (`None`: unprompted; all items
/// of a batch must agree), on `device`. The frozen model runs on the inference device.
pub fn query_input(
    arm: Arm,
    seg: &SegModel,
    images: &[&[f32]],
    prompts: &[Prompt],
    boxes: &[Option<BBox>],
    device: &Device,
) -> Result<QueryInput> {
    let boxed = boxes.first().is_some_and(Option::is_some);
    if boxes.iter().any(|b| b.is_some() != boxed) || images.len() != boxes.len() {
        return Err(Error::InvalidInput(
            "a query batch mixes prompted and unprompted items".into(),
        ));
    }
    let region = if arm.region() {
        let inner = device::device();
        let batch = PromptBatch::new(prompts, &inner)?;
        let f = seg.features(images_tensor(images, &inner), &batch);
        Some(to_device_const(f, device))
    } else {
        None
    };
    let scene = if !arm.scene() {
        None
    } else if arm == Arm::CropOnly && boxed {
        let crops: Vec<Vec<f32>> = images
            .iter()
            .zip(boxes)
            .map(|(im, b)| crop(im, b.as_ref().expect("boxed"), CROP_MARGIN).0)
            .collect();
        let refs: Vec<&[f32]> = crops.iter().map(Vec::as_slice).collect();
        Some(images_tensor(&refs, device))
    } else {
        Some(images_tensor(images, device))
    };
    let boxes = (arm.box_text() && boxed).then(|| {
        let t: Vec<i64> = boxes
            .iter()
            .flat_map(|b| box_tokens(&b.expect("boxed")))
            .collect();
        Tensor::<2, Int>::from_data(TensorData::new(t, [images.len(), 4]), device)
    });
    Ok(QueryInput {
        region,
        images: scene,
        boxes,
    })
}

/// Caption embeddings of token rows.
pub fn embed_captions(model: &Embedder, rows: &[Vec<u32>]) -> Tensor<2> {
    let (t, len, eos) = pad_batch(rows);
    model.embed_text(&t, len, &eos)
}

/// Settings of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Embedder (and segmentation analogue) shape.
    pub embed: EmbedConfig,
    /// Training queries (scenes) generated.
    pub queries: usize,
    /// Mask pre-training steps of the segmentation analogue.
    pub seg_steps: u64,
    /// General-phase steps.
    pub general_steps: u64,
    /// SCaR-phase steps.
    pub scar_steps: u64,
    /// Queries per batch.
    pub batch: usize,
    /// Peak learning rate (warm-up, cosine).
    pub lr: f64,
    /// InfoNCE temperature (VIRTUE: 0.02).
    pub tau: f64,
    /// Seed of data, initialisation and batches.
    pub seed: u64,
}

impl TrainConfig {
    /// The defaults of `genlab embed train`.
    pub const DEFAULT: TrainConfig = TrainConfig {
        embed: EmbedConfig::DEFAULT,
        queries: 2000,
        seg_steps: 300,
        general_steps: 400,
        scar_steps: 200,
        batch: 32,
        lr: 2e-3,
        tau: TAU,
        seed: 0,
    };

    /// Checks the sizes.
    pub fn validate(&self) -> Result<()> {
        let e = &self.embed;
        if self.batch < 2 || self.queries < self.batch || e.d == 0 || e.heads == 0 {
            return Err(Error::InvalidInput(
                "training needs batch ≥ 2, at least one batch of queries and a positive width"
                    .into(),
            ));
        }
        genlab_core::limits::elements("--width × --width", &[e.d, e.d])?;
        genlab_core::limits::elements("--batch × --width", &[self.batch, e.d])?;
        if !e.d.is_multiple_of(e.heads) || !e.d.is_multiple_of(2) {
            return Err(Error::InvalidInput(format!(
                "width {} must be even and a multiple of heads {}",
                e.d, e.heads
            )));
        }
        Ok(())
    }

    fn seg_config(&self) -> SegConfig {
        SegConfig {
            d: self.embed.d,
            heads: self.embed.heads,
        }
    }
}

/// A random prompt type among point, box and mask.
fn random_kind(rng: &mut SeededRng) -> PromptKind {
    [PromptKind::Point, PromptKind::Box, PromptKind::Mask][rng.rng().random_range(0..3)]
}

/// Pre-trains the segmentation analogue on mask prediction; returns it frozen (no autodiff).
pub fn pretrain_seg(
    data: &ScarData,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<(SegModel, History)> {
    config.validate()?;
    let device = device::train_device();
    seed_device(&device, config.seed ^ 0x5e6);
    let options = TrainOptions::warmup_cosine(config.seg_steps, config.lr)
        .with_log_every(25)
        .with_phase("pre-train segmentation analogue (masks)");
    let mut learner = Learner::new(
        "seg",
        config.seg_config().init(&device),
        AdamConfig::new().init(),
    )
    .with_clip(Some(1.0));
    let mut rng = SeededRng::new(config.seed ^ 0x5e6);
    let outcome = Trainer::new(options, observer).run(
        &mut learner,
        &mut rng,
        |l, s| {
            let idx = s.rng.indices(config.batch, data.len());
            let kind = random_kind(s.rng);
            let (mut imgs, mut prompts, mut targets) = (Vec::new(), Vec::new(), Vec::new());
            for &i in &idx {
                let q = &data.queries[i];
                let obj = s.rng.rng().random_range(0..q.scene.objects.len());
                let one = Query {
                    target: obj,
                    ..q.clone()
                };
                imgs.push(data.images[i].as_slice());
                prompts.push(prompt_for(&one, kind));
                targets.extend(pooled_mask(&q.scene.mask(obj)));
            }
            let batch = PromptBatch::new(&prompts, &device)?;
            let logits = l.model().mask_logits(images_tensor(&imgs, &device), &batch);
            let n = logits.dims()[1];
            let y = Tensor::from_data(TensorData::new(targets, [idx.len(), n]), &device);
            Ok(vec![(
                "loss",
                l.step(bce_with_logits(logits, y), s.lr, s.index)?,
            )])
        },
        None,
    )?;
    Ok((learner.into_inference(), outcome.history))
}

/// The embedder's training phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Unprompted retrieval + SCaR queries, in-batch negatives.
    General,
    /// SCaR queries with their hard negatives.
    Scar,
}

/// The loss of one batch of `phase`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn batch_loss(
    arm: Arm,
    phase: Phase,
    model: &Embedder,
    seg: &SegModel,
    data: &ScarData,
    batch: usize,
    tau: f64,
    rng: &mut SeededRng,
) -> Result<Tensor<1>> {
    let device = device::train_device();
    let kind = random_kind(rng);
    let n_un = if phase == Phase::General {
        batch / 2
    } else {
        0
    };
    let un = rng.indices(n_un, data.len());
    let sc = rng.indices(batch - n_un, data.len());
    // Each half is its own in-batch task (VLM2Vec draws a batch from one dataset at a time).
    let mut loss = None;
    if !un.is_empty() {
        let imgs: Vec<&[f32]> = un.iter().map(|&i| data.images[i].as_slice()).collect();
        let n = un.len();
        let input = query_input(
            arm,
            seg,
            &imgs,
            &vec![Prompt::Grid; n],
            &vec![None; n],
            &device,
        )?;
        let texts: Vec<Vec<u32>> = un.iter().map(|&i| data.full[i].clone()).collect();
        let l = info_nce(
            model.embed_query(&input),
            embed_captions(model, &texts),
            None,
            tau,
        );
        loss = Some(l);
    }
    let imgs: Vec<&[f32]> = sc.iter().map(|&i| data.images[i].as_slice()).collect();
    let prompts: Vec<Prompt> = sc
        .iter()
        .map(|&i| prompt_for(&data.queries[i], kind))
        .collect();
    let boxes: Vec<Option<BBox>> = sc
        .iter()
        .map(|&i| {
            let q = &data.queries[i];
            Some(q.scene.objects[q.target].bbox())
        })
        .collect();
    let q = model.embed_query(&query_input(arm, seg, &imgs, &prompts, &boxes, &device)?);
    let texts: Vec<Vec<u32>> = sc.iter().map(|&i| data.truth[i].clone()).collect();
    let t = embed_captions(model, &texts);
    let hard = (phase == Phase::Scar).then(|| {
        let rows: Vec<Vec<u32>> = sc.iter().flat_map(|&i| data.negatives[i].clone()).collect();
        let k = data.negatives[sc[0]].len();
        let [_, d] = t.dims();
        embed_captions(model, &rows).reshape([sc.len(), k, d])
    });
    let l = info_nce(q, t, hard, tau);
    Ok(match loss {
        Some(u) => (u + l) / 2.0,
        None => l,
    })
}

/// Trains `model` (on the autodiff device) for `steps` steps of `phase`; with `checkpoint`,
/// saves there every 100 steps and at the end, and `resume` continues from it.
#[allow(clippy::too_many_arguments)]
pub fn train_phase(
    arm: Arm,
    phase: Phase,
    model: Embedder,
    seg: &SegModel,
    data: &ScarData,
    config: &TrainConfig,
    checkpoint: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(Embedder, History)> {
    let steps = match phase {
        Phase::General => config.general_steps,
        Phase::Scar => config.scar_steps,
    };
    // The general phase does not depend on the SCaR budget: leaving it out lets a finished run
    // be extended by a longer SCaR phase (the trainer accepts a larger budget of the phase
    // itself).
    let mut config_meta = serde_json::json!(config);
    if phase == Phase::General {
        config_meta["scar_steps"] = serde_json::Value::Null;
    }
    let meta = serde_json::json!({ "arm": arm, "phase": phase, "config": config_meta });
    let name = match phase {
        Phase::General => "general",
        Phase::Scar => "SCaR",
    };
    let mut options = TrainOptions::warmup_cosine(steps, config.lr)
        .with_log_every(20)
        .with_resume(resume)
        .with_meta(meta)
        .with_phase(format!("train {} ({name} phase)", arm.name()));
    if let Some(p) = checkpoint {
        options = options.with_checkpoint(p, 100);
    }
    let mut learner = Learner::new("model", model, AdamConfig::new().init()).with_clip(Some(1.0));
    let salt = if phase == Phase::General { 0x9e } else { 0x5c };
    let mut rng = SeededRng::new(config.seed ^ salt);
    let outcome = Trainer::new(options, observer).run(
        &mut learner,
        &mut rng,
        |l, s| {
            let loss = batch_loss(
                arm,
                phase,
                l.model(),
                seg,
                data,
                config.batch,
                config.tau,
                s.rng,
            )?;
            Ok(vec![("loss", l.step(loss, s.lr, s.index)?)])
        },
        None,
    )?;
    Ok((learner.into_parts().0, outcome.history))
}

/// A fresh embedder on the autodiff device, initialised from `seed`.
pub fn fresh_embedder(config: &TrainConfig) -> Embedder {
    let device = device::train_device();
    seed_device(&device, config.seed ^ 0xe3b);
    config.embed.init(&device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use genlab_core::train::NoObserver;

    fn tiny() -> TrainConfig {
        TrainConfig {
            embed: EmbedConfig {
                d: 8,
                heads: 2,
                layers: 1,
                text_layers: 1,
            },
            queries: 16,
            seg_steps: 3,
            general_steps: 2,
            scar_steps: 2,
            batch: 4,
            lr: 1e-3,
            tau: TAU,
            seed: 1,
        }
    }

    fn flat<M: Module>(m: &M) -> Vec<f32> {
        genlab_core::train::testing::weights(m)
    }

    #[test]
    fn the_frozen_segmentation_analogue_gets_no_gradient() {
        let config = tiny();
        let data = ScarData::generate(1, 0, config.queries);
        let (seg, _) = pretrain_seg(&data, &config, &mut NoObserver).unwrap();
        let before = flat(&seg);
        // Its map enters the graph as a constant: a loss through the region tokens has a
        // gradient for the connector but none for anything upstream.
        let train = device::train_device();
        let model = fresh_embedder(&config);
        let q = &data.queries[0];
        let img = data.images[0].as_slice();
        let input = query_input(
            Arm::Virtue,
            &seg,
            &[img],
            &[prompt_for(q, PromptKind::Box)],
            &[Some(q.scene.objects[q.target].bbox())],
            &train,
        )
        .unwrap();
        let region = input.region.clone().unwrap();
        assert!(
            !region.is_require_grad(),
            "the frozen map must be a constant"
        );
        let loss = model.embed_query(&input).sum();
        let _ = loss.backward();
        // Both phases leave the frozen model's weights bit-identical.
        let (m, _) = train_phase(
            Arm::Virtue,
            Phase::General,
            model,
            &seg,
            &data,
            &config,
            None,
            false,
            &mut NoObserver,
        )
        .unwrap();
        let _ = train_phase(
            Arm::Virtue,
            Phase::Scar,
            m,
            &seg,
            &data,
            &config,
            None,
            false,
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(before, flat(&seg));
        let _ = train;
    }

    #[test]
    fn batches_of_every_arm_and_phase_give_finite_losses() {
        let config = tiny();
        let data = ScarData::generate(2, 0, config.queries);
        let (seg, _) = pretrain_seg(&data, &config, &mut NoObserver).unwrap();
        let model = fresh_embedder(&config);
        for arm in Arm::ALL {
            for phase in [Phase::General, Phase::Scar] {
                let mut rng = SeededRng::new(3);
                let l = batch_loss(arm, phase, &model, &seg, &data, 4, TAU, &mut rng).unwrap();
                let v = genlab_core::tensor::to_vec(l)[0];
                assert!(v.is_finite() && v > 0.0, "{arm:?} {phase:?}: {v}");
            }
        }
        let bad = query_input(
            Arm::Virtue,
            &seg,
            &[&data.images[0], &data.images[1]],
            &[Prompt::Grid, Prompt::Grid],
            &[None, Some(data.queries[1].scene.objects[0].bbox())],
            &device::device(),
        );
        assert!(bad.is_err());
    }
}
