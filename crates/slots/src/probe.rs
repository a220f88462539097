//! The slot property probe (the paper's property-prediction analogue, anchors §4.4 item 3):
//! does the slot that segments an object also carry the object's colour and shape?
//!
//! ```text
//! per held-out scene:  masks = argmax-slot segmentation;  IoU[j][k] = IoU(object j, slot k)
//!                      σ = Hungarian matching of objects to slots maximising Σ IoU
//!                      one example per object j:  (s_σ(j), colour_j, shape_j)
//!                      s = the slot-attention output (width D, before the map to the decoder)
//! features             z = (s − mean) / std  per dimension (train statistics), then [z, 1]
//! probe (per property) W = argmin ‖Z W − Y‖² + λ‖W‖²  =  (ZᵀZ + λI)⁻¹ Zᵀ Y,  Y one-hot
//! prediction           argmax_c (z W)_c;   accuracy on the held-out half of the scenes
//! chance               the accuracy of always answering the training half's commonest class
//! ```
//!
//! A linear least-squares probe (closed form, deterministic) rather than a logistic one: it
//! needs no optimiser settings and gives the same answer on every run. Scenes are split in
//! halves (first half fits, second half scores), so no scene contributes to both.

use genlab_core::train::SeededRng;
use genlab_core::{device, tensor};

use crate::coda::SlotModel;
use crate::encoder::{grid_side, patches};
use crate::evaluate::{EVAL_STREAM, upsample_argmax};
use crate::hungarian::assign;
use crate::scene::{COLOURS, SHAPES, Scenes};

/// Ridge strength λ of the probe (on standardised features).
pub const RIDGE: f64 = 1.0;
/// Images per forward pass.
const CHUNK: usize = 64;

/// Probe accuracies on the held-out half, with the chance levels.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct ProbeScores {
    /// Colour accuracy (6 classes).
    pub colour: f64,
    /// Shape accuracy (4 classes).
    pub shape: f64,
    /// Majority-class colour accuracy.
    pub colour_chance: f64,
    /// Majority-class shape accuracy.
    pub shape_chance: f64,
    /// Objects probed (held-out half).
    pub objects: usize,
}

/// σ: for each object label 1..=`objects`, the slot in `0..slots` Hungarian-matched to it by
/// IoU of the pixel partitions `pred` (slot per pixel) and `truth` (label per pixel).
pub fn match_objects(pred: &[usize], truth: &[u8], objects: usize, slots: usize) -> Vec<usize> {
    let mut inter = vec![vec![0f64; slots]; objects];
    let mut area_t = vec![0f64; objects];
    let mut area_p = vec![0f64; slots];
    for (&p, &t) in pred.iter().zip(truth) {
        area_p[p] += 1.0;
        if t > 0 {
            inter[t as usize - 1][p] += 1.0;
            area_t[t as usize - 1] += 1.0;
        }
    }
    let cost: Vec<Vec<f64>> = (0..objects)
        .map(|j| {
            (0..slots)
                .map(|k| {
                    let union = area_t[j] + area_p[k] - inter[j][k];
                    if union > 0.0 {
                        -inter[j][k] / union
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    assign(&cost)
        .into_iter()
        .enumerate()
        .map(|(j, k)| k.unwrap_or(j % slots))
        .collect()
}

/// The probe's examples: per object of every scene, its matched slot vector and labels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Examples {
    /// Slot vectors.
    pub features: Vec<Vec<f64>>,
    /// Colour ids.
    pub colours: Vec<usize>,
    /// Shape ids.
    pub shapes: Vec<usize>,
}

/// The examples of `scenes` from per-scene slots (`K × D` row-major) and segmentations.
pub fn examples(scenes: &Scenes, slots: &[Vec<f32>], preds: &[Vec<usize>], k: usize) -> Examples {
    let mut out = Examples::default();
    for (i, (s, pred)) in slots.iter().zip(preds).enumerate() {
        let (Some(truth), Some(objects)) = (scenes.mask(i), scenes.objects.get(i)) else {
            continue;
        };
        let d = s.len() / k;
        for (j, slot) in match_objects(pred, truth, objects.len(), k)
            .into_iter()
            .enumerate()
        {
            out.features.push(
                s[slot * d..(slot + 1) * d]
                    .iter()
                    .map(|&x| x as f64)
                    .collect(),
            );
            out.colours.push(objects[j].colour);
            out.shapes.push(objects[j].shape);
        }
    }
    out
}

/// A fitted linear probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    mean: Vec<f64>,
    std: Vec<f64>,
    /// `(D + 1) × classes`, row-major.
    w: Vec<f64>,
    classes: usize,
}

impl Probe {
    /// Fits the ridge probe of the module doc on `features` with `labels` in `0..classes`.
    pub fn fit(features: &[Vec<f64>], labels: &[usize], classes: usize, ridge: f64) -> Probe {
        let n = features.len().max(1) as f64;
        let d = features.first().map_or(0, Vec::len);
        let mut mean = vec![0.0; d];
        for f in features {
            mean.iter_mut().zip(f).for_each(|(m, x)| *m += x / n);
        }
        let mut std = vec![0.0; d];
        for f in features {
            std.iter_mut()
                .zip(f.iter().zip(&mean))
                .for_each(|(s, (x, m))| *s += (x - m).powi(2) / n);
        }
        std.iter_mut().for_each(|s| *s = s.sqrt().max(1e-8));
        let mut probe = Probe {
            mean,
            std,
            w: Vec::new(),
            classes,
        };
        let e = d + 1;
        let mut gram = vec![0.0; e * e];
        let mut rhs = vec![0.0; e * classes];
        for (f, &y) in features.iter().zip(labels) {
            let z = probe.standardise(f);
            for a in 0..e {
                for b in 0..e {
                    gram[a * e + b] += z[a] * z[b];
                }
                rhs[a * classes + y] += z[a];
            }
        }
        for a in 0..e {
            gram[a * e + a] += ridge;
        }
        probe.w = solve_spd(&gram, &rhs, e, classes);
        probe
    }

    /// [z, 1] of a feature vector.
    fn standardise(&self, f: &[f64]) -> Vec<f64> {
        let mut z: Vec<f64> = f
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(x, (m, s))| (x - m) / s)
            .collect();
        z.push(1.0);
        z
    }

    /// The predicted class of `f`.
    pub fn predict(&self, f: &[f64]) -> usize {
        let z = self.standardise(f);
        (0..self.classes)
            .map(|c| {
                let score: f64 = z
                    .iter()
                    .enumerate()
                    .map(|(a, x)| x * self.w[a * self.classes + c])
                    .sum();
                (c, score)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(c, _)| c)
    }

    /// Accuracy on `features` with `labels`.
    pub fn accuracy(&self, features: &[Vec<f64>], labels: &[usize]) -> f64 {
        let hits = features
            .iter()
            .zip(labels)
            .filter(|(f, y)| self.predict(f) == **y)
            .count();
        hits as f64 / labels.len().max(1) as f64
    }
}

/// X with A X = B for a symmetric positive definite `n × n` A and `n × m` B (Cholesky).
fn solve_spd(a: &[f64], b: &[f64], n: usize, m: usize) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i * n + j] - (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum::<f64>();
            l[i * n + j] = if i == j {
                s.max(1e-300).sqrt()
            } else {
                s / l[j * n + j]
            };
        }
    }
    let mut x = b.to_vec();
    for c in 0..m {
        for i in 0..n {
            let s: f64 = (0..i).map(|k| l[i * n + k] * x[k * m + c]).sum();
            x[i * m + c] = (x[i * m + c] - s) / l[i * n + i];
        }
        for i in (0..n).rev() {
            let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k * m + c]).sum();
            x[i * m + c] = (x[i * m + c] - s) / l[i * n + i];
        }
    }
    x
}

