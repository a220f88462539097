//! Dimensional collapse: the singular values of an embedding matrix Z (n × D), RankMe
//! (Garrido et al. 2023) and the count of singular values above 1% of the largest.
//!
//! ```text
//! σ_k = √λ_k(ZᵀZ)                 (eigenvalues by cyclic Jacobi rotations, f64)
//! p_k = σ_k / Σ_j σ_j + ε,  ε = 10⁻⁷
//! RankMe(Z) = exp(− Σ_k p_k log p_k)
//! ```

use genlab_core::data::Points;
use genlab_core::linalg::symmetric_eigen;

/// Singular values of the rows of `z`, descending.
pub fn singular_values(z: &Points) -> Vec<f64> {
    let d = z.d;
    let mut gram = vec![0f64; d * d];
    for r in z.rows() {
        for i in 0..d {
            let ri = r[i] as f64;
            for j in 0..=i {
                gram[i * d + j] += ri * r[j] as f64;
            }
        }
    }
    for i in 0..d {
        for j in 0..i {
            gram[j * d + i] = gram[i * d + j];
        }
    }
    symmetric_eigen(&gram, d)
        .0
        .into_iter()
        .map(|l| l.max(0.0).sqrt())
        .collect()
}

/// RankMe of singular values `sigma`.
pub fn rankme(sigma: &[f64]) -> f64 {
    let total: f64 = sigma.iter().sum();
    let entropy: f64 = sigma
        .iter()
        .map(|s| s / total + 1e-7)
        .map(|p| -p * p.ln())
        .sum();
    entropy.exp()
}

/// Singular values above `fraction` of the largest.
pub fn count_above(sigma: &[f64], fraction: f64) -> usize {
    let max = sigma.iter().cloned().fold(0.0, f64::max);
    sigma.iter().filter(|&&s| s > fraction * max).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rankme_of_known_spectra() {
        // k equal singular values: RankMe = k (up to ε); one dominant value → ≈ 1.
        assert!((rankme(&[2.0; 5]) - 5.0).abs() < 1e-4);
        assert!((rankme(&[1.0, 1.0, 0.0, 0.0]) - 2.0).abs() < 1e-4);
        // p = (1/2, 1/4, 1/4): H = 1.5 ln 2, RankMe = 2^1.5.
        assert!((rankme(&[2.0, 1.0, 1.0]) - 2f64.powf(1.5)).abs() < 1e-4);
        assert_eq!(count_above(&[1.0, 0.5, 0.011, 0.009], 0.01), 3);
    }

    #[test]
    fn singular_values_of_a_rotated_diagonal() {
        // Z = U diag(3, 2, 1) with orthonormal rows U (a rotation in the first two axes).
        let (c, s) = (0.6f32, 0.8f32);
        let z = Points::new(
            3,
            vec![3.0 * c, 3.0 * s, 0.0, -2.0 * s, 2.0 * c, 0.0, 0.0, 0.0, 1.0],
            None,
        )
        .unwrap();
        let sv = singular_values(&z);
        for (got, want) in sv.iter().zip([3.0, 2.0, 1.0]) {
            assert!((got - want).abs() < 1e-5, "{sv:?}");
        }
    }
}
