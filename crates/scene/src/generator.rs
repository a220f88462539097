//! The conditional next-chunk generator and its conditioning arms.
//!
//! For target frame k of the chunk (camera C_k), every arm fills the same 22 input channels
//! of the same [`UNet`](crate::net::UNet) (unused slots are zero, so the networks and budgets
//! are identical across arms):
//!
//! ```text
//! [ spatial RGB (3) | validity (1) | temporal frames F_{k−2}, F_{k−1} (3·2) |
//!   Plücker rays of C_k (6) | Plücker rays of the spatial / newest reference camera (6) ]
//!
//! arm             spatial slot                           temporal slots           autoregressive
//! memory (ours)   static memory splatted into C_k        last 2 frames            yes
//! memory-nomask   memory with dynamic points kept        last 2 frames            yes
//! raw-frames      the retrieved frame of most overlap    last 2 frames            yes
//!                 (valid = 1; no 3-D)
//! temporal        —                                       last 2 frames            yes
//! cameractrl      —                                       last input frame only    no
//! ```
//!
//! F_{−2}, F_{−1} are the input video's last frames; later ones are the generator's own
//! outputs at test time and the ground truth during training (teacher forcing). The loss is
//! L1 + (1 − SSIM) ([`crate::ssim`]).
//!
//! **Why regression, not diffusion.** The claim under test is about what the conditioning
//! carries — static content that is consistent with everything seen, however long ago — not
//! about sample diversity. A deterministic regressor predicts the conditional mean: where the
//! conditioning determines the pixel (memory-visible static content) it reproduces it, where it
//! does not (holes, moving objects) it blurs, the same way for every arm. A diffusion
//! generator would need tens of network evaluations per frame × 8 autoregressive frames × 5
//! arms × 3 seeds, and far more training steps than 2 CPU cores give in minutes.
//!
//! Resolution: worlds are rendered, masked and splatted at 64×64 and box-downsampled by
//! `factor` (2) for the generator, which trains at 32×32: at 64×64 one step of batch 8 costs
//! ≈ 4× more, and the 15 trainings of the experiment (5 arms × 3 seeds) would not fit in
//! ten minutes.

use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::Result;
use genlab_core::train::{
    History, Learner, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use serde::{Deserialize, Serialize};

use crate::camera::Camera;
use crate::mask::{MaskParams, estimate};
use crate::memory::{Geometry, Memory, downsample};
use crate::net::{UNet, UNetConfig};
use crate::path::Sequence;
use crate::ssim::l1_ssim_loss;

/// Frames in the temporal window.
pub const WINDOW: usize = 2;
/// Input channels of every arm.
pub const CHANNELS: usize = 3 + 1 + 3 * WINDOW + 6 + 6;

/// A conditioning arm (module doc table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// Static-only memory + temporal window (3DScenePrompt).
    Memory,
    /// The memory without dynamic masking.
    MemoryNomask,
    /// Retrieved raw frames, no 3-D.
    RawFrames,
    /// Temporal window only.
    Temporal,
    /// One fixed input frame + cameras (CameraCtrl-like).
    Cameractrl,
}

impl Arm {
    /// Every arm, ours first.
    pub const ALL: [Arm; 5] = [
        Arm::Memory,
        Arm::MemoryNomask,
        Arm::RawFrames,
        Arm::Temporal,
        Arm::Cameractrl,
    ];

    /// The arm's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Memory => "memory",
            Arm::MemoryNomask => "memory-nomask",
            Arm::RawFrames => "raw-frames",
            Arm::Temporal => "temporal",
            Arm::Cameractrl => "cameractrl",
        }
    }

    fn autoregressive(self) -> bool {
        self != Arm::Cameractrl
    }
}

/// Which dynamic mask the memory uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskSource {
    /// The estimate of [`crate::mask::estimate`].
    Estimated,
    /// The renderer's truth.
    Oracle,
}

