//! Throughput of the family's two training steps, for `genlab bench gan`; the identical PyTorch
//! steps are `bench/torch_gan.py`. Both on the 2-D ring of N = 50 classes, batch 256, MLPs of
//! width 128 (G: 8 + 50 → 128 → 128 → 2; D: 2 → 128 → 128 → 128 and the head):
//!
//! ```text
//! D step   G(z, y) without grad; h of real and fake; L_D of the head; backward; Adam
//! G step   G(z, y); h of fake (and real for SONA); L_G of the head; backward; Adam
//! ```
//!
//! for the projection head (hinge) and SONA (SAN + BT-C + BT-M with the sphere weights).

use std::time::Instant;

use burn::optim::AdamConfig;
use genlab_core::bench::StepTimes;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::train::{Learner, SeededRng};
use genlab_core::{Result, device, tensor};

use crate::heads::{self, Batch, Head};
use crate::mixture::ClassMixture;
use crate::net::{Discriminator, Generator, NetSpec, onehot};

/// The benchmark's shape.
pub const SPEC: NetSpec = NetSpec {
    dim: 2,
    classes: 50,
    z_dim: 8,
    width: 128,
};
/// Batch size of both steps.
pub const BATCH: usize = 256;

/// Multiply-adds of one forward pass of G and of D's trunk on one example.
fn macs() -> (f64, f64) {
    let (w, n, z, d) = (SPEC.width, SPEC.classes, SPEC.z_dim, SPEC.dim);
    (
        ((z + n) * w + w * w + w * d) as f64,
        (d * w + 2 * w * w) as f64,
    )
}

/// Times `steps` D steps and `steps` G steps of `head` after `warmup` untimed ones.
pub fn bench_head(head: Head, warmup: usize, steps: usize) -> Result<Vec<StepTimes>> {
    let device = device::train_device();
    let mut rng = SeededRng::new(0);
    let data = ClassMixture::ring(SPEC.classes).sample(4096, &mut rng);
    let labels = data.labels.clone().expect("ring samples are labelled");
    let adam = || AdamConfig::new().with_beta_1(0.5).init();
    let mut d = Learner::new(
        "disc",
        Discriminator::init(&SPEC, &mut rng, &device),
        adam(),
    );
    let mut g = Learner::new("gen", Generator::init(&SPEC, &mut rng, &device), adam());
    let (mut d_secs, mut g_secs) = (Vec::new(), Vec::new());
    for s in 0..warmup + steps {
        let idx = rng.indices(BATCH, data.len());
        let ys: Vec<u32> = idx.iter().map(|&i| labels[i]).collect();
        let real = tensor::rows_to_tensor(&data, &idx, &device);
        let y = onehot(&ys, SPEC.classes, &device);
        let started = Instant::now();
        let fake = g
            .model()
            .forward(rng.normal([BATCH, SPEC.z_dim], &device), y.clone())
            .detach();
        let b = Batch {
            real: real.clone(),
            fake,
            labels: &ys,
            y: y.clone(),
        };
        d.step(heads::d_loss(head, d.model(), &b), 2e-4, s as u64)?;
        let d_time = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let fake = g
            .model()
            .forward(rng.normal([BATCH, SPEC.z_dim], &device), y.clone());
        let b = Batch {
            real,
            fake,
            labels: &ys,
            y,
        };
        g.step(heads::g_loss(head, d.model(), &b), 2e-4, s as u64)?;
        if s >= warmup {
            d_secs.push(d_time);
            g_secs.push(started.elapsed().as_secs_f64());
        }
    }
    let (gm, dm) = macs();
    let b = BATCH as f64;
    // D step: G forward (2·gm) + D forward on 2B with backward (6·dm); G step: G and D forward
    // and backward (6·(gm + dm)), SONA's G step also runs D on the real half (2·dm more).
    let extra = if head == Head::Projection {
        0.0
    } else {
        2.0 * dm
    };
    Ok(vec![
        StepTimes {
            name: format!("gan D step ({head}, N = {}, batch {BATCH})", SPEC.classes),
            flops_per_step: 2.0 * b * (gm + 6.0 * dm),
            seconds: d_secs,
        },
        StepTimes {
            name: format!("gan G step ({head}, N = {}, batch {BATCH})", SPEC.classes),
            flops_per_step: b * (6.0 * (gm + dm) + extra),
            seconds: g_secs,
        },
    ])
}

/// `genlab bench gan`: D and G steps of the projection and SONA heads.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let mut rows = bench_head(Head::Projection, opts.warmup, opts.steps)?;
    rows.extend(bench_head(Head::Sona, opts.warmup, opts.steps)?);
    Ok(genlab_core::bench::step_table(&rows, opts.threads, None))
}

/// The gan family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "gan",
    options: &[],
    summary: "conditional-GAN discriminator and generator steps (projection and SONA heads) on the \
              50-class ring; twin: bench/torch_gan.py",
    run,
}];
