//! `genlab repro scene`: does a static-only 3-D memory make revisited views consistent?
//! (3DScenePrompt, Lee, Jung, Han et al., ICLR 2026, arXiv 2510.14945; the smallest faithful
//! experiment of `shared/research/anchors-multimodal.md` §3(d).)
//!
//! Phases, per seed (the seed picks the training and test worlds and the initialisations):
//!
//! 1. **Data** — `train_worlds` + `test_worlds` synthetic rooms, each an input video of `len`
//!    frames on the revisit path and a target chunk of `chunk` frames that returns to the early
//!    viewpoints while the dynamic boxes keep moving; memories built once per video (estimated
//!    any-time mask; also oracle-mask and noisy-geometry variants for the test worlds).
//! 2. **Arms** — the same U-Net trained for the same steps on each arm's conditioning
//!    ([`crate::generator`]): memory (ours), memory-nomask, raw-frames, temporal, cameractrl.
//! 3. **Measure** — autoregressive generation of every test chunk; static/dynamic-region PSNR
//!    and SSIM, ghost score, MEt3R-lite ([`measure`]); the n × mask sweep at inference on the
//!    two memory models; oracle mask and noisy geometry on ours.
//! 4. **Verdict** over the seeds (paired rule): ours beats temporal-only on static-region PSNR
//!    and on MEt3R-lite, and the no-mask ablation shows more ghosts than ours.
//! 5. **Figures** ([`figures`]): strips, one animated PNG per arm, bars, the ablation table.

mod figures;
mod measure;

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReportBuilder, ReproOptions, Scales};
use genlab_core::report::{self, Better, Report, paired, sig3};
use genlab_core::train::Observer;
use serde::Serialize;

use crate::generator::{Arm, Episode, GenSpec, MaskSource, TrainConfig, generate, train};
use crate::mask::MaskParams;
use crate::memory::Geometry;
use crate::metrics::Features;
use crate::path::{PathKind, Scenario};
use measure::{Scores, Truth, score};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "scene",
    paper: "Lee, Jung, Han, Narihira, Fukuda, Seo, Hong, Mitsufuji, Kim 2026, 3D Scene Prompting \
            for Scene-Consistent Camera-Controllable Video Generation (ICLR 2026, arXiv 2510.14945)",
    paper_effect: "RealEstate10K vs DFoT: MEt3R 0.181 → 0.0408 (−77%), PSNR 18.30 → 20.89; \
                   DynPose-100K ablation (n = 7): without the dynamic mask PSNR 13.05 → 12.23, \
                   MEt3R 0.1242 → 0.1349; n = 1/4/7/all with the mask all within 13.02–13.05",
    claim: "On revisited viewpoints of synthetic rooms with moving boxes, a generator conditioned \
            on the static-only memory rendered into each target camera plus the temporal window \
            beats the same network conditioned on the temporal window alone on static-region \
            PSNR and on MEt3R-lite (true geometry, random-conv features), and the memory without \
            dynamic masking shows stale dynamic objects (ghost score) more often than ours",
};

/// The sizes of one run.
#[derive(Debug, Clone, Serialize)]
struct Sizes {
    /// Render resolution (square).
    size: usize,
    /// Render ÷ generator resolution.
    factor: usize,
    /// Input video length L.
    len: usize,
    /// Target chunk length T.
    chunk: usize,
    /// Training worlds per seed.
    train_worlds: usize,
    /// Test worlds per seed.
    test_worlds: usize,
    /// U-Net base width.
    base: usize,
    /// Training steps per arm.
    steps: u64,
    /// Target frames per step.
    batch: usize,
    /// Peak learning rate.
    lr: f64,
    /// Frames retrieved per target camera (training and the main comparison).
    n_train: usize,
    /// The n of the sweep (usize::MAX = all frames).
    sweep: &'static [usize],
    /// Seeds.
    seeds: usize,
}

const SCALES: Scales<Sizes> = Scales {
    quick: Sizes {
        size: 64,
        factor: 2,
        len: 24,
        chunk: 6,
        train_worlds: 4,
        test_worlds: 3,
        base: 16,
        steps: 30,
        batch: 4,
        lr: 3e-3,
        n_train: 7,
        sweep: &[1, 7, usize::MAX],
        seeds: 3,
    },
    full: Sizes {
        size: 64,
        factor: 2,
        len: 32,
        chunk: 8,
        train_worlds: 32,
        test_worlds: 8,
        base: 16,
        steps: 400,
        batch: 8,
        lr: 3e-3,
        n_train: 7,
        sweep: &[1, 4, 7, usize::MAX],
        seeds: 3,
    },
};