/// An input video, its target cameras (and ground truth when known), and its cached memory.
#[derive(Debug, Clone)]
pub struct Episode {
    /// The input video (full resolution).
    pub input: Sequence,
    /// The target chunk: cameras, and frames when the truth is known.
    pub target: Sequence,
    /// The estimated dynamic mask of the input.
    pub mask: Vec<Vec<u8>>,
    /// The memory with the estimated mask's flags.
    pub memory: Memory,
    /// The memory with the oracle mask's flags (when the input has a true mask).
    pub memory_oracle: Option<Memory>,
}

impl Episode {
    /// Builds the memory of `input` (once; every arm, target camera and n reuse it).
    pub fn new(
        input: Sequence,
        target: Sequence,
        params: &MaskParams,
        geometry: Geometry,
    ) -> Episode {
        let est = estimate(&input, params);
        let memory = Memory::build(&input, Some(&est.mask), geometry);
        let has_truth = input.dynamic.iter().any(|m| m.iter().any(|&d| d != 0));
        let memory_oracle =
            has_truth.then(|| Memory::build(&input, Some(&input.dynamic), geometry));
        Episode {
            input,
            target,
            mask: est.mask,
            memory,
            memory_oracle,
        }
    }
}

impl Episode {
    /// An episode whose input mask is already known (e.g. read from a cache).
    pub fn with_mask(
        input: Sequence,
        target: Sequence,
        mask: Vec<Vec<u8>>,
        geometry: Geometry,
    ) -> Episode {
        let memory = Memory::build(&input, Some(&mask), geometry);
        Episode {
            input,
            target,
            mask,
            memory,
            memory_oracle: None,
        }
    }
}

/// A fingerprint of a sequence's frames, depth and cameras (FNV-1a over their bits), naming
/// its cached memory.
pub fn fingerprint(seq: &Sequence) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bits: u64| {
        for b in bits.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    };
    for f in seq.rgb.iter().chain(&seq.depth) {
        f.iter().for_each(|v| eat(v.to_bits() as u64));
    }
    for c in &seq.cameras {
        [c.fx, c.fy, c.cx, c.cy]
            .iter()
            .chain(c.rotation.iter().flatten())
            .chain(&c.center)
            .for_each(|v| eat(v.to_bits()));
    }
    format!("{h:016x}")
}

/// Saves a trained generator: `model.json` (its [`GenSpec`]) and its weights.
pub fn save(dir: &std::path::Path, spec: &GenSpec, net: &UNet) -> Result<()> {
    genlab_core::weights::save_model(dir, spec, net)
}

/// Loads a generator saved by [`save`].
pub fn load(dir: &std::path::Path) -> Result<(GenSpec, UNet)> {
    let device = genlab_core::device::device();
    genlab_core::weights::load_model(dir, "scene", |spec: &GenSpec| spec.net().init(&device))
}

/// Everything fixed about a generator besides its weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GenSpec {
    /// The conditioning arm.
    pub arm: Arm,
    /// Input resolution ÷ generator resolution.
    pub factor: usize,
    /// Generator resolution (square).
    pub size: usize,
    /// U-Net base width.
    pub base: usize,
    /// Frames retrieved per target camera.
    pub n_retrieve: usize,
    /// Mask used by the memory arms.
    pub mask: MaskSource,
}

impl GenSpec {
    /// The network configuration.
    pub fn net(&self) -> UNetConfig {
        UNetConfig {
            in_channels: CHANNELS,
            base: self.base,
        }
    }
}

/// The spatial conditioning of one target frame.
#[derive(Debug, Clone)]
pub struct Spatial {
    /// RGB `[3, s, s]` (zeros when the arm has none).
    pub rgb: Vec<f32>,
    /// Validity `[s, s]`.
    pub valid: Vec<f32>,
    /// The camera of the spatial image (raw frames), if any.
    pub camera: Option<Camera>,
}

