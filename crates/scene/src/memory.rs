//! The static-only 3-D scene memory: unproject every input frame into a coloured point cloud,
//! drop the points a dynamic mask covers, retrieve the n input frames that overlap a target
//! camera most, and splat their static points into it (the paper's "3D scene prompt").
//!
//! ```text
//! points of frame i:   X = unproject_i(p, D_i(p)) for every pixel p with finite depth,
//!                      colour I_i(p), static ⇔ mask_i(p) = 0
//! overlap(i, target) = fraction of frame i's points (a fixed 1-in-7 subsample) that project
//!                      inside the target image with z > z_near          (frustum overlap)
//! retrieve(target, n) = the n frames of highest overlap (ties: later frame first)
//! splat:               each kept point at (u, v, z) covers the 2×2 pixel centres around
//!                      (u, v): the pixel ⌊(u, v)⌋ it falls in and its neighbours towards the
//!                      nearer side; the nearest z wins, the spill pixels with z·(1 + 0.1) so
//!                      that a pixel's own point wins a tie (an exact self-render);
//!                      valid(q) = 1 where any point landed
//! ```
//!
//! Geometry is the renderer's (oracle) or a noisy copy ([`Geometry::Noisy`]: each frame's pose
//! rotated by a random ~`rot_deg`° and shifted by ~`trans`, each depth scaled by
//! (1 + `depth_rel`·ε), ε ~ N(0, 1)) — the stand-in for dynamic-SLAM estimates. A [`Memory`] is
//! built once per input video and reused by every target camera, arm and n (the paper's
//! pipeline runs SLAM, tracking and SAM2 once per video; users asked that this be cached).

use serde::{Deserialize, Serialize};

use crate::camera::{Camera, add, axis_angle, mat_mul};
use crate::path::Sequence;
use crate::raster::Z_NEAR;

/// Relative depth handicap of a splat's spill pixels.
const SPILL: f64 = 0.1;

/// Where the memory's poses and depth come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Geometry {
    /// The renderer's cameras and depth.
    Oracle,
    /// Perturbed poses and depth (a SLAM stand-in).
    Noisy {
        /// Rotation noise (degrees, std of the axis-angle magnitude per axis).
        rot_deg: f64,
        /// Translation noise (world units, std per axis).
        trans: f64,
        /// Relative depth noise (std).
        depth_rel: f64,
        /// Noise seed.
        seed: u64,
    },
}

/// One input frame's points.
#[derive(Debug, Clone, Default)]
struct FramePoints {
    xyz: Vec<[f64; 3]>,
    rgb: Vec<[f32; 3]>,
    dynamic: Vec<bool>,
}

/// The unprojected input video (see the module doc).
#[derive(Debug, Clone)]
pub struct Memory {
    frames: Vec<FramePoints>,
}

/// A splat of the memory into a target camera, channel-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Warp {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Colours `[3, H, W]` (0 where invalid).
    pub rgb: Vec<f32>,
    /// 1 where some point landed, `[H, W]`.
    pub valid: Vec<f32>,
    /// Depth of the winning point (∞ where invalid).
    pub depth: Vec<f32>,
    /// The z-buffer (spill pixels carry z·(1 + 0.1)).
    zbuf: Vec<f32>,
    /// 1 where the winning point was masked as dynamic (only non-zero when dynamic points
    /// were kept), `[H, W]`.
    pub from_dynamic: Vec<u8>,
}

