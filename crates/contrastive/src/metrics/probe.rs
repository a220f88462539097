//! Frozen-feature classifiers: the closed-form ridge linear probe and cosine k-NN.
//!
//! ```text
//! ridge     [W; b] = (X̃ᵀX̃ + λ I)⁻¹ X̃ᵀ Y,   X̃ = [X − μ, 1],  Y one-hot,  ŷ = argmax x̃ W
//!           λ = 10⁻³ · tr(X̃ᵀX̃) / p  (scale-free), solved by Cholesky in f64
//! k-NN      ŷ = argmax_c Σ_{n ∈ top-k cos(x, x_n)} cos(x, x_n) · 1[y_n = c]
//! ```

use burn::tensor::{Tensor, TensorData};
use genlab_core::data::Points;
use genlab_core::linalg::{cholesky, cholesky_solve};
use genlab_core::{Error, Result, tensor};

fn labels(p: &Points) -> Result<&[u32]> {
    p.labels
        .as_deref()
        .ok_or_else(|| Error::InvalidInput("a probe needs labelled points".into()))
}

/// Test accuracy of the ridge probe of the module doc fitted on `train`.
pub fn linear_probe(train: &Points, test: &Points) -> Result<f64> {
    let (ytr, yte) = (labels(train)?, labels(test)?);
    let d = train.d;
    let p = d + 1;
    let c = ytr.iter().chain(yte).max().map_or(0, |&m| m as usize + 1);
    let n = train.len() as f64;
    let mu: Vec<f64> = (0..d)
        .map(|j| train.rows().map(|r| r[j] as f64).sum::<f64>() / n)
        .collect();
    let row = |r: &[f32]| -> Vec<f64> {
        let mut x: Vec<f64> = r.iter().zip(&mu).map(|(&v, m)| v as f64 - m).collect();
        x.push(1.0);
        x
    };
    let mut a = vec![0f64; p * p];
    let mut b = vec![0f64; p * c];
    for (r, &y) in train.rows().zip(ytr) {
        let x = row(r);
        for i in 0..p {
            for j in 0..=i {
                a[i * p + j] += x[i] * x[j];
            }
            b[i * c + y as usize] += x[i];
        }
    }
    for i in 0..p {
        for j in 0..i {
            a[j * p + i] = a[i * p + j];
        }
    }
    let lambda = 1e-3 * (0..p).map(|i| a[i * p + i]).sum::<f64>() / p as f64;
    for i in 0..p {
        a[i * p + i] += lambda;
    }
    cholesky(&mut a, p)
        .map_err(|_| Error::InvalidInput("ridge system is not positive definite".into()))?;
    cholesky_solve(&a, p, &mut b, c);
    let correct = test
        .rows()
        .zip(yte)
        .filter(|(r, y)| {
            let x = row(r);
            let scores: Vec<f64> = (0..c)
                .map(|k| (0..p).map(|i| x[i] * b[i * c + k]).sum())
                .collect();
            argmax(&scores) == **y as usize
        })
        .count();
    Ok(correct as f64 / test.len() as f64)
}

fn argmax(xs: &[f64]) -> usize {
    xs.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv { (i, v) } else { (bi, bv) }
        })
        .0
}

fn unit_rows(p: &Points) -> Vec<f32> {
    p.rows()
        .flat_map(|r| {
            let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            r.iter().map(move |v| v / norm)
        })
        .collect()
}

/// Test accuracy of the cosine k-NN classifier of the module doc with `train` as memory.
pub fn knn_accuracy(train: &Points, test: &Points, k: usize) -> Result<f64> {
    let (ytr, yte) = (labels(train)?, labels(test)?);
    let c = ytr.iter().chain(yte).max().map_or(0, |&m| m as usize + 1);
    let device = genlab_core::device::device();
    let d = train.d;
    let memory =
        Tensor::<2>::from_data(TensorData::new(unit_rows(train), [train.len(), d]), &device)
            .transpose();
    let queries = unit_rows(test);
    let mut correct = 0;
    for (chunk, ys) in queries.chunks(512 * d).zip(yte.chunks(512)) {
        let q = Tensor::<2>::from_data(TensorData::new(chunk.to_vec(), [ys.len(), d]), &device);
        let sims = tensor::to_vec(q.matmul(memory.clone()));
        for (row, &y) in sims.chunks(train.len()).zip(ys) {
            let mut order: Vec<usize> = (0..row.len()).collect();
            let k = k.min(row.len());
            order.select_nth_unstable_by(k - 1, |&a, &b| row[b].total_cmp(&row[a]));
            let mut votes = vec![0f64; c];
            for &n in &order[..k] {
                votes[ytr[n] as usize] += row[n] as f64;
            }
            correct += usize::from(argmax(&votes) == y as usize);
        }
    }
    Ok(correct as f64 / test.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(n: usize, seed: u64) -> Points {
        let mut rng = genlab_core::train::SeededRng::new(seed);
        let centres = [[3.0f32, 0.0, 1.0], [0.0, 3.0, 1.0], [-3.0, -3.0, 1.0]];
        let noise = rng.normal_vec(n * 3);
        let data = (0..n)
            .flat_map(|i| (0..3).map(move |j| (i, j)))
            .map(|(i, j)| centres[i % 3][j] + 0.5 * noise[i * 3 + j])
            .collect();
        Points::new(3, data, Some((0..n).map(|i| (i % 3) as u32).collect())).unwrap()
    }

    #[test]
    fn separable_blobs_are_classified() {
        let (train, test) = (blobs(300, 0), blobs(90, 1));
        assert!(linear_probe(&train, &test).unwrap() > 0.97);
        assert!(knn_accuracy(&train, &test, 5).unwrap() > 0.97);
        // Shuffled training labels: chance-level probes.
        let mut shuffled = train.clone();
        shuffled.labels = Some((0..300).map(|i| ((i * 7 / 3) % 3) as u32).collect());
        assert!(linear_probe(&shuffled, &test).unwrap() < 0.6);
    }
}
