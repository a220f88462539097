//! The exact part's measurements: no learning and no sampling error, every number computed by
//! [`exact_distribution`] (dynamic programming over the sampler's states) on random Dirichlet
//! tables.
//!
//! ```text
//! mask gap            mean over the grid of m_unguided(t) − m_rule(t)  (> 0: unmasks early)
//! finite-step error   TV(rule with N steps, same rule with N_ref steps)
//! class posterior     E_{x ~ sampler}[p(c | x)]
//! TV to p(·|c), TV to the sequence-level tilt p^(w)(x) ∝ p(x|c)^w p(x)^{1−w}
//! ```
//!
//! Every number is averaged over the problem's classes. The unguided curve is the w = 1 run of
//! the same sampler and step count (all rules coincide there).

use genlab_core::Result;
use genlab_core::report::LineSeries;
use genlab_core::train::Observer;

use crate::exact::{ExactProblem, ExactRun, exact_distribution, total_variation};
use crate::guidance::Rule;
use crate::noise::NoiseSchedule;
use crate::sampler::{SampleConfig, Sampler, mask_curve};
use crate::schedule::GuidanceSchedule;

/// What the exact part sweeps.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ExactSizes {
    /// Sequence length d of the main problem.
    pub seq_len: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// Number of classes.
    pub classes: usize,
    /// Dirichlet concentration of the random tables p(x | c).
    pub concentration: f64,
    /// Guidance strengths.
    pub ws: &'static [f64],
    /// Sampler step counts.
    pub steps: &'static [usize],
    /// Steps of the continuous-time stand-in the finite-step error is measured against.
    pub reference_steps: usize,
    /// Steps of the schedule comparison.
    pub schedule_steps: usize,
    /// Mean strength ∫w dt of the schedule comparison.
    pub schedule_mean_w: f64,
}

/// One (sampler, rule, w, steps) cell; every number is averaged over classes.
#[derive(Debug, Clone)]
pub struct ExactRow {
    /// Ancestral or τ-leaping.
    pub sampler: Sampler,
    /// The guidance rule.
    pub rule: Rule,
    /// Guidance strength.
    pub w: f64,
    /// Sampler steps.
    pub steps: usize,
    /// Mean over the time grid of m_unguided(t) − m_rule(t).
    pub mask_gap_mean: f64,
    /// Largest |m_unguided(t) − m_rule(t)|.
    pub mask_gap_max_abs: f64,
    /// TV to the same rule at the reference step count.
    pub finite_step_tv: f64,
    /// E_{x ~ sampler}[p(c | x)].
    pub class_posterior: f64,
    /// TV to p(· | c).
    pub tv_conditional: f64,
    /// TV to the tilt p^(w).
    pub tv_tilted: f64,
}

/// The (sampler, rule) pairs that are defined.
pub fn combinations() -> Vec<(Sampler, Rule)> {
    let mut out: Vec<(Sampler, Rule)> =
        Rule::ALL.iter().map(|&r| (Sampler::Ancestral, r)).collect();
    out.extend([
        (Sampler::TauLeaping, Rule::Unlocking),
        (Sampler::TauLeaping, Rule::Normalized),
    ]);
    out
}

fn config(sampler: Sampler, rule: Rule, schedule: GuidanceSchedule, steps: usize) -> SampleConfig {
    SampleConfig {
        sampler,
        rule,
        schedule,
        steps,
        noise: NoiseSchedule::default(),
    }
}

