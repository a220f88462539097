//! Every architecture learns, runs are deterministic, and a killed run resumes exactly.

use super::*;
use crate::acts::{FileStream, InMemory, open_files, write_npy_rows};
use crate::linalg::dot;
use genlab_core::testing::scratch;
use genlab_core::train::NoObserver;
use genlab_core::train::testing::StopAt;

/// Inputs that are exactly sparse in a 6-atom orthonormal dictionary of R^8.
fn sparse_data(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SeededRng::new(seed);
    let u = rng.uniform_vec(n * 2);
    let mut x = vec![0.0f32; n * 8];
    for b in 0..n {
        let atom = (u[2 * b] * 6.0) as usize % 6;
        x[b * 8 + atom] = 1.0 + u[2 * b + 1];
    }
    x
}

fn config(arch: Arch) -> TrainConfig {
    TrainConfig {
        arch,
        width: 12,
        k: 1,
        steps: 300,
        batch: 64,
        lr: Some(1e-2),
        warmup: 10,
        dead_after_tokens: 2000,
        threshold_start: 100,
        ortho_chunk: 6,
        matryoshka_fractions: vec![0.5, 0.5],
        log_every: 100,
        ..TrainConfig::default()
    }
}

#[test]
fn every_architecture_learns_a_one_sparse_dictionary_with_unit_rows() {
    for arch in [
        Arch::Relu,
        Arch::TopK,
        Arch::BatchTopK,
        Arch::Matryoshka,
        Arch::OrtSae,
    ] {
        let mut src = InMemory::new(8, sparse_data(2000, 1), 2).unwrap();
        // ReLU + L1 cannot reach L0 = 1 without heavy shrinkage; give its controller room.
        let mut c = config(arch);
        if arch == Arch::Relu {
            c.k = 2;
        }
        let t = train(&mut src, &c, &mut NoObserver).unwrap();
        let fvu = t.history.series("batch_fvu");
        let (first_fvu, last_fvu) = (fvu[0].1, fvu.last().unwrap().1);
        assert!(
            last_fvu < 0.2 && last_fvu < first_fvu,
            "{arch:?}: batch FVU {first_fvu} → {last_fvu} {:?} λ={}",
            t.history,
            t.final_l1
        );
        for j in 0..t.sae.m {
            let r = t.sae.dec_row(j);
            assert!((dot(r, r) - 1.0).abs() < 1e-4, "{arch:?}: row {j} not unit");
        }
    }
}

#[test]
fn same_seed_same_weights() {
    let run = || {
        let mut src = InMemory::new(8, sparse_data(500, 3), 4).unwrap();
        let mut c = config(Arch::OrtSae);
        c.steps = 30;
        train(&mut src, &c, &mut NoObserver).unwrap().sae
    };
    assert_eq!(run(), run());
}

#[test]
fn batchtopk_gets_an_inference_threshold() {
    let mut src = InMemory::new(8, sparse_data(2000, 5), 6).unwrap();
    let t = train(&mut src, &config(Arch::BatchTopK), &mut NoObserver).unwrap();
    match t.sae.activation {
        Activation::JumpRelu { threshold } => assert!(threshold > 0.0),
        a => panic!("{a:?}"),
    }
}

#[test]
fn bad_configs_are_refused() {
    let mut src = InMemory::new(8, sparse_data(10, 1), 1).unwrap();
    let mut c = config(Arch::TopK);
    c.k = 0;
    assert!(train(&mut src, &c, &mut NoObserver).is_err());
    c.k = 13;
    assert!(train(&mut src, &c, &mut NoObserver).is_err());
}

/// Every parameter's bit pattern.
fn bits(sae: &Sae) -> Vec<u32> {
    [&sae.w_enc, &sae.b_enc, &sae.w_dec, &sae.b_dec]
        .iter()
        .flat_map(|v| v.iter().map(|x| x.to_bits()))
        .collect()
}

/// Builds a fresh activation source (the same stream every time).
type MakeSource<'a> = dyn Fn() -> Box<dyn ActivationSource> + 'a;