/// The accuracy of always answering `train`'s commonest class, on `test`.
fn chance(train: &[usize], test: &[usize], classes: usize) -> f64 {
    let mut counts = vec![0usize; classes];
    train.iter().for_each(|&y| counts[y] += 1);
    let top = (0..classes).max_by_key(|&c| counts[c]).unwrap_or(0);
    test.iter().filter(|&&y| y == top).count() as f64 / test.len().max(1) as f64
}

/// Fits on `train`, scores on `test`.
pub fn score(train: &Examples, test: &Examples) -> ProbeScores {
    let colours = COLOURS.len();
    let pc = Probe::fit(&train.features, &train.colours, colours, RIDGE);
    let ps = Probe::fit(&train.features, &train.shapes, SHAPES, RIDGE);
    ProbeScores {
        colour: pc.accuracy(&test.features, &test.colours),
        shape: ps.accuracy(&test.features, &test.shapes),
        colour_chance: chance(&train.colours, &test.colours, colours),
        shape_chance: chance(&train.shapes, &test.shapes, SHAPES),
        objects: test.colours.len(),
    }
}

/// Per scene, the slot vectors (`K × D`) and the argmax segmentation, under the evaluation
/// stream's slot noise (the same draws as [`crate::evaluate::attention_maps`]).
pub fn slots_and_masks(
    model: &SlotModel,
    scenes: &Scenes,
    seed: u64,
) -> (Vec<Vec<f32>>, Vec<Vec<usize>>) {
    let dev = device::device();
    let size = scenes.size;
    let n = scenes.len();
    let mut rng = SeededRng::new(seed ^ EVAL_STREAM);
    let (k, d) = (model.spec.slots, model.sa.width());
    let stride = size * size * 3;
    let (mut slots, mut masks) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for start in (0..n).step_by(CHUNK) {
        let m = CHUNK.min(n - start);
        let enc = patches(
            &scenes.images[start * stride..(start + m) * stride],
            size,
            &dev,
        );
        let noise = rng.normal([m, k, d], &dev);
        let out = model.sa.forward(model.encoder.forward(enc), noise);
        let s = tensor::to_vec(out.slots);
        slots.extend(s.chunks(k * d).map(<[f32]>::to_vec));
        let a = tensor::to_vec(out.attn);
        let per = a.len() / m;
        masks.extend(
            a.chunks(per)
                .map(|a| upsample_argmax(a, grid_side(size), k, size)),
        );
    }
    (slots, masks)
}