fn gauss(state: &mut u64) -> f64 {
    let mut u = || {
        *state = crate::world::splitmix(*state);
        ((*state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let (a, b) = (u(), u());
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

impl Memory {
    /// Unprojects every frame of `seq` with `geometry`; `mask[i][p] = 1` marks dynamic pixels
    /// (`None`: nothing is masked).
    pub fn build(seq: &Sequence, mask: Option<&[Vec<u8>]>, geometry: Geometry) -> Memory {
        let (w, h) = (seq.width, seq.height);
        let frames = (0..seq.len())
            .map(|i| {
                let (cam, mut noise) = perturb(&seq.cameras[i], geometry, i);
                let mut fp = FramePoints::default();
                for y in 0..h {
                    for x in 0..w {
                        let k = y * w + x;
                        let mut d = seq.depth[i][k] as f64;
                        if !d.is_finite() || d <= 0.0 {
                            continue;
                        }
                        if let Some(rel) = noise.as_mut() {
                            d *= 1.0 + rel.0 * gauss(&mut rel.1);
                        }
                        fp.xyz
                            .push(cam.unproject(x as f64 + 0.5, y as f64 + 0.5, d));
                        fp.rgb.push([0, 1, 2].map(|c| seq.rgb[i][c * w * h + k]));
                        fp.dynamic.push(mask.is_some_and(|m| m[i][k] != 0));
                    }
                }
                fp
            })
            .collect();
        Memory { frames }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// No frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Calls `f(position, colour)` for one in `stride` of the static points of every frame.
    pub fn for_each_static(&self, stride: usize, mut f: impl FnMut([f64; 3], [f32; 3])) {
        for fr in &self.frames {
            for k in (0..fr.xyz.len()).step_by(stride.max(1)) {
                if !fr.dynamic[k] {
                    f(fr.xyz[k], fr.rgb[k]);
                }
            }
        }
    }

    /// Total number of points (static and dynamic).
    pub fn points(&self) -> usize {
        self.frames.iter().map(|f| f.xyz.len()).sum()
    }

    /// Frustum overlap of frame `i` with `target` (module doc).
    pub fn overlap(&self, i: usize, target: &Camera) -> f64 {
        let f = &self.frames[i];
        let (mut inside, mut total) = (0usize, 0usize);
        for x in f.xyz.iter().step_by(7) {
            total += 1;
            let (u, v, z) = target.project(*x);
            if z > Z_NEAR
                && u >= 0.0
                && v >= 0.0
                && u < target.width as f64
                && v < target.height as f64
            {
                inside += 1;
            }
        }
        if total == 0 {
            0.0
        } else {
            inside as f64 / total as f64
        }
    }

    /// The `n` frames that overlap `target` most (all frames when n ≥ len), best first.
    pub fn retrieve(&self, target: &Camera, n: usize) -> Vec<usize> {
        let mut scored: Vec<(f64, usize)> = (0..self.len())
            .map(|i| (self.overlap(i, target), i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
        scored.into_iter().take(n).map(|(_, i)| i).collect()
    }

    /// Splats the points of `frames` into `target`; with `static_only`, points masked as
    /// dynamic are left out.
    pub fn splat(&self, target: &Camera, frames: &[usize], static_only: bool) -> Warp {
        let (w, h) = (target.width, target.height);
        let mut warp = Warp {
            width: w,
            height: h,
            rgb: vec![0.0; 3 * w * h],
            valid: vec![0.0; w * h],
            depth: vec![f32::INFINITY; w * h],
            zbuf: vec![f32::INFINITY; w * h],
            from_dynamic: vec![0; w * h],
        };
        for &i in frames {
            let f = &self.frames[i];
            for (k, x) in f.xyz.iter().enumerate() {
                if static_only && f.dynamic[k] {
                    continue;
                }
                let (u, v, z) = target.project(*x);
                if z <= Z_NEAR || !u.is_finite() || !v.is_finite() {
                    continue;
                }
                let (x0, y0) = (u.floor(), v.floor());
                let sx = if u - x0 < 0.5 { -1.0 } else { 1.0 };
                let sy = if v - y0 < 0.5 { -1.0 } else { 1.0 };
                for (dx, dy) in [(0.0, 0.0), (sx, 0.0), (0.0, sy), (sx, sy)] {
                    let (px, py) = (x0 + dx, y0 + dy);
                    if px < 0.0 || py < 0.0 || px >= w as f64 || py >= h as f64 {
                        continue;
                    }
                    let q = py as usize * w + px as usize;
                    // Spill pixels lose ties to the pixel the point falls in.
                    let zq = if dx == 0.0 && dy == 0.0 {
                        z
                    } else {
                        z * (1.0 + SPILL)
                    };
                    if (zq as f32) < warp.zbuf[q] {
                        warp.zbuf[q] = zq as f32;
                        warp.depth[q] = z as f32;
                        warp.valid[q] = 1.0;
                        for c in 0..3 {
                            warp.rgb[c * w * h + q] = f.rgb[k][c];
                        }
                        warp.from_dynamic[q] = u8::from(f.dynamic[k]);
                    }
                }
            }
        }
        warp
    }
}

/// The camera a frame is unprojected with, and its depth-noise state.
fn perturb(cam: &Camera, g: Geometry, i: usize) -> (Camera, Option<(f64, u64)>) {
    match g {
        Geometry::Oracle => (*cam, None),
        Geometry::Noisy {
            rot_deg,
            trans,
            depth_rel,
            seed,
        } => {
            let mut s = crate::world::splitmix(seed ^ (i as u64).wrapping_mul(0x9E37));
            let axis = [gauss(&mut s), gauss(&mut s), gauss(&mut s)];
            let angle = rot_deg.to_radians() * crate::camera::dot(axis, axis).sqrt();
            let r = mat_mul(&axis_angle(axis, angle), &cam.rotation);
            let t = [
                gauss(&mut s) * trans,
                gauss(&mut s) * trans,
                gauss(&mut s) * trans,
            ];
            let noisy = Camera {
                rotation: r,
                center: add(cam.center, t),
                ..*cam
            };
            (noisy, Some((depth_rel, s)))
        }
    }
}

/// Box-downsamples `[c, H, W]` by `factor` (H and W divisible by it).
pub fn downsample(x: &[f32], channels: usize, w: usize, h: usize, factor: usize) -> Vec<f32> {
    let (ow, oh) = (w / factor, h / factor);
    let mut out = vec![0.0f32; channels * ow * oh];
    let inv = 1.0 / (factor * factor) as f32;
    for c in 0..channels {
        for y in 0..oh {
            for xo in 0..ow {
                let mut s = 0.0;
                for dy in 0..factor {
                    for dx in 0..factor {
                        s += x[c * w * h + (y * factor + dy) * w + xo * factor + dx];
                    }
                }
                out[c * ow * oh + y * ow + xo] = s * inv;
            }
        }
    }
    out
}

impl Warp {
    /// The warp at `1/factor` resolution: colours averaged over the valid fine pixels, validity
    /// = the fraction of valid fine pixels.
    pub fn downsample(&self, factor: usize) -> (Vec<f32>, Vec<f32>) {
        self.downsample_by(factor, &self.valid)
    }

    /// [`Warp::downsample`] counting only the pixels where `select` is non-zero as valid.
    pub fn downsample_where(&self, factor: usize, select: &[u8]) -> (Vec<f32>, Vec<f32>) {
        let valid: Vec<f32> = select
            .iter()
            .zip(&self.valid)
            .map(|(&s, &v)| if s != 0 { v } else { 0.0 })
            .collect();
        self.downsample_by(factor, &valid)
    }

    fn downsample_by(&self, factor: usize, valid: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (w, h) = (self.width, self.height);
        let mut weighted = self.rgb.clone();
        for c in 0..3 {
            for q in 0..w * h {
                weighted[c * w * h + q] *= valid[q];
            }
        }
        let sum = downsample(&weighted, 3, w, h, factor);
        let valid = downsample(valid, 1, w, h, factor);
        let n = valid.len();
        let rgb = (0..3 * n)
            .map(|i| {
                let v = valid[i % n];
                if v > 0.0 { sum[i] / v } else { 0.0 }
            })
            .collect();
        (rgb, valid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{PathKind, Scenario};

    /// Unprojecting a frame with its own depth and splatting it back into its own camera
    /// reproduces it exactly where no nearer surface is adjacent (every point lands on its own
    /// pixel centre, which the primary footprint wins).
    #[test]
    fn self_splat_round_trip_is_exact() {
        let s = Scenario::new(4, PathKind::Revisit, 6, 1, 32);
        let seq = s.render(&s.input, 0.0);
        let m = Memory::build(&seq, None, Geometry::Oracle);
        for i in 0..seq.len() {
            let warp = m.splat(&seq.cameras[i], &[i], false);
            let (w, h) = (32usize, 32usize);
            let (mut exact, mut eligible) = (0, 0);
            for q in 0..w * h {
                assert_eq!(warp.valid[q], 1.0);
                // Eligible: no neighbour nearer than the spill handicap allows.
                let (x, y) = (q % w, q / w);
                let z = seq.depth[i][q];
                let clear = (y.saturating_sub(1)..(y + 2).min(h)).all(|yy| {
                    (x.saturating_sub(1)..(x + 2).min(w))
                        .all(|xx| seq.depth[i][yy * w + xx] * 1.1 > z * 1.000_01)
                });
                if !clear {
                    continue;
                }
                eligible += 1;
                let same = (0..3).all(|c| warp.rgb[c * w * h + q] == seq.rgb[i][c * w * h + q]);
                assert!(same && warp.depth[q] == z, "frame {i} pixel {q}");
                exact += 1;
            }
            assert_eq!(exact, eligible);
            assert!(eligible > 500, "frame {i}: {eligible}");
        }
    }

    /// Static points of one frame splatted into another camera land where that camera's own
    /// render sees the same surface (same instance, depth within 2%) for most pixels.
    #[test]
    fn cross_view_splat_agrees_with_the_render() {
        let s = Scenario::new(6, PathKind::Revisit, 20, 4, 64);
        let (input, target) = s.sequences();
        let m = Memory::build(&input, Some(&input.dynamic), Geometry::Oracle);
        let cam = &target.cameras[0];
        let frames = m.retrieve(cam, 5);
        let warp = m.splat(cam, &frames, true);
        let (mut agree, mut n) = (0, 0);
        for q in 0..64 * 64 {
            if warp.valid[q] == 0.0 || target.dynamic[0][q] == 1 {
                continue;
            }
            n += 1;
            let rel = (warp.depth[q] - target.depth[0][q]).abs() / target.depth[0][q];
            agree += usize::from(rel < 0.02);
        }
        assert!(n > 1000, "{n} valid pixels");
        assert!(agree as f64 > 0.75 * n as f64, "{agree}/{n}");
        // Retrieval prefers the early sweep (the target revisits it).
        assert!(frames.iter().all(|&i| i < 12), "{frames:?}");
    }

    #[test]
    fn static_only_drops_masked_points_and_n_limits_frames() {
        let s = Scenario::new(2, PathKind::Revisit, 10, 2, 32);
        let (input, target) = s.sequences();
        let m = Memory::build(&input, Some(&input.dynamic), Geometry::Oracle);
        let all = m.splat(
            &target.cameras[0],
            &m.retrieve(&target.cameras[0], 100),
            false,
        );
        let stat = m.splat(
            &target.cameras[0],
            &m.retrieve(&target.cameras[0], 100),
            true,
        );
        assert!(stat.from_dynamic.iter().all(|&d| d == 0));
        assert!(stat.valid.iter().sum::<f32>() <= all.valid.iter().sum::<f32>());
        assert_eq!(m.retrieve(&target.cameras[0], 3).len(), 3);
        assert_eq!(m.retrieve(&target.cameras[0], 100).len(), 10);
    }

    #[test]
    fn downsampling_by_hand() {
        let x = vec![1.0, 2.0, 3.0, 4.0];
        assert_eq!(downsample(&x, 1, 2, 2, 2), vec![2.5]);
        let warp = Warp {
            width: 2,
            height: 2,
            rgb: vec![1.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0],
            valid: vec![1.0, 0.0, 0.0, 0.0],
            depth: vec![1.0; 4],
            zbuf: vec![1.0; 4],
            from_dynamic: vec![0; 4],
        };
        let (rgb, valid) = warp.downsample(2);
        assert_eq!((rgb, valid), (vec![1.0, 0.5, 0.2], vec![0.25]));
    }
}
