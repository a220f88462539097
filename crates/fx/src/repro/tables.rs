//! The report's tables: every arm overall, by true chain length, per effect and per held-out
//! source on the base seed, and the verdict's numbers on every seed. Counts are integers,
//! everything else about three significant digits.

use genlab_core::report::{Table, sig3};

use super::measure::ArmScores;
use super::verdict::{MRSTFT, ORDER};
use super::{MAX_EFFECTS, SeedRun, TIER2, TIER3};
use crate::engine::spec::EFFECTS;
use crate::estimate::metrics::{per_effect, summarise};

/// A metric cell: three significant digits, `–` when undefined.
fn cell(v: f64) -> String {
    if v.is_finite() { sig3(v) } else { "–".into() }
}

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|c| c.to_string()).collect()
}

/// Every arm on every held-out pair.
pub(super) fn overall(all: &[ArmScores]) -> Table {
    Table {
        title: "Held-out pairs, all N (micro presence P/R/F1; ρ, τ over common effects; exact order over N ≥ 2)".into(),
        columns: columns(&[
            "arm", "valid", "P", "R", "F1", "exact set", "ρ", "τ", "exact order N≥2", "param MAE",
            "MRSTFT", "s / pair",
        ]),
        rows: all
            .iter()
            .map(|arm| {
                let s = summarise(&arm.scores);
                let values = [
                    s.validity, s.precision, s.recall, s.f1, s.exact_set, s.spearman, s.kendall,
                    s.exact_order_n2, s.param_mae, s.mrstft, s.seconds,
                ];
                std::iter::once(arm.name.clone())
                    .chain(values.into_iter().map(cell))
                    .collect()
            })
            .collect(),
    }
}

/// Every arm per true chain length N.
pub(super) fn by_length(all: &[ArmScores]) -> Table {
    let mut rows = Vec::new();
    for arm in all {
        for n in 1..=MAX_EFFECTS {
            let s = arm.of_length(n);
            let values = [
                s.f1,
                s.exact_set,
                s.exact_order_n2,
                s.kendall,
                s.param_mae,
                s.mrstft,
            ];
            rows.push(
                [arm.name.clone(), n.to_string()]
                    .into_iter()
                    .chain(values.into_iter().map(cell))
                    .collect(),
            );
        }
    }
    Table {
        title: "By true chain length N".into(),
        columns: columns(&[
            "arm",
            "N",
            "F1",
            "exact set",
            "exact order",
            "τ",
            "param MAE",
            "MRSTFT",
        ]),
        rows,
    }
}

/// Every arm per held-out source; `example_sources[i]` is the source of test pair `i`.
pub(super) fn by_source(
    all: &[ArmScores],
    example_sources: &[String],
    sources: &[String],
) -> Table {
    let mut rows = Vec::new();
    for arm in all {
        for source in sources {
            let sel: Vec<_> = arm
                .scores
                .iter()
                .zip(example_sources)
                .filter(|(_, s)| *s == source)
                .map(|(x, _)| x.clone())
                .collect();
            let s = summarise(&sel);
            let values = [s.f1, s.exact_set, s.exact_order_n2, s.param_mae, s.mrstft];
            rows.push(
                [arm.name.clone(), source.clone(), s.n.to_string()]
                    .into_iter()
                    .chain(values.into_iter().map(cell))
                    .collect(),
            );
        }
    }
    Table {
        title: "By held-out source (all N; the no-op row is MRSTFT(wet, dry))".into(),
        columns: columns(&[
            "arm",
            "source",
            "pairs",
            "F1",
            "exact set",
            "exact order N≥2",
            "param MAE",
            "MRSTFT",
        ]),
        rows,
    }
}

/// Presence F1 of every arm per effect, under a row with each effect's support.
pub(super) fn per_effect_f1(all: &[ArmScores]) -> Table {
    let mut columns = vec!["arm".to_string()];
    columns.extend(EFFECTS.iter().map(|e| e.name.to_string()));
    let mut support = vec!["(present in truth)".to_string()];
    if let Some(arm) = all.first() {
        support.extend(
            per_effect(&arm.scores)
                .iter()
                .map(|c| (c.tp + c.fn_).to_string()),
        );
    }
    let mut rows = vec![support];
    rows.extend(all.iter().map(|arm| {
        std::iter::once(arm.name.clone())
            .chain(per_effect(&arm.scores).iter().map(|c| cell(c.f1())))
            .collect()
    }));
    Table {
        title: "Presence F1 per effect (held-out pairs)".into(),
        columns,
        rows,
    }
}

/// The verdict's two metrics for tier 3 and tier 2 on every seed.
pub(super) fn per_seed(runs: &[SeedRun]) -> Table {
    Table {
        title: format!("Verdict metrics per seed (held-out N ≥ 2 pairs; {TIER3} vs {TIER2})"),
        columns: columns(&[
            "seed",
            "training pairs",
            "test pairs",
            "exact order: tier 3",
            "exact order: tier 2",
            "MRSTFT: tier 3",
            "MRSTFT: tier 2",
        ]),
        rows: runs
            .iter()
            .map(|r| {
                let (t3, t2) = (&r.arms[TIER3], &r.arms[TIER2]);
                vec![
                    r.seed.to_string(),
                    r.train_pairs.to_string(),
                    r.example_sources.len().to_string(),
                    cell(t3[ORDER]),
                    cell(t2[ORDER]),
                    cell(t3[MRSTFT]),
                    cell(t2[MRSTFT]),
                ]
            })
            .collect(),
    }
}