/// The spatial slot of target frame `k` for `arm`, retrieving `n` frames.
pub fn spatial(ep: &Episode, spec: &GenSpec, k: usize, n: usize, mask: MaskSource) -> Spatial {
    let s = spec.size;
    let cam = &ep.target.cameras[k];
    let memory = match (mask, &ep.memory_oracle) {
        (MaskSource::Oracle, Some(m)) => m,
        _ => &ep.memory,
    };
    match spec.arm {
        Arm::Memory | Arm::MemoryNomask => {
            let frames = memory.retrieve(cam, n);
            let warp = memory.splat(cam, &frames, spec.arm == Arm::Memory);
            let (rgb, valid) = warp.downsample(spec.factor);
            Spatial {
                rgb,
                valid,
                camera: None,
            }
        }
        Arm::RawFrames => {
            let i = memory.retrieve(cam, 1)[0];
            let (w, h) = (ep.input.width, ep.input.height);
            Spatial {
                rgb: downsample(&ep.input.rgb[i], 3, w, h, spec.factor),
                valid: vec![1.0; s * s],
                camera: Some(ep.input.cameras[i]),
            }
        }
        Arm::Temporal | Arm::Cameractrl => Spatial {
            rgb: vec![0.0; 3 * s * s],
            valid: vec![0.0; s * s],
            camera: None,
        },
    }
}

/// A frame of the temporal window: RGB at generator resolution and its camera.
pub type Past<'a> = (&'a [f32], Camera);

/// The 22 input channels of one target frame (module doc), `[CHANNELS, s, s]`.
pub fn assemble(
    spec: &GenSpec,
    sp: &Spatial,
    window: [Option<Past<'_>>; WINDOW],
    target: &Camera,
) -> Vec<f32> {
    let s = spec.size;
    let hw = s * s;
    let mut x = Vec::with_capacity(CHANNELS * hw);
    x.extend_from_slice(&sp.rgb);
    x.extend_from_slice(&sp.valid);
    for f in &window {
        match f {
            Some((rgb, _)) => x.extend_from_slice(rgb),
            None => x.extend(std::iter::repeat_n(0.0, 3 * hw)),
        }
    }
    x.extend(target.resized(s, s).plucker());
    let reference = sp.camera.or(window[WINDOW - 1].map(|(_, c)| c));
    match reference {
        Some(c) => x.extend(c.resized(s, s).plucker()),
        None => x.extend(std::iter::repeat_n(0.0, 6 * hw)),
    }
    x
}

/// The frames `[input tail | chunk]` at generator resolution with their cameras.
fn small_frames(
    seq: &Sequence,
    range: std::ops::Range<usize>,
    factor: usize,
) -> Vec<(Vec<f32>, Camera)> {
    range
        .map(|i| {
            (
                downsample(&seq.rgb[i], 3, seq.width, seq.height, factor),
                seq.cameras[i],
            )
        })
        .collect()
}

/// The temporal window of target frame `k` given the chunk so far (`chunk[j]` for j < k).
fn window<'a>(
    arm: Arm,
    tail: &'a [(Vec<f32>, Camera)],
    chunk: &'a [(Vec<f32>, Camera)],
    k: usize,
) -> [Option<Past<'a>>; WINDOW] {
    let at = |pos: usize| -> Past<'a> {
        if pos < tail.len() {
            (&tail[pos].0, tail[pos].1)
        } else {
            (&chunk[pos - tail.len()].0, chunk[pos - tail.len()].1)
        }
    };
    if !arm.autoregressive() {
        let last = tail.len() - 1;
        let mut w = [None; WINDOW];
        w[WINDOW - 1] = Some(at(last));
        return w;
    }
    let end = tail.len() + k;
    std::array::from_fn(|j| Some(at(end - WINDOW + j)))
}

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimisation steps.
    pub steps: u64,
    /// Target frames per step.
    pub batch: usize,
    /// Peak learning rate (AdamW, warm-up + cosine).
    pub lr: f64,
    /// Seed of initialisation and batches.
    pub seed: u64,
}