/// The hand-gradient kill-and-resume test: N steps straight equal N/2 steps, an interruption
/// (checkpoint), and a resumed run to N — weight for weight, with the same history and λ —
/// for every piece of state: Adam, dead latents and AuxK (short `dead_after`), θ (its EMA
/// starts before the cut), λ (ReLU), the partition stream (OrtSAE) and a file stream stopped
/// mid-chunk.
#[test]
fn interrupted_and_resumed_run_equals_the_straight_run() {
    let (dir, npy) = scratch("acts.npy");
    write_npy_rows(&npy, &sparse_data(700, 9), 8).unwrap();
    let file_source = || -> Box<dyn ActivationSource> {
        Box::new(FileStream::new(open_files(&npy).unwrap(), 150, 3).unwrap())
    };
    let memory_source = || -> Box<dyn ActivationSource> {
        Box::new(InMemory::new(8, sparse_data(900, 4), 5).unwrap())
    };
    let cases: [(Arch, &MakeSource<'_>); 4] = [
        (Arch::OrtSae, &file_source),
        (Arch::Relu, &memory_source),
        (Arch::BatchTopK, &file_source),
        (Arch::Matryoshka, &memory_source),
    ];
    for (arch, source) in cases {
        let c = TrainConfig {
            steps: 40,
            dead_after_tokens: 256,
            threshold_start: 10,
            log_every: 7,
            ..config(arch)
        };
        let straight = train(&mut *source(), &c, &mut NoObserver).unwrap();
        let ck = Checkpointing {
            path: dir.path().join(format!("{}.ckpt", arch.name())),
            every: 0,
            resume: true,
            source: "test".into(),
        };
        let mut stop = StopAt::new(20);
        match train_resumable(&mut *source(), &c, &ck, &mut stop) {
            Err(Error::Interrupted { step: 20, .. }) => {}
            other => panic!("{arch:?}: expected an interruption at step 20, got {other:?}"),
        }
        let resumed = train_resumable(&mut *source(), &c, &ck, &mut NoObserver).unwrap();
        assert_eq!(
            bits(&resumed.sae),
            bits(&straight.sae),
            "{arch:?}: weights differ"
        );
        assert_eq!(
            resumed.sae.activation, straight.sae.activation,
            "{arch:?}: θ differs"
        );
        assert_eq!(resumed.history, straight.history, "{arch:?}");
        assert_eq!(resumed.final_l1.to_bits(), straight.final_l1.to_bits());
        let changed = TrainConfig { k: 2, ..c.clone() };
        let err = train_resumable(&mut *source(), &changed, &ck, &mut NoObserver).unwrap_err();
        assert!(err.to_string().contains("different configuration"), "{err}");
    }
}

/// A sweep trains every configuration from one stream, each SAE bit-identical to its
/// configuration trained alone (weights, θ, history), and an interrupted sweep resumes exactly.
#[test]
fn sweep_equals_separate_runs_and_resumes() {
    let configs = [
        TrainConfig {
            steps: 40,
            ..config(Arch::BatchTopK)
        },
        TrainConfig {
            steps: 40,
            ..config(Arch::OrtSae)
        },
        TrainConfig {
            steps: 40,
            width: 16,
            k: 2,
            lr: None,
            ..config(Arch::TopK)
        },
    ];
    let source = || InMemory::new(8, sparse_data(900, 4), 5).unwrap();
    let swept = train_sweep(&mut source(), &configs, None, &mut NoObserver).unwrap();
    assert_eq!(swept.len(), 3);
    for (c, s) in configs.iter().zip(&swept) {
        let alone = train(&mut source(), c, &mut NoObserver).unwrap();
        assert_eq!(bits(&s.sae), bits(&alone.sae), "{:?} w{}", c.arch, c.width);
        assert_eq!(s.sae.activation, alone.sae.activation);
        assert_eq!(s.history, alone.history);
    }
    let (dir, _) = scratch("x");
    let ck = Checkpointing {
        path: dir.path().join("sweep.ckpt"),
        every: 0,
        resume: true,
        source: "test".into(),
    };
    let mut stop = StopAt::new(15);
    assert!(matches!(
        train_sweep(&mut source(), &configs, Some(&ck), &mut stop),
        Err(Error::Interrupted { step: 15, .. })
    ));
    let resumed = train_sweep(&mut source(), &configs, Some(&ck), &mut NoObserver).unwrap();
    for (r, s) in resumed.iter().zip(&swept) {
        assert_eq!(bits(&r.sae), bits(&s.sae));
        assert_eq!(r.history, s.history);
    }
    let mixed = [
        configs[0].clone(),
        TrainConfig {
            batch: 32,
            ..configs[1].clone()
        },
    ];
    let e = train_sweep(&mut source(), &mixed, None, &mut NoObserver).unwrap_err();
    assert!(e.to_string().contains("same batch, steps and seed"), "{e}");
}

/// The normalisation factor is the mean norm over the first `norm_batches` batches, and the
/// stream is moved back to where it was.
#[test]
fn norm_estimate_reads_n_batches_then_rewinds() {
    let data: Vec<f32> = sparse_data(500, 2).iter().map(|v| v * 3.0).collect();
    let c = TrainConfig {
        normalise: Normalise::ExpectedAverageOnlyIn,
        norm_batches: 3,
        batch: 50,
        ..config(Arch::BatchTopK)
    };
    let mut src = InMemory::new(8, data.clone(), 9).unwrap();
    let before = src.position();
    let s = state::norm_scale(&mut src, &c).unwrap();
    assert_eq!(src.position(), before, "rewound");
    let mut reference = InMemory::new(8, data, 9).unwrap();
    let mut mean = crate::normalise::MeanNorm::default();
    let mut buf = Vec::new();
    for _ in 0..3 {
        reference.next_batch(50, &mut buf).unwrap();
        mean.add(&buf, 8);
    }
    assert_eq!(s, mean.scale_factor(8));
    assert_ne!(s, 1.0);
}

/// `init_from` starts from the saved raw weights (free rows keep their norm).
#[test]
fn init_from_starts_at_the_saved_weights() {
    let (dir, _) = scratch("x");
    let mut rng = SeededRng::new(3);
    let mut w_dec = rng.normal_vec(12 * 8);
    crate::decoder_norm::normalise_rows(&mut w_dec, 8);
    w_dec.iter_mut().for_each(|v| *v *= 0.1);
    let start = Sae {
        d: 8,
        m: 12,
        w_enc: rng.normal_vec(12 * 8),
        b_enc: rng.normal_vec(12),
        w_dec,
        b_dec: rng.normal_vec(8),
        activation: Activation::Relu,
    };
    crate::saelens::save(&start, dir.path(), serde_json::Value::Null).unwrap();
    let c = TrainConfig {
        init_from: Some(dir.path().to_path_buf()),
        ..config(Arch::BatchTopK).saelens_defaults()
    };
    let mut src = InMemory::new(8, sparse_data(100, 1), 1).unwrap();
    let state = SaeState::new(&mut src, std::slice::from_ref(&c)).unwrap();
    assert_eq!(state.members()[0].sae(), &start);
    let wrong = TrainConfig {
        width: 16,
        ..c.clone()
    };
    let mut src = InMemory::new(8, sparse_data(100, 1), 1).unwrap();
    let e = SaeState::new(&mut src, std::slice::from_ref(&wrong))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("width 12"), "{e}");
}
