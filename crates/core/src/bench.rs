//! The two reference training steps that track the backend's speed against PyTorch
//! (`genlab bench core`; the PyTorch twin is `bench/torch_core.py`), from
//! `shared/research/perf-gap.md`:
//!
//! ```text
//! B1 "mlp784":  MLP 784-512-512-10, exact GELU, batch 256, cross-entropy vs random labels
//! B2 "flow2d":  MLP 3-256-256-256-2, exact GELU, batch 4096, MSE
//! each step: forward, loss, backward, AdamW (lr 1e-3, weight decay 0.01)
//! FLOPs per step ≈ 6 · batch · Σ_layers (in · out)
//! ```
//!
//! Each step runs with genlab's operations ([`crate::ops`]: linear layers with bias and GELU fused
//! into the GEMM's epilogue and a row-blocked thread split, vectorised GELU, fused AdamW — what
//! the families use) and, for the record of what they gain, with burn's own (`…+burn-ops`:
//! burn's `Linear`, GELU and AdamW).
//!
//! Also a measured FP32 peak (an FMA loop), so achieved GFLOP/s can be put in proportion.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::{CrossEntropyLossConfig, MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Int, Tensor, TensorData};

use crate::Result;
use crate::device;
use crate::experiment::{BenchOptions, BenchTable, Benchmark};
use crate::train::{SeededRng, seed_device};

/// Timings of one benchmarked step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepTimes {
    /// Name of the step.
    pub name: String,
    /// FLOPs of one step.
    pub flops_per_step: f64,
    /// Seconds per timed step.
    pub seconds: Vec<f64>,
}

impl StepTimes {
    /// Mean steps per second.
    pub fn steps_per_second(&self) -> f64 {
        self.seconds.len() as f64 / self.seconds.iter().sum::<f64>()
    }

    /// Steps per second at the 10th-percentile (fast-end) step time.
    pub fn p10_steps_per_second(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        1.0 / s[(s.len() as f64 * 0.1) as usize]
    }

    /// Achieved GFLOP/s at the mean step time.
    pub fn gflops(&self) -> f64 {
        self.flops_per_step * self.steps_per_second() / 1e9
    }
}

/// The table `genlab bench` prints for training-step benchmarks: steps/s, its 10th
/// percentile, achieved GFLOP/s and, when `peak` (GFLOP/s of all threads) is given, the share
/// of it.
pub fn step_table(rows: &[StepTimes], threads: usize, peak: Option<f64>) -> BenchTable {
    let mut table = BenchTable {
        notes: vec![format!("threads: {threads}")],
        columns: ["step", "steps/s", "p10", "GFLOP/s", "% peak"]
            .map(String::from)
            .to_vec(),
        ..BenchTable::default()
    };
    if let Some(p) = peak {
        table.notes.push(format!(
            "measured FP32 peak: {p:.1} GFLOP/s ({threads} thread(s) x FMA loop)"
        ));
    }
    for r in rows {
        let share = peak
            .map(|p| format!("{:.0}%", 100.0 * r.gflops() / p))
            .unwrap_or_default();
        table.rows.push(vec![
            r.name.clone(),
            format!("{:.2}", r.steps_per_second()),
            format!("{:.2}", r.p10_steps_per_second()),
            format!("{:.1}", r.gflops()),
            share,
        ]);
        table.json.push(serde_json::json!({
            "name": r.name, "threads": threads, "steps_per_s": r.steps_per_second(),
            "p10_steps_per_s": r.p10_steps_per_second(), "gflops": r.gflops(),
            "peak_gflops": peak,
        }));
    }
    table
}

/// `genlab bench core`: the reference steps B1 and B2 with genlab's and burn's operations,
/// beside this CPU's measured FP32 peak.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let rows: Vec<StepTimes> = REFERENCE_STEPS
        .iter()
        .filter_map(|n| reference_step(n, opts.warmup, opts.steps))
        .collect();
    let peak = fp32_peak_gflops_per_thread() * opts.threads as f64;
    Ok(step_table(&rows, opts.threads, Some(peak)))
}

/// The benchmarks of the core (`genlab bench core`).
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "core",
    options: &[],
    summary: "the backend's reference steps B1 mlp784 and B2 flow2d (genlab's ops and burn's) \
              and this CPU's FP32 peak; twin: bench/torch_core.py",
    run,
}];

