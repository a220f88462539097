//! Exact mode: tiny problems with explicit probability tables, exact denoisers by enumeration,
//! and the exact output distribution of any sampler by dynamic programming over the partially
//! masked states — no learning and no sampling error.
//!
//! A problem has C classes with prior π_c and tables p(x | c) over the V^d clean sequences; the
//! unconditional model is p(x) = Σ_c π_c p(x | c). Masking is independent of x₀, so the exact
//! denoiser at a partially masked x_t is the table restricted to the sequences that agree with
//! x_t's clean positions, marginalised per masked position:
//!
//! ```text
//! p(x₀^ℓ = j | x_t, c) ∝ Σ_{x₀ ⊒ x_t, x₀^ℓ = j} p(x₀ | c)
//! ```
//!
//! (no time dependence). The DP pushes a distribution over the (V+1)^d states through each
//! sampler step, each masked position moving independently as [`SampleConfig::position_step`]
//! says; the cost per step is Σ_m C(d,m) V^{d−m} (V+1)^m = (2V+1)^d transitions.

use rand::Rng;
use rand_distr::{Distribution, Gamma};

use crate::sampler::{Denoiser, SampleConfig, Sampler};
use genlab_core::{Error, Result};

/// The most work [`ExactProblem::check_cost`] allows: about 6 s on one core (measured: a
/// 3^7-sequence table, 5.3·10⁸ operations at 32 steps, took 1.6 s of CPU under load).
pub const MAX_DP_OPERATIONS: f64 = 2e9;

/// Explicit class-conditional tables over V^d sequences.
#[derive(Debug, Clone)]
pub struct ExactProblem {
    /// Sequence length d.
    pub seq_len: usize,
    /// Vocabulary size V (clean tokens; V is MASK).
    pub vocab: usize,
    /// π_c.
    pub prior: Vec<f64>,
    /// p(x | c) for every class, indexed by [`ExactProblem::index`].
    pub tables: Vec<Vec<f64>>,
    /// p(x) = Σ_c π_c p(x | c).
    pub marginal: Vec<f64>,
}

