//! In-tree fuzzing of the SAE family's readers (issue 25): activation files (`.npy`,
//! `.safetensors`, header and rows) and saved SAE directories (cfg.json and the weights),
//! evaluated on a small file. Budget: `GENLAB_FUZZ_CASES` (default 300 each).

use genlab_core::testing::{Verdict, fuzz, rejected, scratch};
use genlab_sae::acts::{RowFile, for_each_chunk, write_npy_rows};
use genlab_sae::eval::evaluate;
use genlab_sae::sae::{Activation, Sae};
use genlab_sae::saelens::{self, CFG_FILE, WEIGHTS_FILE};

const CASES: u32 = 300;

fn rows(n: usize, d: usize) -> Vec<f32> {
    (0..n * d).map(|i| (i % 7) as f32 * 0.5 - 1.0).collect()
}

/// Opens `bytes` as an activation file named `name` and reads every row.
fn read_all(name: &str) -> impl Fn(&[u8]) -> Verdict {
    let (dir, path) = scratch(name);
    move |bytes: &[u8]| {
        let _keep = &dir;
        std::fs::write(&path, bytes).unwrap();
        let file = match RowFile::open(&path) {
            Ok(f) => f,
            Err(e) => return rejected(e),
        };
        let len = bytes.len() as u64;
        let need = file.offset + (file.rows as u64) * (file.d as u64) * 4;
        if file.rows == 0 || file.d == 0 || need > len {
            return Err(format!(
                "accepted {} × {} at {} in {len} bytes",
                file.rows, file.d, file.offset
            ));
        }
        let mut n = 0;
        match for_each_chunk(&[file], 3, usize::MAX, |c| {
            n += c.len();
            Ok(())
        }) {
            Ok(_) => Ok(true),
            Err(e) => rejected(e),
        }
    }
}

#[test]
fn fuzz_npy_activations() {
    let (_dir, p) = scratch("s.npy");
    let mut seeds = Vec::new();
    for (n, d) in [(4, 3), (2, 8)] {
        write_npy_rows(&p, &rows(n, d), d).unwrap();
        seeds.push(std::fs::read(&p).unwrap());
    }
    fuzz("activations .npy", &seeds, CASES, read_all("a.npy"));
}

#[test]
fn fuzz_safetensors_activations() {
    let data: Vec<u8> = rows(6, 4).iter().flat_map(|v| v.to_le_bytes()).collect();
    let seed = |shape: &str| {
        let header = format!(
            r#"{{"acts":{{"dtype":"F32","shape":{shape},"data_offsets":[0,{}]}}}}"#,
            data.len()
        );
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&data);
        b
    };
    let seeds = vec![seed("[6,4]"), seed("[2,3,4]")];
    fuzz(
        "activations .safetensors",
        &seeds,
        CASES,
        read_all("a.safetensors"),
    );
}

#[test]
fn fuzz_sae_directory() {
    let (dir, _) = scratch("x");
    let acts = dir.path().join("a.npy");
    write_npy_rows(&acts, &rows(10, 4), 4).unwrap();
    let files = genlab_sae::acts::open_files(&acts).unwrap();
    let m = 6;
    let sae = Sae {
        d: 4,
        m,
        w_enc: rows(m, 4),
        b_enc: vec![0.1; m],
        w_dec: rows(m, 4),
        b_dec: vec![0.0; 4],
        activation: Activation::TopK { k: 2 },
    };
    let sae_dir = dir.path().join("sae");
    saelens::save(&sae, &sae_dir, serde_json::json!({"arch": "topk"})).unwrap();
    let cfg = std::fs::read(sae_dir.join(CFG_FILE)).unwrap();
    let weights = std::fs::read(sae_dir.join(WEIGHTS_FILE)).unwrap();
    // A seed is cfg.json or the weights, marked by its first byte (mutations may change it:
    // then the other file is mutated).
    let seeds = vec![
        [b"c".to_vec(), cfg.clone()].concat(),
        [b"w".to_vec(), weights.clone()].concat(),
    ];
    fuzz("sae directory", &seeds, CASES, |b| {
        let (which, body) = b.split_first().unwrap_or((&b'c', &[]));
        let (c, w) = if *which == b'c' {
            (body, &weights[..])
        } else {
            (&cfg[..], body)
        };
        std::fs::write(sae_dir.join(CFG_FILE), c).unwrap();
        std::fs::write(sae_dir.join(WEIGHTS_FILE), w).unwrap();
        let sae = match saelens::load(&sae_dir) {
            Ok((sae, _)) => sae,
            Err(e) => return rejected(e),
        };
        match evaluate(&sae, &files, 4, usize::MAX) {
            Ok(e) if e.vectors == 10 && e.explained_variance.is_finite() => Ok(true),
            Ok(e) => Err(format!("evaluated into {e:?}")),
            Err(e) => rejected(e),
        }
    });
}