/// Trains the generator of `spec` on `episodes` (teacher forcing over each target chunk).
pub fn train(
    spec: &GenSpec,
    episodes: &[Episode],
    config: &TrainConfig,
    checkpoint: Option<&std::path::Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<(UNet, History)> {
    let s = spec.size;
    let mut examples: Vec<Vec<f32>> = Vec::new();
    let mut targets: Vec<Vec<f32>> = Vec::new();
    for ep in episodes {
        if ep.input.len() < WINDOW || ep.target.rgb.len() != ep.target.len() {
            return Err(crate::error::SceneError::Invalid(format!(
                "training needs ≥ {WINDOW} input frames and a target chunk with frames"
            ))
            .into());
        }
        let tail = small_frames(
            &ep.input,
            ep.input.len() - WINDOW..ep.input.len(),
            spec.factor,
        );
        let chunk = small_frames(&ep.target, 0..ep.target.len(), spec.factor);
        for k in 0..ep.target.len() {
            let sp = spatial(ep, spec, k, spec.n_retrieve, spec.mask);
            let w = window(spec.arm, &tail, &chunk, k);
            examples.push(assemble(spec, &sp, w, &ep.target.cameras[k]));
            targets.push(chunk[k].0.clone());
        }
    }
    let device = genlab_core::device::train_device();
    seed_device(&device, config.seed);
    let optim = genlab_core::ops::FusedAdamW {
        weight_decay: 0.0,
        ..Default::default()
    }
    .init();
    let mut learner = Learner::new("model", spec.net().init(&device), optim).with_clip(Some(1.0));
    let mut options = TrainOptions::warmup_cosine(config.steps, config.lr)
        .with_phase(format!("train {}", spec.arm.name()))
        .with_log_every(10)
        .with_resume(resume)
        .with_meta(
            serde_json::json!({ "spec": spec, "config": config, "episodes": episodes.len() }),
        );
    if let Some(path) = checkpoint {
        options = options.with_checkpoint(path, 100);
    }
    let batch = config.batch;
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut SeededRng::new(config.seed),
        |net, rng, _| {
            let idx = rng.indices(batch, examples.len());
            let x = stack(
                idx.iter().map(|&i| &examples[i][..]),
                [batch, CHANNELS, s, s],
                &device,
            );
            let y = stack(
                idx.iter().map(|&i| &targets[i][..]),
                [batch, 3, s, s],
                &device,
            );
            l1_ssim_loss(net.forward(x), y)
        },
        None,
    )?;
    Ok((learner.into_inference(), outcome.history))
}

