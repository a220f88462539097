//! Measuring a trained slot model: segmentation masks from the last slot-attention map, the
//! object-discovery metrics against ground truth, and the MI proxy.
//!
//! ```text
//! mask(p)  = argmax_k  bilinear-upsample(A[·, k])(p)        A: [G², K] → size × size
//! Δ        = err_neg − err_pos   on held-out scenes, fixed draws (the paper's MI proxy)
//! ```
//!
//! Evaluation uses its own fixed stream (`seed ⊕ EVAL_STREAM`) for slot noise, diffusion times
//! and swaps, so every arm of a seed is measured on identical inputs.

use burn::tensor::Tensor;
use genlab_core::train::SeededRng;
use genlab_core::{device, tensor};

use crate::coda::{Arm, Draws, Frozen, SlotModel, errors};
use crate::decoder::{Decoder, PATCH, to_patches};
use crate::diffusion::{noisy, weighted_loss};
use crate::encoder::{grid_side, patches};
use crate::layers::Grad;
use crate::scene::PAD;
use crate::scene::Scenes;
use crate::segmentation::{Discovery, discovery};

/// XORed into a seed for the evaluation stream.
pub const EVAL_STREAM: u64 = 0xe7a1;
/// Images per forward pass.
const CHUNK: usize = 64;

/// Per image, the `[G², K]` attention map of the last slot-attention iteration.
pub fn attention_maps(model: &SlotModel, images: &[f32], size: usize, seed: u64) -> Vec<Vec<f32>> {
    let dev = device::device();
    let n = images.len() / (size * size * 3);
    let mut rng = SeededRng::new(seed ^ EVAL_STREAM);
    let (k, d) = (model.spec.slots, model.sa.width());
    let mut out = Vec::with_capacity(n);
    let stride = size * size * 3;
    for start in (0..n).step_by(CHUNK) {
        let m = CHUNK.min(n - start);
        let enc = patches(&images[start * stride..(start + m) * stride], size, &dev);
        let noise = rng.normal([m, k, d], &dev);
        let attn = tensor::to_vec(model.slots(enc, noise).attn);
        let per = attn.len() / m;
        out.extend(attn.chunks(per).map(<[f32]>::to_vec));
    }
    out
}

/// Bilinear upsampling of a `[g², k]` map to `size × size`, then the argmax slot per pixel.
pub fn upsample_argmax(attn: &[f32], g: usize, k: usize, size: usize) -> Vec<usize> {
    let scale = g as f32 / size as f32;
    let mut labels = Vec::with_capacity(size * size);
    let mut mix = vec![0f32; k];
    for y in 0..size {
        for x in 0..size {
            let fy = ((y as f32 + 0.5) * scale - 0.5).clamp(0.0, (g - 1) as f32);
            let fx = ((x as f32 + 0.5) * scale - 0.5).clamp(0.0, (g - 1) as f32);
            let (y0, x0) = (fy.floor() as usize, fx.floor() as usize);
            let (y1, x1) = ((y0 + 1).min(g - 1), (x0 + 1).min(g - 1));
            let (wy, wx) = (fy - y0 as f32, fx - x0 as f32);
            mix.fill(0.0);
            for (cy, cx, w) in [
                (y0, x0, (1.0 - wy) * (1.0 - wx)),
                (y0, x1, (1.0 - wy) * wx),
                (y1, x0, wy * (1.0 - wx)),
                (y1, x1, wy * wx),
            ] {
                let cell = &attn[(cy * g + cx) * k..(cy * g + cx + 1) * k];
                for (m, a) in mix.iter_mut().zip(cell) {
                    *m += w * a;
                }
            }
            let best = (0..k)
                .max_by(|&a, &b| mix[a].total_cmp(&mix[b]))
                .unwrap_or(0);
            labels.push(best);
        }
    }
    labels
}

/// The predicted segmentation of every image (pixel → slot).
pub fn segment(model: &SlotModel, images: &[f32], size: usize, seed: u64) -> Vec<Vec<usize>> {
    let g = grid_side(size);
    let k = model.spec.slots;
    attention_maps(model, images, size, seed)
        .iter()
        .map(|a| upsample_argmax(a, g, k, size))
        .collect()
}

