//! Metrics on generated chunks, at the generator's resolution.
//!
//! ```text
//! PSNR_R = 10 log₁₀(1 / MSE over region R),  SSIM_R = mean of the SSIM map over R
//!   R = static region (no true dynamic pixel in the block) or dynamic region (any)
//! ghost = fraction of ghost-candidate pixels G where the output is nearer (L1) to the
//!         stale dynamic colour than to the truth;  G = pixels that are static now but where
//!         an unmasked memory of all input frames shows a (stale) dynamic object whose colour
//!         differs from the truth by > 0.1
//! MEt3R-lite(i, j) = 1 − mean over co-visible static pixels p of frame i of
//!         cos(φ(Î_i)(p), φ(Î_j)(π_j(X_i(p))))   symmetrised over (i, j), (j, i)
//!   X_i(p) = unproject with the TRUE depth and camera of target frame i; co-visible ⇔ lands
//!   in view of j with true depth agreeing within 5% and static there; φ = a fixed random
//!   two-layer 3×3 conv feature map (8 channels, ReLU) of the image minus its mean colour,
//!   sampled bilinearly
//! ```
//!
//! MEt3R (Asim et al., CVPR 2025) uses DUSt3R point maps and DINO/FeatUp features; here the
//! geometry is the renderer's truth and the features are a fixed random conv net, so
//! "MEt3R-lite" measures the same thing — do two generated views agree where the true 3-D
//! geometry says they show the same surface — without pretrained networks.

use crate::camera::Camera;
use crate::ssim::ssim_map;
use crate::world::splitmix;

/// A region mask at generator resolution: 1 inside.
pub type Region = Vec<u8>;

/// Static and dynamic regions of a true dynamic mask `[H, W]` downsampled by `factor`.
pub fn regions(dynamic: &[u8], w: usize, h: usize, factor: usize) -> (Region, Region) {
    let (ow, oh) = (w / factor, h / factor);
    let mut stat = vec![0u8; ow * oh];
    let mut dyn_ = vec![0u8; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let any = (0..factor).any(|dy| {
                (0..factor).any(|dx| dynamic[(y * factor + dy) * w + x * factor + dx] != 0)
            });
            stat[y * ow + x] = u8::from(!any);
            dyn_[y * ow + x] = u8::from(any);
        }
    }
    (stat, dyn_)
}

/// Squared error summed over region pixels and channels, and the number of values.
pub fn sq_error(out: &[f32], truth: &[f32], region: &[u8]) -> (f64, usize) {
    let hw = region.len();
    let (mut s, mut n) = (0.0, 0);
    for c in 0..3 {
        for q in 0..hw {
            if region[q] != 0 {
                let d = (out[c * hw + q] - truth[c * hw + q]) as f64;
                s += d * d;
                n += 1;
            }
        }
    }
    (s, n)
}

/// PSNR (data range 1) from a summed squared error over `n` values (`None` when n = 0).
pub fn psnr(sum_sq: f64, n: usize) -> Option<f64> {
    (n > 0).then(|| 10.0 * (1.0 / (sum_sq / n as f64).max(1e-10)).log10())
}

/// Mean SSIM over the region (`None` when empty).
pub fn ssim_region(out: &[f32], truth: &[f32], region: &[u8], size: usize) -> Option<f64> {
    let map = ssim_map(out, truth, size, size);
    let (mut s, mut n) = (0.0, 0usize);
    for (q, &r) in region.iter().enumerate() {
        if r != 0 {
            s += map[q] as f64;
            n += 1;
        }
    }
    (n > 0).then(|| s / n as f64)
}

/// Ghost candidates and the stale colours (module doc), `(pixels, stale rgb [3, hw])`.
pub fn ghost_candidates(
    stale_rgb: &[f32],
    stale_mask: &[u8],
    truth: &[f32],
    static_region: &[u8],
) -> Vec<usize> {
    let hw = static_region.len();
    (0..hw)
        .filter(|&q| {
            let diff: f32 = (0..3)
                .map(|c| (stale_rgb[c * hw + q] - truth[c * hw + q]).abs())
                .sum::<f32>()
                / 3.0;
            stale_mask[q] != 0 && static_region[q] != 0 && diff > 0.1
        })
        .collect()
}

/// `(ghosted, candidates)`: how many candidates the output shows nearer the stale colour.
pub fn ghost_count(
    out: &[f32],
    stale_rgb: &[f32],
    truth: &[f32],
    candidates: &[usize],
) -> (usize, usize) {
    let hw = truth.len() / 3;
    let l1 = |a: &[f32], q: usize| -> f32 {
        (0..3)
            .map(|c| (out[c * hw + q] - a[c * hw + q]).abs())
            .sum()
    };
    let ghosted = candidates
        .iter()
        .filter(|&&q| l1(stale_rgb, q) < l1(truth, q))
        .count();
    (ghosted, candidates.len())
}

