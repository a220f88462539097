//! Learning-rate schedules as pure functions of the step, so a resumed run needs no scheduler
//! state: `lr(step)` is the same whether the run was interrupted or not.

use serde::{Deserialize, Serialize};

/// A learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LrSchedule {
    /// `lr` at every step.
    Constant {
        /// The learning rate.
        lr: f64,
    },
    /// Linear warm-up from 0 over `warmup` steps, then cosine decay to `min_lr` at `total`.
    ///
    /// ```text
    /// lr(s) = peak · (s+1)/warmup                                       s < warmup
    /// lr(s) = min + ½(peak − min)(1 + cos(π · (s − warmup)/(total − warmup)))   otherwise
    /// ```
    WarmupCosine {
        /// Peak learning rate, reached at the end of warm-up.
        peak: f64,
        /// Final learning rate.
        min_lr: f64,
        /// Warm-up steps.
        warmup: u64,
        /// Total steps of the run.
        total: u64,
    },
}

impl LrSchedule {
    /// The learning rate at 0-based `step`.
    pub fn lr(&self, step: u64) -> f64 {
        match *self {
            LrSchedule::Constant { lr } => lr,
            LrSchedule::WarmupCosine {
                peak,
                min_lr,
                warmup,
                total,
            } => {
                if step < warmup {
                    return peak * (step + 1) as f64 / warmup as f64;
                }
                let span = total.saturating_sub(warmup).max(1) as f64;
                let progress = ((step - warmup) as f64 / span).min(1.0);
                min_lr + 0.5 * (peak - min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_cosine_hits_its_corners() {
        let s = LrSchedule::WarmupCosine {
            peak: 1.0,
            min_lr: 0.1,
            warmup: 10,
            total: 110,
        };
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert!((s.lr(9) - 1.0).abs() < 1e-12);
        assert!((s.lr(10) - 1.0).abs() < 1e-12);
        assert!((s.lr(60) - 0.55).abs() < 1e-12);
        assert!((s.lr(110) - 0.1).abs() < 1e-12);
        assert!((s.lr(10_000) - 0.1).abs() < 1e-12);
    }
}