/// FG-ARI, mBO and mIoU of the model's masks on `scenes` (which must carry masks).
pub fn discovery_metrics(model: &SlotModel, scenes: &Scenes, seed: u64) -> Discovery {
    let preds = segment(model, &scenes.images, scenes.size, seed);
    let truths: Vec<&[u8]> = (0..scenes.len()).filter_map(|i| scenes.mask(i)).collect();
    discovery(&preds, &truths)
}

/// Mean (err_pos, err_neg) over `scenes` in batches of `batch` (even), under `arm`'s context.
pub fn mi_proxy(
    model: &SlotModel,
    frozen: &Frozen,
    arm: Arm,
    scenes: &Scenes,
    batch: usize,
    seed: u64,
) -> (f64, f64) {
    let dev = device::device();
    let mut rng = SeededRng::new(seed ^ EVAL_STREAM ^ 0x1);
    let size = scenes.size;
    let tokens = (size / PATCH) * (size / PATCH);
    let spec = model.spec;
    let (mut pos, mut neg, mut count) = (0.0, 0.0, 0.0);
    let n = scenes.len() - scenes.len() % batch;
    for start in (0..n).step_by(batch) {
        let idx: Vec<usize> = (start..start + batch).collect();
        let b = scenes.select(&idx);
        let enc = patches(&b.images, size, &dev);
        let x0: Tensor<3> = to_patches(&b.images, size, &dev);
        let draws = Draws::new(&spec, batch, tokens, 3 * PATCH * PATCH, &mut rng, &dev);
        let (p, q) = errors(model, frozen, arm, enc, x0, &draws);
        pos += p;
        neg += q;
        count += 1.0;
    }
    (pos / count, neg / count)
}

/// DDIM decoding (`steps` steps from `x_1` = `noise` `[b, tokens, 48]`) of `context`
/// `[b, M, W]` through the frozen body and the K/V/O `kvo`; returns patches in [−1, 1].
pub fn decode(
    frozen: &Frozen,
    kvo: &[crate::decoder::Kvo],
    context: Tensor<3>,
    noise: Tensor<3>,
    steps: usize,
) -> Tensor<3> {
    let times = crate::diffusion::ddim_times(steps);
    let b = noise.dims()[0];
    let mut x = noise;
    for w in times.windows(2) {
        let u = vec![w[0] as f32; b];
        let eps = frozen
            .body
            .forward(x.clone(), &u, context.clone(), kvo, Grad::Flow);
        x = crate::diffusion::ddim_step(x, eps, w[0], w[1]);
    }
    x
}

/// The decoder's weighted held-out ε error with each scene's caption and with the null caption
/// (same times and noise): how much the decoder uses its conditioning.
pub fn caption_gain(decoder: &Decoder, scenes: &Scenes, seed: u64) -> (f64, f64) {
    let dev = device::device();
    let mut rng = SeededRng::new(seed ^ EVAL_STREAM ^ 0x2);
    let (size, l) = (scenes.size, scenes.caption_len);
    let (mut with, mut without, mut count) = (0.0, 0.0, 0.0);
    for start in (0..scenes.len()).step_by(CHUNK) {
        let idx: Vec<usize> = (start..scenes.len().min(start + CHUNK)).collect();
        let b = scenes.select(&idx);
        let x0 = to_patches(&b.images, size, &dev);
        let [n, t, d] = x0.dims();
        let u = rng.uniform_vec(n);
        let eps = rng.normal([n, t, d], &dev);
        let xu = noisy(x0, eps.clone(), &u);
        let err = |captions: &[u32]| {
            let ctx = decoder.text.forward(captions, &dev);
            let pred = decoder
                .body
                .forward(xu.clone(), &u, ctx, &decoder.kvo, Grad::Flow);
            weighted_loss(eps.clone(), pred, &u).into_scalar::<f32>() as f64
        };
        with += err(&b.captions) * n as f64;
        without += err(&vec![PAD; n * l]) * n as f64;
        count += n as f64;
    }
    (with / count, without / count)
}

