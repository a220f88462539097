//! Training-step throughput of the family's models, for `genlab bench flow`. The identical step
//! in PyTorch is `bench/torch_flow.py`; both count the same FLOPs:
//!
//! ```text
//! FLOPs per step ≈ 6 · batch · Σ_layers (in · out)      (forward 2, backward 4)
//! ```

use std::time::Instant;

use burn::optim::GradientsParams;
use genlab_core::bench::StepTimes;
use genlab_core::device;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{SeededRng, seed_device};

use crate::flow_matching::FlowMatching;
use crate::net::TimeMlpConfig;

/// The two benchmarked models: the 2-D flow-matching MLP and the 8×8-digits MLP.
pub fn standard_benches() -> Vec<(String, TimeMlpConfig, usize)> {
    vec![
        (
            "flow2d (2-D FM, MLP 4×256 ReLU, batch 4096)".into(),
            TimeMlpConfig::new(2),
            4096,
        ),
        (
            "digits (64-D FM, MLP 4×256 ReLU, batch 256)".into(),
            TimeMlpConfig::new(64),
            256,
        ),
    ]
}

/// Times `steps` flow-matching training steps (forward, loss, backward, AdamW) after `warmup`
/// untimed ones, on random data.
pub fn bench_train_step(
    name: &str,
    config: &TimeMlpConfig,
    batch: usize,
    warmup: usize,
    steps: usize,
) -> StepTimes {
    let device = device::train_device();
    seed_device(&device, 0);
    let mut net = config.init(&device);
    let mut optim = genlab_core::ops::FusedAdamW {
        weight_decay: 0.0,
        ..Default::default()
    }
    .init();
    let mut rng = SeededRng::new(0);
    let x0 = rng.normal([batch, config.dim], &device);
    let input = config.dim + config.n_times * (1 + 2 * config.n_freqs);
    let mut layer_macs = 0usize;
    for l in 0..config.depth {
        let i = if l == 0 { input } else { config.width };
        let o = if l + 1 == config.depth {
            config.dim
        } else {
            config.width
        };
        layer_macs += i * o;
    }
    let mut step_seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let eps = rng.normal([batch, config.dim], &device);
        let t = rng.uniform([batch, 1], &device);
        let loss = FlowMatching.loss(&net, x0.clone(), eps, t);
        let loss_value = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(1e-3, net, grads);
        // burn-flex executes eagerly, so the step is complete here; reading the loss keeps that
        // true on lazy (GPU) backends too.
        let _ = loss_value;
        if s >= warmup {
            step_seconds.push(started.elapsed().as_secs_f64());
        }
    }
    StepTimes {
        name: name.to_string(),
        flops_per_step: 6.0 * batch as f64 * layer_macs as f64,
        seconds: step_seconds,
    }
}

/// `genlab bench flow`: the standard benches' training steps.
pub fn run(opts: &BenchOptions) -> genlab_core::Result<BenchTable> {
    let rows: Vec<StepTimes> = standard_benches()
        .into_iter()
        .map(|(name, config, batch)| {
            bench_train_step(&name, &config, batch, opts.warmup, opts.steps)
        })
        .collect();
    Ok(genlab_core::bench::step_table(&rows, opts.threads, None))
}

/// The flow family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "flow",
    options: &[],
    summary: "flow-matching training steps (2-D MLP, batch 4096; digits MLP, batch 256); twin: \
              bench/torch_flow.py",
    run,
}];
