//! The verdict parts, each computed with `genlab_core::report` over the seeds' paired arms.

use genlab_core::Result;
use genlab_core::report::{Better, Verdict, paired, sig3};

use super::arms::{ARMS, Measured};

/// Index of the arm called `name` in [`ARMS`].
pub(super) fn arm(name: &str) -> usize {
    ARMS.iter()
        .position(|a| a.name == name)
        .expect("a known arm")
}

/// `method` better than `baseline` on `metric` over the seeds (`per_seed[s][arm]`), the arms
/// named `{part} {arm}` in the report.
pub(super) fn method_vs(
    part: &str,
    per_seed: &[Vec<Measured>],
    metric: &str,
    method: &str,
    baseline: &str,
) -> Result<Verdict> {
    let pairs: Vec<(f64, f64)> = per_seed
        .iter()
        .map(|arms| {
            (
                arms[arm(method)].get(metric),
                arms[arm(baseline)].get(metric),
            )
        })
        .collect();
    paired(
        metric,
        &format!("{part} {method}"),
        &format!("{part} {baseline}"),
        Better::Higher,
        &pairs,
    )
}

/// `metric` of `method` above zero over the seeds (a correlation that should be positive).
/// The decision is [`paired`]'s against a zero baseline; the margin is reported as the mean
/// correlation itself (a relative margin over 0 is meaningless).
pub(super) fn positive(
    part: &str,
    per_seed: &[Vec<Measured>],
    metric: &str,
    method: &str,
) -> Result<Verdict> {
    let values: Vec<f64> = per_seed
        .iter()
        .map(|arms| arms[arm(method)].get(metric))
        .collect();
    let pairs: Vec<(f64, f64)> = values.iter().map(|&v| (v, 0.0)).collect();
    let mut v = paired(
        metric,
        &format!("{part} {method}"),
        "no correlation (ρ = 0)",
        Better::Higher,
        &pairs,
    )?;
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    v.margin = mean;
    v.effect = format!(
        "{metric} = {} (mean over {} seeds; > 0 claimed)",
        sig3(mean),
        values.len()
    );
    Ok(v)
}
