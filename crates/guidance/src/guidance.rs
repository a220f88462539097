//! Classifier-free guidance for masked diffusion: three rules, written from their formulas
//! (Rojas et al., "Improving Classifier-Free Guidance in Masked Diffusion", ICLR 2026).
//!
//! At one masked position, let p_c and p_u be the conditional and unconditional denoiser
//! distributions over the V clean tokens, and w the guidance strength (w = 1: purely
//! conditional; the reference code's `w` is our w − 1). The tilted distribution and its
//! partition function are
//!
//! ```text
//! p^(w)(j) = p_c(j)^w p_u(j)^{1−w} / Z_w,     Z_w = Σ_j p_c(j)^w p_u(j)^{1−w} = E_{p_u}[(p_c/p_u)^w]
//! ```
//!
//! and Z_w ≥ 1 for w ≥ 1 by Jensen (Z_1 = 1). Every rule draws the *token* from p^(w); they
//! differ only in how likely a masked position is to unmask at all:
//!
//! ```text
//! rule         CTMC rate out of MASK     ancestral step (unguided unmask prob. a, b = 1 − a)
//! unlocking    λ_t · Z_w                 1 − b^{Z_w}      (rate frozen over the step)
//! simple       —                         a·Z_w / (a·Z_w + b)
//! normalized   λ_t                       a
//! ```
//!
//! "Unlocking" (Nisonoff et al.) interpolates the rate matrices geometrically without
//! renormalising, so Z_w multiplies the total rate; "simple" (Schiff et al.) interpolates the
//! one-step transition probabilities over vocab ∪ {MASK} and renormalises, which still inflates
//! the unmasking probability; "normalized" (proposed) keeps the unguided rate and puts the
//! guidance only in the destination distribution — `exp` replaced by `softmax`.

use serde::{Deserialize, Serialize};

/// The tilted destination distribution p^(w) and its partition function Z_w.
#[derive(Debug, Clone, PartialEq)]
pub struct Tilted {
    /// p^(w)(j), summing to 1.
    pub destination: Vec<f64>,
    /// Z_w = Σ_j p_c(j)^w p_u(j)^{1−w}.
    pub z: f64,
}

/// Below this an unconditional probability is treated as this (a learned softmax never gives
/// exactly 0, an exact table can; p_c(j) = 0 always gives a zero term).
const P_FLOOR: f64 = 1e-300;

/// p^(w) and Z_w from p_c, p_u (each a distribution over the V clean tokens).
pub fn tilt(p_cond: &[f64], p_uncond: &[f64], w: f64) -> Tilted {
    let mut destination: Vec<f64> = p_cond
        .iter()
        .zip(p_uncond)
        .map(|(&pc, &pu)| {
            if pc <= 0.0 {
                0.0
            } else {
                (w * pc.ln() + (1.0 - w) * pu.max(P_FLOOR).ln()).exp()
            }
        })
        .collect();
    let z: f64 = destination.iter().sum();
    for p in &mut destination {
        *p /= z;
    }
    Tilted { destination, z }
}

/// A guidance rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Rate-matrix interpolation without renormalisation (Nisonoff et al.).
    Unlocking,
    /// Transition-probability interpolation over vocab ∪ {MASK} (Schiff et al.).
    Simple,
    /// Column-normalised: unguided rate, tilted destination (proposed).
    Normalized,
}

impl Rule {
    /// All rules, in report order.
    pub const ALL: [Rule; 3] = [Rule::Unlocking, Rule::Simple, Rule::Normalized];

    /// Name as on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Unlocking => "unlocking",
            Rule::Simple => "simple",
            Rule::Normalized => "normalized",
        }
    }

    /// Probability that a masked position unmasks on an ancestral step whose unguided
    /// unmasking probability is `a`, given the position's Z_w.
    pub fn ancestral_unmask_probability(&self, a: f64, z: f64) -> f64 {
        match self {
            Rule::Unlocking => unlocking_unmask_probability(a, z),
            Rule::Simple => simple_unmask_probability(a, z),
            Rule::Normalized => normalized_unmask_probability(a, z),
        }
    }

    /// Total CTMC rate out of MASK, given the unguided rate λ_t and Z_w; `None` for the simple
    /// rule, which is defined by one-step transition probabilities only.
    pub fn rate(&self, lambda: f64, z: f64) -> Option<f64> {
        match self {
            Rule::Unlocking => Some(lambda * z),
            Rule::Simple => None,
            Rule::Normalized => Some(lambda),
        }
    }
}

impl std::str::FromStr for Rule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown rule `{s}` (expected unlocking, simple or normalized)"))
    }
}

