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
    /// Linear warm-up over `warmup` steps, `peak` held, then a linear decay to 0 over the last
    /// `decay` steps (SAELens's `constant` scheduler with `lr_warm_up_steps` and
    /// `lr_decay_steps`).
    ///
    /// ```text
    /// lr(s) = peak · (s+1)/warmup                 s < warmup
    /// lr(s) = peak · (total − s)/decay            s ≥ total − decay  (and s ≥ warmup)
    /// lr(s) = peak                                otherwise
    /// ```
    ///
    /// Checked against sae-lens 6.54 (`training/optim.py`, `get_lr_scheduler`): its warm-up
    /// `LinearLR(1/W → 1, W − 1 iterations)` gives `peak · (1/W + (1 − 1/W)·s/(W − 1))
    /// = peak · (s+1)/W`, as here (and as `WarmupCosine`); its decay `LinearLR(1 → 0, D
    /// iterations)` from step T − D gives `peak · (T − s)/D`, as here. `warmup = decay = 0` is
    /// [`LrSchedule::Constant`].
    WarmupConstantDecay {
        /// Learning rate after warm-up.
        peak: f64,
        /// Warm-up steps.
        warmup: u64,
        /// Final steps of linear decay to 0.
        decay: u64,
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
            LrSchedule::WarmupConstantDecay {
                peak,
                warmup,
                decay,
                total,
            } => {
                if step < warmup {
                    return peak * (step + 1) as f64 / warmup as f64;
                }
                let decay = decay.min(total);
                if decay > 0 && step >= total - decay {
                    return peak * total.saturating_sub(step) as f64 / decay as f64;
                }
                peak
            }
        }
    }

    /// The warm-up length (0 for `Constant`).
    pub fn warmup(&self) -> u64 {
        match *self {
            LrSchedule::Constant { .. } => 0,
            LrSchedule::WarmupCosine { warmup, .. }
            | LrSchedule::WarmupConstantDecay { warmup, .. } => warmup,
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

    /// The existing variants' numbers are unchanged by the new variant (exact values).
    #[test]
    fn existing_variants_are_bit_identical() {
        let c = LrSchedule::WarmupCosine {
            peak: 3e-4,
            min_lr: 3e-5,
            warmup: 7,
            total: 50,
        };
        let want = |s: u64| {
            if s < 7 {
                return 3e-4 * (s + 1) as f64 / 7.0;
            }
            let p = ((s - 7) as f64 / 43.0).min(1.0);
            3e-5 + 0.5 * (3e-4 - 3e-5) * (1.0 + (std::f64::consts::PI * p).cos())
        };
        for s in 0..60 {
            assert_eq!(c.lr(s).to_bits(), want(s).to_bits(), "step {s}");
            assert_eq!(LrSchedule::Constant { lr: 0.1 }.lr(s), 0.1);
        }
    }

    #[test]
    fn warmup_constant_decay_hits_its_corners() {
        let s = LrSchedule::WarmupConstantDecay {
            peak: 1.0,
            warmup: 10,
            decay: 20,
            total: 100,
        };
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert_eq!(s.lr(9), 1.0);
        assert_eq!(s.lr(10), 1.0);
        assert_eq!(s.lr(79), 1.0);
        assert_eq!(s.lr(80), 1.0, "the decay starts at the peak");
        assert!((s.lr(90) - 0.5).abs() < 1e-12);
        assert!((s.lr(99) - 0.05).abs() < 1e-12);
        assert_eq!(s.lr(100), 0.0);
        assert_eq!(s.lr(1000), 0.0);
        assert_eq!(s.warmup(), 10);
        // Without warm-up and decay it is the constant schedule.
        let flat = LrSchedule::WarmupConstantDecay {
            peak: 0.3,
            warmup: 0,
            decay: 0,
            total: 100,
        };
        for step in [0, 50, 99, 100, 500] {
            assert_eq!(flat.lr(step), LrSchedule::Constant { lr: 0.3 }.lr(step));
        }
        // Same warm-up as WarmupCosine.
        let cos = LrSchedule::WarmupCosine {
            peak: 1.0,
            min_lr: 0.0,
            warmup: 10,
            total: 100,
        };
        for step in 0..10 {
            assert_eq!(s.lr(step), cos.lr(step));
        }
    }

    #[test]
    fn warmup_constant_decay_round_trips_through_json() {
        let s = LrSchedule::WarmupConstantDecay {
            peak: 2e-3,
            warmup: 5,
            decay: 7,
            total: 40,
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains("\"kind\":\"warmup_constant_decay\""),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<LrSchedule>(&text).unwrap(), s);
    }
}
