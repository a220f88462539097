//! Throughput of the family's two hot loops, for `genlab bench guidance`; the identical PyTorch
//! steps are `bench/torch_discrete.py`. Both on the digits model (64 tokens × 17 levels, MLP
//! 1163 → 384 → 384 → 1088, ReLU):
//!
//! ```text
//! train step    masked-token cross-entropy, batch 128, backward, Adam:  6 · 128 · Σ in·out FLOPs
//! denoise       one sampler step's network work: cond + uncond forward of 1000 sequences and
//!               the softmax:                                             2 · 2000 · Σ in·out FLOPs
//! ```

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use genlab_core::bench::StepTimes;
use genlab_core::data::digits;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{SeededRng, seed_device};
use genlab_core::{Result, device};

use crate::model::{ModelSpec, TokenModel};
use crate::sampler::Denoiser;
use crate::tokens::TokenData;
use crate::train::{TrainConfig, loss, masked_batch};

fn digits_spec(config: &TrainConfig) -> ModelSpec {
    ModelSpec {
        seq_len: 64,
        vocab: 17,
        classes: 10,
        width: config.width,
        depth: config.depth,
        noise: config.noise,
        training: serde_json::Value::Null,
    }
}

fn macs(spec: &ModelSpec) -> f64 {
    let (i, w, o) = (spec.input_width(), spec.width, spec.seq_len * spec.vocab);
    (i * w + (spec.depth.max(2) - 2) * w * w + w * o) as f64
}

/// Times `steps` training steps after `warmup` untimed ones.
pub fn bench_train_step(warmup: usize, steps: usize) -> Result<StepTimes> {
    let config = TrainConfig::default();
    let data = TokenData::from_digits(&digits())?;
    let spec = digits_spec(&config);
    let device = device::train_device();
    seed_device(&device, 0);
    let mut net = spec.init(&device);
    let mut optim = AdamConfig::new().init();
    let mut rng = SeededRng::new(0);
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let batch = masked_batch(&data, &config, &mut rng);
        let l = loss(&net, &spec, &batch);
        let grads = GradientsParams::from_grads(l.backward(), &net);
        net = optim.step(config.lr, net, grads);
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(StepTimes {
        name: format!(
            "guidance train (digits MLP {}×{}, batch {})",
            spec.depth, spec.width, config.batch
        ),
        flops_per_step: 6.0 * config.batch as f64 * macs(&spec),
        seconds,
    })
}

/// Times the denoiser call of one sampling step (1000 partially masked sequences).
pub fn bench_denoise(warmup: usize, steps: usize) -> Result<StepTimes> {
    let config = TrainConfig::default();
    let spec = digits_spec(&config);
    let device = device::device();
    seed_device(&device, 0);
    let model = TokenModel {
        net: spec.init(&device),
        spec,
    };
    let n = 1000;
    let mut rng = SeededRng::new(1);
    // Half the tokens masked, as in the middle of sampling.
    let tokens: Vec<u32> = rng
        .uniform_vec(n * 64)
        .iter()
        .map(|&u| if u < 0.5 { 17 } else { (u * 30.0) as u32 % 17 })
        .collect();
    let classes: Vec<u32> = (0..n as u32).map(|i| i % 10).collect();
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let _ = model.denoise(&tokens, &classes)?;
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(StepTimes {
        name: format!("guidance denoise (cond + uncond, {n} sequences)"),
        flops_per_step: 2.0 * 2.0 * n as f64 * macs(&model.spec),
        seconds,
    })
}

/// `genlab bench guidance`: the denoiser's training step and sampling forward.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let rows = vec![
        bench_train_step(opts.warmup, opts.steps)?,
        bench_denoise(opts.warmup, opts.steps)?,
    ];
    Ok(genlab_core::bench::step_table(&rows, opts.threads, None))
}

/// The guidance family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "guidance",
    options: &[],
    summary: "the masked-diffusion denoiser's training step and sampling forward on the digits; \
              twin: bench/torch_discrete.py",
    run,
}];