impl ExactProblem {
    /// A problem from tables (each normalised here) and a class prior.
    pub fn new(
        seq_len: usize,
        vocab: usize,
        prior: Vec<f64>,
        tables: Vec<Vec<f64>>,
    ) -> Result<Self> {
        let size = vocab
            .checked_pow(seq_len as u32)
            .filter(|&s| s <= 1 << 16)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "exact mode needs V^d ≤ 65536, got {vocab}^{seq_len}"
                ))
            })?;
        if vocab == 0 || seq_len == 0 || prior.len() != tables.len() || prior.is_empty() {
            return Err(Error::InvalidInput(
                "exact problem needs V, d ≥ 1 and one table per class prior".into(),
            ));
        }
        let normalise = |p: &[f64], what: &str| -> Result<Vec<f64>> {
            let s: f64 = p.iter().sum();
            if p.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || s <= 0.0 {
                return Err(Error::InvalidInput(format!(
                    "{what} must be non-negative and not all 0"
                )));
            }
            Ok(p.iter().map(|x| x / s).collect())
        };
        let prior = normalise(&prior, "class prior")?;
        let tables = tables
            .iter()
            .map(|t| {
                if t.len() != size {
                    return Err(Error::InvalidInput(format!(
                        "a table has {} entries, expected {size}",
                        t.len()
                    )));
                }
                normalise(t, "a class table")
            })
            .collect::<Result<Vec<_>>>()?;
        let mut marginal = vec![0.0; size];
        for (pi, t) in prior.iter().zip(&tables) {
            for (m, p) in marginal.iter_mut().zip(t) {
                *m += pi * p;
            }
        }
        Ok(ExactProblem {
            seq_len,
            vocab,
            prior,
            tables,
            marginal,
        })
    }

    /// Random tables: each p(· | c) ~ Dirichlet(concentration) over V^d, uniform prior.
    pub fn random(
        seq_len: usize,
        vocab: usize,
        classes: usize,
        concentration: f64,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let gamma = Gamma::new(concentration, 1.0)
            .map_err(|e| Error::InvalidInput(format!("Dirichlet concentration: {e}")))?;
        let size = vocab.pow(seq_len as u32);
        let tables = (0..classes)
            // A floor keeps every table strictly positive, so p_u > 0 wherever p_c > 0.
            .map(|_| (0..size).map(|_| gamma.sample(rng) + 1e-12).collect())
            .collect();
        Self::new(seq_len, vocab, vec![1.0; classes], tables)
    }

    /// The dynamic program's work for `steps` sampler steps, counted in inner-loop operations:
    /// the exact denoiser of every partially masked state (each a pass over the V^d table, for
    /// the conditional and the unconditional model) plus each step's (2V+1)^d transitions.
    ///
    /// ```text
    /// ops = 2 d (V+1)^d V^d + steps (2V+1)^d
    /// ```
    pub fn dp_operations(&self, steps: usize) -> f64 {
        let (d, v) = (self.seq_len as i32, self.vocab as f64);
        2.0 * d as f64 * (v + 1.0).powi(d) * v.powi(d) + steps as f64 * (2.0 * v + 1.0).powi(d)
    }

    /// Refuses a dynamic program over [`MAX_DP_OPERATIONS`] (minutes of work or more), saying
    /// what to shrink.
    pub fn check_cost(&self, steps: usize) -> Result<()> {
        let ops = self.dp_operations(steps);
        if ops > MAX_DP_OPERATIONS {
            return Err(Error::InvalidInput(format!(
                "the exact distribution of {}^{} sequences over {steps} steps needs ≈ {ops:.1e} \
                 operations (limit {MAX_DP_OPERATIONS:.0e}): use fewer positions, tokens or steps",
                self.vocab, self.seq_len
            )));
        }
        Ok(())
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.tables.len()
    }

    /// Table index of a clean sequence (base-V digits, first position most significant).
    pub fn index(&self, x: &[u32]) -> usize {
        x.iter().fold(0, |acc, &t| acc * self.vocab + t as usize)
    }

    /// The clean sequence at table index `i`.
    pub fn sequence(&self, mut i: usize) -> Vec<u32> {
        let mut x = vec![0; self.seq_len];
        for l in (0..self.seq_len).rev() {
            x[l] = (i % self.vocab) as u32;
            i /= self.vocab;
        }
        x
    }

    /// The sequence-level tilted target p^(w)(x) ∝ p(x | c)^w p(x)^{1−w}.
    pub fn tilted_target(&self, class: usize, w: f64) -> Vec<f64> {
        crate::guidance::tilt(&self.tables[class], &self.marginal, w).destination
    }

    /// p(c | x) for every class.
    pub fn class_posterior(&self, x_index: usize) -> Vec<f64> {
        let joint: Vec<f64> = self
            .prior
            .iter()
            .zip(&self.tables)
            .map(|(pi, t)| pi * t[x_index])
            .collect();
        let s: f64 = joint.iter().sum();
        joint
            .into_iter()
            .map(|p| p / s.max(f64::MIN_POSITIVE))
            .collect()
    }

    /// Per-position posterior marginals (d × V) of `table` given the partially masked `x_t`.
    fn posterior_marginals(&self, x_t: &[u32], table: &[f64]) -> Vec<f64> {
        let (d, v) = (self.seq_len, self.vocab);
        let mut out = vec![0.0; d * v];
        for (i, &p) in table.iter().enumerate() {
            if p == 0.0 {
                continue;
            }
            let x0 = self.sequence(i);
            if x_t.iter().zip(&x0).any(|(&a, &b)| a != v as u32 && a != b) {
                continue;
            }
            for (l, &tok) in x0.iter().enumerate() {
                out[l * v + tok as usize] += p;
            }
        }
        for row in out.chunks_mut(v) {
            let s: f64 = row.iter().sum();
            if s > 0.0 {
                row.iter_mut().for_each(|p| *p /= s);
            }
        }
        out
    }
}

impl Denoiser for ExactProblem {
    fn vocab(&self) -> usize {
        self.vocab
    }