/// Noisy geometry of the SLAM-stand-in variant: ~1° rotation, 1 cm (0.01 units) translation,
/// 2% depth.
fn noisy(seed: u64) -> Geometry {
    Geometry::Noisy {
        rot_deg: 1.0,
        trans: 0.01,
        depth_rel: 0.02,
        seed,
    }
}

/// Episodes of world seeds `seeds`.
fn episodes(
    sizes: &Sizes,
    seeds: impl Iterator<Item = u64>,
    geometry: impl Fn(u64) -> Geometry,
) -> Vec<Episode> {
    let params = MaskParams::default();
    seeds
        .map(|w| {
            let sc = Scenario::new(w, PathKind::Revisit, sizes.len, sizes.chunk, sizes.size);
            let (input, target) = sc.sequences();
            Episode::new(input, target, &params, geometry(w))
        })
        .collect()
}

/// The n of a sweep entry in names.
fn n_name(n: usize) -> String {
    if n == usize::MAX {
        "all".into()
    } else {
        n.to_string()
    }
}

/// Everything one seed measured.
struct SeedRun {
    /// Per arm (in [`Arm::ALL`] order) its scores at n_train with the estimated mask.
    arms: Vec<Scores>,
    /// Extra named variants (oracle mask, noisy geometry, the n × mask sweep).
    variants: Vec<(String, Scores)>,
    /// For figures: each arm's chunk on the first test episode.
    shown: Vec<Vec<Vec<f32>>>,
    /// For figures: input (subsampled), truth, memory warp, unmasked warp on that episode.
    context: Vec<(String, Vec<Vec<f32>>)>,
    /// Final training loss per arm.
    final_loss: Vec<f64>,
    /// Camera error of the true frames (the pose search's floor).
    truth_camera: (f64, f64),
}

fn spec(sizes: &Sizes, arm: Arm) -> GenSpec {
    GenSpec {
        arm,
        factor: sizes.factor,
        size: sizes.size / sizes.factor,
        base: sizes.base,
        n_retrieve: sizes.n_train,
        mask: MaskSource::Estimated,
    }
}

/// Phases 2–3 for one seed.
fn run_seed(sizes: &Sizes, seed: u64, observer: &mut dyn Observer) -> Result<SeedRun> {
    observer.message(&format!(
        "seed {seed}: rendering worlds and building memories"
    ));
    let base = 1000 * seed;
    let train_eps = episodes(sizes, base..base + sizes.train_worlds as u64, |_| {
        Geometry::Oracle
    });
    let test_range = base + 500..base + 500 + sizes.test_worlds as u64;
    let test_eps = episodes(sizes, test_range.clone(), |_| Geometry::Oracle);
    let noisy_eps = episodes(sizes, test_range, noisy);
    let s = sizes.size / sizes.factor;
    let truths: Vec<Truth> = test_eps
        .iter()
        .map(|e| Truth::new(e, sizes.factor))
        .collect();
    let phi = Features::new(0);
    let mut run = SeedRun {
        arms: Vec::new(),
        variants: Vec::new(),
        shown: Vec::new(),
        context: context(sizes, &test_eps[0]),
        final_loss: Vec::new(),
        truth_camera: (f64::NAN, f64::NAN),
    };
    let (rot, trans) = measure::truth_camera_error(&truths);
    run.truth_camera = (rot, trans);
    for (a, arm) in Arm::ALL.into_iter().enumerate() {
        let sp = spec(sizes, arm);
        let config = TrainConfig {
            steps: sizes.steps,
            batch: sizes.batch,
            lr: sizes.lr,
            seed: seed * 10 + a as u64,
        };
        let (net, history) = train(&sp, &train_eps, &config, None, false, observer)?;
        run.final_loss
            .push(history.losses().last().map_or(f64::NAN, |l| l.1));
        let out = generate(&net, &sp, &test_eps, sizes.n_train, MaskSource::Estimated);
        run.arms.push(score(&out, &truths, s, &phi, true));
        run.shown.push(out[0].clone());
        if arm == Arm::Memory {
            let oracle = generate(&net, &sp, &test_eps, sizes.n_train, MaskSource::Oracle);
            run.variants.push((
                "memory-oracle-mask".into(),
                score(&oracle, &truths, s, &phi, false),
            ));
            let noisy = generate(&net, &sp, &noisy_eps, sizes.n_train, MaskSource::Estimated);
            run.variants.push((
                "memory-noisy-geometry".into(),
                score(&noisy, &truths, s, &phi, false),
            ));
        }
        if matches!(arm, Arm::Memory | Arm::MemoryNomask) {
            for &n in sizes.sweep {
                let out = generate(&net, &sp, &test_eps, n, MaskSource::Estimated);
                let name = format!("{}-n{}", arm.name(), n_name(n));
                run.variants
                    .push((name, score(&out, &truths, s, &phi, false)));
            }
        }
    }
    Ok(run)
}