/// The fixed random feature extractor φ of MEt3R-lite.
#[derive(Debug, Clone)]
pub struct Features {
    w1: Vec<f32>,
    w2: Vec<f32>,
}

/// Feature channels of φ.
pub const FEATURES: usize = 8;

impl Features {
    /// φ with weights drawn from a fixed seed (N(0, 1/fan-in) via a hash).
    pub fn new(seed: u64) -> Self {
        let mut s = splitmix(seed ^ 0xFEA7);
        let mut draw = |n: usize, fan: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    s = splitmix(s);
                    let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                    ((u - 0.5) * (12.0f64 / fan as f64).sqrt()) as f32
                })
                .collect()
        };
        Features {
            w1: draw(FEATURES * 3 * 9, 27),
            w2: draw(FEATURES * FEATURES * 9, FEATURES * 9),
        }
    }

    fn conv(x: &[f32], cin: usize, w: &[f32], s: usize) -> Vec<f32> {
        let hw = s * s;
        let mut out = vec![0.0f32; FEATURES * hw];
        for o in 0..FEATURES {
            for y in 0..s {
                for xx in 0..s {
                    let mut acc = 0.0;
                    for c in 0..cin {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (yy, xs) = (y as isize + ky - 1, xx as isize + kx - 1);
                                if yy < 0 || xs < 0 || yy >= s as isize || xs >= s as isize {
                                    continue;
                                }
                                let wv = w[((o * cin + c) * 3 + ky as usize) * 3 + kx as usize];
                                acc += wv * x[c * hw + yy as usize * s + xs as usize];
                            }
                        }
                    }
                    out[o * hw + y * s + xx] = acc.max(0.0);
                }
            }
        }
        out
    }

    /// φ(image − its mean colour), `[FEATURES, s, s]`.
    pub fn apply(&self, rgb: &[f32], s: usize) -> Vec<f32> {
        let hw = s * s;
        let mut x = rgb.to_vec();
        for c in 0..3 {
            let m = x[c * hw..(c + 1) * hw].iter().sum::<f32>() / hw as f32;
            x[c * hw..(c + 1) * hw].iter_mut().for_each(|v| *v -= m);
        }
        let h = Self::conv(&x, 3, &self.w1, s);
        Self::conv(&h, FEATURES, &self.w2, s)
    }
}

/// One frame's truth for MEt3R-lite: camera (at generator resolution), depth and static region.
#[derive(Debug, Clone)]
pub struct TrueView {
    /// Camera at generator resolution.
    pub camera: Camera,
    /// Depth per pixel (NaN where the block's depths disagree by > 5%).
    pub depth: Vec<f32>,
    /// Static region.
    pub static_region: Region,
}

/// Depth at generator resolution: the mean of each block when its depths agree within 5%.
pub fn block_depth(depth: &[f32], w: usize, h: usize, factor: usize) -> Vec<f32> {
    let (ow, oh) = (w / factor, h / factor);
    let mut out = vec![f32::NAN; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            let vals: Vec<f32> = (0..factor * factor)
                .map(|k| depth[(y * factor + k / factor) * w + x * factor + k % factor])
                .collect();
            let (lo, hi) = vals
                .iter()
                .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            if lo.is_finite() && hi.is_finite() && hi <= lo * 1.05 {
                out[y * ow + x] = vals.iter().sum::<f32>() / vals.len() as f32;
            }
        }
    }
    out
}

fn bilinear(f: &[f32], c: usize, s: usize, u: f64, v: f64) -> f32 {
    let (x, y) = (
        (u - 0.5).clamp(0.0, s as f64 - 1.0),
        (v - 0.5).clamp(0.0, s as f64 - 1.0),
    );
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(s - 1), (y0 + 1).min(s - 1));
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let at = |yy: usize, xx: usize| f[c * s * s + yy * s + xx];
    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x1))
        + fy * ((1.0 - fx) * at(y1, x0) + fx * at(y1, x1))
}

