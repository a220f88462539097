//! Shared fixtures of the objectives' tests: a 4-view batch and naive f64 references.

use burn::tensor::{Device, Tensor, TensorData};

/// Four 2-d projections (B = 2 examples × 2 views) and the same as a tensor.
pub fn four_views() -> (Vec<f32>, Tensor<2>) {
    let z = vec![1.0f32, 0.2, 0.6, -0.8, 0.9, 0.5, -0.3, -1.0];
    let t = tensor(&z, 4);
    (z, t)
}

/// `values` as a `[rows, len / rows]` tensor on the CPU.
pub fn tensor(values: &[f32], rows: usize) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [rows, values.len() / rows]),
        &Device::flex(),
    )
}

/// Cosine similarity of every pair of `d`-dimensional rows, in f64.
pub fn naive_cos(z: &[f32], d: usize) -> Vec<Vec<f64>> {
    let rows: Vec<Vec<f64>> = z
        .chunks(d)
        .map(|r| r.iter().map(|&v| v as f64).collect())
        .collect();
    let norm = |r: &[f64]| r.iter().map(|v| v * v).sum::<f64>().sqrt();
    rows.iter()
        .map(|a| {
            rows.iter()
                .map(|b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / (norm(a) * norm(b)))
                .collect()
        })
        .collect()
}

/// `log Σ e^{x}` in f64.
pub fn lse(xs: &[f64]) -> f64 {
    let m = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + xs.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}
