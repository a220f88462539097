//! Part 3: compiled networks against the checker on large graphs of each random family, with
//! the throughput of both sides.

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::ReportBuilder;
use genlab_core::train::{Observer, SeededRng};

use super::{ATOMS, Sizes, agreement_arm, sci, table};
use crate::check::truth;
use crate::compile::compile;
use crate::formula::Dag;
use crate::model::Model;
use crate::random::{Family, random_formula, random_graph};
use crate::verify::Agreement;

/// Depth of the random formulas on the large graphs.
const DEPTH: usize = 5;

/// One graph family: agreement and both sides' work per second.
pub(super) struct Measured {
    family: String,
    agreement: Agreement,
    /// Node·neuron evaluations per second of the compiled networks.
    network_rate: f64,
    /// Node·subformula evaluations per second of the checker.
    checker_rate: f64,
}

/// `sizes.large_formulas` random formulas on one `sizes.large_nodes`-node graph per family.
pub(super) fn measure(
    sizes: &Sizes,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Vec<Measured>> {
    let families = [
        Family::ErdosRenyi { avg_degree: 4.0 },
        Family::PowerLaw { attach: 2 },
        Family::Grid,
    ];
    let n = sizes.large_nodes;
    observer.start(
        "large graphs",
        (families.len() * sizes.large_formulas) as u64,
    );
    let mut out = Vec::new();
    for (k, family) in families.into_iter().enumerate() {
        let model = Model::single(random_graph(rng.rng(), family, n, &ATOMS, 0.5));
        let mut agreement = Agreement::default();
        let (mut net_work, mut net_s, mut chk_work, mut chk_s) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..sizes.large_formulas {
            let f = random_formula(rng.rng(), &ATOMS, DEPTH, 3, 1);
            let net = compile(&f, 0)?;
            let t = Instant::now();
            let out = net.eval(&model)?;
            net_s += t.elapsed().as_secs_f64();
            net_work += (n * net.neurons()) as f64;
            let t = Instant::now();
            let expect = truth(&model, &f, 0)?;
            chk_s += t.elapsed().as_secs_f64();
            chk_work += (n * Dag::new(&f).len()) as f64;
            agreement.add(&out, &expect);
            observer.step((k * sizes.large_formulas + i + 1) as u64, &[]);
        }
        out.push(Measured {
            family: family.name(),
            agreement,
            network_rate: net_work / net_s,
            checker_rate: chk_work / chk_s,
        });
    }
    observer.finish();
    Ok(out)
}

/// Arms `large/<family>` and their table.
pub(super) fn report(measured: &[Measured], sizes: &Sizes, b: &mut ReportBuilder) {
    let mut t = table(
        format!(
            "Compiled networks vs the checker on {}-node graphs",
            sizes.large_nodes
        ),
        &[
            "family",
            "formulas",
            "worlds",
            "disagreements",
            "network node·neuron/s",
            "checker node·subformula/s",
        ],
    );
    for m in measured {
        agreement_arm(
            b,
            &format!("large/{}", m.family),
            &m.agreement,
            &[
                ("network_evals_per_s", m.network_rate),
                ("checker_evals_per_s", m.checker_rate),
            ],
        );
        t.rows.push(vec![
            m.family.clone(),
            sizes.large_formulas.to_string(),
            m.agreement.worlds.to_string(),
            m.agreement.disagreements.to_string(),
            sci(m.network_rate),
            sci(m.checker_rate),
        ]);
    }
    b.table(t);
}
