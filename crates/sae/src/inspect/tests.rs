use super::*;
use crate::corpus::Sequences;
use crate::lm_acts::tests::tiny;
use crate::sae::Activation;
use genlab_core::train::{NoObserver, SeededRng};

/// A random ReLU SAE on the tiny model's width (d = 32), 12 latents.
fn sae() -> Sae {
    let (d, m) = (32, 12);
    let mut rng = SeededRng::new(5);
    Sae {
        d,
        m,
        w_enc: rng.normal_vec(m * d),
        b_enc: vec![-0.5; m],
        w_dec: rng.normal_vec(m * d),
        b_dec: vec![0.0; d],
        activation: Activation::Relu,
    }
}

fn config(latents: Vec<usize>) -> InspectConfig {
    InspectConfig {
        layer: 1,
        latents,
        batch: 3,
        top: 4,
        before: 3,
        after: 2,
        logit_tokens: 5,
        seed: 0,
    }
}

#[test]
fn dashboard_agrees_with_a_dense_recount() {
    let (model, tok) = tiny();
    let text = "the cat and the hat sat in the sun and ran off. ".repeat(30);
    let seqs = Sequences::new(&tok, &text, 10, 1).unwrap();
    let seqs = seqs.front(7).unwrap();
    let sae = sae();
    let d = inspect(
        &sae,
        &model,
        &tok,
        seqs,
        ("tiny", "text"),
        &config(vec![0, 3, 7]),
        &mut NoObserver,
    )
    .unwrap();
    assert_eq!(d.tokens, 7 * 9);
    // Oracle: every non-BOS token's activation, computed sequence by sequence.
    for card in &d.latents {
        let mut all = Vec::new();
        for s in seqs {
            let r = model.residual(s, 1, 1).unwrap();
            let pre = sae.pre_activations(&r);
            for t in 1..s.len() {
                all.push(pre[t * sae.m + card.latent].max(0.0));
            }
        }
        let fired = all.iter().filter(|v| **v > 0.0).count();
        assert_eq!(card.fired as usize, fired, "latent {}", card.latent);
        assert!((card.density - fired as f64 / all.len() as f64).abs() < 1e-12);
        let mut sorted: Vec<f32> = all.iter().copied().filter(|v| *v > 0.0).collect();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let top: Vec<f32> = card.top.iter().map(|e| e.activation).collect();
        assert_eq!(top.len(), sorted.len().min(4));
        for (a, b) in top.iter().zip(&sorted) {
            assert!(
                (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                "{top:?} vs {sorted:?}"
            );
        }
        for e in &card.top {
            assert_eq!(e.acts[e.focus], e.activation);
            assert_eq!(e.tokens.len(), e.acts.len());
        }
        assert_eq!(
            card.hist_counts.iter().sum::<u64>() as usize,
            fired.min(VALUE_RESERVOIR)
        );
        assert_eq!(card.promoted.len(), 5);
        assert!(card.promoted[0].1 >= card.promoted[4].1);
        assert!(card.suppressed[0].1 <= card.suppressed[4].1);
    }
    assert!(
        d.latents.windows(2).all(|w| w[0].density >= w[1].density),
        "sorted by density"
    );
    let html = html::render(&d);
    assert!(html.starts_with("<!doctype html>") && html.contains("id=\"l3\""));
}

#[test]
fn reservoirs_stay_bounded_and_are_seeded() {
    let mut acc = Accumulator::default();
    let ids: Vec<u32> = (0..50).collect();
    let z: Vec<f32> = (0..50).map(|t| t as f32 / 10.0).collect();
    let s = SeqActs { ids: &ids, z, n: 1 };
    let cfg = config(vec![0]);
    for seq in 0..200 {
        for p in 1..50 {
            acc.add(&s, 0, 0, seq, p, &cfg);
        }
    }
    assert_eq!(acc.fired, 200 * 49);
    assert_eq!(acc.values.len(), VALUE_RESERVOIR);
    assert_eq!(acc.examples.len(), EXAMPLE_RESERVOIR);
    assert_eq!(acc.top.len(), 4);
    assert!(acc.top.iter().all(|w| w.activation == 4.9));
    assert_eq!(draw(3, 1, 10), draw(3, 1, 10));
    assert_ne!(draw(3, 1, 10), draw(4, 1, 10));
}

#[test]
fn bad_latents_and_widths_are_refused() {
    let (model, tok) = tiny();
    let text = "the cat and the hat sat in the sun. ".repeat(10);
    let seqs = Sequences::new(&tok, &text, 10, 1).unwrap();
    let sae = sae();
    let e = inspect(
        &sae,
        &model,
        &tok,
        seqs.front(2).unwrap(),
        ("t", "t"),
        &config(vec![12]),
        &mut NoObserver,
    )
    .unwrap_err();
    assert!(e.to_string().contains("latent 12 does not exist"), "{e}");
    let mut narrow = sae.clone();
    narrow.d = 16;
    let e = encode_text(&narrow, &model, &tok, 1, "the cat", 3).unwrap_err();
    assert!(e.to_string().contains("width 16"), "{e}");
    let rows = encode_text(&sae, &model, &tok, 1, "the cat sat", 3).unwrap();
    assert_eq!(rows.len(), tok.encode("the cat sat").len());
    assert!(rows.iter().all(|r| r.latents.len() <= 3));
    assert!(
        rows.iter()
            .all(|r| r.latents.windows(2).all(|w| w[0].1 >= w[1].1))
    );
}
