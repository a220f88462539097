//! `genlab repro fibring`: the formula ↔ network correspondence checked exactly, on every node.
//!
//! 1. **Round trip, GML.** Random formulas (depth ≤ 4, grades ≤ 3, atoms p, q, r) on random
//!    graphs (Erdős–Rényi, power-law, grid): compile → evaluate → check, then decompile →
//!    re-check against the network.
//! 2. **Round trip, fibred.** The same with fibred formulas (two or three modalities) on random
//!    fibred models, compiled into fibred networks.
//! 3. **Large graphs.** Compiled networks vs the checker on graphs of up to 10⁵ nodes of each
//!    family, with both sides' throughput.
//! 4. **Non-uniform decompilation.** Random integer networks (not in the compiler's image)
//!    decompiled for a degree bound Δ and checked on graphs of degree ≤ Δ; the size of the
//!    formula for "Σ a_i #ψ_i ≥ t" as Δ grows.
//! 5. **Trained GNNs.** One- and two-layer AC-GNNs trained on the labels of a hidden
//!    formula, quantised to integers, decompiled, and checked against the quantised network
//!    on held-out graphs.
//! 6. **Throughput.** Model checking on graphs of 10³…10⁶ nodes (10⁵ with `--quick`) for
//!    several |φ|; time against |graph|·|formula| with a least-squares line through the
//!    origin.
//!
//! Arms carry `worlds` and `disagreements`. Verdict: every arm of steps 1–5 has 0
//! disagreements over a positive number of compared worlds.

use std::collections::BTreeMap;
use std::time::Instant;

use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::{self, Figure, LineSeries, Report, Table, Verdict};
use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};
use rand::{Rng, RngCore};

use crate::check::truth;
use crate::compile::compile;
use crate::decompile::{Options, decompile};
use crate::gnn::{Gnn, Layer, Neuron};
use crate::learn::{LearnConfig, graph, learn};
use crate::model::Model;
use crate::random::{Family, random_formula, random_gnn, random_graph};
use crate::verify::{Agreement, RoundTripConfig, bench, round_trip};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "logic",
    paper: "El Harzli, Cuenca Grau, d'Avila Garcez, Horrocks, Besold 2026, Fibring modal logics ↔ fibring neural networks (arXiv 2509.23912); Barceló et al. 2020, The logical expressiveness of GNNs (ICLR)",
    paper_effect: "",
    claim: "Evaluating a (fibred) GNN compiled from a (fibred) graded modal formula equals checking the formula, and decompiling a network of the correspondence (compiled, random or trained-and-quantised) gives a formula that agrees with it — on every node of every graph: 0 disagreements",
};

/// Run sizes: quick (≤ 20 s) or default (≤ 2 min) on 2 shared cores.
struct Scale {
    pairs: usize,
    fibred_pairs: usize,
    nodes: (usize, usize),
    large_nodes: usize,
    large_formulas: usize,
    random_nets: usize,
    deltas: Vec<usize>,
    learn_steps: u64,
    bench_nodes: Vec<usize>,
    bench_subformulas: Vec<usize>,
    bench_seconds: f64,
}

impl Scale {
    fn new(quick: bool) -> Scale {
        if quick {
            Scale {
                pairs: 12_000,
                fibred_pairs: 5_000,
                nodes: (1, 80),
                large_nodes: 100_000,
                large_formulas: 3,
                random_nets: 3_000,
                deltas: (1..=6).collect(),
                learn_steps: 2_000,
                bench_nodes: vec![1_000, 10_000, 100_000],
                bench_subformulas: vec![4, 16, 64],
                bench_seconds: 0.05,
            }
        } else {
            Scale {
                pairs: 100_000,
                fibred_pairs: 40_000,
                nodes: (1, 150),
                large_nodes: 100_000,
                large_formulas: 12,
                random_nets: 20_000,
                deltas: (1..=8).collect(),
                learn_steps: 3_000,
                bench_nodes: vec![1_000, 10_000, 100_000, 1_000_000],
                bench_subformulas: vec![4, 16, 64],
                bench_seconds: 0.3,
            }
        }
    }
}

