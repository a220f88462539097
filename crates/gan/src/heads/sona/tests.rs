//! SONA's math against a naive f64 reference: the loss value, its gradients in h (with every
//! stop-gradient honoured: frozen quantities held at their base values) and in u against finite
//! differences, the orthogonality of f^A to ω, and the trunk switch.

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use genlab_core::gradcheck::{max_relative_error, numerical_grad};
use genlab_core::train::SeededRng;
use genlab_core::{device, tensor::to_vec};

use super::*;
use crate::net::{NetSpec, onehot};

const N: usize = 3; // batch
const D: usize = 3; // features
const C: usize = 2; // classes
const LABELS: [u32; N] = [0, 1, 1];

fn disc(device: &burn::tensor::Device) -> Discriminator {
    let spec = NetSpec {
        dim: 2,
        classes: C,
        z_dim: 2,
        width: D,
    };
    let mut d = Discriminator::init(&spec, &mut SeededRng::new(0), device);
    d.w = Param::from_tensor(Tensor::from_data(TensorData::new(W.to_vec(), [D]), device));
    d.class_vectors = Param::from_tensor(Tensor::from_data(
        TensorData::new(WY.to_vec(), [C, D]),
        device,
    ));
    d.u = Param::from_tensor(Tensor::from_data(TensorData::new(U.to_vec(), [3]), device));
    d
}

const W: [f32; D] = [1.0, 2.0, -2.0];
const WY: [f32; C * D] = [0.5, -1.0, 0.2, -0.3, 0.4, 1.2];
const U: [f32; 3] = [1.0, 0.5, -0.8];
const HR: [f32; N * D] = [0.3, -0.2, 0.9, 1.1, 0.4, -0.6, -0.7, 0.8, 0.2];
const HF: [f32; N * D] = [-0.4, 0.6, 0.1, 0.5, -0.9, 0.3, 0.2, 0.1, -1.3];

