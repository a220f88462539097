//! The small dense linear algebra the attributors need, in f64: Gram matrices through a
//! single-threaded GEMM (deterministic), and Cholesky factorisation with triangular solves.
//!
//! ```text
//! A = L Lᵀ   (A symmetric positive definite, L lower triangular)
//! A X = B  ⇔  L Y = B,  Lᵀ X = Y
//! ```

use crate::error::{AttributionError, Result};

/// `C[m × n] = A[m × k] · B[k × n]` (row-major f64).
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    if m * n * k == 0 {
        return c;
    }
    // SAFETY: the slices hold m×k, k×n and m×n row-major matrices.
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

/// `XᵀX` of the `n × k` matrix `x` (k × k).
pub fn gram(x: &[f64], n: usize, k: usize) -> Vec<f64> {
    matmul(&transpose(x, n, k), x, k, n, k)
}

/// In-place Cholesky factor of the `n × n` symmetric matrix `a` (lower triangle kept).
pub fn cholesky(a: &mut [f64], n: usize, what: &str) -> Result<()> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for t in 0..j {
            d -= a[j * n + t] * a[j * n + t];
        }
        if d.is_nan() || d <= 0.0 || !d.is_finite() {
            return Err(AttributionError::NotPositiveDefinite(what.into()).into());
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

/// Solves `(L Lᵀ) X = B` for `B` of shape `n × m` (overwritten with X).
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

/// `(A + λI)⁻¹ B` for symmetric positive semi-definite `A` (n × n) and `B` (n × m).
pub fn solve_damped(
    a: &[f64],
    n: usize,
    lambda: f64,
    b: &[f64],
    m: usize,
    what: &str,
) -> Result<Vec<f64>> {
    let mut l = a.to_vec();
    for i in 0..n {
        l[i * n + i] += lambda;
    }
    cholesky(&mut l, n, what)?;
    let mut x = b.to_vec();
    cholesky_solve(&l, n, &mut x, m);
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], b = A·[1, −1] = [2, −1].
        let a = [4.0, 2.0, 2.0, 3.0];
        let x = solve_damped(&a, 2, 0.0, &[2.0, -1.0], 1, "A").unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] + 1.0).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve_damped(&[1.0, 2.0, 2.0, 1.0], 2, 0.0, &[1.0, 1.0], 1, "B").is_err());
        let g = gram(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
        assert_eq!(g, vec![35.0, 44.0, 44.0, 56.0]);
    }
}
