//! Fréchet (2-Wasserstein) distance between Gaussians fitted to two point sets — FID's
//! formula, used on digit-classifier features as FD-digits.
//!
//! ```text
//! FD = ‖μ_a − μ_b‖² + Tr Σ_a + Tr Σ_b − 2 Tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}
//! ```
//!
//! The matrix square roots come from symmetric eigendecompositions (cyclic Jacobi, f64), so
//! the trace term is the sum of square roots of the eigenvalues of the symmetric PSD matrix
//! Σ_a^{1/2} Σ_b Σ_a^{1/2}, with round-off negatives clamped to 0.

use crate::data::Points;
use crate::error::{Error, Result};

/// A Gaussian fitted to points.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// Dimension.
    pub d: usize,
    /// Mean.
    pub mean: Vec<f64>,
    /// Covariance (unbiased), row-major `d × d`.
    pub cov: Vec<f64>,
}

impl Gaussian {
    /// Mean and unbiased covariance of `points` (needs ≥ 2 samples).
    pub fn fit(points: &Points) -> Result<Gaussian> {
        let (n, d) = (points.len(), points.d);
        if n < 2 {
            return Err(Error::InvalidInput(format!(
                "a covariance needs ≥ 2 samples, got {n}"
            )));
        }
        let (mean, _) = points.column_stats();
        let mut cov = vec![0.0; d * d];
        let mut centred = vec![0.0; d];
        for r in points.rows() {
            for j in 0..d {
                centred[j] = r[j] as f64 - mean[j];
            }
            for i in 0..d {
                for j in i..d {
                    cov[i * d + j] += centred[i] * centred[j];
                }
            }
        }
        for i in 0..d {
            for j in i..d {
                cov[i * d + j] /= (n - 1) as f64;
                cov[j * d + i] = cov[i * d + j];
            }
        }
        Ok(Gaussian { d, mean, cov })
    }
}

/// The Fréchet distance between two Gaussians.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> Result<f64> {
    if a.d != b.d {
        return Err(Error::InvalidInput(format!(
            "Gaussians differ in dimension: {} vs {}",
            a.d, b.d
        )));
    }
    let d = a.d;
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y).powi(2))
        .sum();
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
    let sqrt_a = psd_sqrt(&a.cov, d);
    let inner = matmul(&matmul(&sqrt_a, &b.cov, d), &sqrt_a, d);
    let (eig, _) = jacobi_eigen(&symmetrise(&inner, d), d);
    let cross: f64 = eig.iter().map(|&l| l.max(0.0).sqrt()).sum();
    Ok((mean_term + trace(&a.cov) + trace(&b.cov) - 2.0 * cross).max(0.0))
}

/// FD between Gaussians fitted to two point sets.
pub fn frechet_points(a: &Points, b: &Points) -> Result<f64> {
    frechet_distance(&Gaussian::fit(a)?, &Gaussian::fit(b)?)
}

fn matmul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut c = vec![0.0; d * d];
    for i in 0..d {
        for k in 0..d {
            let aik = a[i * d + k];
            for j in 0..d {
                c[i * d + j] += aik * b[k * d + j];
            }
        }
    }
    c
}

fn symmetrise(m: &[f64], d: usize) -> Vec<f64> {
    let mut s = m.to_vec();
    for i in 0..d {
        for j in 0..d {
            s[i * d + j] = 0.5 * (m[i * d + j] + m[j * d + i]);
        }
    }
    s
}

/// Square root of a symmetric PSD matrix: V diag(√max(λ, 0)) Vᵀ.
fn psd_sqrt(m: &[f64], d: usize) -> Vec<f64> {
    let (lambda, v) = jacobi_eigen(m, d);
    let mut out = vec![0.0; d * d];
    for (k, &l) in lambda.iter().enumerate() {
        let s = l.max(0.0).sqrt();
        for i in 0..d {
            for j in 0..d {
                out[i * d + j] += s * v[i * d + k] * v[j * d + k];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (columns of V) of a symmetric matrix, by cyclic Jacobi sweeps
/// until the off-diagonal mass is negligible.
fn jacobi_eigen(m: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                // Rotation angle that zeroes a[p][q].
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(mean: Vec<f64>, cov: Vec<f64>) -> Gaussian {
        Gaussian {
            d: mean.len(),
            mean,
            cov,
        }
    }

    #[test]
    fn jacobi_reconstructs_a_symmetric_matrix() {
        let m = vec![4.0, 1.0, -2.0, 1.0, 3.0, 0.5, -2.0, 0.5, 5.0];
        let (l, v) = jacobi_eigen(&m, 3);
        for i in 0..3 {
            for j in 0..3 {
                let r: f64 = (0..3).map(|k| v[i * 3 + k] * l[k] * v[j * 3 + k]).sum();
                assert!((r - m[i * 3 + j]).abs() < 1e-10);
            }
        }
    }

    #[test]
    fn identical_and_diagonal_cases() {
        let a = gaussian(vec![1.0, 2.0], vec![2.0, 0.3, 0.3, 1.0]);
        assert!(frechet_distance(&a, &a).unwrap() < 1e-10);
        // Diagonal: Σ (√a_i − √b_i)² + ‖Δμ‖².
        let x = gaussian(vec![0.0, 0.0], vec![4.0, 0.0, 0.0, 1.0]);
        let y = gaussian(vec![1.0, -1.0], vec![1.0, 0.0, 0.0, 9.0]);
        let expected = (2.0f64 - 1.0).powi(2) + (1.0f64 - 3.0).powi(2) + 2.0;
        assert!((frechet_distance(&x, &y).unwrap() - expected).abs() < 1e-10);
    }

    #[test]
    fn rotated_commuting_covariances() {
        // Σ_a = R diag(4, 1) Rᵀ, Σ_b = R diag(1, 9) Rᵀ share eigenvectors, so FD is the diagonal
        // formula in the rotated basis: (2 − 1)² + (1 − 3)² = 5.
        let (c, s) = (0.6f64, 0.8f64);
        let rot = |l1: f64, l2: f64| {
            vec![
                c * c * l1 + s * s * l2,
                c * s * (l1 - l2),
                c * s * (l1 - l2),
                s * s * l1 + c * c * l2,
            ]
        };
        let a = gaussian(vec![0.0, 0.0], rot(4.0, 1.0));
        let b = gaussian(vec![0.0, 0.0], rot(1.0, 9.0));
        assert!((frechet_distance(&a, &b).unwrap() - 5.0).abs() < 1e-9);
    }

    #[test]
    fn fit_and_errors() {
        let p = Points::new(2, vec![0.0, 0.0, 2.0, 4.0], None).unwrap();
        let g = Gaussian::fit(&p).unwrap();
        assert_eq!(g.mean, vec![1.0, 2.0]);
        assert_eq!(g.cov, vec![2.0, 4.0, 4.0, 8.0]);
        assert!(Gaussian::fit(&Points::new(2, vec![0.0, 0.0], None).unwrap()).is_err());
        let q = Points::new(1, vec![0.0, 1.0], None).unwrap();
        assert!(frechet_points(&p, &q).is_err());
    }
}