/// The held-out ε error of the decoder in one band of diffusion times, with each scene's own
/// caption, the null caption and another scene's caption (same x_u, u, ε for all three).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LevelGain {
    /// Lower end of the band of u.
    pub u_lo: f64,
    /// Upper end of the band of u.
    pub u_hi: f64,
    /// ᾱ at the band's middle.
    pub alpha_bar: f64,
    /// Mean ε error with the true caption.
    pub err_true: f64,
    /// Mean ε error with the null (all-PAD) caption.
    pub err_null: f64,
    /// Mean ε error with the caption of scene (i + 1) mod n of the same chunk.
    pub err_shuffled: f64,
}

impl LevelGain {
    /// The relative caption gain 1 − err_true/err_null.
    pub fn gain_null(&self) -> f64 {
        1.0 - self.err_true / self.err_null
    }

    /// The relative gain over a mismatched caption, 1 − err_true/err_shuffled.
    pub fn gain_shuffled(&self) -> f64 {
        1.0 - self.err_true / self.err_shuffled
    }
}

/// [`LevelGain`] in `levels` equal bands of u ∈ [0, 1] (u uniform within each band).
pub fn caption_gain_by_level(
    decoder: &Decoder,
    scenes: &Scenes,
    levels: usize,
    seed: u64,
) -> Vec<LevelGain> {
    let dev = device::device();
    let mut rng = SeededRng::new(seed ^ EVAL_STREAM ^ 0x3);
    let (size, l) = (scenes.size, scenes.caption_len);
    let mut out = Vec::with_capacity(levels);
    for level in 0..levels {
        let (lo, hi) = (
            level as f64 / levels as f64,
            (level + 1) as f64 / levels as f64,
        );
        let mut sums = [0.0f64; 3];
        for start in (0..scenes.len()).step_by(CHUNK) {
            let idx: Vec<usize> = (start..scenes.len().min(start + CHUNK)).collect();
            let b = scenes.select(&idx);
            let x0 = to_patches(&b.images, size, &dev);
            let [n, t, d] = x0.dims();
            let u: Vec<f32> = rng
                .uniform_vec(n)
                .iter()
                .map(|&r| (lo + (hi - lo) * r as f64) as f32)
                .collect();
            let eps = rng.normal([n, t, d], &dev);
            let xu = noisy(x0, eps.clone(), &u);
            let shuffled: Vec<u32> = (0..n)
                .flat_map(|i| b.captions[((i + 1) % n) * l..((i + 1) % n + 1) * l].to_vec())
                .collect();
            let null = vec![PAD; n * l];
            for (sum, captions) in sums.iter_mut().zip([&b.captions, &null, &shuffled]) {
                let ctx = decoder.text.forward(captions, &dev);
                let pred = decoder
                    .body
                    .forward(xu.clone(), &u, ctx, &decoder.kvo, Grad::Flow);
                let e = crate::diffusion::eps_error(eps.clone(), pred);
                *sum += tensor::to_vec(e).iter().map(|&x| x as f64).sum::<f64>();
            }
        }
        let n = scenes.len() as f64;
        out.push(LevelGain {
            u_lo: lo,
            u_hi: hi,
            alpha_bar: crate::diffusion::alpha_bar((lo + hi) / 2.0),
            err_true: sums[0] / n,
            err_null: sums[1] / n,
            err_shuffled: sums[2] / n,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsampling_a_constant_map_keeps_its_argmax() {
        // Left half of a 2×2 grid prefers slot 0, right half slot 1.
        let attn = [0.9, 0.1, 0.2, 0.8, 0.9, 0.1, 0.2, 0.8];
        let labels = upsample_argmax(&attn, 2, 2, 8);
        for y in 0..8 {
            for x in 0..8 {
                assert_eq!(labels[y * 8 + x], usize::from(x >= 4), "({x},{y})");
            }
        }
    }
}
