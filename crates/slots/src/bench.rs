//! Slot-learning step throughput, for `genlab bench slots`. The identical step in PyTorch is
//! `bench/torch_slots.py` (same encoder, slot attention, decoder, batch and loss):
//!
//! ```text
//! step = encoder + slot attention (6 slots, 3 iterations) → map → positive decoder pass
//!        + negative (swapped-slot) pass with detached K/V/O → L_dm − λ L_cl → backward → AdamW
//! FLOPs ≈ 6 · batch · MACs(encoder + slot attention) + 6 · batch · MACs(decoder) · 2 passes
//! ```
//! (MACs of the linear maps and attention products per sample, counted in [`macs`]; the
//! count ignores LayerNorm and element-wise work.)

use std::time::Instant;

use genlab_core::bench::StepTimes;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{Learner, SeededRng, seed_device};
use genlab_core::{Result, device};

use crate::coda::{Arm, Draws, Frozen, SlotSpec, coda_loss};
use crate::decoder::{PATCH, to_patches};
use crate::encoder::{KERNEL, grid_side, patches};
use crate::pretrain::PretrainConfig;
use crate::scene::{SceneConfig, generate};

/// Batch of the benchmark (the repro's).
pub const BATCH: usize = 32;

/// The benchmarked slot model.
pub const SPEC: SlotSpec = SlotSpec {
    size: 32,
    slots: 6,
    width: 64,
    iters: 3,
    context: 64,
};

/// Multiply-accumulates per sample of (encoder + slot attention, one decoder pass).
pub fn macs(spec: &SlotSpec, registers: usize, blocks: usize) -> (f64, f64) {
    let g = grid_side(spec.size);
    let n = (g * g) as f64;
    let (c, k, d) = (spec.width as f64, spec.slots as f64, spec.width as f64);
    let encoder = n * ((KERNEL * KERNEL * 3) as f64 * c + 9.0 * c * c + 2.0 * c * c + 4.0 * c);
    let per_iter = k * d * d + 2.0 * n * k * d + k * d * 6.0 * d + k * d * 4.0 * d;
    let sa = 2.0 * n * c * d + spec.iters as f64 * per_iter + k * d * spec.context as f64;
    let t = ((spec.size / PATCH) * (spec.size / PATCH)) as f64;
    let w = spec.context as f64;
    let m = k + registers as f64;
    let block = 4.0 * t * w * w
        + 2.0 * t * t * w
        + 2.0 * t * w * w
        + 2.0 * m * w * w
        + 2.0 * t * m * w
        + 4.0 * t * w * w;
    let p = (3 * PATCH * PATCH) as f64;
    let decoder = blocks as f64 * block + 2.0 * t * p * w + 16.0 * w + w * w;
    (encoder + sa, decoder)
}

/// Times `steps` CODA slot-learning steps after `warmup` untimed ones.
pub fn bench_step(warmup: usize, steps: usize) -> Result<StepTimes> {
    let cfg = PretrainConfig::standard(0, 1);
    let inf = device::device();
    seed_device(&inf, 0);
    let decoder = cfg.spec.init(&inf);
    let dev = device::train_device();
    let (frozen, kvo) = Frozen::from_decoder(&decoder, &dev);
    seed_device(&dev, 1);
    let model = SPEC.init(kvo, &dev);
    let optim = genlab_core::ops::FusedAdamW::default().init();
    let mut learner = Learner::new("model", model, optim).with_clip(Some(1.0));
    let mut rng = SeededRng::new(0);
    let scenes = generate(&SceneConfig::DEFAULT, 256, &mut rng);
    let tokens = cfg.spec.tokens();
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let idx = rng.indices(BATCH, scenes.len());
        let batch = scenes.select(&idx);
        let enc = patches(&batch.images, SPEC.size, &dev);
        let x0 = to_patches(&batch.images, SPEC.size, &dev);
        let draws = Draws::new(&SPEC, BATCH, tokens, 3 * PATCH * PATCH, &mut rng, &dev);
        let losses = coda_loss(learner.model(), &frozen, Arm::Coda, 0.05, enc, x0, &draws);
        learner.step(losses.total, 1e-3, s as u64)?;
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    let (front, dec) = macs(
        &SPEC,
        cfg.spec.caption_len / crate::decoder::WORDS,
        cfg.spec.blocks,
    );
    Ok(StepTimes {
        name: "coda slot step (32×32, 6 slots, decoder 2×64, batch 32)".into(),
        flops_per_step: 6.0 * BATCH as f64 * (front + 2.0 * dec),
        seconds,
    })
}

/// `genlab bench slots`.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let row = bench_step(opts.warmup, opts.steps)?;
    Ok(genlab_core::bench::step_table(&[row], opts.threads, None))
}

/// The slots family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "slots",
    options: &[],
    summary: "CODA slot-learning steps (encoder, slot attention, positive and stop-gradient \
              negative decoder passes, AdamW; batch 32); twin: bench/torch_slots.py",
    run,
}];
