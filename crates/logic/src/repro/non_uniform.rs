//! Part 4: non-uniform decompilation. Random integer networks (outside the compiler's image)
//! decompiled for a degree bound Δ and checked on graphs of degree ≤ Δ, and the formula size
//! of two fixed neurons "Σ a_i·#ψ_i + b ≥ 1" as Δ grows — (Δ+1)^(q−1) disjuncts for q
//! neighbour terms.

use genlab_core::Result;
use genlab_core::experiment::{Lines, ReportBuilder};
use genlab_core::report::LineSeries;
use genlab_core::train::{Observer, SeededRng};
use rand::Rng;

use super::{ATOMS, Sizes, agreement_arm, atoms, table};
use crate::check::truth;
use crate::decompile::{Decompiled, Options, decompile};
use crate::gnn::{Gnn, Layer, Neuron};
use crate::model::Model;
use crate::random::{Family, random_gnn, random_graph};
use crate::verify::Agreement;

/// The figure of formula size against Δ.
pub(super) const FIGURE: &str = "size_vs_delta.svg";

/// Largest degree bound used for the random networks (their formulas grow as (Δ+1)^…).
const RANDOM_NET_MAX_DELTA: usize = 4;

/// Nodes of each bounded-degree graph the fixed neurons are checked on.
const BLOWUP_NODES: usize = 200;

/// The random networks' decompilations checked on bounded-degree graphs.
pub(super) struct RandomNets {
    count: usize,
    agreement: Agreement,
    /// Σ |decompiled formula|.
    formula_sizes: u64,
    /// Decompilations that needed no degree bound.
    uniform: usize,
}

/// One fixed neuron decompiled for every Δ.
pub(super) struct Blowup {
    label: &'static str,
    agreement: Agreement,
    /// `(Δ, |formula|, agreement at this Δ)`.
    per_delta: Vec<(usize, usize, Agreement)>,
}

fn for_degree(net: &Gnn, delta: usize) -> Result<Decompiled> {
    decompile(
        net,
        &Options {
            max_degree: Some(delta),
            ..Options::default()
        },
    )
}

fn bounded_graph(rng: &mut SeededRng, nodes: usize, delta: usize) -> Model {
    Model::single(random_graph(
        rng.rng(),
        Family::BoundedDegree { max_degree: delta },
        nodes,
        &ATOMS,
        0.5,
    ))
}

/// `sizes.random_nets` random networks of 1–3 layers, each checked on three graphs.
pub(super) fn random_nets(
    sizes: &Sizes,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<RandomNets> {
    let mut out = RandomNets {
        count: sizes.random_nets,
        agreement: Agreement::default(),
        formula_sizes: 0,
        uniform: 0,
    };
    observer.start("random integer networks", sizes.random_nets as u64);
    for i in 0..sizes.random_nets {
        let delta = sizes.deltas[i % sizes.deltas.len()].min(RANDOM_NET_MAX_DELTA);
        let net = random_gnn(rng.rng(), &ATOMS, 1 + i % 3, 3, 2);
        let d = for_degree(&net, delta)?;
        out.uniform += d.degree_bound.is_none() as usize;
        out.formula_sizes += d.formula.size() as u64;
        for _ in 0..3 {
            let n = rng.rng().random_range(sizes.nodes.0..=sizes.nodes.1);
            let g = bounded_graph(rng, n, delta);
            out.agreement
                .add(&net.eval(&g)?, &truth(&g, &d.formula, 0)?);
        }
        observer.step(i as u64 + 1, &[]);
    }
    observer.finish();
    Ok(out)
}

/// The two fixed neurons "#p − #q ≥ 1" and "#p + #q − 2·#r ≥ 1", decompiled for every Δ and
/// checked on five graphs of degree ≤ Δ each.
pub(super) fn blowups(sizes: &Sizes, rng: &mut SeededRng) -> Result<Vec<Blowup>> {
    let mut out = Vec::new();
    for (label, a) in [
        ("#p − #q ≥ 1", &[(0, 1), (1, -1)][..]),
        ("#p + #q − 2·#r ≥ 1", &[(0, 1), (1, 1), (2, -2)][..]),
    ] {
        let neuron = Neuron::plain(&[], a, 0);
        let net = Gnn::new(
            0,
            atoms(),
            vec![Layer {
                neurons: vec![neuron],
            }],
            0,
        )?;
        let mut blowup = Blowup {
            label,
            agreement: Agreement::default(),
            per_delta: Vec::new(),
        };
        for &delta in sizes.deltas {
            let d = for_degree(&net, delta)?;
            let mut local = Agreement::default();
            for _ in 0..5 {
                let g = bounded_graph(rng, BLOWUP_NODES, delta);
                let (o, t) = (net.eval(&g)?, truth(&g, &d.formula, 0)?);
                local.add(&o, &t);
                blowup.agreement.add(&o, &t);
            }
            blowup.per_delta.push((delta, d.formula.size(), local));
        }
        out.push(blowup);
    }
    Ok(out)
}

/// Arms `random-nets/decompiled` and `non-uniform/<neuron>`, and the size-vs-Δ table.
pub(super) fn report(random: &RandomNets, blowups: &[Blowup], b: &mut ReportBuilder) {
    agreement_arm(
        b,
        "random-nets/decompiled",
        &random.agreement,
        &[
            (
                "mean_formula_size",
                random.formula_sizes as f64 / random.count as f64,
            ),
            ("uniform", random.uniform as f64),
        ],
    );
    let mut t = table(
        "Non-uniform decompilation: formula size of Σ a_i·#ψ_i + b ≥ 1 vs the degree bound Δ",
        &[
            "neuron",
            "Δ",
            "|formula|",
            "worlds checked",
            "disagreements",
        ],
    );
    for blowup in blowups {
        let size_at_max = blowup.per_delta.last().map_or(0, |p| p.1);
        agreement_arm(
            b,
            &format!("non-uniform/{}", blowup.label),
            &blowup.agreement,
            &[("size_at_max_delta", size_at_max as f64)],
        );
        for (delta, size, local) in &blowup.per_delta {
            t.rows.push(vec![
                blowup.label.into(),
                delta.to_string(),
                size.to_string(),
                local.worlds.to_string(),
                local.disagreements.to_string(),
            ]);
        }
    }
    b.table(t);
}

/// Formula size against Δ, one line per neuron, log scale.
pub(super) fn figure(blowups: &[Blowup], b: &mut ReportBuilder) -> Result<()> {
    let series: Vec<LineSeries> = blowups
        .iter()
        .map(|blowup| LineSeries {
            label: blowup.label.into(),
            points: blowup
                .per_delta
                .iter()
                .map(|&(delta, size, _)| (delta as f64, size as f64))
                .collect(),
        })
        .collect();
    b.lines(
        FIGURE,
        Lines {
            title: "Decompiled formula size vs degree bound Δ",
            x_label: "Δ",
            y_label: "|formula| (nodes)",
            series: &series,
            log_y: true,
        },
        "Size of the non-uniform GML formula for a neuron summing several neighbour counts, against the degree bound Δ (log scale): (Δ+1)^(q−1) growth.",
    )?;
    Ok(())
}
