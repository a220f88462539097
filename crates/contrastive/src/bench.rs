//! Training-step throughput of each objective at the repro's batch, for `genlab bench
//! contrastive`; the identical PyTorch steps are `bench/torch_contrastive.py`.
//!
//! ```text
//! data     the synthetic factor set (64-d rows, 20 classes), batch B = 256 → 2B = 512 views
//! network  MLP 64 → 256 → 128, projector 128 → 128 → 64 + LayerNorm (+ Hydra's gate MLP
//!          20 → 64 → 128 → 64 on the 512 anchors)
//! step     two augmented views (host), forward, the objective, backward, Adam
//! FLOPs    ≈ 6 · 2B · Σ in·out of the encoder and projector (+ gate) + 2 · 3 · (2B)² · D
//!          for the similarity matmuls (Hydra: three B²D matmuls instead of one)
//! ```

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams};
use genlab_core::bench::StepTimes;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{SeededRng, seed_device};
use genlab_core::{Result, device};

use crate::factors::{FactorConfig, factor_set};
use crate::objectives::{Objective, Pairing};
use crate::train::{TrainConfig, batch_loss, views};

fn flops(config: &TrainConfig, gated: bool) -> f64 {
    let n = 2.0 * config.batch as f64;
    let mut macs = (64 * 256 + 256 * 128 + 128 * 128 + 128 * 64) as f64;
    let mut sim = n * n * config.dim as f64;
    if gated {
        macs += (20 * 64 + 64 * 128 + 128 * 64) as f64;
        sim *= 3.0;
    }
    6.0 * n * macs + 6.0 * sim
}

/// Times `steps` training steps of `objective` after `warmup` untimed ones.
pub fn bench_objective(objective: Objective, warmup: usize, steps: usize) -> Result<StepTimes> {
    let set = factor_set(
        &FactorConfig {
            train: 4096,
            test: 16,
            ..FactorConfig::DEFAULT
        },
        0,
    )?;
    let config = TrainConfig {
        objective,
        ..TrainConfig::VECTORS
    };
    let spec = crate::model::NetSpec {
        encoder: crate::encoder::EncoderSpec::Mlp {
            input: 64,
            hidden: 256,
        },
        rep: config.rep,
        proj_hidden: config.proj_hidden,
        dim: config.dim,
        classes: 20,
        objective,
        standardize: None,
        training: serde_json::Value::Null,
    };
    let labels = set.train.labels.clone().expect("labelled");
    let device = device::train_device();
    seed_device(&device, 0);
    let mut net = spec.init(&device);
    let mut optim = AdamConfig::new().init();
    let mut rng = SeededRng::new(0);
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let (v, y) = views(&set.train.data, 64, &labels, &config, &mut rng);
        let loss = batch_loss(&net, &spec, v, &y, &mut rng);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        net = optim.step(config.lr, net, grads);
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    Ok(StepTimes {
        name: format!(
            "{} train step (MLP, batch {})",
            objective.name(),
            config.batch
        ),
        flops_per_step: flops(&config, objective.gated()),
        seconds,
    })
}

/// `genlab bench contrastive`: one training step of SimCLR, SupCon and Hydra.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let objectives = [
        Objective::SimClr { tau: 0.1 },
        Objective::SupCon { tau: 0.1 },
        Objective::Hydra {
            pairing: Pairing::Arbitrary,
            instance: 1.0,
            tau: 0.1,
        },
    ];
    let rows = objectives
        .iter()
        .map(|&o| bench_objective(o, opts.warmup, opts.steps))
        .collect::<Result<Vec<_>>>()?;
    Ok(genlab_core::bench::step_table(&rows, opts.threads, None))
}

/// The contrastive family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "contrastive",
    options: &[],
    summary: "training steps per second of SimCLR, SupCon and Hydra (MLP on the synthetic \
              factor set, batch 256); twin: bench/torch_contrastive.py",
    run,
}];
