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
    let rotated_b = symmetric_part(&mat_mul(&transpose(&v, d), &mat_mul(&cov_b, &v, d), d), d);
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
        .zip(transpose(m, d))
        .map(|(x, x_t)| 0.5 * (x + x_t))
        .collect()
}

/// Mᵀ for a `d × d` row-major matrix.
fn transpose(m: &[f64], d: usize) -> Vec<f64> {
    (0..d * d).map(|k| m[(k % d) * d + k / d]).collect()
}

/// A B for `d × d` row-major matrices.
fn mat_mul(a: &[f64], b: &[f64], d: usize) -> Vec<f64> {
    let mut c = vec![0.0; d * d];
    for (c_row, a_row) in c.chunks_exact_mut(d).zip(a.chunks_exact(d)) {
        for (&a_ik, b_row) in a_row.iter().zip(b.chunks_exact(d)) {
            for (c_ij, &b_kj) in c_row.iter_mut().zip(b_row) {
                *c_ij += a_ik * b_kj;
            }
        }
    }
    c
}

/// Sweeps after which Jacobi stops even if not converged; it converges quadratically, in
/// well under 20 sweeps for any symmetric matrix of modest size.
const MAX_JACOBI_SWEEPS: usize = 60;

/// Eigenvalues λ and eigenvectors (the columns of the row-major V) of the symmetric `d × d`
/// matrix `m`, so that m = V diag(λ) Vᵀ, by cyclic Jacobi rotations: each zeroes one
/// off-diagonal pair, and sweeps over all pairs repeat until the off-diagonal part is
/// negligible against the whole matrix.
fn symmetric_eigen(m: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = m.to_vec();
    let mut v = vec![0.0; d * d];
    (0..d).for_each(|i| v[i * d + i] = 1.0);
    let total: f64 = a.iter().map(|x| x * x).sum();
    for _ in 0..MAX_JACOBI_SWEEPS {
        let off: f64 = (0..d)
            .flat_map(|p| (p + 1..d).map(move |q| (p, q)))
            .map(|(p, q)| a[p * d + q].powi(2))
            .sum();
        if off <= 1e-32 * total {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation [[c, s], [−s, c]] on (p, q) that diagonalises the 2 × 2 block;
                // t = tan of its angle, the smaller root of t² + 2τt − 1 = 0 (|angle| ≤ π/4).
                let tau = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = 1.0_f64.copysign(tau) / (tau.abs() + tau.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                a[p * d + p] -= t * apq;
                a[q * d + q] += t * apq;
                a[p * d + q] = 0.0;
                a[q * d + p] = 0.0;
                for r in (0..d).filter(|&r| r != p && r != q) {
                    let (arp, arq) = (a[r * d + p], a[r * d + q]);
                    let (new_rp, new_rq) = (c * arp - s * arq, s * arp + c * arq);
                    a[r * d + p] = new_rp;
                    a[p * d + r] = new_rp;
                    a[r * d + q] = new_rq;
                    a[q * d + r] = new_rq;
                }
                for r in 0..d {
                    let (vrp, vrq) = (v[r * d + p], v[r * d + q]);
                    v[r * d + p] = c * vrp - s * vrq;
                    v[r * d + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
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

    /// A random symmetric matrix with entries uniform in [−1, 1).
    fn random_symmetric(d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let raw: Vec<f64> = (0..d * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        symmetric_part(&raw, d)
    }

    /// A random covariance R Rᵀ / d + 0.1 I (positive definite).
    fn random_covariance(d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let r: Vec<f64> = (0..d * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        let mut cov = mat_mul(&r, &transpose(&r, d), d);
        for (k, c) in cov.iter_mut().enumerate() {
            *c /= d as f64;
            if k % (d + 1) == 0 {
                *c += 0.1;
            }
        }
        cov
    }

    #[test]
    fn jacobi_reconstructs_a_random_symmetric_matrix() {
        let d = 12;
        let m = random_symmetric(d, &mut ChaCha8Rng::seed_from_u64(5));
        let (lambda, v) = symmetric_eigen(&m, d);
        for i in 0..d {
            for j in 0..d {
                let rebuilt: f64 = (0..d)
                    .map(|k| v[i * d + k] * lambda[k] * v[j * d + k])
                    .sum();
                assert!((rebuilt - m[i * d + j]).abs() < 1e-12, "A[{i}][{j}]");
                let gram: f64 = (0..d).map(|k| v[k * d + i] * v[k * d + j]).sum();
                let identity = if i == j { 1.0 } else { 0.0 };
                assert!((gram - identity).abs() < 1e-12, "VᵀV[{i}][{j}]");
            }
        }
    }

    #[test]
    fn jacobi_finds_known_eigenvalues() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3; a diagonal matrix is already diagonal.
        let (mut lambda, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        lambda.sort_by(f64::total_cmp);
        assert!((lambda[0] - 1.0).abs() < 1e-15 && (lambda[1] - 3.0).abs() < 1e-15);
        let (lambda, v) = symmetric_eigen(&[5.0, 0.0, 0.0, -1.0], 2);
        assert_eq!((lambda, v), (vec![5.0, -1.0], vec![1.0, 0.0, 0.0, 1.0]));
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
        let r = mat_mul(&givens(0, 1, 0.7), &givens(1, 2, -1.3), 3);
        let rotate = |diag: [f64; 3]| {
            let scaled: Vec<f64> = (0..9).map(|k| r[k] * diag[k % 3]).collect();
            mat_mul(&scaled, &transpose(&r, 3), 3)
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
