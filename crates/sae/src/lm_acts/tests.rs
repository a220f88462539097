use super::*;
use crate::acts::open_files;
use genlab_core::device::device;
use genlab_core::train::NoObserver;
use genlab_lm::llama::{SyntheticSpec, synthetic_gguf};
use genlab_lm::{Gguf, Tokenizer};

pub(crate) fn tiny() -> (Llama, Tokenizer) {
    let g = Gguf::parse(
        Path::new("t.gguf"),
        synthetic_gguf(SyntheticSpec::default(), 1),
    )
    .unwrap();
    (
        Llama::from_gguf(&g, &device()).unwrap(),
        Tokenizer::from_gguf(&g).unwrap(),
    )
}

fn text() -> String {
    "the cat and the hat sat in the sun and ran off. ".repeat(30)
}

/// Every row of every shard file, one Vec per file.
fn shard_files(dir: &Path) -> Vec<Vec<f32>> {
    open_files(dir)
        .unwrap()
        .iter()
        .map(|f| {
            let mut v = Vec::new();
            f.read_rows(0, f.rows, &mut v).unwrap();
            v
        })
        .collect()
}

const D: usize = 32;

/// Store shard j holds exactly the non-BOS rows of its sequences (each run alone through the
/// model), and not in corpus order: a seeded permutation mixes the sequences.
#[test]
fn shards_hold_their_sequences_rows_shuffled() {
    let (model, tok) = tiny();
    let seqs = Sequences::new(&tok, &text(), 8, 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 7 rows per sequence; 21-row shards are 3 sequences; 30 rows need 5 sequences.
    let config = ExtractConfig {
        layer: 1,
        tokens: 30,
        batch: 2,
        shard_rows: 21,
    };
    let m = extract(
        &model,
        "tiny",
        &seqs,
        "text",
        3,
        &config,
        dir.path(),
        &mut NoObserver,
    )
    .unwrap();
    assert_eq!((m.tokens, m.sequences, m.d), (30, 5, D));
    assert_eq!(
        m.shards,
        vec!["acts-00000.safetensors", "acts-00001.safetensors"]
    );
    let files = shard_files(dir.path());
    assert_eq!(
        files.iter().map(|f| f.len() / D).collect::<Vec<_>>(),
        vec![21, 9]
    );
    // The unshuffled rows: sequence i, position j + 1, run alone.
    let mut corpus_order: Vec<Vec<f32>> = Vec::new();
    for s in seqs.front(5).unwrap() {
        let r = model.residual(s, 1, 1).unwrap();
        for j in 0..7 {
            corpus_order.push(r[(j + 1) * D..(j + 2) * D].to_vec());
        }
    }
    corpus_order.truncate(30);
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
    for (f, range) in files.iter().zip([0..21, 21..30]) {
        let rows: Vec<&[f32]> = f.chunks(D).collect();
        let want = &corpus_order[range.clone()];
        // A permutation of the shard's rows (each found exactly once)...
        let mut used = vec![false; want.len()];
        let mut source_of = Vec::new();
        for r in &rows {
            let i = (0..want.len())
                .find(|&i| !used[i] && close(r, &want[i]))
                .expect("every shard row is one of its sequences' rows");
            used[i] = true;
            source_of.push(range.start + i);
        }
        // ...that is not the corpus order.
        assert_ne!(
            source_of,
            range.clone().collect::<Vec<_>>(),
            "shard in corpus order"
        );
        // In the 3-sequence shard, the first 7 rows do not all come from one sequence.
        if range.len() == 21 {
            let first_seq = source_of[0] / 7;
            assert!(source_of[..7].iter().any(|&r| r / 7 != first_seq));
        }
    }
    let back: Manifest = genlab_core::fsx::read_json(&dir.path().join(MANIFEST)).unwrap();
    assert_eq!(back, m);
}

/// The scale-out invariant: three `--shard i/3` runs and a gather write the same bytes (and
/// manifest, timing aside) as one process; a rerun of a finished shard computes nothing; the
/// gather refuses a store with a shard missing.
#[test]
fn three_shards_and_gather_equal_one_process() {
    let (model, tok) = tiny();
    let seqs = Sequences::new(&tok, &text(), 8, 5).unwrap();
    let config = ExtractConfig {
        layer: 2,
        tokens: 60,
        batch: 2,
        shard_rows: 14,
    };
    let one = tempfile::tempdir().unwrap();
    let whole = extract(
        &model,
        "tiny",
        &seqs,
        "text",
        5,
        &config,
        one.path(),
        &mut NoObserver,
    )
    .unwrap();
    assert_eq!(whole.shards.len(), 5, "9 sequences, 2 per shard");
    let parts = tempfile::tempdir().unwrap();
    for i in [2, 0] {
        let run = extract_shard(
            &model,
            "tiny",
            &seqs,
            "text",
            5,
            &config,
            parts.path(),
            Shard { index: i, count: 3 },
            &mut NoObserver,
        )
        .unwrap();
        assert_eq!(run.computed, run.owned.len());
    }
    let e = gather(parts.path()).unwrap_err().to_string();
    assert!(
        e.contains("not done") && e.contains("run the missing"),
        "{e}"
    );
    let shard1 = Shard::parse("1/3").unwrap();
    let run = |observer: &mut dyn Observer| {
        extract_shard(
            &model,
            "tiny",
            &seqs,
            "text",
            5,
            &config,
            parts.path(),
            shard1,
            observer,
        )
        .unwrap()
    };
    assert_eq!(run(&mut NoObserver).computed, 2, "store shards 1 and 2");
    assert_eq!(
        run(&mut NoObserver).computed,
        0,
        "a finished shard is not redone"
    );
    let gathered = gather(parts.path()).unwrap();
    assert_eq!(
        Manifest {
            tokens_per_second: 0.0,
            ..gathered
        },
        Manifest {
            tokens_per_second: 0.0,
            ..whole.clone()
        }
    );
    for name in &whole.shards {
        let a = std::fs::read(one.path().join(name)).unwrap();
        let b = std::fs::read(parts.path().join(name)).unwrap();
        assert!(a == b, "{name} differs between 1 and 3 processes");
    }
}

#[test]
fn bad_requests_are_refused() {
    let (model, tok) = tiny();
    let seqs = Sequences::new(&tok, &"the sun and the hat ".repeat(10), 8, 0).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &ExtractConfig, seed: u64, dir: &Path| {
        extract(&model, "m", &seqs, "c", seed, config, dir, &mut NoObserver)
    };
    let mut config = ExtractConfig {
        layer: 3,
        tokens: 10,
        batch: 2,
        shard_rows: 100,
    };
    let e = run(&config, 0, dir.path()).unwrap_err();
    assert!(e.to_string().contains("layers 0..=2"), "{e}");
    config.layer = 0;
    config.tokens = 10_000;
    let e = run(&config, 0, dir.path()).unwrap_err();
    assert!(e.to_string().contains("the corpus has"), "{e}");
    config.tokens = 10;
    run(&config, 0, dir.path()).unwrap();
    // The same settings again: nothing to do; other settings: refused, naming the hash.
    run(&config, 0, dir.path()).unwrap();
    let e = run(&config, 1, dir.path()).unwrap_err().to_string();
    assert!(e.contains("another configuration"), "{e}");
    // Activation files that are not a store are not mixed into one.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("x.npy"), b"").unwrap();
    let e = run(&config, 0, other.path()).unwrap_err().to_string();
    assert!(e.contains("already holds activations (x.npy"), "{e}");
    let e = gather(other.path()).unwrap_err().to_string();
    assert!(e.contains("not an activation store"), "{e}");
}