/// The naive reference of L_D. `frozen` = (h_real, h_fake) at which every stop-gradient
/// quantity (the linear term's h, f^N inside f̃) is evaluated.
fn reference(hr: &[f64], hf: &[f64], u: &[f64], frozen: (&[f64], &[f64]), parts: SonaParts) -> f64 {
    let unit = |v: &[f64]| {
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter().map(|x| x / n).collect::<Vec<_>>()
    };
    let dotp = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let om = unit(&W.map(f64::from));
    let wy: Vec<Vec<f64>> = (0..C)
        .map(|c| {
            unit(
                &WY[c * D..(c + 1) * D]
                    .iter()
                    .map(|&x| x as f64)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let k = if parts.mismatch { 3 } else { 2 };
    let s: Vec<f64> = if parts.adaptive {
        let n = u[..k].iter().map(|x| x * x).sum::<f64>().sqrt();
        u[..k].iter().map(|x| x.abs() / n).collect()
    } else {
        vec![1.0; k]
    };
    let ell = |t: f64, s: f64| -(1.0 + (-s * t).exp()).ln() / s;
    let row = |h: &[f64], i: usize| h[i * D..(i + 1) * D].to_vec();
    let f_a = |h: &[f64], y: usize| {
        let along = dotp(h, &om);
        let p: Vec<f64> = if parts.orthogonal {
            h.iter().zip(&om).map(|(x, o)| x - along * o).collect()
        } else {
            h.to_vec()
        };
        dotp(&wy[y], &p)
    };
    let n = N as f64;
    let mut loss = 0.0;
    for i in 0..N {
        let (r, f) = (row(hr, i), row(hf, i));
        let (r0, f0) = (row(frozen.0, i), row(frozen.1, i));
        let y = LABELS[i] as usize;
        // SAN: GAN part on h (ω constant here), linear part on frozen h.
        loss -= (ell(dotp(&om, &r), s[0]) + ell(-dotp(&om, &f), s[0])) / n;
        loss -= (dotp(&om, &r0) - dotp(&om, &f0)) / n;
        // BT-C with f^N frozen.
        let t = dotp(&om, &r0) + f_a(&r, y) - dotp(&om, &f0) - f_a(&f, y);
        loss -= ell(t, s[1]) / n;
    }
    if parts.mismatch {
        let (wi, li) = mismatch::pairs(&LABELS);
        for (&i, &j) in wi.iter().zip(&li) {
            let y = LABELS[i] as usize;
            let t = dotp(&om, &row(frozen.0, i)) + f_a(&row(hr, i), y)
                - dotp(&om, &row(frozen.0, j))
                - f_a(&row(hr, j), y);
            loss -= ell(t, s[2]) / wi.len() as f64;
        }
    }
    loss
}

/// L_D and its autodiff gradients in (h_real, h_fake) and u.
fn autodiff(parts: SonaParts) -> (f64, Vec<f32>, Vec<f32>, Vec<f32>) {
    let device = device::train_device();
    let d = disc(&device);
    let leaf = |v: &[f32]| {
        Tensor::<2>::from_data(TensorData::new(v.to_vec(), [N, D]), &device).require_grad()
    };
    let (hr, hf) = (leaf(&HR), leaf(&HF));
    let batch = Batch {
        real: Tensor::zeros([N, 2], &device),
        fake: Tensor::zeros([N, 2], &device),
        labels: &LABELS,
        y: onehot(&LABELS, C, &device),
    };
    let loss = d_loss(&d, hr.clone(), hf.clone(), &batch, parts);
    let value = to_vec(loss.clone())[0] as f64;
    let grads = loss.backward();
    let g = |t: Tensor<2>| to_vec(t.grad(&grads).unwrap());
    let gu = d.u.val().grad(&grads).map(to_vec).unwrap_or_default();
    (value, g(hr), g(hf), gu)
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

#[test]
fn loss_value_matches_the_naive_reference() {
    for parts in [
        SonaParts::ALL,
        SonaParts {
            orthogonal: false,
            ..SonaParts::ALL
        },
        SonaParts {
            mismatch: false,
            ..SonaParts::ALL
        },
        SonaParts {
            adaptive: false,
            ..SonaParts::ALL
        },
    ] {
        let (hr, hf, u) = (f64s(&HR), f64s(&HF), f64s(&U));
        let expected = reference(&hr, &hf, &u, (&hr, &hf), parts);
        let (got, ..) = autodiff(parts);
        assert!(
            (got - expected).abs() < 1e-5,
            "{parts:?}: {got} vs {expected}"
        );
    }
}

/// ∂L_D/∂h (through the GAN part and f^A only) and ∂L_D/∂u match finite differences of the
/// reference with the stop-gradient quantities frozen.
#[test]
fn gradients_match_finite_differences_with_stop_gradients_frozen() {
    for parts in [
        SonaParts::ALL,
        SonaParts {
            orthogonal: false,
            ..SonaParts::ALL
        },
    ] {
        let (_, g_r, g_f, g_u) = autodiff(parts);
        let (hr0, hf0, u) = (f64s(&HR), f64s(&HF), f64s(&U));
        let mut x: Vec<f32> = HR.to_vec();
        x.extend_from_slice(&HF);
        let numeric = numerical_grad(
            |v| {
                let v = f64s(v);
                reference(&v[..N * D], &v[N * D..], &u, (&hr0, &hf0), parts)
            },
            &x,
            1e-3,
        );
        let analytic: Vec<f32> = g_r.iter().chain(&g_f).copied().collect();
        assert!(
            max_relative_error(&analytic, &numeric) < 2e-3,
            "{parts:?}\n{analytic:?}\n{numeric:?}"
        );
        let numeric_u = numerical_grad(
            |v| reference(&hr0, &hf0, &f64s(v), (&hr0, &hf0), parts),
            &U,
            1e-3,
        );
        assert!(
            max_relative_error(&g_u, &numeric_u) < 2e-3,
            "{g_u:?} vs {numeric_u:?}"
        );
    }
}

#[test]
fn alignment_ignores_moves_along_omega() {
    let device = device::device();
    let d = disc(&device);
    let om = omega(&d);
    let h = Tensor::<2>::from_data(TensorData::new(HR.to_vec(), [N, D]), &device);
    let omega_y = class_directions(&d, onehot(&LABELS, C, &device));
    let moved = h.clone() + om.clone() * 2.5;
    let f = |h: Tensor<2>, orth| to_vec(alignment(h, om.clone(), omega_y.clone(), orth));
    for (a, b) in f(h.clone(), true).iter().zip(f(moved.clone(), true)) {
        assert!((a - b).abs() < 1e-5, "f^A moved with h along ω: {a} vs {b}");
    }
    // Without Π⊥ it moves by 2.5 ⟨ω_y, ω⟩ ≠ 0.
    let (before, after) = (f(h, false), f(moved, false));
    assert!((before[0] - after[0]).abs() > 0.1);
    // f^N moves by exactly 2.5.
    let n0 = to_vec(naturalness(
        Tensor::from_data(TensorData::new(HR.to_vec(), [N, D]), &device),
        om.clone(),
    ));
    let n1 = to_vec(naturalness(
        Tensor::from_data(TensorData::new(HR.to_vec(), [N, D]), &device) + om.clone() * 2.5,
        om,
    ));
    assert!((n1[0] - n0[0] - 2.5).abs() < 1e-5);
}

/// With `align_trunk` off, h's gradient is the SAN part's alone: BT-C and BT-M reach ω_y only.
#[test]
fn trunk_switch_cuts_the_alignment_gradient_to_h() {
    let off = SonaParts {
        align_trunk: false,
        ..SonaParts::ALL
    };
    let (_, g_r, g_f, _) = autodiff(off);
    let (_, full_r, full_f, _) = autodiff(SonaParts::ALL);
    // The cut gradient differs from the full one (alignment reached h before) …
    let differs = full_r
        .iter()
        .chain(&full_f)
        .zip(g_r.iter().chain(&g_f))
        .any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(differs, "the switch changed nothing");
    // … and equals the GAN part of SAN alone: ∂/∂h_r = −σ(−s⟨ω,h⟩)·ω/n, ∂/∂h_f = σ(s⟨ω,h⟩)·ω/n.
    let s0 = U[0].abs() / U.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm = W.iter().map(|x| x * x).sum::<f32>().sqrt();
    let om: Vec<f32> = W.iter().map(|x| x / norm).collect();
    let sig = |t: f32| 1.0 / (1.0 + (-t).exp());
    for i in 0..N {
        let r: f32 = (0..D).map(|j| HR[i * D + j] * om[j]).sum();
        let f: f32 = (0..D).map(|j| HF[i * D + j] * om[j]).sum();
        for j in 0..D {
            let er = -sig(-s0 * r) * om[j] / N as f32;
            let ef = sig(s0 * f) * om[j] / N as f32;
            assert!(
                (g_r[i * D + j] - er).abs() < 1e-5,
                "h_real[{i},{j}]: {} vs {er}",
                g_r[i * D + j]
            );
            assert!(
                (g_f[i * D + j] - ef).abs() < 1e-5,
                "h_fake[{i},{j}]: {} vs {ef}",
                g_f[i * D + j]
            );
        }
    }
}
