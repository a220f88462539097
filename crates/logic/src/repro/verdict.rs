//! The verdict: every arm that compared worlds (it has `disagreements`) must have 0
//! disagreements over a positive number of worlds. The comparisons are exact and
//! deterministic, so one measurement per arm decides; there is no seed statistic to apply.

use genlab_core::report::{self, Arms, Verdict};
use genlab_core::{Error, Result};

/// "0 disagreements over > 0 worlds" for one arm; margin = agreement rate − 1 (0 when exact,
/// negative otherwise).
fn exact(arms: &Arms, name: &str) -> Result<Verdict> {
    let a = arms
        .get(name)
        .ok_or_else(|| Error::InvalidInput(format!("verdict: no arm `{name}`")))?;
    let read = |metric: &str| {
        a.get(metric).copied().ok_or_else(|| {
            Error::InvalidInput(format!("verdict: arm `{name}` has no metric `{metric}`"))
        })
    };
    let (worlds, bad) = (read("worlds")? as u64, read("disagreements")? as u64);
    Ok(Verdict {
        holds: bad == 0 && worlds > 0,
        metric: "disagreements".into(),
        method_arm: name.into(),
        baseline_arm: "exact agreement".into(),
        margin: if bad == 0 {
            0.0
        } else {
            -(bad as f64) / worlds.max(1) as f64
        },
        effect: format!("{bad} disagreements in {worlds} worlds"),
        detail: format!("{name}: {bad} disagreements on {worlds} worlds"),
    })
}

/// All arms with `disagreements`, each exact; the effect sums them.
pub(super) fn exact_everywhere(arms: &Arms) -> Result<Verdict> {
    let checked: Vec<&String> = arms
        .iter()
        .filter(|(_, metrics)| metrics.contains_key("disagreements"))
        .map(|(name, _)| name)
        .collect();
    let parts = checked
        .iter()
        .map(|name| exact(arms, name))
        .collect::<Result<Vec<_>>>()?;
    let total =
        |metric: &str| -> u64 { checked.iter().map(|name| arms[*name][metric] as u64).sum() };
    let mut verdict = report::all_of("0 disagreements on every compared node", parts);
    verdict.effect = format!(
        "{} disagreements in {} compared worlds ({} comparisons)",
        total("disagreements"),
        total("worlds"),
        checked.len()
    );
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn arms(rows: &[(&str, f64, f64)]) -> Arms {
        rows.iter()
            .map(|&(name, worlds, bad)| {
                let metrics =
                    BTreeMap::from([("worlds".into(), worlds), ("disagreements".into(), bad)]);
                (name.to_string(), metrics)
            })
            .collect()
    }

    #[test]
    fn exact_verdict_reads_the_arm() {
        let arms = arms(&[("a", 10.0, 0.0), ("b", 10.0, 1.0), ("c", 0.0, 0.0)]);
        assert!(exact(&arms, "a").unwrap().holds);
        assert!(!exact(&arms, "b").unwrap().holds);
        assert!(
            !exact(&arms, "c").unwrap().holds,
            "nothing compared proves nothing"
        );
        assert!(exact(&arms, "z").is_err());
    }

    #[test]
    fn one_disagreement_anywhere_fails_and_is_the_headline() {
        let mut all = arms(&[("a", 10.0, 0.0), ("b", 20.0, 2.0)]);
        all.insert("timing".into(), BTreeMap::from([("seconds".into(), 1.0)]));
        let v = exact_everywhere(&all).unwrap();
        assert!(!v.holds);
        assert_eq!(v.method_arm, "b");
        assert_eq!(
            v.effect,
            "2 disagreements in 30 compared worlds (2 comparisons)"
        );
        let v = exact_everywhere(&arms(&[("a", 10.0, 0.0), ("b", 5.0, 0.0)])).unwrap();
        assert!(v.holds && v.margin == 0.0);
        assert!(!exact_everywhere(&Arms::new()).unwrap().holds);
    }
}
