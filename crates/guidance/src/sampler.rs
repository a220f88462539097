//! Reverse samplers for masked diffusion with a guidance rule: ancestral (MDLM) and τ-leaping.
//!
//! Both walk a grid 1 = t₀ > … > t_N and treat masked positions independently given the current
//! sequence (the denoiser factorises over positions). On a step t → s a masked position either
//! stays masked or unmasks to token j:
//!
//! ```text
//! ancestral     P(unmask) = rule(a, Z_w) with a = (α_s − α_t)/(1 − α_t);  j ~ p^(w)
//! τ-leaping     jumps to j ~ Poisson(h R p^(w)(j)), h = t − s, R = rule's rate (λ_t or λ_t Z_w);
//!               a position with two or more jumps is rejected (stays masked), so
//!               P(unmask to j) = h R p^(w)(j) e^{−hR}
//! ```
//!
//! The ancestral grid ends at t = 0, where a = 1 unmasks everything under every rule. The
//! τ-leaping grid ends at ε = 10⁻³ (λ_t = 1/t diverges at 0) and, as in the reference
//! `TauLeapingSampler`, the positions still masked there take the argmax of p^(w).
//! w is asked from the guidance schedule at the start time t of each step.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::guidance::{Rule, tilt};
use crate::noise::{NoiseSchedule, time_grid};
use crate::schedule::GuidanceSchedule;
use genlab_core::{Error, Result};

/// Where the τ-leaping grid stops.
pub const TAU_LEAPING_END: f64 = 1e-3;

/// A reverse sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampler {
    /// MDLM ancestral steps.
    Ancestral,
    /// τ-leaping on the reverse CTMC, argmax at the end.
    TauLeaping,
}

impl std::str::FromStr for Sampler {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "ancestral" => Ok(Sampler::Ancestral),
            "tau-leaping" => Ok(Sampler::TauLeaping),
            _ => Err(format!(
                "unknown sampler `{s}` (expected ancestral or tau-leaping)"
            )),
        }
    }
}

/// The most sampling steps a run may ask for.
pub const MAX_STEPS: usize = 10_000;

/// Everything that defines a sampling run except the model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SampleConfig {
    /// Ancestral or τ-leaping.
    pub sampler: Sampler,
    /// The guidance rule.
    pub rule: Rule,
    /// Guidance strength w(t).
    pub schedule: GuidanceSchedule,
    /// Steps of the time grid.
    pub steps: usize,
    /// The forward process the denoiser was trained with.
    pub noise: NoiseSchedule,
}

impl SampleConfig {
    /// Checks the combination is defined.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return Err(Error::InvalidInput(format!(
                "sampling needs at least one step and at most {MAX_STEPS}, got {}",
                self.steps
            )));
        }
        if self.sampler == Sampler::TauLeaping && self.rule == Rule::Simple {
            return Err(Error::InvalidInput(
                "the simple rule is defined by one-step transition probabilities; use the \
                 ancestral sampler with it"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The time grid the sampler walks.
    pub fn grid(&self) -> Vec<f64> {
        match self.sampler {
            Sampler::Ancestral => time_grid(self.steps, 0.0),
            Sampler::TauLeaping => time_grid(self.steps, TAU_LEAPING_END),
        }
    }

    /// What one masked position does on the step t → s, given its p_c and p_u.
    pub fn position_step(&self, t: f64, s: f64, p_cond: &[f64], p_uncond: &[f64]) -> PositionStep {
        let tilted = tilt(p_cond, p_uncond, self.schedule.w(t));
        let unmask = match self.sampler {
            Sampler::Ancestral => self
                .rule
                .ancestral_unmask_probability(self.noise.unmask_probability(t, s), tilted.z),
            Sampler::TauLeaping => {
                let rate = self
                    .rule
                    .rate(self.noise.rate(t), tilted.z)
                    .expect("validated: no τ-leaping with the simple rule");
                let hr = (t - s) * rate;
                hr * (-hr).exp()
            }
        };
        PositionStep {
            stay: 1.0 - unmask,
            destination: tilted.destination,
        }
    }

    /// The token a position still masked at the end of a τ-leaping run takes: argmax p^(w).
    pub fn final_token(&self, p_cond: &[f64], p_uncond: &[f64]) -> usize {
        let end = *self.grid().last().expect("grid is never empty");
        argmax(&tilt(p_cond, p_uncond, self.schedule.w(end)).destination)
    }
}

/// One masked position's step: stay masked with `stay`, else unmask to j with probability
/// (1 − stay)·destination[j].
#[derive(Debug, Clone, PartialEq)]
pub struct PositionStep {
    /// Probability of staying masked.
    pub stay: f64,
    /// Where an unmasking position goes, over the clean tokens.
    pub destination: Vec<f64>,
}

fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0)
}

