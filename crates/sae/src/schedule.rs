//! The learning-rate schedule of SAE training, in both conventions a user may come from.
//!
//! ```text
//! s < W               lr(s) = η · (s + 1) / W                                   warm-up
//! W ≤ s < T − D       lr(s) = η                                  (constant)
//!                     lr(s) = η_end + ½ (η − η_end)(1 + cos(π (s − W)/(T − W − D)))   (cosine)
//! s ≥ T − D           lr(s) = η_D · (T − s) / D                                 linear decay to 0
//!
//! η = peak rate, T = steps, W = warm-up steps, D = decay steps,
//! η_end = η · min_lr_fraction (cosine), η_D = η_end (cosine) or η (constant)
//! ```
//!
//! | setting          | genlab default            | SAELens (`LanguageModelSAERunnerConfig`, `train_toy_sae`) |
//! |------------------|---------------------------|-----------------------------------------------------------|
//! | shape            | cosine                    | `lr_scheduler_name = "constant"`                          |
//! | warm-up W        | 100 steps                 | `lr_warm_up_steps = 0`                                    |
//! | final rate η_end | 0.1 η                     | `lr_end = lr / 10` (ignored by "constant")                |
//! | decay D          | 0                         | `lr_decay_steps = 0`; linear from η_end (cosine) or η (constant) to 0 |
//!
//! Checked against `sae_lens/training/optim.py` (`get_lr_scheduler`, sae-lens 6.54): the
//! warm-up there is `LinearLR(1/W → 1, W − 1 iterations)`, i.e. η/W at step 0 and η at step
//! W − 1, where this one reaches η one step later, at W; the decay phase is `LinearLR(η_D/η → 0,
//! D iterations)` starting at step T − D, as here. With D = 0 the cosine shape is
//! genlab-core's `LrSchedule::WarmupCosine` exactly (tested).

use serde::{Deserialize, Serialize};

/// The main phase's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Cosine from η to η_end (genlab's default).
    #[default]
    Cosine,
    /// η throughout (SAELens's default).
    Constant,
}

/// A complete schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Main-phase shape.
    pub shape: Shape,
    /// Peak rate η.
    pub peak: f64,
    /// η_end as a fraction of η (cosine only).
    pub min_lr_fraction: f64,
    /// Warm-up steps W.
    pub warmup: u64,
    /// Final linear-decay steps D.
    pub decay: u64,
    /// Total steps T.
    pub total: u64,
}

impl Schedule {
    /// The rate at 0-based step `s`.
    pub fn lr(&self, s: u64) -> f64 {
        let (t, w, d) = (self.total, self.warmup, self.decay.min(self.total));
        if s < w {
            return self.peak * (s + 1) as f64 / w as f64;
        }
        let end = match self.shape {
            Shape::Cosine => self.peak * self.min_lr_fraction,
            Shape::Constant => self.peak,
        };
        if d > 0 && s >= t - d {
            return end * t.saturating_sub(s) as f64 / d as f64;
        }
        match self.shape {
            Shape::Constant => self.peak,
            Shape::Cosine => {
                let span = t.saturating_sub(w + d).max(1) as f64;
                let progress = ((s - w) as f64 / span).min(1.0);
                end + 0.5 * (self.peak - end) * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::LrSchedule;

    fn schedule(shape: Shape, warmup: u64, decay: u64) -> Schedule {
        Schedule {
            shape,
            peak: 1e-3,
            min_lr_fraction: 0.1,
            warmup,
            decay,
            total: 1000,
        }
    }

    #[test]
    fn cosine_without_decay_is_cores_warmup_cosine() {
        let ours = schedule(Shape::Cosine, 100, 0);
        let core = LrSchedule::WarmupCosine {
            peak: 1e-3,
            min_lr: 1e-4,
            warmup: 100,
            total: 1000,
        };
        for s in [0, 1, 50, 99, 100, 101, 500, 998, 999, 1000] {
            assert!((ours.lr(s) - core.lr(s)).abs() < 1e-15, "step {s}");
        }
    }

    #[test]
    fn constant_holds_the_peak_then_decays_linearly_to_zero() {
        let c = schedule(Shape::Constant, 0, 200);
        assert_eq!(c.lr(0), 1e-3);
        assert_eq!(c.lr(799), 1e-3);
        assert!((c.lr(800) - 1e-3).abs() < 1e-15, "decay starts at η");
        assert!((c.lr(900) - 0.5e-3).abs() < 1e-15);
        assert!((c.lr(999) - 1e-3 / 200.0).abs() < 1e-15);
        let w = schedule(Shape::Constant, 10, 0);
        assert!((w.lr(0) - 1e-4).abs() < 1e-15);
        assert_eq!(w.lr(10), 1e-3);
        assert_eq!(w.lr(999), 1e-3);
    }

    #[test]
    fn cosine_with_decay_reaches_the_end_rate_before_the_decay() {
        let c = schedule(Shape::Cosine, 0, 100);
        assert!((c.lr(0) - 1e-3).abs() < 1e-15);
        assert!((c.lr(900) - 1e-4).abs() < 1e-15);
        assert!((c.lr(950) - 0.5e-4).abs() < 1e-15);
    }
}