/// The probe of the module doc for `model` on `scenes` (first half fits, second half scores).
pub fn property_probe(model: &SlotModel, scenes: &Scenes, seed: u64) -> ProbeScores {
    let (slots, masks) = slots_and_masks(model, scenes, seed);
    let half = scenes.len() / 2;
    let k = model.spec.slots;
    let first: Vec<usize> = (0..half).collect();
    let second: Vec<usize> = (half..scenes.len()).collect();
    let train = examples(&scenes.select(&first), &slots[..half], &masks[..half], k);
    let test = examples(&scenes.select(&second), &slots[half..], &masks[half..], k);
    score(&train, &test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_pairs_each_object_with_its_best_slot_one_to_one() {
        // Objects 1 = {0,1,2}, 2 = {3,4}; slot 2 covers object 1, slot 0 object 2 plus the
        // background, slot 1 one pixel of object 1.
        let truth = [1u8, 1, 1, 2, 2, 0, 0];
        let pred = [2, 2, 1, 0, 0, 0, 0];
        assert_eq!(match_objects(&pred, &truth, 2, 3), vec![2, 0]);
        // Both objects prefer slot 0; the matching still gives them different slots.
        let pred = [0, 0, 0, 0, 0, 1, 1];
        let m = match_objects(&pred, &truth, 2, 3);
        assert_ne!(m[0], m[1]);
        assert!(m.contains(&0));
    }

    #[test]
    fn ridge_solves_an_exact_linear_system() {
        // A = [[4, 2], [2, 3]], B = A · [[1], [−2]] → X = [[1], [−2]].
        let a = [4.0, 2.0, 2.0, 3.0];
        let b = [4.0 - 4.0, 2.0 - 6.0];
        let x = solve_spd(&a, &b, 2, 1);
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] + 2.0).abs() < 1e-12);
    }

    /// Examples whose slot vectors encode the colour (one-hot, scaled) when `informative`, else
    /// carry noise only; shapes are never encoded.
    fn synthetic(n: usize, informative: bool, rng: &mut SeededRng) -> Examples {
        let noise = rng.uniform_vec(n * 8);
        let labels = rng.uniform_vec(2 * n);
        let mut ex = Examples::default();
        for i in 0..n {
            let colour = ((labels[2 * i] * 6.0) as usize).min(5);
            let shape = ((labels[2 * i + 1] * 4.0) as usize).min(3);
            let mut f: Vec<f64> = noise[8 * i..8 * i + 8].iter().map(|&x| x as f64).collect();
            if informative {
                f[colour] += 3.0;
            }
            ex.features.push(f);
            ex.colours.push(colour);
            ex.shapes.push(shape);
        }
        ex
    }

    #[test]
    fn the_probe_reads_a_property_the_slots_encode_and_not_one_they_lack() {
        let mut rng = SeededRng::new(11);
        let (train, test) = (
            synthetic(600, true, &mut rng),
            synthetic(600, true, &mut rng),
        );
        let s = score(&train, &test);
        assert_eq!(s.colour, 1.0, "colour is linearly encoded");
        // Shape is independent of the features: the probe is near chance (4 classes).
        assert!(s.shape < 0.35, "shape accuracy {} from noise", s.shape);
        assert!(s.colour_chance < 0.3 && s.objects == 600);
        let (train, test) = (
            synthetic(600, false, &mut rng),
            synthetic(600, false, &mut rng),
        );
        assert!(score(&train, &test).colour < 0.25);
    }

    #[test]
    fn examples_take_the_matched_slot_of_each_object() {
        // One 2×2 scene: object 1 (colour 3, shape 1) on the left column, object 2 (colour 5,
        // shape 2) on the right; slot 1 segments the left, slot 0 the right.
        let objects = vec![
            crate::scene::Object {
                shape: 1,
                colour: 3,
                cx: 0.5,
                cy: 1.0,
                r: 1.0,
            },
            crate::scene::Object {
                shape: 2,
                colour: 5,
                cx: 1.5,
                cy: 1.0,
                r: 1.0,
            },
        ];
        let scenes = Scenes {
            size: 2,
            images: vec![0.0; 12],
            masks: Some(vec![1, 2, 1, 2]),
            objects: vec![objects],
            captions: Vec::new(),
            caption_len: 0,
        };
        let slots = vec![vec![10.0f32, 11.0, 20.0, 21.0, 30.0, 31.0]];
        let preds = vec![vec![1, 0, 1, 0]];
        let ex = examples(&scenes, &slots, &preds, 3);
        assert_eq!(ex.features, vec![vec![20.0, 21.0], vec![10.0, 11.0]]);
        assert_eq!((ex.colours, ex.shapes), (vec![3, 5], vec![1, 2]));
    }
}
