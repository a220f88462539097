//! Scoring one arm's generated chunks against the truth of the test episodes.

use serde::Serialize;

use crate::generator::Episode;
use crate::memory::downsample;
use crate::metrics::{
    Features, TrueView, block_depth, ghost_candidates, ghost_count, met3r_lite, psnr, regions,
    sq_error, ssim_region,
};
use crate::pose::{Cloud, camera_error, search_pose};

/// The metrics of one arm on one seed's test episodes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Scores {
    /// PSNR over static-region pixels (dB; mean over episodes).
    pub psnr_static: f64,
    /// PSNR over dynamic-region pixels (dB; mean over episodes that have any).
    pub psnr_dynamic: f64,
    /// SSIM over the static region.
    pub ssim_static: f64,
    /// SSIM over the dynamic region.
    pub ssim_dynamic: f64,
    /// Fraction of ghost candidates showing the stale object (pooled).
    pub ghost: f64,
    /// MEt3R-lite (mean over episodes).
    pub met3r: f64,
    /// Mean rotation error (degrees) of the pose search (NaN when not measured).
    pub rot_err: f64,
    /// Mean translation error of the pose search (NaN when not measured).
    pub trans_err: f64,
}

impl Scores {
    /// `(name, value)` pairs, in report order.
    pub fn named(&self) -> [(&'static str, f64); 8] {
        [
            ("psnr_static", self.psnr_static),
            ("psnr_dynamic", self.psnr_dynamic),
            ("ssim_static", self.ssim_static),
            ("ssim_dynamic", self.ssim_dynamic),
            ("ghost", self.ghost),
            ("met3r_lite", self.met3r),
            ("rot_err_deg", self.rot_err),
            ("trans_err", self.trans_err),
        ]
    }
}

/// What the scoring of an episode needs besides the outputs, computed once per episode.
pub struct Truth {
    frames: Vec<Vec<f32>>,
    stat: Vec<Vec<u8>>,
    dynamic: Vec<Vec<u8>>,
    views: Vec<TrueView>,
    stale: Vec<(Vec<f32>, Vec<usize>)>,
    cloud: Cloud,
}

/// The stale dynamic colours an unmasked memory of every input frame shows in each target
/// camera, at generator resolution, and the ghost candidates.
fn stale(
    ep: &Episode,
    k: usize,
    factor: usize,
    truth: &[f32],
    stat: &[u8],
) -> (Vec<f32>, Vec<usize>) {
    let memory = ep.memory_oracle.as_ref().unwrap_or(&ep.memory);
    let cam = &ep.target.cameras[k];
    let all: Vec<usize> = (0..memory.len()).collect();
    let warp = memory.splat(cam, &all, false);
    let (rgb, frac) = warp.downsample_where(factor, &warp.from_dynamic);
    let mask: Vec<u8> = frac.iter().map(|&f| u8::from(f >= 0.5)).collect();
    let cands = ghost_candidates(&rgb, &mask, truth, stat);
    (rgb, cands)
}

impl Truth {
    /// The truth of `ep` at 1/`factor` resolution.
    pub fn new(ep: &Episode, factor: usize) -> Truth {
        let t = &ep.target;
        let (w, h) = (t.width, t.height);
        let s = w / factor;
        let mut out = Truth {
            frames: Vec::new(),
            stat: Vec::new(),
            dynamic: Vec::new(),
            views: Vec::new(),
            stale: Vec::new(),
            cloud: Cloud::from_memory(ep.memory_oracle.as_ref().unwrap_or(&ep.memory), 4),
        };
        for k in 0..t.len() {
            let frame = downsample(&t.rgb[k], 3, w, h, factor);
            let (st, dy) = regions(&t.dynamic[k], w, h, factor);
            out.stale.push(stale(ep, k, factor, &frame, &st));
            out.views.push(TrueView {
                camera: t.cameras[k].resized(s, s),
                depth: block_depth(&t.depth[k], w, h, factor),
                static_region: st.clone(),
            });
            out.frames.push(frame);
            out.stat.push(st);
            out.dynamic.push(dy);
        }
        out
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Mean (rotation, translation) error of the pose search over every generated frame.
fn camera_errors(outputs: &[Vec<Vec<f32>>], truths: &[Truth]) -> (f64, f64) {
    let (mut r, mut t) = (vec![], vec![]);
    for (out, tr) in outputs.iter().zip(truths) {
        for (k, o) in out.iter().enumerate() {
            let requested = &tr.views[k].camera;
            let (a, b) = camera_error(&search_pose(&tr.cloud, o, requested), requested);
            r.push(a);
            t.push(b);
        }
    }
    (mean(&r), mean(&t))
}

/// The camera error of the true frames (the search's floor).
pub fn truth_camera_error(truths: &[Truth]) -> (f64, f64) {
    let frames: Vec<Vec<Vec<f32>>> = truths.iter().map(|t| t.frames.clone()).collect();
    camera_errors(&frames, truths)
}

/// Scores `outputs[e][k]` against `truths[e]` (generator resolution `s`); the pose search
/// runs only with `camera`.
pub fn score(
    outputs: &[Vec<Vec<f32>>],
    truths: &[Truth],
    s: usize,
    phi: &Features,
    camera: bool,
) -> Scores {
    let (mut ps, mut pd, mut ss, mut sd, mut mt) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut ghosted, mut cands) = (0usize, 0usize);
    for (out, tr) in outputs.iter().zip(truths) {
        let (mut es, mut ns, mut ed, mut nd) = (0.0, 0, 0.0, 0);
        let (mut sss, mut ssd) = (vec![], vec![]);
        for (k, o) in out.iter().enumerate() {
            let (e, n) = sq_error(o, &tr.frames[k], &tr.stat[k]);
            es += e;
            ns += n;
            let (e, n) = sq_error(o, &tr.frames[k], &tr.dynamic[k]);
            ed += e;
            nd += n;
            sss.extend(ssim_region(o, &tr.frames[k], &tr.stat[k], s));
            ssd.extend(ssim_region(o, &tr.frames[k], &tr.dynamic[k], s));
            let (g, c) = ghost_count(o, &tr.stale[k].0, &tr.frames[k], &tr.stale[k].1);
            ghosted += g;
            cands += c;
        }
        ps.extend(psnr(es, ns));
        pd.extend(psnr(ed, nd));
        ss.push(mean(&sss));
        if !ssd.is_empty() {
            sd.push(mean(&ssd));
        }
        mt.extend(met3r_lite(phi, out, &tr.views, s, 20));
    }
    let mut scores = Scores {
        psnr_static: mean(&ps),
        psnr_dynamic: mean(&pd),
        ssim_static: mean(&ss),
        ssim_dynamic: mean(&sd),
        ghost: if cands == 0 {
            f64::NAN
        } else {
            ghosted as f64 / cands as f64
        },
        met3r: mean(&mt),
        rot_err: f64::NAN,
        trans_err: f64::NAN,
    };
    if camera {
        (scores.rot_err, scores.trans_err) = camera_errors(outputs, truths);
    }
    scores
}
