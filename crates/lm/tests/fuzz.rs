//! In-tree fuzzing of genlab-lm's readers (issue 25): GGUF files (the container, the Llama
//! built from it, its tokenizer, one forward pass) and tokenizer input text. Budget:
//! `GENLAB_FUZZ_CASES` (default 200 GGUF files, 300 texts).

use std::path::Path;

use genlab_core::device::device;
use genlab_core::testing::{fuzz, rejected};
use genlab_lm::llama::{SyntheticSpec, synthetic_gguf};
use genlab_lm::{Gguf, Llama, Tokenizer};

#[test]
fn fuzz_gguf_model() {
    let seeds = vec![synthetic_gguf(SyntheticSpec::default(), 1)];
    let dev = device();
    fuzz("gguf", &seeds, 200, |bytes| {
        let g = match Gguf::parse(Path::new("m.gguf"), bytes.to_vec()) {
            Ok(g) => g,
            Err(e) => return rejected(e),
        };
        let (model, tok) = match (Llama::from_gguf(&g, &dev), Tokenizer::from_gguf(&g)) {
            (Ok(m), Ok(t)) => (m, t),
            (Err(e), _) | (_, Err(e)) => return rejected(e),
        };
        let ids: Vec<u32> = tok.encode("In the beginning").into_iter().take(8).collect();
        if ids.is_empty() {
            return Ok(true);
        }
        match model.residual(&ids, 1, model.config.n_layer) {
            Ok(r) if r.iter().all(|v| v.is_finite()) => Ok(true),
            Ok(_) => Err("non-finite activations accepted".into()),
            Err(e) => rejected(e),
        }
    });
}

#[test]
fn fuzz_tokenizer_text() {
    let g = Gguf::parse(
        Path::new("m.gguf"),
        synthetic_gguf(SyntheticSpec::default(), 1),
    )
    .unwrap();
    let tok = Tokenizer::from_gguf(&g).unwrap();
    let seeds: Vec<Vec<u8>> = [
        "And God said, Let there be light: and there was light.",
        "x = f(1234567) // ünïcödé 🙂\n\n\tend",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("tokenizer text", &seeds, 300, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let ids = tok.encode(&text);
        if tok.decode(&ids) != text {
            return Err("decode(encode(text)) differs from text".into());
        }
        Ok(true)
    });
}
