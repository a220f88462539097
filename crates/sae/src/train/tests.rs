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
