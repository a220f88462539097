//! The forward pass and tokenizer against an independent PyTorch / `tokenizers` reference on
//! the real SmolLM2-135M-Instruct file (`tests/fixtures/README.md` says how the fixture was
//! made). Skipped, with a printed reason, when the model is not in the data cache.

use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_lm::cache::cached_smollm2;
use genlab_lm::{Hooks, Llama};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("fixtures/smollm2_golden.json");
    serde_json::from_str(text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn smollm2_matches_the_pytorch_reference() {
    let Some(path) = cached_smollm2(&Cache::from_env()) else {
        eprintln!(
            "skipped: smollm2-135m is not in the data cache (run `genlab data fetch smollm2-135m`)"
        );
        return;
    };
    let fx = fixture();
    let (model, tok) = Llama::load(&path, &device()).unwrap();
    let c = &model.config;
    assert_eq!(
        (c.n_layer, c.d, c.n_head, c.n_kv_head, c.d_ff, c.vocab),
        (30, 576, 9, 3, 1536, 49152)
    );

    for case in fx["tokenizer"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(
            tok.encode(text),
            ids(&case["ids"]),
            "tokenization of {text:?}"
        );
        assert_eq!(tok.decode(&tok.encode(text)), text);
    }

    let layers: Vec<usize> = fx["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap() as usize)
        .collect();
    let (mut worst_logit, mut worst_hidden_rel, mut worst_nll) = (0.0f64, 0.0f64, 0.0f64);
    let mut single_logits = Vec::new();
    for seq in fx["sequences"].as_array().unwrap() {
        let text = seq["text"].as_str().unwrap();
        let want_ids = ids(&seq["ids"]);
        assert_eq!(tok.encode(text), want_ids);
        let out = model
            .forward(
                &want_ids,
                1,
                Hooks {
                    capture: layers.clone(),
                    logits: true,
                    ..Hooks::default()
                },
            )
            .unwrap();
        let logits = out.logits.unwrap();
        let v = c.vocab;
        let t = want_ids.len();
        // Top-1 at every position, and the reference's top-20 logits at the last one.
        let argmax: Vec<u32> = logits
            .chunks(v)
            .map(|z| {
                z.iter()
                    .enumerate()
                    .fold((0, f32::MIN), |b, (i, &x)| if x > b.1 { (i, x) } else { b })
                    .0 as u32
            })
            .collect();
        assert_eq!(
            argmax,
            ids(&seq["argmax_per_position"]),
            "{text:?}: top-1 per position"
        );
        let last = &logits[(t - 1) * v..];
        for (id, want) in ids(&seq["top_ids"]).iter().zip(floats(&seq["top_logits"])) {
            worst_logit = worst_logit.max((last[*id as usize] as f64 - want).abs());
        }
        for (l, h) in &out.hidden {
            let norms: Vec<f64> = h
                .chunks(c.d)
                .map(|r| r.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt())
                .collect();
            for (got, want) in norms
                .iter()
                .zip(floats(&seq["hidden_norms"][l.to_string()]))
            {
                worst_hidden_rel = worst_hidden_rel.max((got - want).abs() / want.max(1e-6));
            }
            let first = &h[(t - 1) * c.d..(t - 1) * c.d + 16];
            for (got, want) in first
                .iter()
                .zip(floats(&seq["hidden_last_first"][l.to_string()]))
            {
                assert!(
                    (*got as f64 - want).abs() < 2e-3 * (1.0 + want.abs()),
                    "layer {l}: {got} vs {want}"
                );
            }
        }
        let targets: Vec<Option<u32>> = (0..t).map(|i| want_ids.get(i + 1).copied()).collect();
        let r_final = model
            .forward(
                &want_ids,
                1,
                Hooks {
                    capture: vec![c.n_layer],
                    ..Hooks::default()
                },
            )
            .unwrap()
            .hidden
            .remove(0)
            .1;
        let nll = model.next_token_nll(&r_final, &targets, 3).unwrap();
        for (got, want) in nll.iter().flatten().zip(floats(&seq["nll"])) {
            worst_nll = worst_nll.max((got - want).abs());
        }
        single_logits.push(logits);
    }
    eprintln!(
        "golden: max |Δ top-20 logit| = {worst_logit:.2e}, max rel Δ hidden norm = {worst_hidden_rel:.2e}, max |Δ nll| = {worst_nll:.2e}"
    );
    assert!(worst_logit < 1e-3, "{worst_logit}");
    assert!(worst_hidden_rel < 1e-4, "{worst_hidden_rel}");
    assert!(worst_nll < 1e-3, "{worst_nll}");

    // Batching: the first prompt next to a same-length prefix of the second gives the same logits.
    let seqs = fx["sequences"].as_array().unwrap();
    let a = ids(&seqs[0]["ids"]);
    let b = ids(&seqs[1]["ids"]);
    let mut batch = a.clone();
    batch.extend_from_slice(&b[..a.len()]);
    let out = model.forward(&batch, 2, Hooks::logits_only()).unwrap();
    let both = out.logits.unwrap();
    let diff = both[..single_logits[0].len()]
        .iter()
        .zip(&single_logits[0])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(diff < 1e-3, "batched vs single: {diff}");
}