/// A plain GELU MLP.
#[derive(Module, Debug)]
struct GeluMlp {
    layers: Vec<Linear>,
    #[module(skip)]
    burn_gelu: bool,
}

impl GeluMlp {
    fn new(sizes: &[usize], burn_gelu: bool, device: &burn::tensor::Device) -> Self {
        let layers = sizes
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        GeluMlp { layers, burn_gelu }
    }

    fn forward(&self, mut h: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            h = if self.burn_gelu {
                let z = l.forward(h);
                if i < last {
                    burn::tensor::activation::gelu(z)
                } else {
                    z
                }
            } else {
                let act = if i < last {
                    crate::ops::Activation::Gelu
                } else {
                    crate::ops::Activation::Identity
                };
                crate::ops::linear(l, h, act)
            };
        }
        h
    }
}

fn flops(sizes: &[usize], batch: usize) -> f64 {
    6.0 * batch as f64 * sizes.windows(2).map(|w| (w[0] * w[1]) as f64).sum::<f64>()
}

/// The reference steps [`reference_step`] knows, with genlab's and with burn's operations.
pub const REFERENCE_STEPS: [&str; 4] = ["mlp784", "mlp784+burn-ops", "flow2d", "flow2d+burn-ops"];

/// Times `steps` steps of reference step B1 or B2 after `warmup` (a name from
/// [`REFERENCE_STEPS`]).
pub fn reference_step(name: &str, warmup: usize, steps: usize) -> Option<StepTimes> {
    let (base, burn_ops) = match name.strip_suffix("+burn-ops") {
        Some(base) => (base, true),
        None => (name, false),
    };
    let (sizes, batch, classify): (&[usize], usize, bool) = match base {
        "mlp784" => (&[784, 512, 512, 10], 256, true),
        "flow2d" => (&[3, 256, 256, 256, 2], 4096, false),
        _ => return None,
    };
    let device = device::train_device();
    seed_device(&device, 0);
    let mut rng = SeededRng::new(0);
    let mut model = GeluMlp::new(sizes, burn_ops, &device);
    let mut optim = if burn_ops {
        AdamWConfig::new().with_weight_decay(0.01).init()
    } else {
        crate::ops::FusedAdamW {
            weight_decay: 0.01,
            ..Default::default()
        }
        .init()
    };
    let x: Tensor<2> = rng.normal([batch, sizes[0]], &device);
    let out = *sizes.last().expect("sizes");
    let labels: Vec<i64> = rng
        .indices(batch, out)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    let target: Tensor<2> = rng.normal([batch, out], &device);
    let ce = CrossEntropyLossConfig::new().init(&device);
    let mut seconds = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let started = Instant::now();
        let y = model.forward(x.clone());
        let loss = if classify {
            ce.forward(y, labels.clone())
        } else {
            MseLoss::new().forward(y, target.clone(), Reduction::Mean)
        };
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        if s >= warmup {
            seconds.push(started.elapsed().as_secs_f64());
        }
    }
    Some(StepTimes {
        name: name.into(),
        flops_per_step: flops(sizes, batch),
        seconds,
    })
}

/// This CPU's single-thread FP32 peak in GFLOP/s: 64 independent multiply-add chains (8
/// AVX registers of 8 lanes, enough to hide FMA latency), best of 5 runs. Uses FMA when the
/// CPU has it (detected at run time), else separate multiply and add.
pub fn fp32_peak_gflops_per_thread() -> f64 {
    let iters = 2_000_000usize;
    let mut best = 0.0f64;
    for _ in 0..5 {
        let started = Instant::now();
        let checksum = fma_chains(iters);
        let secs = started.elapsed().as_secs_f64();
        std::hint::black_box(checksum);
        best = best.max(2.0 * (64 * iters) as f64 / secs / 1e9);
    }
    best
}

fn fma_chains(iters: usize) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the features the function is compiled for were just detected.
        return unsafe { fma_chains_avx2(iters) };
    }
    chains(iters)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains_avx2(iters: usize) -> f32 {
    chains(iters)
}

#[inline(always)]
fn chains(iters: usize) -> f32 {
    let mut acc = [1.0f32; 64];
    let (a, b) = (
        std::hint::black_box(0.999_999f32),
        std::hint::black_box(1e-7f32),
    );
    for _ in 0..iters {
        for v in acc.iter_mut() {
            *v = v.mul_add(a, b);
        }
    }
    acc.iter().sum()
}
