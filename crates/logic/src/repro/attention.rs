//! Part 7: attention networks (see [`crate::attention`]). Random GATs are described for degree
//! ≤ Δ by a GML formula and random transformer encoders (last layer global) for ≤ N nodes by a
//! fibred formula over a complete second sort; each description is checked against the exact
//! network at every node of random graphs within the bound, for softmax base 2 (exact) and e
//! (certified). Descriptions the size limit or the base-e certificate refuses are counted, not
//! compared. The float (softmax-then-sum) version's errors against the exact network are
//! reported beside the verdict, not in it.

use genlab_core::Result;
use genlab_core::experiment::ReportBuilder;
use genlab_core::train::SeededRng;
use rand::Rng;

use super::{agreement_arm, table};
use crate::attention::describe::{Bounds, describe};
use crate::attention::{Base, random_net, with_complete_sort};
use crate::check::truth;
use crate::model::Model;
use crate::random::{Family, random_graph};
use crate::verify::Agreement;

/// Δ of the GAT descriptions and N of the transformer descriptions.
const DELTA: usize = 3;
const MAX_NODES: usize = 6;

/// One arm: a scope and a base.
pub(super) struct Measured {
    name: &'static str,
    agreement: Agreement,
    refused: usize,
    float_errors: u64,
}

/// `nets` random networks per arm, each on 4 random graphs within its bound.
pub(super) fn measure(nets: usize, rng: &mut SeededRng) -> Result<Vec<Measured>> {
    let arms = [
        ("attention/gat-base2", false, Base::Two),
        ("attention/gat-base-e", false, Base::E),
        ("attention/transformer-base2", true, Base::Two),
        ("attention/transformer-base-e", true, Base::E),
    ];
    let bounds = Bounds {
        max_degree: DELTA,
        max_nodes: MAX_NODES,
        max_size: 100_000,
    };
    let mut out = Vec::new();
    for (name, transformer, base) in arms {
        let mut m = Measured {
            name,
            agreement: Agreement::default(),
            refused: 0,
            float_errors: 0,
        };
        for _ in 0..nets {
            let net = random_net(rng.rng(), 3, transformer, base);
            let Ok(d) = describe(&net, &bounds) else {
                m.refused += 1;
                continue;
            };
            for _ in 0..4 {
                let n = if transformer {
                    rng.rng().random_range(1..=MAX_NODES)
                } else {
                    rng.rng().random_range(1..=40)
                };
                let family = Family::BoundedDegree { max_degree: DELTA };
                let g = random_graph(rng.rng(), family, n, &["p", "q", "r"], 0.5);
                let model = if transformer {
                    with_complete_sort(&g)?
                } else {
                    Model::single(g.clone())
                };
                let exact = net.eval(&g)?;
                m.agreement.add(&exact, &truth(&model, &d.formula, 0)?);
                let float = net.eval_float(&g)?;
                m.float_errors += exact.iter().zip(&float).filter(|(a, b)| a != b).count() as u64;
            }
        }
        out.push(m);
    }
    Ok(out)
}

/// Records the arms and a table.
pub(super) fn report(measured: &[Measured], b: &mut ReportBuilder) {
    let mut t = table(
        format!(
            "Attention networks: non-uniform descriptions (GAT: degree ≤ {DELTA}; transformer: ≤ {MAX_NODES} nodes)"
        ),
        &[
            "arm",
            "nets described",
            "refused",
            "nodes",
            "disagreements",
            "float-version errors",
        ],
    );
    for m in measured {
        agreement_arm(
            b,
            m.name,
            &m.agreement,
            &[
                ("refused", m.refused as f64),
                ("float_errors", m.float_errors as f64),
            ],
        );
        t.rows.push(vec![
            m.name.to_string(),
            (m.agreement.models / 4).to_string(),
            m.refused.to_string(),
            m.agreement.worlds.to_string(),
            m.agreement.disagreements.to_string(),
            m.float_errors.to_string(),
        ]);
    }
    b.table(t);
}