    fn seq_len(&self) -> usize {
        self.seq_len
    }

    fn denoise(&self, tokens: &[u32], classes: &[u32]) -> Result<(Vec<f64>, Vec<f64>)> {
        let d = self.seq_len;
        let (mut pc, mut pu) = (Vec::new(), Vec::new());
        for (x, &c) in tokens.chunks(d).zip(classes) {
            let table = self.tables.get(c as usize).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "class {c} out of range (problem has {})",
                    self.classes()
                ))
            })?;
            pc.extend(self.posterior_marginals(x, table));
            pu.extend(self.posterior_marginals(x, &self.marginal));
        }
        Ok((pc, pu))
    }
}

/// The exact outcome of a sampler on an [`ExactProblem`].
#[derive(Debug, Clone)]
pub struct ExactRun {
    /// Probability of every clean sequence (indexed as the problem's tables).
    pub distribution: Vec<f64>,
    /// The sampler's grid.
    pub times: Vec<f64>,
    /// Expected fraction of masked positions at each grid time.
    pub mask_fraction: Vec<f64>,
}

/// The exact output distribution of `config` for class `class`, by dynamic programming.
pub fn exact_distribution(
    problem: &ExactProblem,
    class: usize,
    config: &SampleConfig,
) -> Result<ExactRun> {
    config.validate()?;
    if class >= problem.classes() {
        return Err(Error::InvalidInput(format!("class {class} out of range")));
    }
    let (d, v) = (problem.seq_len, problem.vocab);
    let mask = v as u32;
    let base = v + 1;
    let n_states = base.pow(d as u32);
    let decode = |mut i: usize| -> Vec<u32> {
        let mut x = vec![0; d];
        for l in (0..d).rev() {
            x[l] = (i % base) as u32;
            i /= base;
        }
        x
    };
    let encode = |x: &[u32]| x.iter().fold(0, |acc, &t| acc * base + t as usize);
    // The exact denoiser does not depend on t: cache it per state.
    let mut cache: Vec<Option<(Vec<f64>, Vec<f64>)>> = vec![None; n_states];
    let mut denoise = |state: usize, x: &[u32]| -> Result<(Vec<f64>, Vec<f64>)> {
        if cache[state].is_none() {
            cache[state] = Some(problem.denoise(x, &[class as u32])?);
        }
        Ok(cache[state].clone().expect("filled above"))
    };

    let mut dist = vec![0.0; n_states];
    dist[n_states - 1] = 1.0; // all MASK
    let times = config.grid();
    let masked_fraction = |dist: &[f64]| -> f64 {
        dist.iter()
            .enumerate()
            .filter(|(_, p)| **p > 0.0)
            .map(|(i, p)| p * decode(i).iter().filter(|&&t| t == mask).count() as f64)
            .sum::<f64>()
            / d as f64
    };
    let mut mask_fraction = vec![masked_fraction(&dist)];
    for step in times.windows(2) {
        let (t, s) = (step[0], step[1]);
        let mut next = vec![0.0; n_states];
        for (state, &mass) in dist.iter().enumerate() {
            if mass == 0.0 {
                continue;
            }
            let x = decode(state);
            if !x.contains(&mask) {
                next[state] += mass;
                continue;
            }
            let (pc, pu) = denoise(state, &x)?;
            let mut outcomes = vec![(x.clone(), mass)];
            for l in (0..d).filter(|&l| x[l] == mask) {
                let ps =
                    config.position_step(t, s, &pc[l * v..(l + 1) * v], &pu[l * v..(l + 1) * v]);
                let mut expanded = Vec::with_capacity(outcomes.len() * base);
                for (y, m) in outcomes {
                    if ps.stay > 0.0 {
                        expanded.push((y.clone(), m * ps.stay));
                    }
                    for (j, &pj) in ps.destination.iter().enumerate() {
                        let p = m * (1.0 - ps.stay) * pj;
                        if p > 0.0 {
                            let mut z = y.clone();
                            z[l] = j as u32;
                            expanded.push((z, p));
                        }
                    }
                }
                outcomes = expanded;
            }
            for (y, m) in outcomes {
                next[encode(&y)] += m;
            }
        }
        dist = next;
        mask_fraction.push(masked_fraction(&dist));
    }
    // τ-leaping's final argmax fill (the ancestral grid ends with nothing masked).
    let mut distribution = vec![0.0; problem.tables[0].len()];
    for (state, &mass) in dist.iter().enumerate() {
        if mass == 0.0 {
            continue;
        }
        let mut x = decode(state);
        if x.contains(&mask) {
            debug_assert_eq!(config.sampler, Sampler::TauLeaping);
            let (pc, pu) = denoise(state, &x)?;
            for l in 0..d {
                if x[l] == mask {
                    x[l] =
                        config.final_token(&pc[l * v..(l + 1) * v], &pu[l * v..(l + 1) * v]) as u32;
                }
            }
        }
        distribution[problem.index(&x)] += mass;
    }
    Ok(ExactRun {
        distribution,
        times,
        mask_fraction,
    })
}

