//! Measurements on held-out SCaR-lite queries (disjoint seeds): P@1 over the ten candidates,
//! overall and per negative type, for one arm and prompt type; and unprompted image→caption
//! retrieval P@1 over blocks of ten whole-image captions.

use burn::tensor::Tensor;
use genlab_core::{Result, device, tensor};
use serde::Serialize;

use crate::caption::{CANDIDATES, NegKind};
use crate::embedder::{Arm, Embedder};
use crate::metrics::{precision_at_1, precision_at_1_by_kind, retrieval_p1};
use crate::scene::BBox;
use crate::seg::{Prompt, PromptKind, SegModel};
use crate::train::{ScarData, embed_captions, prompt_for, query_input};

/// Queries per forward pass at evaluation (bounds memory, not results).
const CHUNK: usize = 100;

/// SCaR-lite P@1 of one arm under one prompt type.
#[derive(Debug, Clone, Serialize)]
pub struct ScarScore {
    /// Over all ten candidates.
    pub p1: f64,
    /// Over {truth} ∪ negatives of each type, in [`NegKind::ALL`] order.
    pub by_kind: [f64; 4],
    /// The candidate scores (truth first) per query.
    #[serde(skip)]
    pub scores: Vec<Vec<f32>>,
}

/// Query embeddings (inference device) of `data`'s queries under `kind`.
pub fn scar_queries(
    arm: Arm,
    model: &Embedder,
    seg: &SegModel,
    data: &ScarData,
    kind: PromptKind,
) -> Result<Tensor<2>> {
    let dev = device::device();
    let mut parts = Vec::new();
    for start in (0..data.len()).step_by(CHUNK) {
        let idx: Vec<usize> = (start..(start + CHUNK).min(data.len())).collect();
        let imgs: Vec<&[f32]> = idx.iter().map(|&i| data.images[i].as_slice()).collect();
        let prompts: Vec<Prompt> = idx
            .iter()
            .map(|&i| prompt_for(&data.queries[i], kind))
            .collect();
        let boxes: Vec<Option<BBox>> = idx
            .iter()
            .map(|&i| {
                let q = &data.queries[i];
                Some(q.scene.objects[q.target].bbox())
            })
            .collect();
        let input = query_input(arm, seg, &imgs, &prompts, &boxes, &dev)?;
        parts.push(model.embed_query(&input));
    }
    Ok(Tensor::cat(parts, 0))
}

/// P@1 of `arm` on `data` with prompts of `kind`.
pub fn scar_p1(
    arm: Arm,
    model: &Embedder,
    seg: &SegModel,
    data: &ScarData,
    kind: PromptKind,
) -> Result<ScarScore> {
    let q = tensor::to_vec(scar_queries(arm, model, seg, data, kind)?);
    let d = q.len() / data.len().max(1);
    let mut scores = Vec::with_capacity(data.len());
    for start in (0..data.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(data.len());
        let rows: Vec<Vec<u32>> = (start..end)
            .flat_map(|i| std::iter::once(data.truth[i].clone()).chain(data.negatives[i].clone()))
            .collect();
        let t = tensor::to_vec(embed_captions(model, &rows));
        for (k, i) in (start..end).enumerate() {
            let qi = &q[i * d..(i + 1) * d];
            scores.push(
                (0..CANDIDATES)
                    .map(|c| {
                        let tc = &t[(k * CANDIDATES + c) * d..(k * CANDIDATES + c + 1) * d];
                        qi.iter().zip(tc).map(|(a, b)| a * b).sum()
                    })
                    .collect(),
            );
        }
    }
    let kinds: Vec<Vec<NegKind>> = data
        .queries
        .iter()
        .map(|q| q.negatives.iter().map(|(k, _)| *k).collect())
        .collect();
    let by_kind = NegKind::ALL.map(|k| precision_at_1_by_kind(&scores, &kinds, k));
    Ok(ScarScore {
        p1: precision_at_1(&scores),
        by_kind,
        scores,
    })
}

/// Unprompted embeddings (3×3 grid, no box) of `images`.
pub fn unprompted_queries(
    arm: Arm,
    model: &Embedder,
    seg: &SegModel,
    images: &[&[f32]],
) -> Result<Tensor<2>> {
    let dev = device::device();
    let mut parts = Vec::new();
    for chunk in images.chunks(CHUNK) {
        let n = chunk.len();
        let input = query_input(
            arm,
            seg,
            chunk,
            &vec![Prompt::Grid; n],
            &vec![None; n],
            &dev,
        )?;
        parts.push(model.embed_query(&input));
    }
    Ok(Tensor::cat(parts, 0))
}

/// Image → whole-image-caption retrieval P@1 over the first `n` items of `data` (rounded down
/// to whole blocks of [`CANDIDATES`]), each image ranking the captions of its block of ten
/// (chance 0.1, as on SCaR-lite).
pub fn unprompted_p1(
    arm: Arm,
    model: &Embedder,
    seg: &SegModel,
    data: &ScarData,
    n: usize,
) -> Result<f64> {
    let c = CANDIDATES;
    let n = (n.min(data.len()) / c) * c;
    if n == 0 {
        return Err(genlab_core::Error::InvalidInput(format!(
            "unprompted retrieval needs at least {c} items"
        )));
    }
    let imgs: Vec<&[f32]> = data.images[..n].iter().map(Vec::as_slice).collect();
    let q = unprompted_queries(arm, model, seg, &imgs)?;
    let t = embed_captions(model, &data.full[..n]);
    let s = tensor::to_vec(q.matmul(t.transpose()));
    let blocks: Vec<f64> = (0..n / c)
        .map(|b| {
            let block: Vec<f32> = (0..c)
                .flat_map(|i| {
                    let row = (b * c + i) * n + b * c;
                    s[row..row + c].to_vec()
                })
                .collect();
            retrieval_p1(&block, c)
        })
        .collect();
    Ok(blocks.iter().sum::<f64>() / blocks.len() as f64)
}
