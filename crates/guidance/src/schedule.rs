//! Guidance schedules w(t): the sampler asks for the guidance strength at each step's time.
//!
//! With t = 1 fully masked and t = 0 clean, the two-token analysis of the paper shows the
//! sample is dominated by the guidance applied late (t → 0), so ramp-up schedules should beat
//! constant, and constant should beat ramp-down, at equal mean strength ∫₀¹ w(t) dt. Every
//! schedule here is parameterised by that mean `w` (except the interval, which guides with `w`
//! inside [left, right] and not at all — w = 1 — outside):
//!
//! ```text
//! constant     w(t) = w
//! interval     w(t) = w on [left, right], 1 elsewhere         ∫ = 1 + (w − 1)(right − left)
//! ramp-up      w(t) = 1 + 2(w − 1)(1 − t)                      ∫ = w
//! ramp-down    w(t) = 1 + 2(w − 1)t                            ∫ = w
//! cosine       w(t) = 1 + (w − 1)(1 − cos(π(1 − t)))           ∫ = w   (a smooth ramp-up)
//! ```
//!
//! Ramp-up and ramp-down are the reference's "linear" 2s(1−t)+1 and "inverse-linear" 2st+1 with
//! s = w − 1 (`my_stuff/guidance_schedules.py` in KevinRojas1499/Guidance-MaskGIT); our cosine is
//! our own smooth ramp-up with the same mean.

use serde::{Deserialize, Serialize};

/// A guidance schedule w(t).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum GuidanceSchedule {
    /// w(t) = w.
    Constant {
        /// Strength.
        w: f64,
    },
    /// w inside [left, right], 1 (no guidance) outside.
    Interval {
        /// Strength inside the interval.
        w: f64,
        /// Start of the interval (t = 0 is clean).
        left: f64,
        /// End of the interval.
        right: f64,
    },
    /// Guidance growing as t → 0, with mean w.
    RampUp {
        /// Mean strength ∫w dt.
        w: f64,
    },
    /// Guidance shrinking as t → 0, with mean w.
    RampDown {
        /// Mean strength ∫w dt.
        w: f64,
    },
    /// A smooth ramp-up with mean w.
    Cosine {
        /// Mean strength ∫w dt.
        w: f64,
    },
}

impl GuidanceSchedule {
    /// The strength at time t ∈ [0, 1].
    pub fn w(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match *self {
            GuidanceSchedule::Constant { w } => w,
            GuidanceSchedule::Interval { w, left, right } => {
                if (left..=right).contains(&t) {
                    w
                } else {
                    1.0
                }
            }
            GuidanceSchedule::RampUp { w } => 1.0 + 2.0 * (w - 1.0) * (1.0 - t),
            GuidanceSchedule::RampDown { w } => 1.0 + 2.0 * (w - 1.0) * t,
            GuidanceSchedule::Cosine { w } => {
                1.0 + (w - 1.0) * (1.0 - (std::f64::consts::PI * (1.0 - t)).cos())
            }
        }
    }

    /// ∫₀¹ w(t) dt in closed form.
    pub fn mean(&self) -> f64 {
        match *self {
            GuidanceSchedule::Interval { w, left, right } => {
                let len = (right.min(1.0) - left.max(0.0)).max(0.0);
                1.0 + (w - 1.0) * len
            }
            GuidanceSchedule::Constant { w }
            | GuidanceSchedule::RampUp { w }
            | GuidanceSchedule::RampDown { w }
            | GuidanceSchedule::Cosine { w } => w,
        }
    }

    /// Parses `constant`, `ramp-up`, `ramp-down`, `cosine` or `interval:LEFT:RIGHT` with
    /// strength `w`.
    pub fn parse(name: &str, w: f64) -> Result<Self, String> {
        if !w.is_finite() {
            return Err(format!("guidance strength must be finite, got {w}"));
        }
        Ok(match name {
            "constant" => GuidanceSchedule::Constant { w },
            "ramp-up" => GuidanceSchedule::RampUp { w },
            "ramp-down" => GuidanceSchedule::RampDown { w },
            "cosine" => GuidanceSchedule::Cosine { w },
            other => {
                let bad = || {
                    format!(
                        "unknown schedule `{other}` (expected constant, ramp-up, ramp-down, \
                         cosine or interval:LEFT:RIGHT with 0 ≤ LEFT ≤ RIGHT ≤ 1)"
                    )
                };
                let rest = other.strip_prefix("interval:").ok_or_else(bad)?;
                let (l, r) = rest.split_once(':').ok_or_else(bad)?;
                let left: f64 = l.trim().parse().map_err(|_| bad())?;
                let right: f64 = r.trim().parse().map_err(|_| bad())?;
                if !(0.0..=right).contains(&left) || right > 1.0 {
                    return Err(bad());
                }
                GuidanceSchedule::Interval { w, left, right }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integrate(s: &GuidanceSchedule) -> f64 {
        // Midpoint rule; the interval's jumps cost at most 2/n.
        let n = 200_000;
        (0..n)
            .map(|i| s.w((i as f64 + 0.5) / n as f64))
            .sum::<f64>()
            / n as f64
    }

    #[test]
    fn every_schedule_integrates_to_its_stated_mean() {
        let all = [
            GuidanceSchedule::Constant { w: 2.5 },
            GuidanceSchedule::Interval {
                w: 4.0,
                left: 0.0,
                right: 0.4,
            },
            GuidanceSchedule::RampUp { w: 3.0 },
            GuidanceSchedule::RampDown { w: 3.0 },
            GuidanceSchedule::Cosine { w: 2.0 },
        ];
        for s in all {
            assert!((integrate(&s) - s.mean()).abs() < 1e-4, "{s:?}");
        }
    }

    #[test]
    fn ramps_guide_late_or_early() {
        let up = GuidanceSchedule::RampUp { w: 3.0 };
        let down = GuidanceSchedule::RampDown { w: 3.0 };
        assert_eq!(up.w(1.0), 1.0);
        assert_eq!(up.w(0.0), 5.0);
        assert_eq!(down.w(0.0), 1.0);
        assert!(
            GuidanceSchedule::Cosine { w: 3.0 }.w(0.1) > GuidanceSchedule::Cosine { w: 3.0 }.w(0.9)
        );
    }

    #[test]
    fn parse_accepts_the_names_and_rejects_nonsense() {
        assert_eq!(
            GuidanceSchedule::parse("interval:0:0.5", 2.0).unwrap(),
            GuidanceSchedule::Interval {
                w: 2.0,
                left: 0.0,
                right: 0.5
            }
        );
        assert_eq!(
            GuidanceSchedule::parse("ramp-up", 2.0).unwrap(),
            GuidanceSchedule::RampUp { w: 2.0 }
        );
        for bad in ["", "interval", "interval:0.6:0.5", "interval:a:b", "ramp"] {
            assert!(GuidanceSchedule::parse(bad, 2.0).is_err(), "{bad}");
        }
        assert!(GuidanceSchedule::parse("constant", f64::NAN).is_err());
    }
}
