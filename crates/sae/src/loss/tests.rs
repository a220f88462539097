use super::*;
use crate::ortsae::{Reduce, partition};
use crate::sae::Activation;
use genlab_core::gradcheck::{max_relative_error, numerical_grad};
use genlab_core::train::SeededRng;

fn small_sae(d: usize, m: usize, seed: u64) -> Sae {
    let mut rng = SeededRng::new(seed);
    let w_dec: Vec<f32> = rng.normal_vec(m * d).iter().map(|v| v * 0.5).collect();
    Sae {
        d,
        m,
        w_enc: rng.normal_vec(m * d).iter().map(|v| v * 0.5).collect(),
        b_enc: rng.normal_vec(m).iter().map(|v| v * 0.1).collect(),
        w_dec,
        b_dec: rng.normal_vec(d).iter().map(|v| v * 0.1).collect(),
        activation: Activation::Relu,
    }
}

fn flatten(s: &Sae) -> Vec<f32> {
    [
        s.w_enc.clone(),
        s.b_enc.clone(),
        s.w_dec.clone(),
        s.b_dec.clone(),
    ]
    .concat()
}

fn unflatten(base: &Sae, p: &[f32]) -> Sae {
    let (m, d) = (base.m, base.d);
    let mut s = base.clone();
    s.w_enc = p[..m * d].to_vec();
    s.b_enc = p[m * d..m * d + m].to_vec();
    s.w_dec = p[m * d + m..2 * m * d + m].to_vec();
    s.b_dec = p[2 * m * d + m..].to_vec();
    s
}

fn check(obj: &Objective, seed: u64) {
    let (d, m, n) = (5, 8, 6);
    let sae = small_sae(d, m, seed);
    let x = SeededRng::new(seed + 100).normal_vec(n * d);
    let step = loss_and_grads(&sae, &x, obj);
    let analytic = flatten(&Sae {
        w_enc: step.grads.w_enc.clone(),
        b_enc: step.grads.b_enc.clone(),
        w_dec: step.grads.w_dec.clone(),
        b_dec: step.grads.b_dec.clone(),
        ..sae.clone()
    });
    let num = numerical_grad(
        |p| loss_and_grads(&unflatten(&sae, p), &x, obj).loss.total,
        &flatten(&sae),
        1e-3,
    );
    let err = max_relative_error(&analytic, &num);
    assert!(err < 5e-3, "{:?}: max relative error {err}", obj.selection);
}

#[test]
fn gradients_match_finite_differences_for_each_selection() {
    let one = Groups::single(8);
    for sel in [
        Selection::Relu { l1: 0.3 },
        Selection::TopK { k: 3 },
        Selection::BatchTopK { k: 2 },
    ] {
        check(
            &Objective {
                selection: sel,
                groups: &one,
                aux: None,
                ortho: None,
            },
            1,
        );
    }
}

#[test]
fn matryoshka_and_ortho_gradients_match_finite_differences() {
    let groups = Groups::from_fractions(8, &[0.25, 0.25, 0.5]).unwrap();
    let chunks = partition(8, 3, &mut SeededRng::new(4));
    let ortho = Ortho {
        gamma: 0.7,
        chunk: 3,
        reduce: Reduce::Max,
    };
    check(
        &Objective {
            selection: Selection::BatchTopK { k: 3 },
            groups: &groups,
            aux: None,
            ortho: Some((ortho, &chunks)),
        },
        2,
    );
}

#[test]
fn aux_gradient_matches_finite_differences_with_a_fixed_residual() {
    let (d, m, n) = (5, 8, 6);
    let sae = small_sae(d, m, 3);
    let x = SeededRng::new(103).normal_vec(n * d);
    let one = Groups::single(m);
    let dead = [false, true, false, true, true, false, false, true];
    // The residual is detached in training; here it is frozen at the base point.
    let base = loss_and_grads(
        &sae,
        &x,
        &Objective {
            selection: Selection::TopK { k: 2 },
            groups: &one,
            aux: None,
            ortho: None,
        },
    );
    let e: Vec<f32> = {
        let recon = sae.decode(&base.codes);
        x.iter().zip(&recon).map(|(a, b)| a - b).collect()
    };
    // Both AuxK forms: variance-normalised (genlab) and unnormalised × min(#dead/k_aux, 1)
    // (SAELens; 4 dead latents, k_aux = 2 → scale 1, checked against the normalised value).
    // AnySign (SAELens's candidates) also takes negative dead pre-activations.
    let mut values = Vec::new();
    for (normalised, pick) in [
        (true, AuxPick::Positive),
        (false, AuxPick::Positive),
        (false, AuxPick::AnySign),
    ] {
        let obj = Objective {
            selection: Selection::TopK { k: 2 },
            groups: &one,
            aux: Some(AuxInput {
                dead: &dead,
                k_aux: 2,
                alpha: 0.5,
                residual: Some(&e),
                normalised,
                pick,
            }),
            ortho: None,
        };
        let step = loss_and_grads(&sae, &x, &obj);
        assert!(step.loss.aux > 0.0);
        values.push(step.loss.aux);
        let g = &step.grads;
        let analytic = [
            g.w_enc.clone(),
            g.b_enc.clone(),
            g.w_dec.clone(),
            g.b_dec.clone(),
        ]
        .concat();
        let num = numerical_grad(
            |p| loss_and_grads(&unflatten(&sae, p), &x, &obj).loss.total,
            &flatten(&sae),
            1e-3,
        );
        assert!(
            max_relative_error(&analytic, &num) < 5e-3,
            "normalised {normalised} {pick:?}"
        );
    }
    let n_rows = (x.len() / d) as f64;
    let mean: Vec<f64> = (0..d)
        .map(|t| (0..x.len() / d).map(|b| e[b * d + t] as f64).sum::<f64>() / n_rows)
        .collect();
    let var = (0..x.len() / d)
        .map(|b| {
            (0..d)
                .map(|t| (e[b * d + t] as f64 - mean[t]).powi(2))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n_rows;
    assert!(
        (values[0] * var - values[1]).abs() < 1e-4 * values[1],
        "{values:?} var {var}"
    );
    assert_ne!(
        values[1], values[2],
        "negative candidates change the AuxK term"
    );
}

#[test]
fn perfect_reconstruction_has_zero_loss() {
    // d = m = 2, identity dictionary, inputs on the positive axes: x̂ = x exactly.
    let sae = Sae::identity(2, Activation::Relu);
    let one = Groups::single(2);
    let step = loss_and_grads(
        &sae,
        &[2.0, 0.0, 0.0, 3.0],
        &Objective {
            selection: Selection::TopK { k: 1 },
            groups: &one,
            aux: None,
            ortho: None,
        },
    );
    assert_eq!(step.loss.rec, 0.0);
    assert!((step.loss.var - 3.25).abs() < 1e-9, "{}", step.loss.var);
    assert!(step.grads.w_dec.iter().all(|g| *g == 0.0));
}
