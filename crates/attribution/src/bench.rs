//! `genlab bench attribution`: projected per-example gradients per second and the projector
//! alone, on one MLP classifier, with the same sizes as the twin `bench/trak_attribution.py`
//! (MadryLab's `traker` `BasicProjector`, its CPU projector, and `torch.func` per-example
//! gradients).
//!
//! ```text
//! model  MLP 256 → 256 → 10 (ReLU), p = 68 362;   output = TRAK's margin
//! batch  512 examples per call;   k = 1024
//! rows   per-example gradients (outer-product trick; loop of backward passes),
//!        projection alone (Gaussian, Rademacher: P regenerated block by block per call, as
//!        traker's BasicProjector does; SJLT c = 4), and gradients + Gaussian projection
//! ```

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::SeededRng;

use crate::classify::{Labelled, dense, example_grads, margin};
use crate::grads::per_example_loop;
use crate::mlp::{Act, Mlp};
use crate::project::{ProjKind, Projector};

const D_IN: usize = 256;
const HIDDEN: usize = 256;
const CLASSES: usize = 10;
const BATCH: usize = 512;
const K: usize = 1024;

fn data(n: usize) -> Labelled {
    let mut rng = SeededRng::new(1);
    Labelled {
        d: D_IN,
        classes: CLASSES,
        x: rng.normal_vec(n * D_IN),
        y: rng.indices(n, CLASSES),
    }
}

/// Median seconds of `steps` timed calls after `warmup` untimed ones.
fn time(warmup: usize, steps: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut t: Vec<f64> = (0..steps.max(1))
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Runs the benchmark.
pub fn run(opts: &BenchOptions) -> genlab_core::Result<BenchTable> {
    let device = Device::flex().autodiff();
    let model = Mlp::init(
        &[D_IN, HIDDEN, CLASSES],
        Act::Relu,
        &mut SeededRng::new(0),
        &device,
    );
    let p = model.num_params();
    let batch = data(BATCH);
    let (w, s) = (opts.warmup.min(2), opts.steps.clamp(1, 10));
    let mut rows: Vec<(String, f64, usize)> = Vec::new();
    let trick = time(w, s, || {
        let _ = dense(&example_grads(&model, &batch, false));
    });
    rows.push((
        "per-example gradients, outer-product trick".into(),
        trick,
        BATCH,
    ));
    let few = data(32);
    let loop_s = time(0, 1, || {
        let _ = per_example_loop(&model, 32, |m, i| {
            let x = Tensor::<2>::from_data(
                TensorData::new(few.x[i * D_IN..(i + 1) * D_IN].to_vec(), [1, D_IN]),
                &device,
            );
            let mut oh = vec![0.0f32; CLASSES];
            oh[few.y[i]] = 1.0;
            let oh = Tensor::<2>::from_data(TensorData::new(oh, [1, CLASSES]), &device);
            margin(m.forward(x), oh).sum()
        });
    });
    rows.push((
        "per-example gradients, loop of backward passes".into(),
        loop_s,
        32,
    ));
    let g = dense(&example_grads(&model, &batch, false));
    for (name, kind) in [
        (
            "projection alone, Gaussian (P regenerated per call)",
            ProjKind::Gaussian,
        ),
        (
            "projection alone, Rademacher (P regenerated per call)",
            ProjKind::Rademacher,
        ),
        ("projection alone, SJLT c = 4", ProjKind::Sjlt { c: 4 }),
    ] {
        let t = time(w.min(1), s.min(3), || {
            let _ = Projector::new(kind, p, K, 0).project(&g.data);
        });
        rows.push((name.into(), t, BATCH));
    }
    let both = time(w.min(1), s.min(3), || {
        let g = dense(&example_grads(&model, &batch, false));
        let _ = Projector::new(ProjKind::Gaussian, p, K, 0).project(&g.data);
    });
    rows.push((
        "gradients + Gaussian projection (featurise)".into(),
        both,
        BATCH,
    ));
    let json = rows
        .iter()
        .map(|(n, t, b)| serde_json::json!({"name": n, "seconds_per_call": t, "examples_per_call": b, "examples_per_second": *b as f64 / t}))
        .collect();
    Ok(BenchTable {
        notes: vec![format!(
            "MLP {D_IN}→{HIDDEN}→{CLASSES} (p = {p}), margin output, batch {BATCH}, k = {K}, {} thread(s); twin: bench/trak_attribution.py",
            opts.threads
        )],
        columns: vec!["row".into(), "examples/s".into(), "ms per call".into()],
        rows: rows
            .iter()
            .map(|(n, t, b)| {
                vec![
                    n.clone(),
                    format!("{:.0}", *b as f64 / t),
                    format!("{:.1} ({b} examples)", t * 1e3),
                ]
            })
            .collect(),
        json,
    })
}

/// The family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "attribution",
    summary: "projected per-example gradients per second and the projector alone (MLP 256→256→10, \
              k = 1024); twin: bench/trak_attribution.py (traker's CPU BasicProjector)",
    options: &[],
    run,
}];
