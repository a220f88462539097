//! The forward pass against its definition, the hooks, and the config checks.

use super::*;
use crate::gguf::Value;
use genlab_core::device::device;
use genlab_core::testing::scratch;
use genlab_core::train::SeededRng;

fn tiny() -> (Llama, Gguf) {
    let g = Gguf::parse(
        Path::new("tiny.gguf"),
        synthetic_gguf(SyntheticSpec::default(), 5),
    )
    .unwrap();
    (Llama::from_gguf(&g, &device()).unwrap(), g)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn rms_norm_by_hand() {
    // mean(9, 16) = 12.5; ε = 0.5 → scale 1/√13.
    let y = rms_norm(&[3.0, 4.0, 0.0, 0.0], &[1.0, 2.0], 0.5);
    let s = 1.0 / 13f32.sqrt();
    assert!(max_diff(&y, &[3.0 * s, 8.0 * s, 0.0, 0.0]) < 1e-6);
}

#[test]
fn rope_is_a_complex_rotation_that_depends_on_relative_position() {
    let (hd, heads, t_len) = (8, 2, 12);
    let mut rng = SeededRng::new(1);
    let x = rng.normal_vec(t_len * heads * hd);
    let mut y = x.clone();
    rope(&mut y, heads * hd, t_len, hd, 100.0);
    for t in 0..t_len {
        for h in 0..heads {
            for i in 0..hd / 2 {
                let theta = t as f64 * 100f64.powf(-(2.0 * i as f64) / hd as f64);
                let at = t * heads * hd + h * hd + 2 * i;
                let (re, im) = (x[at] as f64, x[at + 1] as f64);
                let want = (
                    re * theta.cos() - im * theta.sin(),
                    re * theta.sin() + im * theta.cos(),
                );
                assert!(
                    (y[at] as f64 - want.0).abs() < 1e-5
                        && (y[at + 1] as f64 - want.1).abs() < 1e-5
                );
            }
        }
    }
    // ⟨R_t q, R_s k⟩ depends on t − s only.
    let (q, k) = (rng.normal_vec(hd), rng.normal_vec(hd));
    let rotated = |v: &[f32], t: usize| {
        let mut rows = vec![0.0f32; (t + 1) * hd];
        rows[t * hd..].copy_from_slice(v);
        rope(&mut rows, hd, t + 1, hd, 100.0);
        rows[t * hd..].to_vec()
    };
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let near = dot(&rotated(&q, 7), &rotated(&k, 3));
    let shifted = dot(&rotated(&q, 11), &rotated(&k, 7));
    assert!((near - shifted).abs() < 1e-4, "{near} vs {shifted}");
}

#[allow(clippy::too_many_arguments)]
/// Naive causal attention: full score matrix, −∞ above the diagonal, explicit KV-head map.
fn naive_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    b_n: usize,
    t_n: usize,
    h_n: usize,
    kv_n: usize,
    hd: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; b_n * t_n * h_n * hd];
    for b in 0..b_n {
        for h in 0..h_n {
            let kvh = h * kv_n / h_n;
            for t in 0..t_n {
                let qrow = &q[(b * t_n + t) * h_n * hd + h * hd..][..hd];
                let scores: Vec<f64> = (0..t_n)
                    .map(|s| {
                        if s > t {
                            f64::NEG_INFINITY
                        } else {
                            let krow = &k[(b * t_n + s) * kv_n * hd + kvh * hd..][..hd];
                            qrow.iter()
                                .zip(krow)
                                .map(|(a, c)| (a * c) as f64)
                                .sum::<f64>()
                                / (hd as f64).sqrt()
                        }
                    })
                    .collect();
                let z: f64 = scores.iter().map(|s| s.exp()).sum();
                for s in 0..t_n {
                    let p = scores[s].exp() / z;
                    for j in 0..hd {
                        out[(b * t_n + t) * h_n * hd + h * hd + j] +=
                            (p * v[(b * t_n + s) * kv_n * hd + kvh * hd + j] as f64) as f32;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn attention_matches_the_masked_softmax_oracle() {
    let mut rng = SeededRng::new(2);
    // The last two cover whole 64-key tiles and the width-64 specialisation.
    for (b, t, h, kv, hd) in [
        (2, 5, 4, 2, 6),
        (1, 9, 3, 1, 4),
        (3, 4, 2, 2, 8),
        (1, 150, 3, 1, 64),
        (2, 70, 2, 2, 16),
    ] {
        let q = rng.normal_vec(b * t * h * hd);
        let k = rng.normal_vec(b * t * kv * hd);
        let v = rng.normal_vec(b * t * kv * hd);
        let fast = attention(&q, &k, &v, b, t, h, kv, hd);
        let slow = naive_attention(&q, &k, &v, b, t, h, kv, hd);
        assert!(max_diff(&fast, &slow) < 1e-5, "{:?}", (b, t, h, kv, hd));
    }
}

/// The whole model with `y_o = Σ_i W[o, i] x_i` loops straight from the file's tensors.
fn naive_logits(g: &Gguf, c: &Config, tokens: &[u32]) -> Vec<f32> {
    let w = |n: &str| g.tensor_f32(n).unwrap().0;
    let linear = |x: &[f32], w: &[f32], inp: usize| -> Vec<f32> {
        let out = w.len() / inp;
        x.chunks(inp)
            .flat_map(|row| {
                (0..out).map(move |o| {
                    row.iter()
                        .zip(&w[o * inp..(o + 1) * inp])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                })
            })
            .collect()
    };
    let (d, t_n) = (c.d, tokens.len());
    let emb = w("token_embd.weight");
    let mut x: Vec<f32> = tokens
        .iter()
        .flat_map(|&t| emb[t as usize * d..(t as usize + 1) * d].to_vec())
        .collect();
    for l in 0..c.n_layer {
        let p = |s: &str| format!("blk.{l}.{s}.weight");
        let h = rms_norm(&x, &w(&p("attn_norm")), c.eps);
        let mut q = linear(&h, &w(&p("attn_q")), d);
        let mut k = linear(&h, &w(&p("attn_k")), d);
        let v = linear(&h, &w(&p("attn_v")), d);
        rope(&mut q, c.n_head * c.head_dim, t_n, c.head_dim, c.rope_base);
        rope(
            &mut k,
            c.n_kv_head * c.head_dim,
            t_n,
            c.head_dim,
            c.rope_base,
        );
        let a = naive_attention(&q, &k, &v, 1, t_n, c.n_head, c.n_kv_head, c.head_dim);
        let o = linear(&a, &w(&p("attn_output")), c.n_head * c.head_dim);
        x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);
        let m = rms_norm(&x, &w(&p("ffn_norm")), c.eps);
        let gate = linear(&m, &w(&p("ffn_gate")), d);
        let up = linear(&m, &w(&p("ffn_up")), d);
        let act: Vec<f32> = gate
            .iter()
            .zip(&up)
            .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
            .collect();
        let down = linear(&act, &w(&p("ffn_down")), c.d_ff);
        x.iter_mut().zip(&down).for_each(|(x, o)| *x += o);
    }
    linear(&rms_norm(&x, &w("output_norm.weight"), c.eps), &emb, d)
}

#[test]
fn forward_matches_naive_loops_over_the_file_tensors() {
    let (model, g) = tiny();
    let tokens: Vec<u32> = (0..11)
        .map(|i| (i * 37 % model.config.vocab) as u32)
        .collect();
    let out = model.forward(&tokens, 1, Hooks::logits_only()).unwrap();
    let want = naive_logits(&g, &model.config, &tokens);
    assert!(max_diff(out.logits.as_ref().unwrap(), &want) < 1e-4);
}

#[test]
fn later_tokens_never_change_earlier_logits() {
    let (model, _) = tiny();
    let v = model.config.vocab;
    let a: Vec<u32> = (0..10).map(|i| (i * 13 % v) as u32).collect();
    let mut b = a.clone();
    for (i, t) in b.iter_mut().enumerate().skip(6) {
        *t = (*t + 1 + i as u32) % v as u32;
    }
    let run = |x: &[u32]| {
        model
            .forward(x, 1, Hooks::logits_only())
            .unwrap()
            .logits
            .unwrap()
    };
    let (la, lb) = (run(&a), run(&b));
    assert_eq!(
        la[..6 * v],
        lb[..6 * v],
        "positions 0..6 see only tokens 0..6"
    );
    assert_ne!(la[6 * v..7 * v], lb[6 * v..7 * v]);
}

#[test]
fn hooks_capture_splice_and_stop_early() {
    let (model, _) = tiny();
    let tokens: Vec<u32> = (0..16).map(|i| (i * 7) as u32).collect();
    let run = |hooks: Hooks<'_>| model.forward(&tokens, 2, hooks).unwrap();
    let all = run(Hooks {
        capture: vec![2, 0, 1],
        logits: true,
        ..Hooks::default()
    });
    assert_eq!(
        all.hidden.iter().map(|h| h.0).collect::<Vec<_>>(),
        vec![2, 0, 1]
    );
    let early = run(Hooks {
        capture: vec![1],
        ..Hooks::default()
    });
    assert!(early.logits.is_none());
    assert_eq!(early.hidden[0].1, all.hidden[2].1);
    // Splicing r₁ back in unchanged keeps the logits; zeroing it changes them.
    let mut same = |x: &mut [f32]| -> Result<()> {
        let _ = x;
        Ok(())
    };
    let kept = run(Hooks {
        splice: Some((1, &mut same)),
        logits: true,
        ..Hooks::default()
    });
    assert_eq!(kept.logits, all.logits);
    let mut zero = |x: &mut [f32]| -> Result<()> {
        x.fill(0.0);
        Ok(())
    };
    let zeroed = run(Hooks {
        splice: Some((1, &mut zero)),
        capture: vec![1],
        logits: true,
    });
    assert!(zeroed.hidden[0].1.iter().all(|&v| v == 0.0));
    assert_ne!(zeroed.logits, all.logits);
    // Continuing by hand from r₁ reproduces the forward pass.
    let mut r = all.hidden[2].1.clone();
    model.run_blocks(&mut r, 8, 1..2).unwrap();
    assert!(max_diff(&model.logits(&r).unwrap(), all.logits.as_ref().unwrap()) < 1e-6);
    assert!(
        model.run_blocks(&mut r, 7, 1..2).is_err(),
        "16 rows are not sequences of 7"
    );
    assert!(model.run_blocks(&mut r, 8, 1..3).is_err());
    assert!(model.logits(&r[1..]).is_err());
    assert!(model.next_token_nll(&r, &[Some(0)], 4).is_err());
}

#[test]
fn bad_inputs_and_files_are_clear_errors() {
    let (model, _) = tiny();
    let v = model.config.vocab as u32;
    assert!(
        model
            .forward(&[v], 1, Hooks::default())
            .unwrap_err()
            .to_string()
            .contains("outside the vocabulary")
    );
    assert!(model.forward(&[1, 2, 3], 2, Hooks::default()).is_err());
    assert!(
        model
            .forward(
                &[1, 2],
                1,
                Hooks {
                    capture: vec![3],
                    ..Hooks::default()
                }
            )
            .unwrap_err()
            .to_string()
            .contains("layer 3")
    );
    let bytes = synthetic_gguf(SyntheticSpec::default(), 5);
    let (_dir, p) = scratch("m.gguf");
    std::fs::write(&p, &bytes).unwrap();
    let (_, tok) = Llama::load(&p, &device()).unwrap();
    assert_eq!(tok.decode(&tok.encode(" the band")), " the band");
    assert_eq!(
        tok.encode(" the and").len(),
        2,
        "merged by the synthetic rules"
    );
    for cut in [10, bytes.len() / 3, bytes.len() - 1] {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let e = Llama::load(&p, &device()).unwrap_err().to_string();
        assert!(e.contains("m.gguf") && e.contains("truncated"), "{e}");
    }
    // A model whose attention width does not split into heads.
    let mut g = Gguf::parse(&p, bytes).unwrap();
    g.metadata
        .insert("llama.attention.head_count".into(), Value::U32(5));
    assert!(
        Llama::from_gguf(&g, &device())
            .unwrap_err()
            .to_string()
            .contains("does not split")
    );
    g.metadata
        .insert("llama.attention.head_count".into(), Value::U32(2));
    let e = Llama::from_gguf(&g, &device()).unwrap_err().to_string();
    assert!(e.contains("partial RoPE"), "{e}");
    g.metadata
        .insert("llama.rope.dimension_count".into(), Value::U32(16));
    let e = Llama::from_gguf(&g, &device()).unwrap_err().to_string();
    assert!(e.contains("attn_k.weight` has dims"), "{e}");
}
