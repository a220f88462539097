//! `genlab bench weights`: the family's throughputs, each with its twin in
//! `bench/torch_weights.py` (scipy and PyTorch):
//!
//! ```text
//! lap n            exact assignments of uniform random n × n costs (n = 32, 128, 512), solves/s:
//!                  genlab's JV, the `lapjv` crate (twin: scipy linear_sum_assignment)
//! match pair       weight matching of two random 64-32-32-10 MLPs, pairs/s
//! flow step d_h    one flow training step (dim 99 PCA space, batch 8, AdamW), steps/s
//!                  (twin: the same network and step in PyTorch)
//! generate         100 networks from a d_h = 512 flow: RK4, 100 steps, inverse PCA to 3,466
//!                  weights, networks/s (twin: the same in PyTorch)
//! ```

use std::time::Instant;

use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::ops::FusedAdamW;
use genlab_core::train::{SeededRng, seed_device};
use genlab_core::{Result, device};

use crate::flow::WeightFlowNetConfig;
use crate::matching::weight_matching;
use crate::mlp::Mlp;
use crate::pca::Pca;
use crate::spec::MlpSpec;
use crate::train::{FlowConfig, WeightFlow};

/// PCA space of the benchmarked flow (the reference keeps 99 components).
const DIM: usize = 99;
/// Weights of a 64-32-32-10 MLP.
const NET_DIM: usize = 3466;

struct Row {
    name: String,
    per_second: f64,
    unit: &'static str,
}

/// Mean rate of `f` over `runs` timed calls after `warmup` untimed ones.
fn rate(warmup: usize, runs: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let started = Instant::now();
    for _ in 0..runs {
        f();
    }
    runs as f64 / started.elapsed().as_secs_f64()
}

fn lap_rows(opts: &BenchOptions, rows: &mut Vec<Row>) -> Result<()> {
    for n in [32usize, 128, 512] {
        let mut rng = SeededRng::new(n as u64);
        let problems: Vec<Vec<f64>> = (0..8)
            .map(|_| rng.uniform_vec(n * n).into_iter().map(f64::from).collect())
            .collect();
        let runs = (opts.steps * 32 / n).max(3);
        let mut k = 0;
        let ours = rate(1, runs, || {
            let c = &problems[k % problems.len()];
            k += 1;
            std::hint::black_box(crate::lap::minimize(c, n, n).expect("finite costs"));
        });
        let matrices: Vec<ndarray::Array2<f64>> = problems
            .iter()
            .map(|c| ndarray::Array2::from_shape_vec((n, n), c.clone()).expect("n × n"))
            .collect();
        let mut k = 0;
        let crate_rate = rate(1, runs, || {
            let m = &matrices[k % matrices.len()];
            k += 1;
            std::hint::black_box(lapjv::lapjv(m).expect("solvable"));
        });
        rows.push(Row {
            name: format!("lap n={n} (genlab JV)"),
            per_second: ours,
            unit: "solves/s",
        });
        rows.push(Row {
            name: format!("lap n={n} (lapjv crate)"),
            per_second: crate_rate,
            unit: "solves/s",
        });
    }
    Ok(())
}

fn matching_row(opts: &BenchOptions, rows: &mut Vec<Row>) -> Result<()> {
    let widths = [64, 32, 32, 10];
    let spec = MlpSpec::new(&widths);
    let pspec = spec.perm_spec();
    let mut rng = SeededRng::new(1);
    let (a, b) = (
        Mlp::init(&widths, &mut rng).to_params(&spec),
        Mlp::init(&widths, &mut rng).to_params(&spec),
    );
    let r = rate(1, opts.steps.max(3), || {
        std::hint::black_box(
            weight_matching(&pspec, &a, &b, 100, &mut SeededRng::new(42)).expect("same spec"),
        );
    });
    rows.push(Row {
        name: "weight matching 64-32-32-10 pair".into(),
        per_second: r,
        unit: "pairs/s",
    });
    Ok(())
}

fn flow_step_rows(opts: &BenchOptions, rows: &mut Vec<Row>) -> Result<()> {
    for hidden in [64usize, 512] {
        let dev = device::train_device();
        seed_device(&dev, 0);
        let mut net = WeightFlowNetConfig::new(DIM, hidden).init(&dev);
        let mut optim = FusedAdamW {
            beta_1: 0.9,
            beta_2: 0.95,
            epsilon: 1e-8,
            weight_decay: 1e-5,
        }
        .init();
        let mut rng = SeededRng::new(0);
        let mut step = || {
            let x1: Tensor<2> = rng.normal([8, DIM], &dev);
            let x0: Tensor<2> = rng.normal([8, DIM], &dev) * 0.01;
            let t: Tensor<2> = rng.uniform([8, 1], &dev);
            let xt = x0.clone() * t.clone().neg().add_scalar(1.0) + x1.clone() * t.clone();
            let loss = (net.forward(xt, t) - (x1 - x0)).square().mean();
            let _ = loss.clone().into_scalar::<f32>();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(5e-4, net.clone(), grads);
        };
        let r = rate(opts.warmup, opts.steps.max(3), &mut step);
        rows.push(Row {
            name: format!("flow train step d_h={hidden} (dim {DIM}, batch 8)"),
            per_second: r,
            unit: "steps/s",
        });
    }
    Ok(())
}

fn generate_row(rows: &mut Vec<Row>) -> Result<()> {
    let dev = device::device();
    seed_device(&dev, 0);
    let mut rng = SeededRng::new(2);
    let net = WeightFlowNetConfig::new(DIM, 512).init(&dev);
    // A random orthonormal-ish projection stands in for a fitted PCA (same decode cost).
    let samples: Vec<Vec<f32>> = (0..DIM + 1).map(|_| rng.normal_vec(NET_DIM)).collect();
    let pca = Pca::fit(&samples, DIM)?;
    let flow = WeightFlow {
        config: FlowConfig::reference(512, 1),
        net,
        pca: Some(pca),
        dim: DIM,
        history: Default::default(),
        best_loss: 0.0,
    };
    let started = Instant::now();
    let nets = flow.generate(100, &mut rng);
    let seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(nets);
    rows.push(Row {
        name: "generate 100 nets (d_h=512, RK4 ×100, PCA 99 → 3466)".into(),
        per_second: 100.0 / seconds,
        unit: "nets/s",
    });
    Ok(())
}

/// `genlab bench weights` (module doc).
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let mut rows = Vec::new();
    lap_rows(opts, &mut rows)?;
    matching_row(opts, &mut rows)?;
    flow_step_rows(opts, &mut rows)?;
    generate_row(&mut rows)?;
    let mut table = BenchTable {
        notes: vec![format!("threads: {}", opts.threads)],
        columns: ["measure", "per second", "unit", "ms each"]
            .map(String::from)
            .to_vec(),
        ..BenchTable::default()
    };
    for r in rows {
        table.rows.push(vec![
            r.name.clone(),
            format!("{:.2}", r.per_second),
            r.unit.into(),
            format!("{:.3}", 1000.0 / r.per_second),
        ]);
        table.json.push(serde_json::json!({ "name": r.name, "per_second": r.per_second, "unit": r.unit, "threads": opts.threads }));
    }
    Ok(table)
}

/// The weights family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "weights",
    options: &[],
    summary: "assignment solves/s (n = 32, 128, 512; genlab JV and the lapjv crate), weight \
              matching pairs/s, flow training steps/s and networks generated/s; twin: \
              bench/torch_weights.py",
    run,
}];