/// Unlocking: the rate λ_t·Z_w frozen over the step gives P(stay masked) = b^{Z_w}, so
/// P(unmask) = 1 − (1 − a)^{Z_w}. In one dimension this is exact: the masked fraction at time t is
/// ((1 − α_t)/(1 − α_T))^{Z_w}.
pub fn unlocking_unmask_probability(a: f64, z: f64) -> f64 {
    1.0 - (1.0 - a).max(0.0).powf(z)
}

/// Simple: mixing q(MASK) = b and q(j) = a·p(j) geometrically and renormalising gives
/// P(unmask) = a·Z_w / (a·Z_w + b).
pub fn simple_unmask_probability(a: f64, z: f64) -> f64 {
    let unmask = a * z;
    let stay = 1.0 - a;
    if unmask + stay <= 0.0 {
        return 0.0;
    }
    unmask / (unmask + stay)
}

/// Normalized: the unguided probability a, whatever Z_w is.
pub fn normalized_unmask_probability(a: f64, _z: f64) -> f64 {
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random_distribution(rng: &mut impl Rng, v: usize) -> Vec<f64> {
        let x: Vec<f64> = (0..v).map(|_| rng.random::<f64>().powi(3) + 1e-6).collect();
        let s: f64 = x.iter().sum();
        x.into_iter().map(|p| p / s).collect()
    }

    #[test]
    fn partition_function_is_at_least_one_for_w_above_one() {
        // Jensen: E_{p_u}[(p_c/p_u)^w] ≥ (E_{p_u}[p_c/p_u])^w = 1 for w ≥ 1.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..500 {
            let (pc, pu) = (
                random_distribution(&mut rng, 8),
                random_distribution(&mut rng, 8),
            );
            let w = 1.0 + 4.0 * rng.random::<f64>();
            let t = tilt(&pc, &pu, w);
            assert!(t.z >= 1.0 - 1e-12, "Z_w = {} at w = {w}", t.z);
            assert!((t.destination.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn at_w_one_the_tilt_is_the_conditional_and_all_rules_coincide() {
        let pc = [0.5, 0.3, 0.2, 0.0];
        let pu = [0.1, 0.2, 0.3, 0.4];
        let t = tilt(&pc, &pu, 1.0);
        assert!((t.z - 1.0).abs() < 1e-12);
        for (d, p) in t.destination.iter().zip(pc) {
            assert!((d - p).abs() < 1e-12);
        }
        for a in [0.0, 0.1, 0.5, 1.0] {
            for r in Rule::ALL {
                assert!((r.ancestral_unmask_probability(a, 1.0) - a).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn tilt_matches_a_hand_computed_case() {
        // p_c = (1/2, 1/2), p_u = (1/4, 3/4), w = 2: terms p_c²/p_u = (1, 1/3), Z = 4/3.
        let t = tilt(&[0.5, 0.5], &[0.25, 0.75], 2.0);
        assert!((t.z - 4.0 / 3.0).abs() < 1e-12);
        assert!((t.destination[0] - 0.75).abs() < 1e-12);
    }

    #[test]
    fn inflated_rules_unmask_faster_and_order_as_the_paper_says() {
        // For Z > 1: normalized = a < simple < unlocking (small a), all ≤ 1.
        for a in [0.01, 0.05, 0.2] {
            let z = 3.0;
            let n = normalized_unmask_probability(a, z);
            let s = simple_unmask_probability(a, z);
            let u = unlocking_unmask_probability(a, z);
            assert!(n < s && s < u && u <= 1.0, "a = {a}: {n} {s} {u}");
        }
    }

    #[test]
    fn unlocking_closed_form_in_one_dimension() {
        // Steps compose: (1−a₁)^Z (1−a₂)^Z = ((1−α_s)/(1−α_t))^Z for the whole span.
        let sch = crate::noise::NoiseSchedule::Cosine;
        let z = 2.5;
        let grid = crate::noise::time_grid(7, 0.3);
        let stay: f64 = grid
            .windows(2)
            .map(|w| 1.0 - unlocking_unmask_probability(sch.unmask_probability(w[0], w[1]), z))
            .product();
        let closed = ((1.0 - sch.alpha(0.3)) / (1.0 - sch.alpha(1.0))).powf(z);
        assert!((stay - closed).abs() < 1e-12);
    }

    #[test]
    fn rule_names_round_trip() {
        for r in Rule::ALL {
            assert_eq!(r.name().parse::<Rule>().unwrap(), r);
        }
        assert!("exp".parse::<Rule>().is_err());
    }
}
