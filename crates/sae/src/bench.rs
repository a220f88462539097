//! Training throughput for `genlab bench sae` (issue 5's benchmark); the PyTorch twin is
//! `bench/torch_sae.py`.
//!
//! ```text
//! shape:    d = 576, m = 4608, k = 32, batch B = 4096; batches drawn with replacement from a
//!           pool of 4·B standard-normal vectors (seed 0)
//! step:     exactly one iteration of crate::train's loop — fetch a batch, encode, BatchTopK,
//!           sparse decode, loss, hand-written gradients, parallel-gradient removal, clip + Adam,
//!           decoder-row renormalisation, dead-latent counters, θ EMA (OrtSAE: plus a fresh
//!           partition and the chunked penalty, s = 128, max)
//! report:   vectors/s = B · steps/s
//! ```
//!
//! The step is timed by running [`crate::train::train`] itself with an observer that stamps the
//! clock at every step, so what is measured is the trainer, not a copy of it.
//!
//! FLOPs per step (a multiply-add is 2; counted from what the code executes; `P = 2md + m + d`
//! parameters, `s_c` the chunk sizes, `Σ s_c = m`):
//!
//! ```text
//! encoder (dense)                      2·B·m·d
//! sparse decode + loss, variance, MSE  2·B·k·d + 12·B·d
//! backward on the B·k firing entries   8·B·k·d + B·d      (∂z, ∂W_enc, ∂W_dec, ∂b_dec rows)
//! parallel-gradient removal            6·m·d
//! clip + Adam                          17·P
//! renormalisation                      3·m·d
//! OrtSAE penalty (max)                 Σ_c 2·s_c²·d + 14·m·d      (mean: Σ_c 4·s_c²·d + 10·m·d)
//! ```
//!
//! At the issue's shape the dense encoder is 96% of the BatchTopK count (≈ 22.6 GFLOP). Batch
//! top-k is a selection (compares, no FLOPs). The PyTorch twin does the same step with a dense
//! decoder and dense backward (≈ 12·B·m·d); it reports its GFLOP/s on this same count so that
//! the two columns compare like for like, and its executed dense count beside it.
//!
//! [`bench_phases`] times the parts of the same step ([`crate::phase::Phase`]): it runs
//! [`SaeState::step`](crate::train::SaeState::step) — the function the trainer calls — with a
//! callback that stamps the clock at the end of each part, so the parts add up to the step;
//! the headline number is [`bench_train_step`]'s.

use std::time::Instant;

use genlab_core::bench::StepTimes;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};

use crate::acts::InMemory;
use crate::init::BiasInit;
use crate::ortsae::{Reduce, split};
use crate::phase::Phase;
use crate::train::{Arch, SaeState, TrainConfig, train};

/// The benchmarked sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Input width d.
    pub d: usize,
    /// Dictionary size m.
    pub m: usize,
    /// Mean L0 k.
    pub k: usize,
    /// Vectors per batch B.
    pub batch: usize,
}

impl Shape {
    /// Issue 5's benchmark: SmolLM2-135M's residual width, 8× dictionary, k = 32, batch 4096.
    pub const ISSUE: Shape = Shape {
        d: 576,
        m: 4608,
        k: 32,
        batch: 4096,
    };
}

/// Batches in the in-memory pool the trainer samples from (4 · B Gaussian vectors).
const POOL_BATCHES: usize = 4;
/// Seed of the activations, the initialisation and the partitions.
const SEED: u64 = 0;

/// Times `steps` training steps of `arch` at [`Shape::ISSUE`] after `warmup` untimed ones.
pub fn bench_train_step(arch: Arch, warmup: usize, steps: usize) -> Result<StepTimes> {
    bench_train_step_at(Shape::ISSUE, arch, warmup, steps)
}

/// [`bench_train_step`] at any shape.
pub fn bench_train_step_at(
    shape: Shape,
    arch: Arch,
    warmup: usize,
    steps: usize,
) -> Result<StepTimes> {
    let config = config(shape, arch, warmup, steps)?;
    let mut source = InMemory::new(shape.d, pool(shape), SEED)?;
    let mut clock = Clock::default();
    train(&mut source, &config, &mut clock)?;
    let seconds = clock.seconds.split_off(warmup.min(clock.seconds.len()));
    let mut times = StepTimes {
        name: String::new(),
        flops_per_step: flops_per_step(shape, &config),
        seconds,
    };
    times.name = format!(
        "sae {} step: {:.0} vectors/s",
        arch.name(),
        vectors_per_second(&times, shape.batch)
    );
    Ok(times)
}

