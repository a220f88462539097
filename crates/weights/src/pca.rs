//! Linear compression of a zoo's flattened weights: principal components from the N × N Gram
//! matrix ("dual PCA"), since a zoo has far fewer networks (N ≈ 100) than weights (D ≈ 3,500).
//!
//! ```text
//! X_c = X − 1 μᵀ                          (rows: networks)
//! G = X_c X_cᵀ = U Λ Uᵀ                   (Jacobi eigendecomposition, λ_1 ≥ λ_2 ≥ …)
//! φ_k = X_cᵀ u_k / √λ_k                   (orthonormal directions in weight space)
//! encode(x) = [φ_kᵀ (x − μ)]_k            decode(z) = μ + Σ_k z_k φ_k
//! ```
//!
//! With K = rank(X_c) ≤ N − 1 components, decode(encode(x)) = x for every training network:
//! the reference keeps 99 components of 100 networks (sklearn's IncrementalPCA), i.e. a
//! change of basis into the zoo's affine span, not a lossy compression of it.

use crate::error::{WResult, WeightsError};

/// A fitted projection (module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// μ, the mean network.
    pub mean: Vec<f32>,
    /// φ_k, each of length D.
    pub components: Vec<Vec<f32>>,
    /// λ_k / N, the variance along each component.
    pub variance: Vec<f64>,
}

/// Eigenvalues (descending) and eigenvectors (as columns of the returned row-major `n × n`
/// matrix) of the symmetric `n × n` matrix `a`, by cyclic Jacobi rotations.
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-14 * norm {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&i| a[i * n + i]).collect();
    let mut vectors = vec![0.0; n * n];
    for (col, &i) in order.iter().enumerate() {
        for k in 0..n {
            vectors[k * n + col] = v[k * n + i];
        }
    }
    (values, vectors)
}

impl Pca {
    /// Fits at most `k` components to the rows `x` (keeping only directions with variance
    /// above 10⁻¹⁰ of the largest).
    pub fn fit(x: &[Vec<f32>], k: usize) -> WResult<Pca> {
        let n = x.len();
        if n < 2 {
            return Err(WeightsError::SpecMismatch(
                "PCA needs at least 2 networks".into(),
            ));
        }
        let d = x[0].len();
        let mut mean = vec![0.0f64; d];
        for row in x {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64 / n as f64;
            }
        }
        let centred: Vec<Vec<f64>> = x
            .iter()
            .map(|r| r.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect())
            .collect();
        let mut g = vec![0.0; n * n];
        for i in 0..n {
            for j in i..n {
                let dot: f64 = centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum();
                g[i * n + j] = dot;
                g[j * n + i] = dot;
            }
        }
        let (values, vectors) = symmetric_eigen(&g, n);
        let top = values[0].max(f64::MIN_POSITIVE);
        let mut components = Vec::new();
        let mut variance = Vec::new();
        for (c, &lambda) in values.iter().enumerate().take(k) {
            if lambda <= 1e-10 * top {
                break;
            }
            let mut phi = vec![0.0f64; d];
            for (i, row) in centred.iter().enumerate() {
                let u = vectors[i * n + c] / lambda.sqrt();
                for (p, &v) in phi.iter_mut().zip(row) {
                    *p += u * v;
                }
            }
            components.push(phi.into_iter().map(|v| v as f32).collect());
            variance.push(lambda / n as f64);
        }
        Ok(Pca {
            mean: mean.into_iter().map(|v| v as f32).collect(),
            components,
            variance,
        })
    }

    /// The number of components K.
    pub fn dim(&self) -> usize {
        self.components.len()
    }

    /// encode(x) of the module doc.
    pub fn encode(&self, x: &[f32]) -> Vec<f32> {
        self.components
            .iter()
            .map(|phi| {
                phi.iter()
                    .zip(x.iter().zip(&self.mean))
                    .map(|(&p, (&v, &m))| p as f64 * (v - m) as f64)
                    .sum::<f64>() as f32
            })
            .collect()
    }

    /// decode(z) of the module doc.
    pub fn decode(&self, z: &[f32]) -> Vec<f32> {
        let mut out: Vec<f64> = self.mean.iter().map(|&m| m as f64).collect();
        for (phi, &zk) in self.components.iter().zip(z) {
            for (o, &p) in out.iter_mut().zip(phi) {
                *o += zk as f64 * p as f64;
            }
        }
        out.into_iter().map(|v| v as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    #[test]
    fn eigendecomposition_reconstructs_the_matrix() {
        let mut rng = SeededRng::new(1);
        let n = 12;
        let b: Vec<f64> = rng.normal_vec(n * n).into_iter().map(f64::from).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum();
            }
        }
        let (values, vectors) = symmetric_eigen(&a, n);
        assert!(values.windows(2).all(|w| w[0] >= w[1]));
        for i in 0..n {
            for j in 0..n {
                let r: f64 = (0..n)
                    .map(|k| vectors[i * n + k] * values[k] * vectors[j * n + k])
                    .sum();
                assert!((r - a[i * n + j]).abs() < 1e-8, "({i},{j})");
            }
        }
    }

    #[test]
    fn full_rank_pca_round_trips_the_training_rows() {
        let mut rng = SeededRng::new(2);
        let x: Vec<Vec<f32>> = (0..10).map(|_| rng.normal_vec(40)).collect();
        let pca = Pca::fit(&x, 99).unwrap();
        assert_eq!(pca.dim(), 9, "rank of 10 centred rows");
        for row in &x {
            let back = pca.decode(&pca.encode(row));
            let err = back
                .iter()
                .zip(row)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(err < 1e-4, "{err}");
        }
        for (a, c) in pca.components.iter().enumerate() {
            for (b, e) in pca.components.iter().enumerate() {
                let dot: f32 = c.iter().zip(e).map(|(p, q)| p * q).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-4);
            }
        }
    }
}