/// The strip's context rows for `ep`: input frames (evenly subsampled), truth, and the
/// memory splats (masked and unmasked) at generator resolution.
fn context(sizes: &Sizes, ep: &Episode) -> Vec<(String, Vec<Vec<f32>>)> {
    let f = sizes.factor;
    let (w, h) = (ep.input.width, ep.input.height);
    let small = |rgb: &[f32]| crate::memory::downsample(rgb, 3, w, h, f);
    let t = sizes.chunk;
    let input = (0..t)
        .map(|k| small(&ep.input.rgb[k * ep.input.len() / t]))
        .collect();
    let truth = ep.target.rgb.iter().map(|x| small(x)).collect();
    let warp = |static_only: bool| -> Vec<Vec<f32>> {
        ep.target
            .cameras
            .iter()
            .map(|cam| {
                let frames = ep.memory.retrieve(cam, sizes.n_train);
                let (rgb, valid) = ep.memory.splat(cam, &frames, static_only).downsample(f);
                let hw = valid.len();
                (0..3 * hw)
                    .map(|i| if valid[i % hw] > 0.0 { rgb[i] } else { 1.0 })
                    .collect()
            })
            .collect()
    };
    vec![
        ("input (every L/T-th frame)".into(), input),
        ("truth".into(), truth),
        ("static memory warp".into(), warp(true)),
        ("unmasked memory warp".into(), warp(false)),
    ]
}

/// Runs the experiment (see the module doc).
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let sizes = opts.scale(&SCALES);
    let seeds = opts.seeds(sizes.seeds);
    let mut report = ReportBuilder::new(&INFO, opts);
    report
        .seeds(&seeds)
        .config("sizes", sizes)
        .config("mask_params", MaskParams::default())
        .config("generator_resolution", sizes.size / sizes.factor)
        .config("unet_parameters", {
            use burn::module::Module;
            spec(sizes, Arm::Memory)
                .net()
                .init(&genlab_core::device::device())
                .num_params()
        });
    let started = Instant::now();
    let mut runs = Vec::new();
    for &seed in &seeds {
        runs.push(run_seed(sizes, seed, observer)?);
    }
    report.config("seconds", started.elapsed().as_secs_f64());
    for (a, arm) in Arm::ALL.iter().enumerate() {
        for (m, (name, _)) in Scores::default().named().iter().enumerate() {
            let vals: Vec<f64> = runs.iter().map(|r| r.arms[a].named()[m].1).collect();
            record(&mut report, arm.name(), name, &vals);
        }
        let losses: Vec<f64> = runs.iter().map(|r| r.final_loss[a]).collect();
        report.metric_over_seeds(arm.name(), "final_loss", &losses);
    }
    let rot: Vec<f64> = runs.iter().map(|r| r.truth_camera.0).collect();
    let trans: Vec<f64> = runs.iter().map(|r| r.truth_camera.1).collect();
    report.metric_over_seeds("truth", "rot_err_deg", &rot);
    report.metric_over_seeds("truth", "trans_err", &trans);
    let variant_names: Vec<String> = runs[0].variants.iter().map(|v| v.0.clone()).collect();
    for (v, name) in variant_names.iter().enumerate() {
        // The pose search runs on the main arms only: variants carry the first six metrics.
        for (m, (metric, _)) in Scores::default().named().iter().take(6).enumerate() {
            let vals: Vec<f64> = runs.iter().map(|r| r.variants[v].1.named()[m].1).collect();
            record(&mut report, name, metric, &vals);
        }
    }
    let verdict = verdict(&runs)?;
    figures::write(&mut report, &opts.dir, sizes, &runs)?;
    notes(&mut report);
    measured_notes(&mut report, sizes);
    Ok(report.finish(verdict))
}

/// Records a metric over seeds, or a note when some seed had nothing to measure (no dynamic
/// pixel or ghost candidate in its test chunks): report metrics are always finite.
fn record(report: &mut ReportBuilder, arm: &str, metric: &str, vals: &[f64]) {
    if vals.iter().all(|v| v.is_finite()) {
        report.metric_over_seeds(arm, metric, vals);
    } else {
        report.note(format!(
            "{arm}: `{metric}` had nothing to measure on some seed (left out)"
        ));
    }
}

