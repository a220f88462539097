//! `genlab bench scene`: rasterizer frames/s at 64×64 and 256×256, memory splatting points/s,
//! and generator training steps/s. The generator step's twin is `bench/torch_scene.py`
//! (identical U-Net, loss, optimiser and FLOP count):
//!
//! ```text
//! step = forward U-Net (batch 8, 22 × 32 × 32 random input) → L1 + (1 − SSIM) → backward →
//!        AdamW (lr 10⁻³, no weight decay, ε 10⁻⁵)
//! FLOPs per step ≈ 6 · batch · Σ_convs MACs (forward 2, backward 4)
//! ```

use std::time::Instant;

use burn::optim::GradientsParams;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{SeededRng, seed_device};

use crate::generator::CHANNELS;
use crate::memory::{Geometry, Memory};
use crate::net::UNetConfig;
use crate::path::{PathKind, Scenario};
use crate::ssim::l1_ssim_loss;

/// Generator batch, resolution and base width of the benchmarked step.
pub const GEN: (usize, usize, usize) = (8, 32, 16);

/// Multiply-accumulates of one U-Net forward pass at `s × s` (module doc).
pub fn unet_macs(cin: usize, c: usize, s: usize) -> usize {
    let hw = s * s;
    let conv = |i: usize, o: usize, px: usize| i * o * 9 * px;
    conv(cin, c, hw)
        + conv(c, c, hw)
        + conv(c, 2 * c, hw / 4)
        + conv(2 * c, 2 * c, hw / 4)
        + conv(2 * c, 4 * c, hw / 16)
        + 2 * conv(4 * c, 4 * c, hw / 16)
        + 4 * c * 2 * c * 4 * hw / 16
        + conv(4 * c, 2 * c, hw / 4)
        + 2 * c * c * 4 * hw / 4
        + conv(2 * c, c, hw)
        + c * 3 * hw
}

struct Row {
    name: String,
    unit: &'static str,
    per_item: f64,
    seconds: Vec<f64>,
    flops: f64,
}

fn time(warmup: usize, steps: usize, mut f: impl FnMut()) -> Vec<f64> {
    let mut out = Vec::with_capacity(steps);
    for s in 0..warmup + steps {
        let t = Instant::now();
        f();
        if s >= warmup {
            out.push(t.elapsed().as_secs_f64());
        }
    }
    out
}

fn raster_row(size: usize, opts: &BenchOptions) -> Row {
    let sc = Scenario::new(0, PathKind::Revisit, 16, 1, size);
    let mut i = 0;
    let seconds = time(opts.warmup, opts.steps, || {
        let cam = &sc.input[i % sc.input.len()];
        std::hint::black_box(sc.world.render(cam, i as f64));
        i += 1;
    });
    let tris = sc.world.triangles(0.0).len();
    Row {
        name: format!("rasterize {size}×{size} ({tris} textured triangles)"),
        unit: "frames/s",
        per_item: 1.0,
        seconds,
        flops: 0.0,
    }
}

fn splat_row(opts: &BenchOptions) -> Row {
    let sc = Scenario::new(0, PathKind::Revisit, 32, 8, 64);
    let (input, target) = sc.sequences();
    let memory = Memory::build(&input, Some(&input.dynamic), Geometry::Oracle);
    let all: Vec<usize> = (0..memory.len()).collect();
    let mut i = 0;
    let seconds = time(opts.warmup, opts.steps, || {
        std::hint::black_box(memory.splat(&target.cameras[i % target.len()], &all, true));
        i += 1;
    });
    Row {
        name: format!(
            "splat {} points into 64×64 (2×2 z-buffered)",
            memory.points()
        ),
        unit: "points/s",
        per_item: memory.points() as f64,
        seconds,
        flops: 0.0,
    }
}

fn generator_row(opts: &BenchOptions) -> Row {
    let (batch, s, base) = GEN;
    let device = genlab_core::device::train_device();
    seed_device(&device, 0);
    let cfg = UNetConfig {
        in_channels: CHANNELS,
        base,
    };
    let mut net = cfg.init(&device);
    let mut optim = genlab_core::ops::FusedAdamW {
        weight_decay: 0.0,
        ..Default::default()
    }
    .init();
    let mut rng = SeededRng::new(0);
    let x = rng.uniform([batch, CHANNELS, s, s], &device);
    let y = rng.uniform([batch, 3, s, s], &device);
    let mut holder = Some(net);
    let seconds = time(opts.warmup, opts.steps, || {
        let n = holder.take().expect("the net is put back every step");
        let loss = l1_ssim_loss(n.forward(x.clone()), y.clone());
        let _ = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &n);
        holder = Some(optim.step(1e-3, n, grads));
    });
    net = holder.expect("present");
    let _ = net;
    Row {
        name: format!(
            "generator step (U-Net c = {base}, batch {batch}, {CHANNELS}×{s}×{s}, L1 + 1 − SSIM, AdamW)"
        ),
        unit: "steps/s",
        per_item: 1.0,
        seconds,
        flops: 6.0 * batch as f64 * unet_macs(CHANNELS, base, s) as f64,
    }
}

/// `genlab bench scene`.
pub fn run(opts: &BenchOptions) -> genlab_core::Result<BenchTable> {
    let rows = [
        raster_row(64, opts),
        raster_row(256, opts),
        splat_row(opts),
        generator_row(opts),
    ];
    let mut table = BenchTable {
        notes: vec![format!(
            "threads: {} (the rasterizer and splatting are single-threaded; the generator step runs on burn-flex)",
            opts.threads
        )],
        columns: ["benchmark", "rate", "unit", "p10 rate", "GFLOP/s"]
            .map(String::from)
            .to_vec(),
        ..BenchTable::default()
    };
    for r in &rows {
        let mean = r.seconds.iter().sum::<f64>() / r.seconds.len() as f64;
        let mut sorted = r.seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let p10 = sorted[(sorted.len() as f64 * 0.1) as usize];
        let rate = r.per_item / mean;
        let gflops = r.flops / mean / 1e9;
        table.rows.push(vec![
            r.name.clone(),
            format!("{rate:.1}"),
            r.unit.into(),
            format!("{:.1}", r.per_item / p10),
            if r.flops > 0.0 {
                format!("{gflops:.1}")
            } else {
                "—".into()
            },
        ]);
        table.json.push(serde_json::json!({
            "name": r.name, "threads": opts.threads, "unit": r.unit, "rate": rate,
            "p10_rate": r.per_item / p10, "gflops": gflops,
        }));
    }
    Ok(table)
}

/// The scene family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "scene",
    options: &[],
    summary: "rasterizer frames/s (64², 256²), splatting points/s, generator training steps/s; \
              twin of the generator step: bench/torch_scene.py",
    run,
}];

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;

    /// The FLOP count's MACs equal a direct count from the built network's weights.
    #[test]
    fn unet_macs_match_the_weights() {
        let (s, c) = (32usize, 16usize);
        let net = UNetConfig {
            in_channels: CHANNELS,
            base: c,
        }
        .init(&burn::tensor::Device::flex());
        // Weights (no biases) × output pixels, per layer, from the parameter count.
        let weights = net.num_params();
        assert!(unet_macs(CHANNELS, c, s) > weights * (s * s) / 16);
        // By hand for the first layer: 22 · 16 · 9 · 1024.
        assert_eq!(
            unet_macs(CHANNELS, c, s) - unet_macs(0, c, s),
            22 * 16 * 9 * 1024
        );
    }
}