/// Vectors per second at the mean step time.
pub fn vectors_per_second(times: &StepTimes, batch: usize) -> f64 {
    batch as f64 * times.steps_per_second()
}

/// The parts of one `arch` step at [`Shape::ISSUE`], each timed over `steps` steps after
/// `warmup` (see [`bench_phases_at`]).
pub fn bench_phases(arch: Arch, warmup: usize, steps: usize) -> Result<Vec<StepTimes>> {
    bench_phases_at(Shape::ISSUE, arch, warmup, steps)
}

/// The [`Phase`]s of one training step in order (the OrtSAE-only ones for OrtSAE only), timed
/// inside the trainer's own step function on the trainer's own state.
pub fn bench_phases_at(
    shape: Shape,
    arch: Arch,
    warmup: usize,
    steps: usize,
) -> Result<Vec<StepTimes>> {
    let config = config(shape, arch, warmup, steps)?;
    let mut source = InMemory::new(shape.d, pool(shape), SEED)?;
    let mut state = SaeState::new(&mut source, std::slice::from_ref(&config))?;
    let mut seconds: Vec<Vec<f64>> = vec![Vec::new(); Phase::ALL.len()];
    for s in 0..(warmup + steps) as u64 {
        let mut lap = Instant::now();
        let mut times = [0.0f64; Phase::ALL.len()];
        let mut stamp = |phase: Phase| {
            times[phase as usize] = lap.elapsed().as_secs_f64();
            lap = Instant::now();
        };
        state.step(s, &mut stamp)?;
        if s >= warmup as u64 {
            for (all, t) in seconds.iter_mut().zip(times) {
                all.push(t);
            }
        }
    }
    let flops = flop_parts(shape, &config);
    Ok(Phase::ALL
        .iter()
        .zip(seconds)
        .zip(flops)
        .filter(|((phase, _), _)| arch == Arch::OrtSae || !phase.ortho_only())
        .map(|((phase, seconds), flops_per_step)| StepTimes {
            name: format!("  {}: {}", arch.name(), phase.label()),
            flops_per_step,
            seconds,
        })
        .collect())
}

/// The trainer's settings for a benchmark of `warmup + steps` steps (`steps ≥ 1`).
///
/// `b_dec` starts at the batch mean instead of the geometric median: initialisation runs once
/// before the first step and is not timed, so only its cost changes.
fn config(shape: Shape, arch: Arch, warmup: usize, steps: usize) -> Result<TrainConfig> {
    if steps == 0 {
        return Err(Error::InvalidInput(
            "a benchmark needs at least one step".into(),
        ));
    }
    let config = TrainConfig {
        arch,
        width: shape.m,
        k: shape.k,
        steps: (warmup + steps) as u64,
        batch: shape.batch,
        bias_init: BiasInit::Mean,
        seed: SEED,
        ..TrainConfig::default()
    };
    config.validate()?;
    Ok(config)
}

/// `POOL_BATCHES · B` standard-normal vectors of width d.
fn pool(shape: Shape) -> Vec<f32> {
    SeededRng::new(SEED).normal_vec(POOL_BATCHES * shape.batch * shape.d)
}

/// FLOPs of one step (the module doc's formula).
pub fn flops_per_step(shape: Shape, config: &TrainConfig) -> f64 {
    flop_parts(shape, config).iter().sum()
}

/// FLOPs per [`Phase`], in [`Phase::ALL`]'s order.
fn flop_parts(shape: Shape, config: &TrainConfig) -> [f64; Phase::ALL.len()] {
    let (b, d, m, k) = (
        shape.batch as f64,
        shape.d as f64,
        shape.m as f64,
        shape.k as f64,
    );
    let params = 2.0 * m * d + m + d;
    let ortho = if config.arch == Arch::OrtSae {
        let order: Vec<usize> = (0..shape.m).collect();
        let squares: f64 = split(&order, config.ortho_chunk)
            .iter()
            .map(|c| (c.len() * c.len()) as f64)
            .sum();
        match config.ortho_reduce {
            Reduce::Max => 2.0 * squares * d + 14.0 * m * d,
            Reduce::Mean => 4.0 * squares * d + 10.0 * m * d,
        }
    } else {
        0.0
    };
    [
        0.0,                             // batch
        0.0,                             // partition
        2.0 * b * m * d,                 // encoder
        0.0,                             // selection
        10.0 * b * k * d + 13.0 * b * d, // sparse decode, loss, backward
        ortho,                           // penalty
        6.0 * m * d,                     // parallel-gradient removal
        17.0 * params,                   // clip + Adam
        3.0 * m * d,                     // renormalisation
        0.0,                             // counters
    ]
}