/// A class-conditional denoiser over sequences of `seq_len` tokens from a vocabulary of
/// `vocab` clean tokens; the token id `vocab` is MASK.
pub trait Denoiser {
    /// Clean tokens (the id `vocab()` is MASK).
    fn vocab(&self) -> usize;
    /// Tokens per sequence.
    fn seq_len(&self) -> usize;
    /// For `n` sequences (`tokens` is n × seq_len, row-major) with their classes: the
    /// conditional and unconditional distributions p(x₀^ℓ | x_t, c) and p(x₀^ℓ | x_t) over the
    /// clean tokens at every position, each n × seq_len × vocab.
    fn denoise(&self, tokens: &[u32], classes: &[u32]) -> Result<(Vec<f64>, Vec<f64>)>;
}

/// Samples drawn by [`sample`], with the fraction of masked tokens after every step.
#[derive(Debug, Clone)]
pub struct Samples {
    /// n × seq_len clean tokens.
    pub tokens: Vec<u32>,
    /// The sampler's time grid.
    pub times: Vec<f64>,
    /// Mean fraction of masked positions at each grid time (before the final argmax fill).
    pub mask_fraction: Vec<f64>,
}

/// `(t, masked fraction)` pairs along a sampler's grid, for plotting.
pub fn mask_curve(times: &[f64], mask_fraction: &[f64]) -> Vec<(f64, f64)> {
    times
        .iter()
        .copied()
        .zip(mask_fraction.iter().copied())
        .collect()
}

/// Draws one sequence per entry of `classes`.
pub fn sample<D: Denoiser + ?Sized>(
    model: &D,
    classes: &[u32],
    config: &SampleConfig,
    rng: &mut impl Rng,
) -> Result<Samples> {
    config.validate()?;
    let (d, v) = (model.seq_len(), model.vocab());
    let mask = v as u32;
    let n = classes.len();
    let mut tokens = vec![mask; n * d];
    let times = config.grid();
    let mut mask_fraction = vec![1.0];
    for step in times.windows(2) {
        let (t, s) = (step[0], step[1]);
        let (pc, pu) = model.denoise(&tokens, classes)?;
        for (pos, token) in tokens.iter_mut().enumerate() {
            if *token != mask {
                continue;
            }
            let range = pos * v..(pos + 1) * v;
            let ps = config.position_step(t, s, &pc[range.clone()], &pu[range]);
            if rng.random::<f64>() < ps.stay {
                continue;
            }
            *token = draw(&ps.destination, rng) as u32;
        }
        let masked = tokens.iter().filter(|&&x| x == mask).count();
        mask_fraction.push(masked as f64 / (n * d).max(1) as f64);
    }
    if tokens.contains(&mask) {
        let (pc, pu) = model.denoise(&tokens, classes)?;
        for (pos, token) in tokens.iter_mut().enumerate() {
            if *token == mask {
                let range = pos * v..(pos + 1) * v;
                *token = config.final_token(&pc[range.clone()], &pu[range]) as u32;
            }
        }
    }
    Ok(Samples {
        tokens,
        times,
        mask_fraction,
    })
}

/// Index drawn from a distribution (the last index absorbs rounding).
fn draw(p: &[f64], rng: &mut impl Rng) -> usize {
    let mut u = rng.random::<f64>() * p.iter().sum::<f64>();
    for (i, &pi) in p.iter().enumerate() {
        if u < pi {
            return i;
        }
        u -= pi;
    }
    p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}
