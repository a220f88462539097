//! Parts 1–2: compile → evaluate → check, then decompile → re-check, on random (graph, GML
//! formula) pairs and on random (fibred model, fibred formula) pairs.

use genlab_core::Result;
use genlab_core::experiment::ReportBuilder;
use genlab_core::report::sig3;
use genlab_core::train::{Observer, SeededRng};
use rand::RngCore;

use super::{FIBRED_SORTS, FORMULA_DEPTH, MAX_GRADE, Sizes, agreement_arm, atoms, table};
use crate::verify::{RoundTrip, RoundTripConfig, round_trip};

/// One round trip: its arm prefix, number of pairs and what it measured.
pub(super) struct Measured {
    name: &'static str,
    pairs: usize,
    result: RoundTrip,
}

/// The GML round trip, then the fibred one.
pub(super) fn measure(
    sizes: &Sizes,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Vec<Measured>> {
    let mut out = Vec::new();
    for (name, sorts, pairs) in [
        ("gml", 1, sizes.pairs),
        ("fibred", FIBRED_SORTS, sizes.fibred_pairs),
    ] {
        let cfg = RoundTripConfig {
            pairs,
            nodes: sizes.nodes,
            depth: FORMULA_DEPTH,
            max_grade: MAX_GRADE,
            sorts,
            atoms: atoms(),
            seed: rng.rng().next_u64(),
        };
        let result = round_trip(&cfg, observer)?;
        out.push(Measured {
            name,
            pairs,
            result,
        });
    }
    Ok(out)
}

/// Arms `<name>/compiled` (network vs checker) and `<name>/decompiled` (decompiled formula vs
/// network), and the round-trip table.
pub(super) fn report(measured: &[Measured], b: &mut ReportBuilder) {
    let mut t = table(
        "Round trip compile → evaluate → decompile → re-check",
        &[
            "arm",
            "pairs",
            "worlds",
            "net≠checker",
            "decompiled≠net",
            "identical",
            "mean |φ|",
            "mean |decompiled|",
            "mean neurons",
            "mean layers",
            "ms compile/eval/check/decompile",
        ],
    );
    for Measured {
        name,
        pairs,
        result: r,
    } in measured
    {
        let per = |x: u64| x as f64 / *pairs as f64;
        agreement_arm(
            b,
            &format!("{name}/compiled"),
            &r.compiled,
            &[("mean_formula_size", per(r.formula_size))],
        );
        agreement_arm(
            b,
            &format!("{name}/decompiled"),
            &r.decompiled,
            &[
                ("mean_formula_size", per(r.decompiled_size)),
                ("identical", r.identical as f64),
                ("non_uniform", r.non_uniform as f64),
            ],
        );
        t.rows.push(vec![
            name.to_string(),
            pairs.to_string(),
            r.compiled.worlds.to_string(),
            r.compiled.disagreements.to_string(),
            r.decompiled.disagreements.to_string(),
            format!("{}/{pairs}", r.identical),
            sig3(per(r.formula_size)),
            sig3(per(r.decompiled_size)),
            sig3(per(r.neurons)),
            sig3(per(r.layers)),
            r.seconds
                .iter()
                .map(|s| sig3(1e3 * s))
                .collect::<Vec<_>>()
                .join("/"),
        ]);
    }
    b.table(t);
}