fn stack<'a>(
    rows: impl Iterator<Item = &'a [f32]>,
    shape: [usize; 4],
    device: &Device,
) -> Tensor<4> {
    let mut data = Vec::with_capacity(shape.iter().product());
    for r in rows {
        data.extend_from_slice(r);
    }
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// Generates every episode's target chunk autoregressively (batched across episodes):
/// per episode, per target frame, RGB `[3, s, s]` in [0, 1]. `n` frames are retrieved per
/// target camera; `mask` picks the memory's dynamic mask.
pub fn generate(
    net: &UNet,
    spec: &GenSpec,
    episodes: &[Episode],
    n: usize,
    mask: MaskSource,
) -> Vec<Vec<Vec<f32>>> {
    let s = spec.size;
    let device = genlab_core::device::device();
    let tails: Vec<_> = episodes
        .iter()
        .map(|ep| {
            small_frames(
                &ep.input,
                ep.input.len() - WINDOW..ep.input.len(),
                spec.factor,
            )
        })
        .collect();
    let t = episodes.iter().map(|e| e.target.len()).max().unwrap_or(0);
    let mut chunks: Vec<Vec<(Vec<f32>, Camera)>> = vec![Vec::new(); episodes.len()];
    for k in 0..t {
        let live: Vec<usize> = (0..episodes.len())
            .filter(|&e| k < episodes[e].target.len())
            .collect();
        let inputs: Vec<Vec<f32>> = live
            .iter()
            .map(|&e| {
                let ep = &episodes[e];
                let sp = spatial(ep, spec, k, n, mask);
                let w = window(spec.arm, &tails[e], &chunks[e], k);
                assemble(spec, &sp, w, &ep.target.cameras[k])
            })
            .collect();
        let x = stack(
            inputs.iter().map(|v| &v[..]),
            [live.len(), CHANNELS, s, s],
            &device,
        );
        let y = genlab_core::tensor::to_vec(net.forward(x).clamp(0.0, 1.0));
        for (j, &e) in live.iter().enumerate() {
            let frame = y[j * 3 * s * s..(j + 1) * 3 * s * s].to_vec();
            chunks[e].push((frame, episodes[e].target.cameras[k]));
        }
    }
    chunks
        .into_iter()
        .map(|c| c.into_iter().map(|(f, _)| f).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{PathKind, Scenario};
    use genlab_core::train::NoObserver;

    fn episode(seed: u64) -> Episode {
        let sc = Scenario::new(seed, PathKind::Revisit, 16, 4, 32);
        let (i, t) = sc.sequences();
        Episode::new(i, t, &MaskParams::default(), Geometry::Oracle)
    }

    fn spec(arm: Arm) -> GenSpec {
        GenSpec {
            arm,
            factor: 2,
            size: 16,
            base: 4,
            n_retrieve: 4,
            mask: MaskSource::Estimated,
        }
    }

    /// The slots of the module doc's table: zero where an arm has nothing, the camera's own
    /// Plücker rays in the target slot, and the window's frames in order.
    #[test]
    fn assembly_fills_each_arms_slots() {
        let ep = episode(1);
        let hw = 16 * 16;
        for arm in Arm::ALL {
            let sp = spec(arm);
            let x = {
                let tail = small_frames(&ep.input, 14..16, 2);
                let chunk = small_frames(&ep.target, 0..4, 2);
                let s = spatial(&ep, &sp, 1, 4, MaskSource::Estimated);
                let w = window(arm, &tail, &chunk, 1);
                if arm == Arm::Cameractrl {
                    assert!(w[0].is_none() && w[1].unwrap().0 == &tail[1].0[..]);
                } else {
                    // Frame k = 1 sees the last input frame and chunk frame 0.
                    assert!(
                        w[0].unwrap().0 == &tail[1].0[..] && w[1].unwrap().0 == &chunk[0].0[..]
                    );
                }
                assemble(&sp, &s, w, &ep.target.cameras[1])
            };
            assert_eq!(x.len(), CHANNELS * hw);
            let spatial_energy: f32 = x[..4 * hw].iter().map(|v| v.abs()).sum();
            assert_eq!(
                spatial_energy == 0.0,
                matches!(arm, Arm::Temporal | Arm::Cameractrl),
                "{arm:?}"
            );
            let pl = ep.target.cameras[1].resized(16, 16).plucker();
            assert_eq!(&x[(4 + 3 * WINDOW) * hw..(10 + 3 * WINDOW) * hw], &pl[..]);
        }
    }

    /// A few steps of training lower the loss and generation yields in-range frames.
    #[test]
    fn trains_and_generates() {
        let eps = vec![episode(2), episode(3)];
        let sp = spec(Arm::Memory);
        let cfg = TrainConfig {
            steps: 30,
            batch: 4,
            lr: 3e-3,
            seed: 0,
        };
        let (net, history) = train(&sp, &eps, &cfg, None, false, &mut NoObserver).unwrap();
        let losses = history.losses();
        assert!(
            losses.last().unwrap().1 < losses.first().unwrap().1,
            "{losses:?}"
        );
        let out = generate(&net, &sp, &eps, 4, MaskSource::Estimated);
        assert_eq!(
            (out.len(), out[0].len(), out[0][0].len()),
            (2, 4, 3 * 16 * 16)
        );
        assert!(
            out.iter()
                .flatten()
                .flatten()
                .all(|v| (0.0..=1.0).contains(v))
        );
    }
}
