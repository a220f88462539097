//! The attributors' dense linear algebra: [`genlab_core::linalg`], with this family's error
//! (naming the matrix and the remedy) when a damped system cannot be factorised.

use crate::error::{AttributionError, Result};

pub use genlab_core::linalg::{gram, matmul, transpose};

/// `(A + λI)⁻¹ B` for symmetric positive semi-definite `A` (n × n) and `B` (n × m); `what`
/// names A in the error.
pub fn solve_damped(
    a: &[f64],
    n: usize,
    lambda: f64,
    b: &[f64],
    m: usize,
    what: &str,
) -> Result<Vec<f64>> {
    genlab_core::linalg::solve_damped(a, n, lambda, b, m)
        .map_err(|_| AttributionError::NotPositiveDefinite(what.into()).into())
}