const ATOMS: [&str; 3] = ["p", "q", "r"];

fn atoms() -> Vec<String> {
    ATOMS.iter().map(|s| s.to_string()).collect()
}

/// An arm's `worlds` and `disagreements`, plus extra metrics.
fn arm(a: &Agreement, extra: &[(&str, f64)]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::from([
        ("worlds".to_string(), a.worlds as f64),
        ("disagreements".to_string(), a.disagreements as f64),
        ("models".to_string(), a.models as f64),
    ]);
    for (k, v) in extra {
        m.insert(k.to_string(), *v);
    }
    m
}

/// "0 disagreements over > 0 worlds", read from the arm; margin = agreement rate − 1 (0 when
/// exact, negative otherwise).
fn exact(arms: &report::Arms, name: &str) -> Result<Verdict> {
    let a = arms
        .get(name)
        .ok_or_else(|| Error::InvalidInput(format!("verdict: no arm `{name}`")))?;
    let (worlds, bad) = (a["worlds"], a["disagreements"]);
    Ok(Verdict {
        holds: bad == 0.0 && worlds > 0.0,
        metric: "disagreements".into(),
        method_arm: name.into(),
        baseline_arm: "exact agreement".into(),
        margin: if bad == 0.0 {
            0.0
        } else {
            -bad / worlds.max(1.0)
        },
        effect: format!("{bad} disagreements in {worlds} worlds"),
        detail: format!("{name}: {bad} disagreements on {worlds} worlds"),
    })
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let start = Instant::now();
    let scale = Scale::new(opts.quick);
    std::fs::create_dir_all(&opts.dir).map_err(|e| Error::io(&opts.dir, e))?;
    let mut rng = SeededRng::new(opts.seed);
    let mut arms = report::Arms::new();
    let mut tables = Vec::new();
    let mut figures = Vec::new();

    // 1–2. Round trips.
    let mut rt_table = Table {
        title: "Round trip compile → evaluate → decompile → re-check".into(),
        columns: [
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
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for (name, sorts, pairs) in [("gml", 1, scale.pairs), ("fibred", 3, scale.fibred_pairs)] {
        let cfg = RoundTripConfig {
            pairs,
            nodes: scale.nodes,
            depth: 4,
            max_grade: 3,
            sorts,
            atoms: atoms(),
            seed: rng.rng().next_u64(),
        };
        let r = round_trip(&cfg, observer)?;
        let per = |x: u64| x as f64 / pairs as f64;
        arms.insert(
            format!("{name}/compiled"),
            arm(&r.compiled, &[("mean_formula_size", per(r.formula_size))]),
        );
        arms.insert(
            format!("{name}/decompiled"),
            arm(
                &r.decompiled,
                &[
                    ("mean_formula_size", per(r.decompiled_size)),
                    ("identical", r.identical as f64),
                    ("non_uniform", r.non_uniform as f64),
                ],
            ),
        );
        rt_table.rows.push(vec![
            name.into(),
            pairs.to_string(),
            r.compiled.worlds.to_string(),
            r.compiled.disagreements.to_string(),
            r.decompiled.disagreements.to_string(),
            format!("{}/{pairs}", r.identical),
            format!("{:.2}", per(r.formula_size)),
            format!("{:.2}", per(r.decompiled_size)),
            format!("{:.2}", per(r.neurons)),
            format!("{:.2}", per(r.layers)),
            r.seconds
                .iter()
                .map(|s| format!("{:.0}", 1e3 * s))
                .collect::<Vec<_>>()
                .join("/"),
        ]);
    }
    tables.push(rt_table);

    // 3. Large graphs.
    let mut large = Table {
        title: format!(
            "Compiled networks vs the checker on {}-node graphs",
            scale.large_nodes
        ),
        columns: [
            "family",
            "formulas",
            "worlds",
            "disagreements",
            "network node·neuron/s",
            "checker node·subformula/s",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    observer.start("large graphs", 3 * scale.large_formulas as u64);
    for (k, family) in [
        Family::ErdosRenyi { avg_degree: 4.0 },
        Family::PowerLaw { attach: 2 },
        Family::Grid,
    ]
    .into_iter()
    .enumerate()
    {
        let model = Model::single(random_graph(
            rng.rng(),
            family,
            scale.large_nodes,
            &ATOMS,
            0.5,
        ));
        let mut a = Agreement::default();
        let (mut net_work, mut net_s, mut chk_work, mut chk_s) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..scale.large_formulas {
            let f = random_formula(rng.rng(), &ATOMS, 5, 3, 1);
            let net = compile(&f, 0)?;
            let t = Instant::now();
            let out = net.eval(&model)?;
            net_s += t.elapsed().as_secs_f64();
            net_work += (scale.large_nodes * net.neurons()) as f64;
            let t = Instant::now();
            let expect = truth(&model, &f, 0)?;
            chk_s += t.elapsed().as_secs_f64();
            chk_work += (scale.large_nodes * crate::formula::Dag::new(&f).len()) as f64;
            a.add(&out, &expect);
            observer.step((k * scale.large_formulas + i + 1) as u64, &[]);
        }
        let name = format!("large/{}", family.name());
        arms.insert(
            name.clone(),
            arm(
                &a,
                &[
                    ("network_evals_per_s", net_work / net_s),
                    ("checker_evals_per_s", chk_work / chk_s),
                ],
            ),
        );
        large.rows.push(vec![
            family.name(),
            scale.large_formulas.to_string(),
            a.worlds.to_string(),
            a.disagreements.to_string(),
            format!("{:.3e}", net_work / net_s),
            format!("{:.3e}", chk_work / chk_s),
        ]);
    }
    observer.finish();
    tables.push(large);

    // 4. Non-uniform decompilation.
    let mut random_agreement = Agreement::default();
    let mut random_sizes = 0u64;
    let mut uniform = 0usize;
    observer.start("random integer networks", scale.random_nets as u64);
    for i in 0..scale.random_nets {
        let delta = scale.deltas[i % scale.deltas.len()].min(4);
        let layers = 1 + i % 3;
        let net = random_gnn(rng.rng(), &ATOMS, layers, 3, 2);
        let d = decompile(
            &net,
            &Options {
                max_degree: Some(delta),
                ..Options::default()
            },
        )?;
        uniform += d.degree_bound.is_none() as usize;
        random_sizes += d.formula.size() as u64;
        for _ in 0..3 {
            let n = rng.rng().random_range(scale.nodes.0..=scale.nodes.1);
            let g = Model::single(random_graph(
                rng.rng(),
                Family::BoundedDegree { max_degree: delta },
                n,
                &ATOMS,
                0.5,
            ));
            random_agreement.add(&net.eval(&g)?, &truth(&g, &d.formula, 0)?);
        }
        observer.step(i as u64 + 1, &[]);
    }
    observer.finish();
    arms.insert(
        "random-nets/decompiled".into(),
        arm(
            &random_agreement,
            &[
                (
                    "mean_formula_size",
                    random_sizes as f64 / scale.random_nets as f64,
                ),
                ("uniform", uniform as f64),
            ],
        ),
    );
    let mut blowup = Table {
        title:
            "Non-uniform decompilation: formula size of Σ a_i·#ψ_i + b ≥ 1 vs the degree bound Δ"
                .into(),
        columns: [
            "neuron",
            "Δ",
            "|formula|",
            "worlds checked",
            "disagreements",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    let mut size_lines = Vec::new();
    for (label, a, b) in [
        ("#p − #q ≥ 1", vec![(0, 1), (1, -1)], 0),
        ("#p + #q − 2·#r ≥ 1", vec![(0, 1), (1, 1), (2, -2)], 0),
    ] {
        let net = Gnn::new(
            0,
            atoms(),
            vec![Layer {
                neurons: vec![Neuron {
                    c: vec![],
                    a,
                    b,
                    fibre: None,
                }],
            }],
            0,
        )?;
        let mut points = Vec::new();
        let mut agreement = Agreement::default();
        for &delta in &scale.deltas {
            let d = decompile(
                &net,
                &Options {
                    max_degree: Some(delta),
                    ..Options::default()
                },
            )?;
            let mut local = Agreement::default();
            for _ in 0..5 {
                let g = Model::single(random_graph(
                    rng.rng(),
                    Family::BoundedDegree { max_degree: delta },
                    200,
                    &ATOMS,
                    0.5,
                ));
                let (o, t) = (net.eval(&g)?, truth(&g, &d.formula, 0)?);
                local.add(&o, &t);
                agreement.add(&o, &t);
            }
            points.push((delta as f64, d.formula.size() as f64));
            blowup.rows.push(vec![
                label.into(),
                delta.to_string(),
                d.formula.size().to_string(),
                local.worlds.to_string(),
                local.disagreements.to_string(),
            ]);
        }
        arms.insert(
            format!("non-uniform/{label}"),
            arm(
                &agreement,
                &[("size_at_max_delta", points.last().map_or(0.0, |p| p.1))],
            ),
        );
        size_lines.push(LineSeries {
            label: label.into(),
            points,
        });
    }
    tables.push(blowup);
    report::plot::lines(
        &opts.dir.join("size_vs_delta.svg"),
        "Decompiled formula size vs degree bound Δ",
        "Δ",
        "|formula| (nodes)",
        &size_lines,
        true,
    )?;
    figures.push(Figure {
        file: "size_vs_delta.svg".into(),
        caption: "Size of the non-uniform GML formula for a neuron summing several neighbour counts, against the degree bound Δ (log scale): (Δ+1)^(q−1) growth.".into(),
    });

    // 5. A trained GNN.
    const TRAIN_DELTA: usize = 3;
    let mut trained = Table {
        title: format!(
            "Trained AC-GNN → quantised → decompiled (held-out graphs, Δ = {TRAIN_DELTA})"
        ),
        columns: [
            "target",
            "hidden",
            "train acc (float/quantised)",
            "scales k",
            "extracted formula",
            "|formula|",
            "uniform",
            "formula≠quantised net",
            "quantised = float",
            "quantised = target",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    for (target, hidden) in [
        ("<>=2 p & !q", 0),
        ("<> q | p & r", 0),
        ("<> (p & <> q)", 2),
        ("<>=2 (q & !<> p)", 2),
    ] {
        let cfg = LearnConfig {
            target: target.into(),
            atoms: atoms(),
            hidden,
            max_degree: TRAIN_DELTA,
            nodes: 2000,
            steps: scale.learn_steps,
            lr: 0.1,
            seed: rng.rng().next_u64(),
        };
        let l = learn(&cfg, observer)?;
        let d = decompile(
            &l.net,
            &Options {
                max_degree: Some(TRAIN_DELTA),
                ..Options::default()
            },
        )?;
        let target_f = crate::parse::parse_formula(target)?;
        let mut exact_a = Agreement::default();
        let mut float_a = Agreement::default();
        let mut target_a = Agreement::default();
        let mut held_out = SeededRng::new(rng.rng().next_u64());
        for _ in 0..10 {
            let m = graph(&mut held_out, 1000, &cfg.atoms, TRAIN_DELTA);
            let out = l.net.eval(&m)?;
            exact_a.add(&out, &truth(&m, &d.formula, 0)?);
            float_a.add(&out, &l.float.eval(&m, &cfg.atoms)?);
            target_a.add(&out, &truth(&m, &target_f, 0)?);
        }
        let rate = |a: &Agreement| 1.0 - a.disagreements as f64 / a.worlds as f64;
        arms.insert(
            format!("trained/{target}"),
            arm(
                &exact_a,
                &[
                    ("hidden", hidden as f64),
                    ("quantised_vs_float", rate(&float_a)),
                    ("quantised_vs_target", rate(&target_a)),
                    ("formula_size", d.formula.size() as f64),
                    ("train_accuracy_float", l.train_accuracy.0),
                    ("train_accuracy_quantised", l.train_accuracy.1),
                ],
            ),
        );
        let shown = d.formula.to_string();
        trained.rows.push(vec![
            target.into(),
            hidden.to_string(),
            format!("{:.4}/{:.4}", l.train_accuracy.0, l.train_accuracy.1),
            format!("{:?}", l.scales),
            match shown.char_indices().nth(160) {
                Some((cut, _)) => format!("{}…", &shown[..cut]),
                None => shown,
            },
            d.formula.size().to_string(),
            d.degree_bound.is_none().to_string(),
            exact_a.disagreements.to_string(),
            format!("{:.4}", rate(&float_a)),
            format!("{:.4}", rate(&target_a)),
        ]);
    }
    tables.push(trained);

    // 6. Throughput.
    let rows = bench(
        &scale.bench_nodes,
        &scale.bench_subformulas,
        scale.bench_seconds,
        rng.rng().next_u64(),
        observer,
    )?;
    let mut bt = Table {
        title: "Model-checking throughput (Erdős–Rényi, average degree 4)".into(),
        columns: [
            "nodes",
            "arcs",
            "|φ|",
            "seconds",
            "node·subformula evaluations/s",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![],
    };
    let mut series: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &rows {
        bt.rows.push(vec![
            r.nodes.to_string(),
            r.arcs.to_string(),
            r.subformulas.to_string(),
            format!("{:.3e}", r.seconds),
            format!("{:.3e}", r.evals_per_second),
        ]);
        series
            .entry(r.subformulas)
            .or_default()
            .push((((r.nodes + r.arcs) * r.subformulas) as f64, r.seconds));
    }
    // Least squares through the origin, seconds = c · |G|·|φ|, and its R².
    let pts: Vec<(f64, f64)> = series.values().flatten().copied().collect();
    let c =
        pts.iter().map(|(x, y)| x * y).sum::<f64>() / pts.iter().map(|(x, _)| x * x).sum::<f64>();
    let mean_y = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let ss_res: f64 = pts.iter().map(|(x, y)| (y - c * x).powi(2)).sum();
    let ss_tot: f64 = pts.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
    let r2 = 1.0 - ss_res / ss_tot.max(f64::MIN_POSITIVE);
    let max_x = pts.iter().map(|p| p.0).fold(0.0, f64::max);
    let mut lines: Vec<LineSeries> = series
        .iter()
        .map(|(s, p)| LineSeries {
            label: format!("|φ| = {s}"),
            points: p.clone(),
        })
        .collect();
    lines.push(LineSeries {
        label: format!("fit {c:.2e}·x (R²={r2:.3})"),
        points: vec![(0.0, 0.0), (max_x, c * max_x)],
    });
    report::plot::lines(
        &opts.dir.join("checker_scaling.svg"),
        "Model-checking time vs |graph|·|formula|",
        "(nodes + arcs) · |φ|",
        "seconds",
        &lines,
        false,
    )?;
    figures.push(Figure {
        file: "checker_scaling.svg".into(),
        caption: format!("Seconds per full labelling (every subformula at every node) against (nodes + arcs)·|φ|; a straight line through the origin is linear scaling (fit R² = {r2:.3})."),
    });
    arms.insert(
        "throughput".into(),
        BTreeMap::from([
            ("seconds_per_unit".to_string(), c),
            ("r2_linear_fit".to_string(), r2),
            (
                "max_evals_per_s".to_string(),
                rows.iter().map(|r| r.evals_per_second).fold(0.0, f64::max),
            ),
        ]),
    );
    tables.push(bt);
    let mut rate: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for r in &rows {
        rate.entry(r.subformulas)
            .or_default()
            .push(((r.nodes as f64).log10(), r.evals_per_second));
    }
    let rate_lines: Vec<LineSeries> = rate
        .into_iter()
        .map(|(s, points)| LineSeries {
            label: format!("|φ| = {s}"),
            points,
        })
        .collect();
    report::plot::lines(
        &opts.dir.join("checker_throughput.svg"),
        "Model-checking throughput vs graph size",
        "log10(nodes)",
        "node·subformula evaluations / s",
        &rate_lines,
        true,
    )?;
    figures.push(Figure {
        file: "checker_throughput.svg".into(),
        caption: "Evaluations per second against graph size; a flat line means time linear in |graph|·|formula|. The work per evaluation is constant, so a drop at the largest sizes comes from memory access (random neighbour reads once the graph outgrows the caches) and from other load on the machine.".into(),
    });

    let checked: Vec<String> = arms
        .keys()
        .filter(|k| arms[*k].contains_key("disagreements"))
        .cloned()
        .collect();
    let parts = checked
        .iter()
        .map(|k| exact(&arms, k))
        .collect::<Result<Vec<_>>>()?;
    let verdict = report::all_of("0 disagreements on every compared node", parts);
    let mut r = Report::new(INFO.name, INFO.paper, INFO.claim, opts.seed, verdict);
    r.quick = opts.quick;
    r.arms = arms;
    r.tables = tables;
    r.figures = figures;
    r.config = serde_json::json!({
        "pairs": scale.pairs, "fibred_pairs": scale.fibred_pairs, "fibred_sorts": 3, "nodes": scale.nodes,
        "formula_depth": 4, "max_grade": 3, "atoms": ATOMS, "large_nodes": scale.large_nodes,
        "large_formulas": scale.large_formulas, "random_nets": scale.random_nets, "deltas": scale.deltas,
        "learn_steps": scale.learn_steps, "bench_nodes": scale.bench_nodes, "bench_subformulas": scale.bench_subformulas,
    });
    r.notes = vec![
        "Every comparison is exact (integer networks, Boolean truth values); a single differing node fails the verdict.".into(),
        "Only the abstract and introduction of arXiv 2509.23912 were available; fibred models follow Gabbay's semantics and fibred networks Garcez & Gabbay's multiplicative fibring function (see the crate docs). GATs and transformer encoders (attention / mean aggregation) are outside the implemented class.".into(),
        "The trained networks have one or two aggregate-combine layers (sigmoid units during training, annealed towards 0/1), trained by Adam on a hidden formula's labels and quantised by scaling and rounding each neuron (the output layer refitted on the Boolean hidden units); 'quantised = target' measures how well they learnt the hidden formula and is not part of the verdict, while 'formula ≠ quantised net' is.".into(),
        "Random integer networks whose neurons sum two neighbour counts are decompiled non-uniformly (degree bound Δ ≤ 4) and checked on graphs of maximum degree ≤ Δ only, where the formula is claimed.".into(),
    ];
    r.wall_seconds = start.elapsed().as_secs_f64();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_verdict_reads_the_arm() {
        let mut arms = report::Arms::new();
        arms.insert(
            "a".into(),
            BTreeMap::from([("worlds".into(), 10.0), ("disagreements".into(), 0.0)]),
        );
        arms.insert(
            "b".into(),
            BTreeMap::from([("worlds".into(), 10.0), ("disagreements".into(), 1.0)]),
        );
        arms.insert(
            "c".into(),
            BTreeMap::from([("worlds".into(), 0.0), ("disagreements".into(), 0.0)]),
        );
        assert!(exact(&arms, "a").unwrap().holds);
        assert!(!exact(&arms, "b").unwrap().holds);
        assert!(
            !exact(&arms, "c").unwrap().holds,
            "nothing compared proves nothing"
        );
        assert!(exact(&arms, "z").is_err());
    }
}