/// Stamps the clock at every completed step of [`train`].
#[derive(Debug, Default)]
struct Clock {
    last: Option<Instant>,
    seconds: Vec<f64>,
}

impl Observer for Clock {
    fn start(&mut self, _phase: &str, _total: u64) {
        self.last = Some(Instant::now());
    }

    fn step(&mut self, _step: u64, _metrics: &[(&str, f64)]) {
        let now = Instant::now();
        if let Some(last) = self.last.replace(now) {
            self.seconds.push((now - last).as_secs_f64());
        }
    }
}

/// `genlab bench sae`: BatchTopK and OrtSAE training steps with each step's parts.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let mut rows = Vec::new();
    for arch in [Arch::BatchTopK, Arch::OrtSae] {
        rows.push(bench_train_step(arch, opts.warmup, opts.steps)?);
        rows.extend(bench_phases(arch, opts.warmup, opts.steps)?);
    }
    Ok(genlab_core::bench::step_table(&rows, opts.threads, None))
}

/// The SAE family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "sae",
    options: &[],
    summary: "BatchTopK and OrtSAE training steps at d 576, m 4608, k 32, batch 4096, with \
              vectors/s and each step's parts; twin: bench/torch_sae.py",
    run,
}];

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Shape = Shape {
        d: 16,
        m: 64,
        k: 4,
        batch: 32,
    };

    #[test]
    fn train_step_bench_times_exactly_the_requested_steps() {
        for arch in [Arch::BatchTopK, Arch::OrtSae] {
            let t = bench_train_step_at(TINY, arch, 2, 3).unwrap();
            assert_eq!(t.seconds.len(), 3, "{arch:?}");
            assert!(t.seconds.iter().all(|s| *s > 0.0 && s.is_finite()));
            assert!(t.name.contains(arch.name()) && t.name.contains("vectors/s"));
            let v = vectors_per_second(&t, TINY.batch);
            assert!((v - 32.0 * t.steps_per_second()).abs() < 1e-6 * v);
        }
    }

    #[test]
    fn phases_cover_the_step_and_ortho_only_for_ortsae() {
        let b = bench_phases_at(TINY, Arch::BatchTopK, 1, 2).unwrap();
        let o = bench_phases_at(TINY, Arch::OrtSae, 1, 2).unwrap();
        assert_eq!((b.len(), o.len()), (8, 10));
        let total: f64 = o.iter().map(|p| p.flops_per_step).sum();
        let config = TrainConfig {
            ortho_chunk: 128,
            ..config(TINY, Arch::OrtSae, 1, 2).unwrap()
        };
        assert_eq!(total, flops_per_step(TINY, &config));
        assert!(o.iter().all(|p| p.seconds.len() == 2));
        assert!(o.iter().any(|p| p.name.contains("ortho")));
        assert!(!b.iter().any(|p| p.name.contains("ortho")));
    }

    #[test]
    fn flop_count_matches_its_formula() {
        let c = |arch, chunk| TrainConfig {
            arch,
            ortho_chunk: chunk,
            ..config(TINY, arch, 0, 1).unwrap()
        };
        let (b, d, m, k) = (32.0, 16.0, 64.0, 4.0);
        let base = 2.0 * b * m * d
            + 10.0 * b * k * d
            + 13.0 * b * d
            + 9.0 * m * d
            + 17.0 * (2.0 * m * d + m + d);
        assert_eq!(flops_per_step(TINY, &c(Arch::BatchTopK, 16)), base);
        // 64 latents in chunks of 16: four 16 × 16 Gram matrices.
        let ortho = 2.0 * 4.0 * 256.0 * d + 14.0 * m * d;
        assert_eq!(flops_per_step(TINY, &c(Arch::OrtSae, 16)), base + ortho);
        // Chunks of 30 split 64 into 22 + 21 + 21.
        let uneven = 2.0 * (484.0 + 441.0 + 441.0) * d + 14.0 * m * d;
        assert_eq!(flops_per_step(TINY, &c(Arch::OrtSae, 30)), base + uneven);
    }

    #[test]
    fn zero_steps_are_refused() {
        assert!(bench_train_step_at(TINY, Arch::BatchTopK, 3, 0).is_err());
        assert!(bench_phases_at(TINY, Arch::OrtSae, 3, 0).is_err());
    }
}