/// Total variation distance ½ Σ |p − q|.
pub fn total_variation(p: &[f64], q: &[f64]) -> f64 {
    0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guidance::Rule;
    use crate::noise::NoiseSchedule;
    use crate::sampler::sample;
    use crate::schedule::GuidanceSchedule;
    use rand::SeedableRng;

    fn problem(d: usize, v: usize, seed: u64) -> ExactProblem {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        ExactProblem::random(d, v, 3, 0.5, &mut rng).unwrap()
    }

    fn config(sampler: Sampler, rule: Rule, w: f64, steps: usize) -> SampleConfig {
        SampleConfig {
            sampler,
            rule,
            schedule: GuidanceSchedule::Constant { w },
            steps,
            noise: NoiseSchedule::default(),
        }
    }

    #[test]
    fn denoiser_marginals_by_hand() {
        // d = 2, V = 2, one class: p(00) = .1, p(01) = .2, p(10) = .3, p(11) = .4.
        let p = ExactProblem::new(2, 2, vec![1.0], vec![vec![0.1, 0.2, 0.3, 0.4]]).unwrap();
        let (pc, _) = p.denoise(&[2, 2], &[0]).unwrap();
        let expect = [0.3, 0.7, 0.4, 0.6];
        for (a, b) in pc.iter().zip(expect) {
            assert!((a - b).abs() < 1e-12);
        }
        // Given x¹ = 1: p(x⁰ = 0 | x¹ = 1) = .2 / .6.
        let (pc, _) = p.denoise(&[2, 1], &[0]).unwrap();
        assert!((pc[0] - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn at_w_one_every_rule_is_conditional_sampling() {
        let p = problem(2, 4, 1);
        let reference = exact_distribution(
            &p,
            0,
            &config(Sampler::Ancestral, Rule::Normalized, 1.0, 12),
        )
        .unwrap();
        for rule in Rule::ALL {
            let run =
                exact_distribution(&p, 0, &config(Sampler::Ancestral, rule, 1.0, 12)).unwrap();
            assert!(
                total_variation(&run.distribution, &reference.distribution) < 1e-12,
                "{rule:?}"
            );
        }
        // and with many steps the conditional sampler approaches p(x | c) itself.
        let fine = exact_distribution(
            &p,
            0,
            &config(Sampler::Ancestral, Rule::Normalized, 1.0, 2000),
        )
        .unwrap();
        assert!(total_variation(&fine.distribution, &p.tables[0]) < 2e-3);
    }

    #[test]
    fn in_one_dimension_the_normalized_sampler_gives_the_tilted_target_exactly() {
        let p = problem(1, 8, 2);
        for (steps, w) in [(1, 3.0), (8, 2.0), (64, 4.0)] {
            let run = exact_distribution(
                &p,
                1,
                &config(Sampler::Ancestral, Rule::Normalized, w, steps),
            )
            .unwrap();
            let tv = total_variation(&run.distribution, &p.tilted_target(1, w));
            assert!(tv < 1e-12, "steps {steps}, w {w}: TV {tv}");
        }
    }

    #[test]
    fn normalized_mask_fraction_is_the_unguided_curve() {
        let p = problem(3, 4, 3);
        let cfg = config(Sampler::Ancestral, Rule::Normalized, 4.0, 16);
        let run = exact_distribution(&p, 2, &cfg).unwrap();
        for (t, m) in run.times.iter().zip(&run.mask_fraction) {
            // Starting fully masked at t = 1: m(t) = (1 − α_t)/(1 − α_1).
            let unguided = (1.0 - cfg.noise.alpha(*t)) / (1.0 - cfg.noise.alpha(1.0));
            assert!((m - unguided).abs() < 1e-9, "t {t}: {m} vs {unguided}");
        }
    }

    #[test]
    fn unlocking_mask_fraction_matches_its_closed_form_in_one_dimension() {
        // m(t) = ((1 − α_t)/(1 − α_1))^{Z_w}.
        let p = problem(1, 6, 4);
        let w = 3.0;
        let cfg = config(Sampler::Ancestral, Rule::Unlocking, w, 20);
        let run = exact_distribution(&p, 0, &cfg).unwrap();
        let z = crate::guidance::tilt(&p.tables[0], &p.marginal, w).z;
        assert!(z > 1.0);
        for (t, m) in run.times.iter().zip(&run.mask_fraction) {
            let closed = ((1.0 - cfg.noise.alpha(*t)) / (1.0 - cfg.noise.alpha(1.0))).powf(z);
            assert!((m - closed).abs() < 1e-9, "t {t}: {m} vs {closed}");
        }
    }

    #[test]
    fn monte_carlo_sampler_agrees_with_the_dynamic_program() {
        let p = problem(2, 3, 5);
        for (sampler, rule) in [
            (Sampler::Ancestral, Rule::Simple),
            (Sampler::TauLeaping, Rule::Unlocking),
        ] {
            let cfg = config(sampler, rule, 2.5, 6);
            let exact = exact_distribution(&p, 1, &cfg).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
            let n = 20_000;
            let s = sample(&p, &vec![1; n], &cfg, &mut rng).unwrap();
            let mut hist = vec![0.0; 9];
            for x in s.tokens.chunks(2) {
                hist[p.index(x)] += 1.0 / n as f64;
            }
            let tv = total_variation(&hist, &exact.distribution);
            assert!(tv < 0.03, "{sampler:?} {rule:?}: TV {tv}");
            for (a, b) in s.mask_fraction.iter().zip(&exact.mask_fraction) {
                assert!((a - b).abs() < 0.02);
            }
        }
    }

    #[test]
    fn the_cost_bound_counts_the_dynamic_program() {
        let p = problem(2, 3, 0);
        // 2·2·4²·3² + 10·7² = 576 + 490.
        assert_eq!(p.dp_operations(10), 1066.0);
        assert!(p.check_cost(MAX_STEPS_FOR_TEST).is_ok());
        let big = ExactProblem::new(4, 16, vec![1.0], vec![vec![1.0; 1 << 16]]).unwrap();
        let err = big.check_cost(32).unwrap_err().to_string();
        assert!(
            err.contains("16^4 sequences") && err.contains("limit 2e9"),
            "{err}"
        );
    }

    const MAX_STEPS_FOR_TEST: usize = crate::sampler::MAX_STEPS;

    #[test]
    fn bad_problems_are_rejected() {
        assert!(ExactProblem::new(2, 2, vec![1.0], vec![vec![1.0; 3]]).is_err());
        assert!(ExactProblem::new(2, 2, vec![1.0], vec![vec![-1.0, 1.0, 1.0, 1.0]]).is_err());
        assert!(ExactProblem::new(20, 8, vec![1.0], vec![vec![]]).is_err());
        let p = problem(1, 3, 0);
        assert!(
            exact_distribution(&p, 7, &config(Sampler::Ancestral, Rule::Simple, 2.0, 4)).is_err()
        );
        assert!(
            exact_distribution(&p, 0, &config(Sampler::TauLeaping, Rule::Simple, 2.0, 4)).is_err()
        );
    }
}
