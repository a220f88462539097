//! Small dense linear algebra in f64, row-major, for the closed-form parts of the families:
//! ridge probes and influence functions (Cholesky), PCA, collapse ranks and Fréchet distances
//! (symmetric eigendecomposition). The matrices are at most a few thousand wide; every routine
//! is deterministic (the same bits at any thread count).
//!
//! ```text
//! Cholesky       A = L Lᵀ   (A symmetric positive definite, L lower triangular)
//!                A X = B  ⇔  L Y = B,  Lᵀ X = Y
//! eigen          A = V diag(λ) Vᵀ   (A symmetric; V orthogonal, by cyclic Jacobi rotations)
//! ```

/// `C[m × n] = A[m × k] · B[k × n]`.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    assert!(
        a.len() == m * k && b.len() == k * n,
        "matmul: shapes do not match"
    );
    let mut c = vec![0.0; m * n];
    if m * n * k == 0 {
        return c;
    }
    // SAFETY: the slices hold m×k, k×n and m×n row-major matrices (checked above).
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
    c
}

/// The transpose of the `m × n` matrix `a`.
pub fn transpose(a: &[f64], m: usize, n: usize) -> Vec<f64> {
    let mut t = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            t[j * m + i] = a[i * n + j];
        }
    }
    t
}

/// `XᵀX` (k × k) of the `n × k` matrix `x`.
pub fn gram(x: &[f64], n: usize, k: usize) -> Vec<f64> {
    matmul(&transpose(x, n, k), x, k, n, k)
}

/// The Cholesky factorisation met a pivot that is not positive (or not finite): the matrix is
/// not (numerically) positive definite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotPositiveDefinite {
    /// The column at which it failed.
    pub column: usize,
}

/// Replaces the symmetric `n × n` matrix `a` by its Cholesky factor L (the upper triangle is
/// zeroed).
pub fn cholesky(a: &mut [f64], n: usize) -> Result<(), NotPositiveDefinite> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for t in 0..j {
            d -= a[j * n + t] * a[j * n + t];
        }
        if !(d > 0.0 && d.is_finite()) {
            return Err(NotPositiveDefinite { column: j });
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for t in 0..j {
                s -= a[i * n + t] * a[j * n + t];
            }
            a[i * n + j] = s / d;
        }
        for i in 0..j {
            a[i * n + j] = 0.0;
        }
    }
    Ok(())
}

/// Solves `(L Lᵀ) X = B` for the factor `l` of [`cholesky`] and `b` of shape `n × m`, which is
/// overwritten with X.
pub fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64], m: usize) {
    for c in 0..m {
        for i in 0..n {
            let mut s = b[i * m + c];
            for t in 0..i {
                s -= l[i * n + t] * b[t * m + c];
            }
            b[i * m + c] = s / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = b[i * m + c];
            for t in i + 1..n {
                s -= l[t * n + i] * b[t * m + c];
            }
            b[i * m + c] = s / l[i * n + i];
        }
    }
}

/// `(A + λI)⁻¹ B` for a symmetric positive semi-definite `A` (n × n) and `B` (n × m).
pub fn solve_damped(
    a: &[f64],
    n: usize,
    lambda: f64,
    b: &[f64],
    m: usize,
) -> Result<Vec<f64>, NotPositiveDefinite> {
    let mut l = a.to_vec();
    for i in 0..n {
        l[i * n + i] += lambda;
    }
    cholesky(&mut l, n)?;
    let mut x = b.to_vec();
    cholesky_solve(&l, n, &mut x, m);
    Ok(x)
}

/// Sweeps after which Jacobi stops even if not converged; it converges quadratically, in
/// well under 20 sweeps for any symmetric matrix of modest size.
const MAX_JACOBI_SWEEPS: usize = 60;

/// Eigenvalues λ, descending, and eigenvectors (the columns of the row-major `d × d` V, in the
/// same order) of the symmetric matrix `m`, so that m = V diag(λ) Vᵀ. Cyclic Jacobi: each
/// rotation zeroes one off-diagonal pair, and sweeps over all pairs repeat until the
/// off-diagonal part is negligible against the whole matrix.
pub fn symmetric_eigen(m: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(m.len(), d * d, "symmetric_eigen: not a d × d matrix");
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
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| a[j * d + j].total_cmp(&a[i * d + i]));
    let values = order.iter().map(|&i| a[i * d + i]).collect();
    let vectors = (0..d * d).map(|k| v[(k / d) * d + order[k % d]]).collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], b = A·[1, −1] = [2, −1].
        let x = solve_damped(&[4.0, 2.0, 2.0, 3.0], 2, 0.0, &[2.0, -1.0], 1).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] + 1.0).abs() < 1e-12,
            "{x:?}"
        );
        // [[1, 2], [2, 1]] has eigenvalues 3 and −1.
        let err = solve_damped(&[1.0, 2.0, 2.0, 1.0], 2, 0.0, &[1.0, 1.0], 1).unwrap_err();
        assert_eq!(err, NotPositiveDefinite { column: 1 });
        assert!(solve_damped(&[f64::NAN], 1, 0.0, &[1.0], 1).is_err());
        assert_eq!(
            gram(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2),
            vec![35.0, 44.0, 44.0, 56.0]
        );
        assert_eq!(
            transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn eigen_reconstructs_random_symmetric_matrices_in_descending_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for d in [1, 2, 5, 17] {
            let r: Vec<f64> = (0..d * d).map(|_| rng.random_range(-1.0..1.0)).collect();
            let m: Vec<f64> = (0..d * d).map(|k| r[k] + r[(k % d) * d + k / d]).collect();
            let (lambda, v) = symmetric_eigen(&m, d);
            assert!(lambda.windows(2).all(|w| w[0] >= w[1]), "{lambda:?}");
            for i in 0..d {
                for j in 0..d {
                    let rebuilt: f64 = (0..d)
                        .map(|k| v[i * d + k] * lambda[k] * v[j * d + k])
                        .sum();
                    let vtv: f64 = (0..d).map(|k| v[k * d + i] * v[k * d + j]).sum();
                    assert!((rebuilt - m[i * d + j]).abs() < 1e-10, "d {d}");
                    assert!((vtv - f64::from(i == j)).abs() < 1e-10, "d {d}");
                }
            }
        }
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1.
        let (lambda, _) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((lambda[0] - 3.0).abs() < 1e-15 && (lambda[1] - 1.0).abs() < 1e-15);
        // A diagonal matrix: its entries, sorted.
        let (lambda, _) = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 2.0], 3);
        assert_eq!(lambda, vec![3.0, 2.0, 1.0]);
    }
}
