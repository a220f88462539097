//! Throughput for `genlab bench embed`; the identical PyTorch steps are `bench/torch_embed.py`.
//! Both on the default shapes (width 32, 4 heads, fusion and text 2 layers, 32×32 images):
//!
//! ```text
//! train step    VIRTUE-lite, SCaR phase: batch 32 box-prompted queries (frozen segmentation
//!               forward, embedder forward), their 32 captions + 9 × 32 hard negatives,
//!               InfoNCE (τ = 0.02), backward, Adam
//! embed         100 box-prompted query embeddings (segmentation + embedder forward)
//! ```
//!
//! FLOPs are counted from the layer shapes (multiply–adds × 2; a training step's trainable part
//! × 3 for the backward). The Rust step includes assembling the batch on the host (prompts,
//! tokens, padding) from pre-rendered images; the twin draws ready tensors.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use genlab_core::bench::StepTimes;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{SeededRng, seed_device};
use genlab_core::{Result, device};

use crate::embedder::{Arm, EmbedConfig, REGION_TOKENS, SCENE_TOKENS};
use crate::eval::scar_queries;
use crate::seg::{PromptKind, SegConfig};
use crate::train::{Phase, ScarData, TrainConfig, batch_loss, fresh_embedder};

/// Multiply–adds of one pre-norm transformer layer over `n` tokens of width `d` (FF 2d).
fn layer_macs(n: usize, d: usize) -> f64 {
    (n * (4 * d * d + 4 * d * d) + 2 * n * n * d) as f64
}

/// Multiply–adds of the 32×32 CNN of width `d`.
fn cnn_macs(d: usize) -> f64 {
    let h = d / 2;
    (16 * 16 * h * 27 + 64 * d * h * 9 + 64 * d * d * 9) as f64
}

/// `(frozen segmentation, trainable query side, one caption)` multiply–adds per item.
fn macs(e: &EmbedConfig) -> (f64, f64, f64) {
    let d = e.d;
    let seg = cnn_macs(d) + 4.0 * layer_macs(64, d);
    let n = REGION_TOKENS + SCENE_TOKENS + 5;
    let query = cnn_macs(d)
        + (64 * d * d) as f64
        + (16 * 2 * d * d) as f64
        + e.layers as f64 * layer_macs(n, d);
    let caption = e.text_layers as f64 * layer_macs(12, d);
    (seg, query, caption)
}

/// Times `steps` VIRTUE-lite SCaR-phase training steps after `warmup` untimed ones.
pub fn bench_train_step(warmup: usize, steps: usize) -> Result<StepTimes> {
    let config = TrainConfig {
        queries: 256,
        ..TrainConfig::DEFAULT
    };
    let data = ScarData::generate(0, 0, config.queries);
    seed_device(&device::device(), 0);
    let seg = SegConfig {
        d: config.embed.d,
        heads: config.embed.heads,
    }
    .init(&device::device());
    let mut model = fresh_embedder(&config);
    let mut optim = AdamConfig::new().init();
    let mut rng = SeededRng::new(0);
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let loss = batch_loss(
            Arm::Virtue,
            Phase::Scar,
            &model,
            &seg,
            &data,
            config.batch,
            config.tau,
            &mut rng,
        )?;
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(config.lr, model, grads);
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    let (seg_m, query_m, cap_m) = macs(&config.embed);
    let b = config.batch as f64;
    Ok(StepTimes {
        name: format!(
            "embed train step (virtue, SCaR phase, batch {} + {} captions)",
            config.batch,
            config.batch * 10
        ),
        flops_per_step: 2.0 * b * seg_m + 6.0 * b * (query_m + 10.0 * cap_m),
        seconds,
    })
}

/// Times the embedding of 100 box-prompted queries.
pub fn bench_embed(warmup: usize, steps: usize) -> Result<StepTimes> {
    let n = 100;
    let e = EmbedConfig::DEFAULT;
    let data = ScarData::generate(0, 1, n);
    let dev = device::device();
    seed_device(&dev, 0);
    let seg = SegConfig {
        d: e.d,
        heads: e.heads,
    }
    .init(&dev);
    let model = e.init(&dev);
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let _ = scar_queries(Arm::Virtue, &model, &seg, &data, PromptKind::Box)?;
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    let (seg_m, query_m, _) = macs(&e);
    Ok(StepTimes {
        name: format!("embed {n} prompted queries (virtue, box)"),
        flops_per_step: 2.0 * n as f64 * (seg_m + query_m),
        seconds,
    })
}

/// `genlab bench embed`: the training step and the query embedding.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let rows = vec![
        bench_train_step(opts.warmup, opts.steps)?,
        bench_embed(opts.warmup, opts.steps)?,
    ];
    Ok(genlab_core::bench::step_table(&rows, opts.threads, None))
}

/// The embed family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "embed",
    options: &[],
    summary: "VIRTUE-lite training step (SCaR phase, hard negatives) and prompted query \
              embeddings; twin: bench/torch_embed.py",
    run,
}];
