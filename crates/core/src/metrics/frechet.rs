//! Fréchet distance: the 2-Wasserstein distance between Gaussians fitted to two point sets.
//! This is FID's formula; genlab applies it to digit-classifier features as FD-digits.
//!
//! ```text
//! FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2})
//! ```
//!
//! It compares only first and second moments, so use it in a feature space where those
//! summarise the distribution, not on raw low-dimensional samples with mixture structure
//! (there the energy distance or MMD see what it cannot). It needs enough samples for a stable
//! covariance (well above d) and is biased upwards at small n.
//!
//! Computed without a general matrix square root: a symmetric eigendecomposition (cyclic
//! Jacobi, f64) Σ_a = V Λ Vᵀ gives Σ_a^{1/2} = V Λ^{1/2} Vᵀ, and the trace term is the sum of
//! the square roots of the eigenvalues of the symmetric PSD matrix Σ_a^{1/2} Σ_b Σ_a^{1/2},
//! with round-off negatives clamped to 0.

use super::{check_pair, check_set};
use crate::data::Points;
use crate::error::{Error, Result};
use crate::linalg::{matmul, symmetric_eigen, transpose};

/// A Gaussian N(mean, cov) in `d` dimensions, usually fitted to points.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// Mean, length `d`.
    pub mean: Vec<f64>,
    /// Covariance, `d × d` row-major. Only its symmetric part is used.
    pub cov: Vec<f64>,
    /// Dimension.
    pub d: usize,
}

impl Gaussian {
    /// The sample mean and unbiased (1/(n − 1)) covariance of `points`; needs ≥ 2 samples.
    pub fn fit(points: &Points) -> Result<Gaussian> {
        check_set(points, 2, "Gaussian fit")?;
        let (n, d) = (points.len(), points.d);
        let (mean, _) = points.column_stats();
        let mut cov = vec![0.0; d * d];
        let mut centred = vec![0.0; d];
        for row in points.rows() {
            for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(v) - m;
            }
            // Upper triangle only; mirrored below.
            for (i, &ci) in centred.iter().enumerate() {
                for (acc, &cj) in cov[i * d + i..(i + 1) * d].iter_mut().zip(&centred[i..]) {
                    *acc += ci * cj;
                }
            }
        }
        let denominator = (n - 1) as f64;
        for i in 0..d {
            for j in i..d {
                cov[i * d + j] /= denominator;
                cov[j * d + i] = cov[i * d + j];
            }
        }
        Ok(Gaussian { mean, cov, d })
    }

    /// Checks the shapes and that every entry is finite. `role` names the Gaussian.
    fn check(&self, role: &str) -> Result<()> {
        let d = self.d;
        if d == 0 || self.mean.len() != d || self.cov.len() != d * d {
            return Err(Error::InvalidInput(format!(
                "Fréchet distance: Gaussian {role} has d = {d} but a mean of length {} and a \
                 covariance of {} entries (want {d} and {})",
                self.mean.len(),
                self.cov.len(),
                d * d
            )));
        }
        if self.mean.iter().chain(&self.cov).any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "Fréchet distance: Gaussian {role} has a non-finite mean or covariance entry"
            )));
        }
        Ok(())
    }
}

/// The Fréchet distance between two Gaussians of equal dimension. Inside the square roots,
/// negative eigenvalues (round-off in a PSD matrix) count as 0.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> Result<f64> {
    a.check("a")?;
    b.check("b")?;
    if a.d != b.d {
        return Err(Error::InvalidInput(format!(
            "Fréchet distance: Gaussians differ in dimension ({} vs {})",
            a.d, b.d
        )));
    }
    let d = a.d;
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(p, q)| (p - q).powi(2))
        .sum();
    let (cov_a, cov_b) = (symmetric_part(&a.cov, d), symmetric_part(&b.cov, d));
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();

    // Σ_a = V Λ Vᵀ, so Σ_a^{1/2} Σ_b Σ_a^{1/2} = V (Λ^{1/2} Vᵀ Σ_b V Λ^{1/2}) Vᵀ: the same
    // eigenvalues as the bracket, which is symmetric by construction.
    let (lambda, v) = symmetric_eigen(&cov_a, d);
    let root: Vec<f64> = lambda.iter().map(|&l| l.max(0.0).sqrt()).collect();
    let rotated_b = symmetric_part(
        &matmul(&transpose(&v, d, d), &matmul(&cov_b, &v, d, d, d), d, d, d),
        d,
    );
    let inner: Vec<f64> = rotated_b
        .iter()
        .enumerate()
        .map(|(k, &x)| root[k / d] * x * root[k % d])
        .collect();
    let (nu, _) = symmetric_eigen(&inner, d);
    let cross: f64 = nu.iter().map(|&l| l.max(0.0).sqrt()).sum();
    // The exact value is ≥ 0; only round-off takes it below.
    Ok((mean_term + trace(&cov_a) + trace(&cov_b) - 2.0 * cross).max(0.0))
}