/// Directed MEt3R-lite similarity of frame i into frame j: (sum of cosines, co-visible count).
fn directed(fi: &[f32], fj: &[f32], vi: &TrueView, vj: &TrueView, s: usize) -> (f64, usize) {
    let hw = s * s;
    let (mut sum, mut n) = (0.0, 0);
    for q in 0..hw {
        let d = vi.depth[q];
        if vi.static_region[q] == 0 || !d.is_finite() {
            continue;
        }
        let x = vi
            .camera
            .unproject((q % s) as f64 + 0.5, (q / s) as f64 + 0.5, d as f64);
        let (u, v, z) = vj.camera.project(x);
        if z <= 0.0 || u < 0.0 || v < 0.0 || u >= s as f64 || v >= s as f64 {
            continue;
        }
        let r = v as usize * s + u as usize;
        let dj = vj.depth[r];
        if !dj.is_finite() || (dj - z as f32).abs() > 0.05 * z as f32 || vj.static_region[r] == 0 {
            continue;
        }
        let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
        for c in 0..FEATURES {
            let a = fi[c * hw + q] as f64;
            let b = bilinear(fj, c, s, u, v) as f64;
            dot += a * b;
            na += a * a;
            nb += b * b;
        }
        // Two all-zero feature vectors are identical (cos = 1 by continuity of a = b).
        sum += if na + nb < 1e-20 {
            1.0
        } else {
            dot / (na.sqrt() * nb.sqrt() + 1e-12)
        };
        n += 1;
    }
    (sum, n)
}

/// MEt3R-lite of a generated chunk `frames` (each `[3, s, s]`) against the true views: the mean
/// over frame pairs with ≥ `min_covisible` co-visible pixels both ways (`None` if no pair).
pub fn met3r_lite(
    phi: &Features,
    frames: &[Vec<f32>],
    views: &[TrueView],
    s: usize,
    min_covisible: usize,
) -> Option<f64> {
    let feats: Vec<Vec<f32>> = frames.iter().map(|f| phi.apply(f, s)).collect();
    let mut scores = Vec::new();
    for i in 0..frames.len() {
        for j in i + 1..frames.len() {
            let (a, na) = directed(&feats[i], &feats[j], &views[i], &views[j], s);
            let (b, nb) = directed(&feats[j], &feats[i], &views[j], &views[i], s);
            if na >= min_covisible && nb >= min_covisible {
                scores.push(1.0 - 0.5 * (a / na as f64 + b / nb as f64));
            }
        }
    }
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{PathKind, Scenario};

    fn views(seed: u64) -> (Vec<Vec<f32>>, Vec<TrueView>) {
        let sc = Scenario::new(seed, PathKind::Revisit, 8, 6, 64);
        let seq = sc.render(&sc.target, 0.0);
        let mut frames = Vec::new();
        let mut tv = Vec::new();
        for i in 0..seq.len() {
            frames.push(crate::memory::downsample(&seq.rgb[i], 3, 64, 64, 2));
            let (st, _) = regions(&seq.dynamic[i], 64, 64, 2);
            tv.push(TrueView {
                camera: seq.cameras[i].resized(32, 32),
                depth: block_depth(&seq.depth[i], 64, 64, 2),
                static_region: st,
            });
        }
        (frames, tv)
    }

    /// Two renders of one static scene from the same camera score exactly 0; the true renders
    /// of a camera path score near 0 and far below a shuffled (inconsistent) assignment.
    #[test]
    fn met3r_lite_is_zero_for_renders_of_one_static_scene() {
        let phi = Features::new(0);
        let (frames, tv) = views(2);
        let same = [tv[0].clone(), tv[0].clone()];
        let m = met3r_lite(&phi, &[frames[0].clone(), frames[0].clone()], &same, 32, 10).unwrap();
        assert!(m.abs() < 1e-6, "{m}");
        let truth = met3r_lite(&phi, &frames, &tv, 32, 20).unwrap();
        let mut shuffled = frames.clone();
        shuffled.reverse();
        let bad = met3r_lite(&phi, &shuffled, &tv, 32, 20).unwrap();
        assert!(
            truth < 0.25 && bad > 2.0 * truth,
            "truth {truth}, shuffled {bad}"
        );
    }

    #[test]
    fn psnr_ssim_ghost_by_hand() {
        let (s, n) = sq_error(&[0.5; 12], &[0.6; 12], &[1, 1, 0, 0]);
        assert_eq!(n, 6);
        assert!((psnr(s, n).unwrap() - 20.0).abs() < 1e-4);
        assert!(psnr(0.0, 0).is_none());
        let truth = vec![0.2f32; 3 * 4];
        let stale = vec![0.9f32; 3 * 4];
        let cands = ghost_candidates(&stale, &[1, 1, 0, 1], &truth, &[1, 1, 1, 0]);
        assert_eq!(cands, vec![0, 1]);
        let mut out = truth.clone();
        for c in 0..3 {
            out[c * 4] = 0.8;
        }
        assert_eq!(ghost_count(&out, &stale, &truth, &cands), (1, 2));
        let img: Vec<f32> = (0..3 * 64).map(|i| (i % 7) as f32 / 7.0).collect();
        assert!((ssim_region(&img, &img, &[1; 64], 8).unwrap() - 1.0).abs() < 1e-6);
        let (st, dy) = regions(&[0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 4, 4, 2);
        assert_eq!((st, dy), (vec![1, 0, 1, 1], vec![0, 1, 0, 0]));
    }
}
