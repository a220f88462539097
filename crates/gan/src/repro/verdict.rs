//! The verdict and the class-count trend, computed from the per-seed arms.
//!
//! ```text
//! headline   at N_max, sona vs projection, paired over seeds (core::report::paired):
//!            accuracy higher ∧ per-class energy distance lower ∧ failed classes fewer
//! trend      for each N: mean ± s.e. over seeds of the paired gaps (sona − projection) in
//!            accuracy and NF; "grows with N" when the accuracy gap increases with N
//! ```

use genlab_core::Result;
use genlab_core::report::{Arms, Better, Verdict, all_of, paired, sig3};

use super::{Task, arm, mean_se};
use crate::heads::Head;

/// `(sona, projection)` of `metric` at `task` on every seed that measured both.
fn pairs(per_seed: &[Arms], task: Task, metric: &str) -> Vec<(f64, f64)> {
    let (m, b) = (arm(task, Head::Sona), arm(task, Head::Projection));
    per_seed
        .iter()
        .filter_map(|a| Some((*a.get(&m)?.get(metric)?, *a.get(&b)?.get(metric)?)))
        .collect()
}

/// The headline verdict at the largest class count.
pub(super) fn headline(per_seed: &[Arms], largest: usize) -> Result<Verdict> {
    let task = Task::Ring(largest);
    let (m, b) = (arm(task, Head::Sona), arm(task, Head::Projection));
    let parts = [
        ("accuracy", Better::Higher),
        ("class_distance", Better::Lower),
        ("failed", Better::Lower),
    ]
    .into_iter()
    .map(|(metric, better)| paired(metric, &m, &b, better, &pairs(per_seed, task, metric)))
    .collect::<Result<Vec<_>>>()?;
    Ok(all_of(
        &format!("SONA beats the projection discriminator at N = {largest}"),
        parts,
    ))
}

/// The per-N gaps and whether the accuracy gap grows with N, as a sentence for the report.
pub(super) fn trend(per_seed: &[Arms], classes: &[usize]) -> String {
    let mut sorted = classes.to_vec();
    sorted.sort_unstable();
    let gap = |n: usize, metric: &str| {
        let d: Vec<f64> = pairs(per_seed, Task::Ring(n), metric)
            .iter()
            .map(|(m, b)| m - b)
            .collect();
        mean_se(&d)
    };
    let acc: Vec<(f64, f64)> = sorted.iter().map(|&n| gap(n, "accuracy")).collect();
    let parts: Vec<String> = sorted
        .iter()
        .zip(&acc)
        .map(|(&n, &(a, se))| {
            let (nf, nf_se) = gap(n, "failed");
            format!(
                "N = {n}: accuracy {} ± {} s.e., NF {} ± {}",
                signed(a),
                sig3(se),
                signed(nf),
                sig3(nf_se)
            )
        })
        .collect();
    let grows = acc.windows(2).all(|w| w[1].0 > w[0].0);
    let (last, last_se) = acc.last().copied().unwrap_or((f64::NAN, f64::NAN));
    format!(
        "Class-count trend (SONA − projection, paired over seeds): {}. The mean accuracy gap {} \
         with N, and at the largest N it is {} 2 s.e. (the paper: SONA's advantage grows with \
         the number of classes).",
        parts.join("; "),
        if grows {
            "grows"
        } else {
            "does not grow monotonically"
        },
        if last > 2.0 * last_se {
            "beyond"
        } else {
            "within"
        }
    )
}

/// `x` with an explicit sign.
fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", sig3(x))
    } else {
        sig3(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Seeds where SONA has accuracy `gain` above projection and one fewer failed class.
    fn per_seed(n: usize, gain: f64) -> Vec<Arms> {
        (0..n)
            .map(|s| {
                let mut arms = Arms::new();
                for (head, acc, nf, ed) in [
                    (Head::Sona, 0.7 + gain, 1.0, 0.1),
                    (Head::Projection, 0.7, 2.0, 0.2),
                ] {
                    let m = BTreeMap::from([
                        ("accuracy".into(), acc + 0.01 * s as f64),
                        ("failed".into(), nf),
                        ("class_distance".into(), ed),
                    ]);
                    arms.insert(arm(Task::Ring(50), head), m.clone());
                    let mut small = m;
                    small.insert("accuracy".into(), 0.9);
                    arms.insert(arm(Task::Ring(8), head), small);
                }
                arms
            })
            .collect()
    }

    #[test]
    fn holds_only_when_every_part_holds_on_three_seeds() {
        assert!(headline(&per_seed(3, 0.1), 50).unwrap().holds);
        let v = headline(&per_seed(3, -0.1), 50).unwrap();
        assert!(!v.holds && v.detail.contains("accuracy"), "{v:?}");
        assert!(
            !headline(&per_seed(2, 0.1), 50).unwrap().holds,
            "two seeds never suffice"
        );
    }

    #[test]
    fn trend_reports_a_growing_gap() {
        let t = trend(&per_seed(3, 0.1), &[50, 8]);
        assert!(
            t.contains("N = 8: accuracy +0") && t.contains("grows with N"),
            "{t}"
        );
        let t = trend(&per_seed(3, -0.1), &[8, 50]);
        assert!(t.contains("does not grow"), "{t}");
    }
}
