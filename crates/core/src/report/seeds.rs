//! Verdicts over seeds. A claim measured on several seeds holds when it holds on every seed,
//! or when the paired mean difference exceeds two standard errors; fewer than three seeds
//! never make a verdict hold.
//!
//! ```text
//! dᵢ = gain of the method over the baseline on seed i   (bᵢ − mᵢ when lower is better)
//! d̄ = mean dᵢ,  SE = sd(d) / √n
//! holds ⇔ n ≥ 3 ∧ (∀i dᵢ > 0  ∨  d̄ > 2·SE)
//! ```

use super::verdict::{Better, Verdict, mean_std, versus};
use crate::error::{Error, Result};

/// The fewest seeds a verdict may rest on.
pub const MIN_SEEDS: usize = 3;

/// The decision rule of the module doc on per-seed gains `d` (positive = the method wins).
/// Returns `(holds, mean, standard error, seeds won)`.
pub fn seed_rule(d: &[f64]) -> (bool, f64, f64, usize) {
    let (mean, sd) = mean_std(d);
    let se = sd / (d.len() as f64).sqrt();
    let won = d.iter().filter(|x| **x > 0.0).count();
    let finite = d.iter().all(|x| x.is_finite());
    let holds = finite && d.len() >= MIN_SEEDS && (won == d.len() || mean > 2.0 * se);
    (holds, mean, se, won)
}

/// Method vs baseline on one metric, measured on the same seeds: `pairs[i] = (method, baseline)`
/// on seed i. The margin is the mean relative gain `d̄ / |mean baseline|`.
pub fn paired(
    metric: &str,
    method_arm: &str,
    baseline_arm: &str,
    better: Better,
    pairs: &[(f64, f64)],
) -> Result<Verdict> {
    if pairs.is_empty() {
        return Err(Error::InvalidInput(format!(
            "verdict on `{metric}`: no seeds"
        )));
    }
    let d: Vec<f64> = pairs.iter().map(|&(m, b)| better.gain(m, b)).collect();
    let (holds, mean, se, won) = seed_rule(&d);
    let (m_mean, _) = mean_std(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
    let (b_mean, _) = mean_std(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
    let margin = mean / b_mean.abs().max(f64::MIN_POSITIVE);
    let n = pairs.len();
    Ok(Verdict {
        holds,
        margin,
        effect: versus(metric, m_mean, b_mean),
        detail: format!(
            "{method_arm} vs {baseline_arm} on {metric} ({} is better): better on {won}/{n} seeds, \
             paired mean gain {} ± {} SE{}",
            better.word(),
            sig3(mean),
            sig3(se),
            too_few(n),
        ),
        ..Verdict::on(metric, method_arm, baseline_arm)
    })
}

/// Combines per-seed verdicts of one comparison with the rule of the module doc, reading each
/// seed's gain from its margin.
pub fn across_seeds(per_seed: &[Verdict]) -> Result<Verdict> {
    let first = per_seed
        .first()
        .ok_or_else(|| Error::InvalidInput("no per-seed verdicts".into()))?;
    let margins: Vec<f64> = per_seed.iter().map(|v| v.margin).collect();
    let held = per_seed.iter().filter(|v| v.holds).count();
    let (rule_holds, mean, se, _) = seed_rule(&margins);
    let n = per_seed.len();
    let holds = n >= MIN_SEEDS && (held == n || rule_holds);
    Ok(Verdict {
        holds,
        margin: mean,
        effect: format!(
            "{}: better on {held}/{n} seeds, mean relative margin {:+.1}%",
            first.metric,
            100.0 * mean
        ),
        detail: format!(
            "holds on {held}/{n} seeds; margin {} ± {} SE{}",
            sig3(mean),
            sig3(se),
            too_few(n)
        ),
        ..Verdict::on(&first.metric, &first.method_arm, &first.baseline_arm)
    })
}

/// The warning a detail ends with when fewer than [`MIN_SEEDS`] seeds were measured.
fn too_few(n: usize) -> String {
    if n < MIN_SEEDS {
        format!("; only {n} seed(s), at least {MIN_SEEDS} needed")
    } else {
        String::new()
    }
}

/// `x` to about three significant digits (integers from 100 up), for verdict texts.
pub fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{x:.0}")
    } else {
        let decimals = (2 - a.log10().floor() as i32).clamp(0, 12) as usize;
        format!("{x:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_or_two_standard_errors() {
        // Every seed better: holds however small the gain.
        assert!(seed_rule(&[0.01, 0.02, 0.01]).0);
        // One seed worse but the mean is far beyond 2 SE: holds.
        let (holds, mean, se, won) = seed_rule(&[1.0, 1.1, 0.9, 1.0, -0.01]);
        assert!(holds && won == 4 && mean > 2.0 * se);
        // One seed worse and a noisy mean: does not hold.
        assert!(!seed_rule(&[0.5, 0.4, -0.6]).0);
        // Two seeds never suffice.
        assert!(!seed_rule(&[1.0, 1.0]).0);
        assert!(!seed_rule(&[1.0, f64::NAN, 1.0]).0);
    }

    #[test]
    fn paired_reads_the_direction() {
        let lower = [(1.0, 2.0), (1.5, 2.0), (1.0, 3.0)];
        let v = paired("fd", "new", "old", Better::Lower, &lower).unwrap();
        assert!(v.holds && v.margin > 0.0, "{v:?}");
        let v = paired("fd", "new", "old", Better::Higher, &lower).unwrap();
        assert!(!v.holds && v.margin < 0.0);
        let v = paired("fd", "new", "old", Better::Lower, &lower[..2]).unwrap();
        assert!(!v.holds && v.detail.contains("at least 3"), "{}", v.detail);
    }

    #[test]
    fn across_seeds_needs_three_seeds_and_reads_margins() {
        let v = |holds, margin| Verdict {
            holds,
            margin,
            metric: "fd".into(),
            ..Verdict::default()
        };
        assert!(!across_seeds(&[v(true, 0.1), v(true, 0.1)]).unwrap().holds);
        assert!(
            across_seeds(&[v(true, 0.1), v(true, 0.2), v(true, 0.1)])
                .unwrap()
                .holds
        );
        // One seed fails narrowly, the mean is far beyond 2 SE: holds.
        let many = [
            v(true, 1.0),
            v(true, 1.1),
            v(true, 0.9),
            v(true, 1.0),
            v(false, -0.01),
        ];
        assert!(across_seeds(&many).unwrap().holds);
        let noisy = [v(true, 0.5), v(true, 0.4), v(false, -0.6)];
        let verdict = across_seeds(&noisy).unwrap();
        assert!(
            !verdict.holds && verdict.detail.contains("2/3"),
            "{}",
            verdict.detail
        );
    }

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig3(2100.0), "2100");
        assert_eq!(sig3(173.2051), "173");
        assert_eq!(sig3(0.012345), "0.0123");
        assert_eq!(sig3(-1.23456), "-1.23");
        assert_eq!(sig3(0.0), "0");
    }
}