/// The Fréchet distance between Gaussians fitted to two point sets (≥ 2 samples each).
pub fn frechet_points(a: &Points, b: &Points) -> Result<f64> {
    check_pair(a, b, 2, "Fréchet distance")?;
    frechet_distance(&Gaussian::fit(a)?, &Gaussian::fit(b)?)
}

/// (M + Mᵀ) / 2 for a `d × d` row-major matrix.
fn symmetric_part(m: &[f64], d: usize) -> Vec<f64> {
    m.iter()
        .zip(transpose(m, d, d))
        .map(|(x, x_t)| 0.5 * (x + x_t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn gaussian(mean: Vec<f64>, cov: Vec<f64>) -> Gaussian {
        let d = mean.len();
        Gaussian { mean, cov, d }
    }

    /// A random covariance R Rᵀ / d + 0.1 I (positive definite).
    fn random_covariance(d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let r: Vec<f64> = (0..d * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut cov = matmul(&r, &transpose(&r, d, d), d, d, d);
        for (k, c) in cov.iter_mut().enumerate() {
            *c /= d as f64;
            if k % (d + 1) == 0 {
                *c += 0.1;
            }
        }
        cov
    }

    #[test]
    fn identical_gaussians_are_at_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let a = gaussian(vec![1.0, -2.0, 0.5], random_covariance(3, &mut rng));
        assert!(frechet_distance(&a, &a).unwrap() < 1e-12);
    }

    #[test]
    fn diagonal_covariances_match_closed_form() {
        // Σ (√a_i − √b_i)² + ‖Δμ‖² = (2 − 1)² + (1 − 3)² + (0.5 − 0.5)² + (1 + 1 + 4).
        let x = gaussian(
            vec![0.0, 0.0, 1.0],
            vec![4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.25],
        );
        let y = gaussian(
            vec![1.0, -1.0, 3.0],
            vec![1.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0, 0.25],
        );
        assert!((frechet_distance(&x, &y).unwrap() - 11.0).abs() < 1e-12);
    }

    #[test]
    fn rotated_commuting_covariances_match_closed_form() {
        // Σ_a = R diag(α) Rᵀ and Σ_b = R diag(β) Rᵀ commute, so the trace term is Tr(Σ_a^{1/2}
        // Σ_b^{1/2}) and FD = Σ (√α_i − √β_i)² + ‖Δμ‖², whatever the rotation R.
        let givens = |p: usize, q: usize, angle: f64| {
            let mut g = vec![0.0; 9];
            (0..3).for_each(|i| g[i * 3 + i] = 1.0);
            let (s, c) = angle.sin_cos();
            g[p * 3 + p] = c;
            g[q * 3 + q] = c;
            g[p * 3 + q] = -s;
            g[q * 3 + p] = s;
            g
        };
        let r = matmul(&givens(0, 1, 0.7), &givens(1, 2, -1.3), 3, 3, 3);
        let rotate = |diag: [f64; 3]| {
            let scaled: Vec<f64> = (0..9).map(|k| r[k] * diag[k % 3]).collect();
            matmul(&scaled, &transpose(&r, 3, 3), 3, 3, 3)
        };
        let (alpha, beta) = ([4.0, 1.0, 0.09], [1.0, 9.0, 0.25]);
        let a = gaussian(vec![0.5, 0.0, 0.0], rotate(alpha));
        let b = gaussian(vec![0.0, 0.0, 1.0], rotate(beta));
        let expected: f64 = alpha
            .iter()
            .zip(&beta)
            .map(|(p, q)| (p.sqrt() - q.sqrt()).powi(2))
            .sum::<f64>()
            + 0.25
            + 1.0;
        assert!((frechet_distance(&a, &b).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn non_commuting_two_by_two_matches_closed_form() {
        // In 2-D, M = Σ_a^{1/2} Σ_b Σ_a^{1/2} has eigenvalues ν₁, ν₂ with ν₁ + ν₂ = Tr(Σ_a Σ_b)
        // and ν₁ν₂ = det Σ_a det Σ_b, so Tr M^{1/2} = √(Tr(Σ_a Σ_b) + 2 √(det Σ_a det Σ_b)).
        let (sa, sb) = ([2.0, 0.6, 0.6, 1.0], [1.0, -0.8, -0.8, 3.0]);
        let trace_ab = sa[0] * sb[0] + sa[1] * sb[2] + sa[2] * sb[1] + sa[3] * sb[3];
        let det = |m: [f64; 4]| m[0] * m[3] - m[1] * m[2];
        let cross = (trace_ab + 2.0 * (det(sa) * det(sb)).sqrt()).sqrt();
        let expected = 3.0 + 4.0 - 2.0 * cross + 1.0;
        let a = gaussian(vec![1.0, 0.0], sa.to_vec());
        let b = gaussian(vec![0.0, 0.0], sb.to_vec());
        assert!((frechet_distance(&a, &b).unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn distance_is_symmetric_in_high_dimension() {
        // Tr(Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2} = Tr(Σ_b^{1/2} Σ_a Σ_b^{1/2})^{1/2}, although the two
        // orders go through different eigendecompositions.
        let d = 48;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let a = gaussian(vec![0.0; d], random_covariance(d, &mut rng));
        let b = gaussian(vec![0.1; d], random_covariance(d, &mut rng));
        let (ab, ba) = (
            frechet_distance(&a, &b).unwrap(),
            frechet_distance(&b, &a).unwrap(),
        );
        assert!(ab > 1.0 && (ab - ba).abs() < 1e-10 * ab, "{ab} vs {ba}");
    }

    #[test]
    fn fit_gives_mean_and_unbiased_covariance() {
        let p = Points::new(2, vec![0.0, 0.0, 2.0, 4.0, 4.0, 2.0], None).unwrap();
        let g = Gaussian::fit(&p).unwrap();
        assert_eq!(g.mean, vec![2.0, 2.0]);
        // Centred rows (−2, −2), (0, 2), (2, 0); sums of products 8, 4, 8 over n − 1 = 2.
        assert_eq!(g.cov, vec![4.0, 2.0, 2.0, 4.0]);
        assert_eq!(g.d, 2);
        let gap = frechet_points(&p, &p.select(&[1, 2, 0])).unwrap();
        assert!(gap < 1e-12, "{gap}");
    }

    #[test]
    fn rejects_bad_inputs() {
        let one_sample = Points::new(2, vec![0.0, 0.0], None).unwrap();
        let msg = Gaussian::fit(&one_sample).unwrap_err().to_string();
        assert!(msg.contains("at least 2 samples"), "{msg}");
        let plane = Points::new(2, vec![0.0, 0.0, 2.0, 4.0], None).unwrap();
        let line = Points::new(1, vec![0.0, 1.0], None).unwrap();
        assert!(frechet_points(&plane, &line).is_err());
        let a = gaussian(vec![0.0, 0.0], vec![1.0, 0.0, 0.0, 1.0]);
        assert!(frechet_distance(&a, &gaussian(vec![0.0], vec![1.0])).is_err());
        assert!(frechet_distance(&a, &gaussian(vec![0.0, 0.0], vec![1.0; 3])).is_err());
        assert!(frechet_distance(&a, &gaussian(vec![f64::NAN, 0.0], vec![1.0; 4])).is_err());
    }
}
