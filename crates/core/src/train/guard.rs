//! The NaN/inf guard: training stops with an error that names the step and the quantity
//! instead of silently producing NaN weights.

use crate::error::{Error, Result};

/// Returns [`Error::NonFinite`] naming `quantity` and `step` when `value` is NaN or infinite.
pub fn check_finite(step: u64, quantity: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite {
            step,
            quantity: quantity.to_string(),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_step_and_quantity() {
        assert!(check_finite(3, "loss", 1.0).is_ok());
        let e = check_finite(41, "grad norm", f64::NAN)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "training diverged at step 41: grad norm is NaN");
        assert!(check_finite(0, "loss", f64::INFINITY).is_err());
    }
}
