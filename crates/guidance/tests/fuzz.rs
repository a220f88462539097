//! In-tree fuzzing of the guidance family's readers (issue 25): token files and model
//! directories (model.json mutated, then loaded and sampled). Budget: `GENLAB_FUZZ_CASES`
//! (default 300 token files, 150 model specs).

use std::path::Path;

use genlab_core::testing::{fuzz, rejected, scratch};
use genlab_guidance::model::{ModelSpec, TokenModel};
use genlab_guidance::tokens::TokenData;

#[test]
fn fuzz_token_files() {
    let seeds = vec![
        b"# c: t\n3: 0 0 5\n\n7: 1 2 16\n".to_vec(),
        b"0: 1 2 3 4\n1: 4 3 2 1\n".to_vec(),
    ];
    fuzz("token file", &seeds, 300, |b| {
        match TokenData::parse(&String::from_utf8_lossy(b), Path::new("t.txt")) {
            Ok(d) => {
                let ok = d.seq_len > 0
                    && d.tokens.len() == d.labels.len() * d.seq_len
                    && d.tokens.iter().all(|&t| (t as usize) < d.vocab)
                    && d.labels.iter().all(|&c| (c as usize) < d.classes);
                if ok {
                    Ok(true)
                } else {
                    Err("inconsistent token data accepted".into())
                }
            }
            Err(e) => rejected(e),
        }
    });
}

#[test]
fn fuzz_model_spec() {
    let (dir, _) = scratch("x");
    let spec = ModelSpec {
        seq_len: 4,
        vocab: 3,
        classes: 2,
        width: 8,
        depth: 2,
        noise: Default::default(),
        training: serde_json::Value::Null,
    };
    let device = genlab_core::device::device();
    let model = TokenModel {
        net: spec.init(&device),
        spec,
    };
    model.save(dir.path()).unwrap();
    let spec_path = dir.path().join("model.json");
    let seed = std::fs::read(&spec_path).unwrap();
    fuzz("guidance model.json", &[seed], 150, |b| {
        std::fs::write(&spec_path, b).unwrap();
        match TokenModel::load(dir.path()) {
            Ok(m) => {
                let (tokens, classes) = (vec![0u32; m.spec.seq_len], vec![0u32]);
                match m.spec.validate(&tokens, &classes) {
                    Ok(()) => Ok(true),
                    Err(e) => rejected(e).map(|_| true),
                }
            }
            Err(e) => rejected(e),
        }
    });
}