fn per_class(problem: &ExactProblem, cfg: &SampleConfig) -> Result<Vec<ExactRun>> {
    (0..problem.classes())
        .map(|c| exact_distribution(problem, c, cfg))
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// E_{x ~ run}[p(c | x)].
fn class_posterior(problem: &ExactProblem, class: usize, run: &ExactRun) -> f64 {
    run.distribution
        .iter()
        .enumerate()
        .map(|(i, p)| p * problem.class_posterior(i)[class])
        .sum()
}

/// The class posterior of each class's run, averaged over classes.
fn mean_class_posterior(problem: &ExactProblem, runs: &[ExactRun]) -> f64 {
    mean(
        runs.iter()
            .enumerate()
            .map(|(c, r)| class_posterior(problem, c, r)),
    )
}

/// TV between each class's run and p(· | c), averaged over classes.
fn mean_tv_conditional(problem: &ExactProblem, runs: &[ExactRun]) -> f64 {
    mean(
        runs.iter()
            .enumerate()
            .map(|(c, r)| total_variation(&r.distribution, &problem.tables[c])),
    )
}

/// The full sweep on one problem.
pub fn sweep(
    problem: &ExactProblem,
    sizes: &ExactSizes,
    observer: &mut dyn Observer,
) -> Result<Vec<ExactRow>> {
    let combos = combinations();
    observer.start(
        "exact mode: dynamic programming",
        (combos.len() * sizes.ws.len()) as u64,
    );
    let mut rows = Vec::new();
    let mut done = 0;
    for &(sampler, rule) in &combos {
        for &w in sizes.ws {
            let schedule = GuidanceSchedule::Constant { w };
            let reference = per_class(
                problem,
                &config(sampler, rule, schedule, sizes.reference_steps),
            )?;
            for &steps in sizes.steps {
                let runs = per_class(problem, &config(sampler, rule, schedule, steps))?;
                let unguided = per_class(
                    problem,
                    &config(
                        sampler,
                        Rule::Normalized,
                        GuidanceSchedule::Constant { w: 1.0 },
                        steps,
                    ),
                )?;
                let gaps: Vec<Vec<f64>> = runs
                    .iter()
                    .zip(&unguided)
                    .map(|(r, u)| {
                        u.mask_fraction
                            .iter()
                            .zip(&r.mask_fraction)
                            .map(|(a, b)| a - b)
                            .collect()
                    })
                    .collect();
                rows.push(ExactRow {
                    sampler,
                    rule,
                    w,
                    steps,
                    mask_gap_mean: mean(gaps.iter().map(|g| mean(g.iter().copied()))),
                    mask_gap_max_abs: gaps.iter().flatten().fold(0.0, |m: f64, g| m.max(g.abs())),
                    finite_step_tv: mean(
                        runs.iter()
                            .zip(&reference)
                            .map(|(r, f)| total_variation(&r.distribution, &f.distribution)),
                    ),
                    class_posterior: mean_class_posterior(problem, &runs),
                    tv_conditional: mean_tv_conditional(problem, &runs),
                    tv_tilted: mean(runs.iter().enumerate().map(|(c, r)| {
                        total_variation(&r.distribution, &problem.tilted_target(c, w))
                    })),
                });
            }
            done += 1;
            observer.step(done, &[]);
        }
    }
    observer.finish();
    Ok(rows)
}

/// Mask-fraction curves (t, m) of the unguided sampler and each ancestral rule, class 0.
pub fn mask_curves(problem: &ExactProblem, w: f64, steps: usize) -> Result<Vec<LineSeries>> {
    let unguided = ("unguided (w = 1)".to_string(), Rule::Normalized, 1.0);
    let guided = Rule::ALL.map(|rule| (format!("{} (w = {w})", rule.name()), rule, w));
    std::iter::once(unguided)
        .chain(guided)
        .map(|(label, rule, w)| {
            let schedule = GuidanceSchedule::Constant { w };
            let run = exact_distribution(
                problem,
                0,
                &config(Sampler::Ancestral, rule, schedule, steps),
            )?;
            Ok(LineSeries {
                label,
                points: mask_curve(&run.times, &run.mask_fraction),
            })
        })
        .collect()
}

/// One schedule's outcome at equal mean strength, averaged over classes.
#[derive(Debug, Clone)]
pub struct ScheduleRow {
    /// The schedule's name in the report.
    pub name: &'static str,
    /// E_{x ~ sampler}[p(c | x)].
    pub class_posterior: f64,
    /// TV to p(· | c).
    pub tv_conditional: f64,
}

/// Constant vs ramp-up vs ramp-down vs cosine vs a late interval, all with ∫w dt = `mean_w`,
/// normalised rule, ancestral sampler.
pub fn schedules(problem: &ExactProblem, mean_w: f64, steps: usize) -> Result<Vec<ScheduleRow>> {
    // The late interval [0, 1/3] guides three times as hard to keep the same mean.
    let all = [
        ("constant", GuidanceSchedule::Constant { w: mean_w }),
        ("ramp-up", GuidanceSchedule::RampUp { w: mean_w }),
        ("cosine", GuidanceSchedule::Cosine { w: mean_w }),
        (
            "interval [0, 1/3]",
            GuidanceSchedule::Interval {
                w: 1.0 + 3.0 * (mean_w - 1.0),
                left: 0.0,
                right: 1.0 / 3.0,
            },
        ),
        ("ramp-down", GuidanceSchedule::RampDown { w: mean_w }),
    ];
    all.into_iter()
        .map(|(name, schedule)| {
            let runs = per_class(
                problem,
                &config(Sampler::Ancestral, Rule::Normalized, schedule, steps),
            )?;
            Ok(ScheduleRow {
                name,
                class_posterior: mean_class_posterior(problem, &runs),
                tv_conditional: mean_tv_conditional(problem, &runs),
            })
        })
        .collect()
}

/// d = 1: TV between each (sampler, rule)'s output and p^(w), averaged over classes.
pub fn one_dimensional(
    problem: &ExactProblem,
    ws: &[f64],
    steps: usize,
) -> Result<Vec<(Sampler, Rule, f64, f64)>> {
    let mut out = Vec::new();
    for (sampler, rule) in combinations() {
        for &w in ws {
            let runs = per_class(
                problem,
                &config(sampler, rule, GuidanceSchedule::Constant { w }, steps),
            )?;
            let tv = mean(
                runs.iter()
                    .enumerate()
                    .map(|(c, r)| total_variation(&r.distribution, &problem.tilted_target(c, w))),
            );
            out.push((sampler, rule, w, tv));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::NoObserver;
    use rand::SeedableRng;

    #[test]
    fn sweep_shows_the_inflated_rules_unmasking_early_and_normalized_not() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let problem = ExactProblem::random(2, 4, 3, 0.5, &mut rng).unwrap();
        let scale = ExactSizes {
            seq_len: 2,
            vocab: 4,
            classes: 3,
            concentration: 0.5,
            ws: &[1.0, 3.0],
            steps: &[8],
            reference_steps: 64,
            schedule_steps: 8,
            schedule_mean_w: 3.0,
        };
        let rows = sweep(&problem, &scale, &mut NoObserver).unwrap();
        assert_eq!(rows.len(), combinations().len() * 2);
        for r in &rows {
            if r.w == 1.0 || r.rule == Rule::Normalized {
                assert!(r.mask_gap_max_abs < 1e-9, "{r:?}");
            } else {
                assert!(r.mask_gap_mean > 1e-3, "{r:?}");
            }
        }
    }
}