/// The paired verdicts of the claim over the seeds.
fn verdict(runs: &[SeedRun]) -> Result<report::Verdict> {
    let idx = |arm: Arm| {
        Arm::ALL
            .iter()
            .position(|a| *a == arm)
            .expect("every arm is in ALL")
    };
    let (ours, temporal, nomask) = (idx(Arm::Memory), idx(Arm::Temporal), idx(Arm::MemoryNomask));
    let pairs = |f: fn(&Scores) -> f64, a: usize, b: usize| -> Vec<(f64, f64)> {
        runs.iter()
            .map(|r| (f(&r.arms[a]), f(&r.arms[b])))
            .collect()
    };
    let parts = vec![
        paired(
            "psnr_static",
            "memory",
            "temporal",
            Better::Higher,
            &pairs(|s| s.psnr_static, ours, temporal),
        )?,
        paired(
            "met3r_lite",
            "memory",
            "temporal",
            Better::Lower,
            &pairs(|s| s.met3r, ours, temporal),
        )?,
        paired(
            "ghost",
            "memory",
            "memory-nomask",
            Better::Lower,
            &pairs(|s| s.ghost, ours, nomask),
        )?,
    ];
    Ok(report::all_of("scene", parts))
}

/// Notes whose numbers come from this run's arms: the parts of the paper's claim our verdict
/// does not test (dynamic-region PSNR, mask vs n).
fn measured_notes(report: &mut ReportBuilder, sizes: &Sizes) {
    let arms = report.arms_so_far();
    let get = |arm: &str, m: &str| {
        arms.get(arm)
            .and_then(|a| a.get(m))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let (first, last) = (sizes.sweep[0], *sizes.sweep.last().unwrap_or(&usize::MAX));
    let text = [
        format!(
            "Dynamic-region PSNR (not in the verdict): memory {} dB, memory-nomask {} dB, temporal {} dB — the paper's 'without the mask PSNR drops' is measured here on static pixels and ghosts, not on moving content, which no arm predicts well (it left the temporal window).",
            sig3(get("memory", "psnr_dynamic")),
            sig3(get("memory-nomask", "psnr_dynamic")),
            sig3(get("temporal", "psnr_dynamic")),
        ),
        format!(
            "Mask vs n (static-region PSNR): removing the mask at n = {} changes it by {:+.2} dB; n = {} → {} with the mask changes it by {:+.2} dB (paper, DynPose-100K: mask −0.82 dB, n ≤ 0.03 dB).",
            sizes.n_train,
            get("memory-nomask", "psnr_static") - get("memory", "psnr_static"),
            n_name(first),
            n_name(last),
            get(&format!("memory-n{}", n_name(last)), "psnr_static")
                - get(&format!("memory-n{}", n_name(first)), "psnr_static"),
        ),
    ];
    for t in text {
        report.note(t);
    }
}

fn notes(report: &mut ReportBuilder) {
    report.note(
        "Scale: synthetic rooms rendered at 64×64 by our rasterizer; the generator is a \
         0.15M-parameter U-Net at 32×32 trained for minutes on CPU, not a fine-tuned latent \
         video diffusion model — compare directions and relative sizes with the paper, not \
         absolute numbers.",
    );
    report.note(
        "MEt3R-lite replaces DUSt3R with the renderer's true depth and poses and DINO/FeatUp with \
         a fixed random two-layer conv; it is computed over all pairs of generated target frames \
         with ≥ 20 co-visible static pixels. Our % change is relative to the temporal-only arm \
         (the paper's is relative to DFoT, a history-conditioned video diffusion model).",
    );
    report.note(
        "Dynamic masks: residual of depth+pose-predicted motion (free-space violations after a \
         3×3-tolerant match), any-time aggregation per object over the whole video, dilation by \
         1 px; object masks come from the renderer's instance ids (our stand-in for SAM2 \
         propagation). The n × mask sweep is run at inference on the models trained at n = 7.",
    );
    report.note(
        "Camera error (RotErr/TransErr, main arms only): a local photometric pose search of each \
         generated frame against the static cloud, started at the requested camera. The memory \
         arms copy from that same cloud, so they can score below the true frames' floor (row \
         `truth`); read it as evidence that the baselines' frames do not look like the requested \
         views, not as a calibrated pose error.",
    );
}
