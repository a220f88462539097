//! Tests of the fused linear layer: a naive f64 reference, finite differences, and bit
//! equality with burn's `Linear` at 1 and 2 threads.

use super::*;
use crate::gradcheck::{max_relative_error, numerical_grad};
use crate::tensor::to_vec;
use burn::nn::LinearConfig;
use burn::tensor::{Device, TensorData};

/// Deterministic values in [−scale, scale).
fn values(n: usize, salt: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = (i.wrapping_mul(2_654_435_761) ^ salt.wrapping_mul(40_503)) % 10_007;
            scale * (2.0 * h as f32 / 10_007.0 - 1.0)
        })
        .collect()
}

fn act64(act: Activation, z: f64) -> (f64, f64) {
    match act {
        Activation::Identity => (z, 1.0),
        Activation::Relu => (z.max(0.0), if z > 0.0 { 1.0 } else { 0.0 }),
        Activation::Gelu => {
            // Φ by the f64 erf of libm-free series is overkill here: 1e-4-accurate Φ from
            // a 2000-step Simpson rule of φ on [−8, z] (the test shapes are small).
            let phi = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let a = -8.0f64;
            let steps = 2000;
            let h = (z - a) / steps as f64;
            let mut s = phi(a) + phi(z);
            for i in 1..steps {
                s += phi(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            let cdf = if z <= a { 0.0 } else { s * h / 3.0 };
            (z * cdf, cdf + z * phi(z))
        }
    }
}

struct Naive {
    y: Vec<f64>,
    dx: Vec<f64>,
    dw: Vec<f64>,
    db: Vec<f64>,
}

/// The layer and its gradients by plain f64 loops.
#[allow(clippy::too_many_arguments)]
fn naive(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    g: &[f32],
    m: usize,
    k: usize,
    n: usize,
    act: Activation,
) -> Naive {
    let mut out = Naive {
        y: vec![0.0; m * n],
        dx: vec![0.0; m * k],
        dw: vec![0.0; k * n],
        db: vec![0.0; n],
    };
    for i in 0..m {
        for j in 0..n {
            let mut z = b[j] as f64;
            for p in 0..k {
                z += x[i * k + p] as f64 * w[p * n + j] as f64;
            }
            let (y, dy) = act64(act, z);
            out.y[i * n + j] = y;
            let dz = g[i * n + j] as f64 * dy;
            out.db[j] += dz;
            for p in 0..k {
                out.dx[i * k + p] += dz * w[p * n + j] as f64;
                out.dw[p * n + j] += dz * x[i * k + p] as f64;
            }
        }
    }
    out
}

fn close(name: &str, ours: &[f32], truth: &[f64], tol: f64) {
    assert_eq!(ours.len(), truth.len(), "{name}: length");
    let err = max_relative_error(ours, truth);
    assert!(err < tol, "{name}: max relative error {err:e}");
}

const ACTS: [Activation; 3] = [Activation::Identity, Activation::Relu, Activation::Gelu];
/// Odd shapes, one above the blocking threshold (several row blocks).
const SHAPES: [(usize, usize, usize); 5] = [
    (1, 1, 1),
    (3, 5, 7),
    (37, 19, 2),
    (130, 35, 65),
    (1100, 9, 3),
];

#[test]
fn forward_and_gradients_match_a_naive_reference() {
    for act in ACTS {
        for (s, &(m, k, n)) in SHAPES.iter().enumerate() {
            let (x, w, b) = (
                values(m * k, s, 1.5),
                values(k * n, s + 7, 0.7),
                values(n, s + 3, 0.5),
            );
            let g = values(m * n, s + 11, 1.0);
            let truth = naive(&x, &w, &b, &g, m, k, n, act);
            let (y, z) = forward_slices(&x, &w, &b, m, k, n, act);
            let saved = match act {
                Activation::Identity => None,
                Activation::Relu => Some(y.as_slice()),
                Activation::Gelu => z.as_deref(),
            };
            let (dx, dw, db) = backward_slices(&x, &w, saved, &g, m, k, n, act, true, true);
            let tag = format!("{act:?} {m}×{k}×{n}");
            let tol = if act == Activation::Gelu { 2e-4 } else { 1e-5 };
            close(&format!("{tag} y"), &y, &truth.y, tol);
            close(&format!("{tag} dx"), &dx.unwrap(), &truth.dx, tol);
            close(&format!("{tag} dw"), &dw.unwrap(), &truth.dw, tol);
            close(&format!("{tag} db"), &db, &truth.db, tol);
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let (m, k, n) = (6, 4, 5);
    for act in [Activation::Identity, Activation::Gelu] {
        let (x, w, b) = (
            values(m * k, 1, 1.0),
            values(k * n, 2, 0.6),
            values(n, 3, 0.3),
        );
        let g = values(m * n, 4, 1.0);
        // L = Σ g ⊙ act(x·w + b), through the kernel itself.
        let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
            let (y, _) = forward_slices(x, w, b, m, k, n, act);
            y.iter().zip(&g).map(|(&y, &g)| y as f64 * g as f64).sum()
        };
        let (y, z) = forward_slices(&x, &w, &b, m, k, n, act);
        let saved = if act == Activation::Gelu {
            z.as_deref()
        } else {
            Some(y.as_slice())
        };
        let (dx, dw, db) = backward_slices(&x, &w, saved, &g, m, k, n, act, true, true);
        let h = 1e-2;
        let num_x = numerical_grad(|v| loss(v, &w, &b), &x, h);
        let num_w = numerical_grad(|v| loss(&x, v, &b), &w, h);
        let num_b = numerical_grad(|v| loss(&x, &w, v), &b, h);
        for (name, ours, num) in [
            ("dx", dx.unwrap(), num_x),
            ("dw", dw.unwrap(), num_w),
            ("db", db, num_b),
        ] {
            let err = max_relative_error(&ours, &num);
            assert!(
                err < 2e-3,
                "{act:?} {name}: finite-difference error {err:e}"
            );
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

/// Forward output and (dX, dW, db) of `act(layer(x))` weighted by `g`, through burn's
/// `Linear` (`ours` false) or the fused op.
fn run(ours: bool, act: Activation, m: usize, k: usize, n: usize) -> [Vec<u32>; 4] {
    let device = Device::flex().autodiff();
    device.seed(5);
    let layer = LinearConfig::new(k, n).init(&device);
    let x = Tensor::<2>::from_data(TensorData::new(values(m * k, 9, 2.0), [m, k]), &device)
        .require_grad();
    let g = Tensor::<2>::from_data(TensorData::new(values(m * n, 13, 1.0), [m, n]), &device);
    let y = if ours {
        linear(&layer, x.clone(), act)
    } else {
        let z = layer.forward(x.clone());
        match act {
            Activation::Identity => z,
            Activation::Relu => burn::tensor::activation::relu(z),
            Activation::Gelu => crate::ops::gelu(z),
        }
    };
    let grads = (y.clone() * g).sum().backward();
    let dw = layer.weight.val().grad(&grads).map(to_vec).unwrap();
    let db = layer
        .bias
        .as_ref()
        .unwrap()
        .val()
        .grad(&grads)
        .map(to_vec)
        .unwrap();
    let dx = x.grad(&grads).map(to_vec).unwrap();
    [bits(&to_vec(y)), bits(&dx), bits(&dw), bits(&db)]
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Bit-equal to burn's own layer (so no result moves), and the same at 1 and 2 threads.
#[test]
fn bit_identical_to_burns_linear_at_one_and_two_threads() {
    // Includes blocked shapes (m ≥ 2·BLOCK_ROWS), one large enough for the column-strip
    // split of dZ/db (m·n ≥ 4·CHUNK, two uneven strips at 2 threads), a depth above the
    // GEMM's depth block (k = 1163), dW split over its rows at 2 threads (k = 1163, and
    // k = 260 into two 130-row blocks), and output widths 2 and 1.
    let shapes = [
        (7, 3, 5),
        (256, 35, 256),
        (1100, 33, 2),
        (1537, 64, 45),
        (128, 1163, 96),
        (700, 260, 40),
        (1030, 20, 1),
    ];
    for act in ACTS {
        for &(m, k, n) in &shapes {
            let one = in_pool(1, || (run(true, act, m, k, n), run(false, act, m, k, n)));
            let two = in_pool(2, || (run(true, act, m, k, n), run(false, act, m, k, n)));
            for (i, part) in ["y", "dx", "dw", "db"].iter().enumerate() {
                let tag = format!("{act:?} {m}×{k}×{n} {part}");
                assert!(one.0[i] == one.1[i], "{tag}: differs from burn at 1 thread");
                assert!(
                    two.0[i] == two.1[i],
                    "{tag}: differs from burn at 2 threads"
                );
                assert!(
                    one.0[i] == two.0[i],
                    "{tag}: differs between 1 and 2 threads"
                );
            }
        }
    }
}

#[test]
fn untracked_and_inference_paths_agree() {
    let (m, k, n) = (40, 12, 9);
    let x = values(m * k, 21, 1.0);
    for device in [Device::flex(), Device::flex().autodiff()] {
        device.seed(2);
        let layer = LinearConfig::new(k, n).init(&device);
        let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [m, k]), &device);
        let ours = to_vec(linear(&layer, xt.clone(), Activation::Relu));
        let theirs = to_vec(burn::tensor::activation::relu(layer.forward(xt)));
        assert_eq!(bits(&ours), bits(&theirs));
    }
}
