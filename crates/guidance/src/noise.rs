//! The absorbing (masking) forward process: every token independently stays clean with
//! probability α_t and is replaced by MASK otherwise, with α decreasing from α₀ = 1 to α₁ ≈ 0.
//!
//! ```text
//! log-linear (SEDD / MDLM):  σ̄(t) = −ln(1 − (1−δ)t),  α_t = e^{−σ̄(t)} = 1 − (1−δ)t
//! cosine:                    α_t = cos(πt/2)
//! reverse unmasking rate:    λ_t = −α'_t / (1 − α_t)          (= σ̄'(t) / (e^{σ̄(t)} − 1))
//! ancestral step t → s < t:  unmask with a = (α_s − α_t)/(1 − α_t), stay masked with
//!                            b = (1 − α_s)/(1 − α_t)
//! ```
//!
//! λ_t is `sigma(t) / expm1(sigma_int(t))` of the reference sampler
//! (KevinRojas1499/Guidance-MaskGIT, `Sampler/diffusion_sampler.py`): for the log-linear
//! schedule it is exactly 1/t.

use genlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A masking schedule α_t on t ∈ [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NoiseSchedule {
    /// α_t = 1 − (1−δ)t (σ̄ log-linear in 1 − t).
    LogLinear {
        /// α₁ = δ: a token is still clean at t = 1 with probability δ.
        delta: f64,
    },
    /// α_t = cos(πt/2).
    Cosine,
}

impl Default for NoiseSchedule {
    fn default() -> Self {
        NoiseSchedule::DEFAULT
    }
}

impl NoiseSchedule {
    /// Log-linear with δ = 10⁻⁵ (SEDD / MDLM).
    pub const DEFAULT: NoiseSchedule = NoiseSchedule::LogLinear { delta: 1e-5 };

    /// Rejects a log-linear δ outside [0, 1) (a NaN δ made every probability NaN).
    pub fn validate(&self) -> Result<()> {
        match *self {
            NoiseSchedule::LogLinear { delta } if !(0.0..1.0).contains(&delta) => Err(
                Error::InvalidInput(format!("noise delta = {delta} must be in [0, 1)")),
            ),
            _ => Ok(()),
        }
    }

    /// Probability α_t that a token is still clean at time t.
    pub fn alpha(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        match *self {
            NoiseSchedule::LogLinear { delta } => 1.0 - (1.0 - delta) * t,
            NoiseSchedule::Cosine => (std::f64::consts::FRAC_PI_2 * t).cos(),
        }
    }

    /// dα/dt.
    pub fn alpha_prime(&self, t: f64) -> f64 {
        match *self {
            NoiseSchedule::LogLinear { delta } => -(1.0 - delta),
            NoiseSchedule::Cosine => {
                -std::f64::consts::FRAC_PI_2 * (std::f64::consts::FRAC_PI_2 * t).sin()
            }
        }
    }

    /// Total reverse unmasking rate λ_t = −α'_t / (1 − α_t) of one masked token.
    pub fn rate(&self, t: f64) -> f64 {
        -self.alpha_prime(t) / (1.0 - self.alpha(t)).max(f64::MIN_POSITIVE)
    }

    /// Unguided probability of unmasking a masked token on the step t → s (s < t).
    pub fn unmask_probability(&self, t: f64, s: f64) -> f64 {
        let (at, as_) = (self.alpha(t), self.alpha(s));
        ((as_ - at) / (1.0 - at).max(f64::MIN_POSITIVE)).clamp(0.0, 1.0)
    }
}

/// The time grid 1 = t₀ > t₁ > … > t_N = `end`, uniform in t.
pub fn time_grid(steps: usize, end: f64) -> Vec<f64> {
    (0..=steps)
        .map(|i| 1.0 - (1.0 - end) * i as f64 / steps as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_runs_from_one_to_nearly_zero() {
        for s in [NoiseSchedule::default(), NoiseSchedule::Cosine] {
            assert!((s.alpha(0.0) - 1.0).abs() < 1e-12);
            assert!(s.alpha(1.0) < 1e-4);
            assert!(s.alpha(0.3) > s.alpha(0.6));
        }
    }

    #[test]
    fn log_linear_rate_is_one_over_t() {
        let s = NoiseSchedule::default();
        for t in [0.01, 0.2, 0.5, 0.99] {
            assert!((s.rate(t) - 1.0 / t).abs() < 1e-9 / t, "t = {t}");
        }
    }

    #[test]
    fn alpha_prime_matches_finite_differences() {
        for s in [NoiseSchedule::default(), NoiseSchedule::Cosine] {
            for t in [0.1, 0.4, 0.8] {
                let h = 1e-6;
                let fd = (s.alpha(t + h) - s.alpha(t - h)) / (2.0 * h);
                assert!((fd - s.alpha_prime(t)).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn ancestral_steps_compose_to_the_marginal() {
        // Staying masked over t → u → s multiplies the b's: (1−α_u)/(1−α_t) · (1−α_s)/(1−α_u).
        let sch = NoiseSchedule::Cosine;
        let (t, u, s) = (0.9, 0.5, 0.2);
        let stay = (1.0 - sch.unmask_probability(t, u)) * (1.0 - sch.unmask_probability(u, s));
        assert!((stay - (1.0 - sch.alpha(s)) / (1.0 - sch.alpha(t))).abs() < 1e-12);
    }
}
