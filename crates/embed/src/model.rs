//! A trained, saved embedder: the frozen segmentation analogue and the embedder of one arm,
//! as a directory (`model.json` spec, `seg.bpk`, `embedder.bpk`), with the user-facing
//! operations — rank captions for a prompted image, embed images unprompted, embed captions.

use std::path::Path;

use burn::module::Module;
use genlab_core::train::{History, Observer};
use genlab_core::{Result, device, fsx, tensor, weights};
use serde::{Deserialize, Serialize};

use crate::embedder::{Arm, Embedder};
use crate::eval::unprompted_queries;
use crate::scene::BBox;
use crate::seg::{Prompt, SegModel};
use crate::train::{
    Phase, ScarData, TrainConfig, embed_captions, fresh_embedder, pretrain_seg, query_input,
    train_phase,
};
use crate::vocab::tokenize;

/// What `model.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The arm (which segments reach the fusion).
    pub arm: Arm,
    /// The training configuration (shapes and seed included).
    pub config: TrainConfig,
    /// Final losses and sizes, for provenance.
    #[serde(default)]
    pub training: serde_json::Value,
}

/// A loaded model.
pub struct EmbedModel {
    /// The spec.
    pub spec: ModelSpec,
    /// The frozen segmentation analogue.
    pub seg: SegModel,
    /// The embedder.
    pub embedder: Embedder,
}

/// Trains a model of `arm` on generated SCaR-lite data: the segmentation analogue, then the
/// general and SCaR phases; with `dir`, the phases checkpoint there and `resume` continues.
pub fn train_model(
    arm: Arm,
    config: &TrainConfig,
    dir: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(EmbedModel, History, History)> {
    config.validate()?;
    let data = ScarData::generate(config.seed, 0, config.queries);
    let seg_path = dir.map(|d| d.join("seg.bpk"));
    let seg = match &seg_path {
        Some(p) if resume && p.exists() => weights::load_weights(
            crate::seg::SegConfig {
                d: config.embed.d,
                heads: config.embed.heads,
            }
            .init(&device::device()),
            p,
        )?,
        _ => {
            let (seg, _) = pretrain_seg(&data, config, observer)?;
            if let Some(p) = &seg_path {
                weights::save_weights(&seg, p)?;
            }
            seg
        }
    };
    let ck = |name: &str| dir.map(|d| d.join(name));
    let (m, general) = train_phase(
        arm,
        Phase::General,
        fresh_embedder(config),
        &seg,
        &data,
        config,
        ck("general.ckpt").as_deref(),
        resume,
        observer,
    )?;
    let (m, scar) = train_phase(
        arm,
        Phase::Scar,
        m,
        &seg,
        &data,
        config,
        ck("scar.ckpt").as_deref(),
        resume,
        observer,
    )?;
    let last = |h: &History| h.losses().last().map_or(f64::NAN, |l| l.1);
    let spec = ModelSpec {
        arm,
        config: *config,
        training: serde_json::json!({
            "general_final_loss": last(&general),
            "scar_final_loss": last(&scar),
            "queries": config.queries,
        }),
    };
    Ok((
        EmbedModel {
            spec,
            seg,
            embedder: m.valid(),
        },
        general,
        scar,
    ))
}

impl EmbedModel {
    /// Writes `dir/model.json`, `dir/seg.bpk`, `dir/embedder.bpk`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir)
            .map_err(|e| genlab_core::Error::InvalidInput(format!("{}: {e}", dir.display())))?;
        weights::save_weights(&self.seg, &dir.join("seg.bpk"))?;
        weights::save_weights(&self.embedder, &dir.join("embedder.bpk"))?;
        fsx::write_json(&dir.join("model.json"), &self.spec)
    }

    /// Loads a model saved by [`EmbedModel::save`].
    pub fn load(dir: &Path) -> Result<EmbedModel> {
        let spec: ModelSpec = fsx::read_json(&dir.join("model.json"))?;
        let dev = device::device();
        let e = spec.config.embed;
        let seg = crate::seg::SegConfig {
            d: e.d,
            heads: e.heads,
        }
        .init(&dev);
        let seg = weights::load_weights(seg, &dir.join("seg.bpk"))?;
        let embedder = weights::load_weights(e.init(&dev), &dir.join("embedder.bpk"))?;
        Ok(EmbedModel {
            spec,
            seg,
            embedder,
        })
    }

    /// Cosine scores of `captions` for one image (`[3, 32, 32]`) under `prompt`, whose box
    /// (the query's text) is `bbox`.
    pub fn score(
        &self,
        image: &[f32],
        prompt: Prompt,
        bbox: BBox,
        captions: &[String],
    ) -> Result<Vec<f32>> {
        let tokens: Vec<Vec<u32>> = captions
            .iter()
            .map(|c| tokenize(c))
            .collect::<Result<_>>()?;
        let input = query_input(
            self.spec.arm,
            &self.seg,
            &[image],
            &[prompt],
            &[Some(bbox)],
            &device::device(),
        )?;
        let q = self.embedder.embed_query(&input);
        let t = embed_captions(&self.embedder, &tokens);
        Ok(tensor::to_vec(t.matmul(q.transpose())))
    }

    /// Unprompted (3×3 grid) image embeddings, one row of `d` per image.
    pub fn embed_images(&self, images: &[&[f32]]) -> Result<Vec<Vec<f32>>> {
        let q = unprompted_queries(self.spec.arm, &self.embedder, &self.seg, images)?;
        let d = q.dims()[1];
        Ok(tensor::to_vec(q).chunks(d).map(<[f32]>::to_vec).collect())
    }

    /// Caption embeddings, one row of `d` per caption.
    pub fn embed_texts(&self, captions: &[String]) -> Result<Vec<Vec<f32>>> {
        let tokens: Vec<Vec<u32>> = captions
            .iter()
            .map(|c| tokenize(c))
            .collect::<Result<_>>()?;
        let t = embed_captions(&self.embedder, &tokens);
        let d = t.dims()[1];
        Ok(tensor::to_vec(t).chunks(d).map(<[f32]>::to_vec).collect())
    }
}

/// Unprompted embeddings of a folder of images, saved as JSON by `genlab embed index`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageIndex {
    /// The model directory that made the embeddings.
    pub model: std::path::PathBuf,
    /// The images, in index order.
    pub files: Vec<std::path::PathBuf>,
    /// One unit-norm embedding per image.
    pub embeddings: Vec<Vec<f32>>,
}

impl ImageIndex {
    /// Cosine scores of every image for one caption embedding, best first: `(position, score)`.
    pub fn rank(&self, caption: &[f32]) -> Vec<(usize, f32)> {
        let mut s: Vec<(usize, f32)> = self
            .embeddings
            .iter()
            .map(|e| e.iter().zip(caption).map(|(x, y)| x * y).sum())
            .enumerate()
            .collect();
        s.sort_by(|a, b| b.1.total_cmp(&a.1));
        s
    }
}
