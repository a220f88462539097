//! The verification harness: a network and a formula compared on every world of many random
//! models, the compile → evaluate → decompile → re-check round trip on random (graph, formula)
//! pairs, and the model checker's throughput.
//!
//! Every comparison is exact (0/1 against true/false); an agreement report counts worlds and
//! disagreements and keeps the first counterexample.

use std::time::Instant;

use genlab_core::Result;
use genlab_core::train::{Observer, SeededRng};
use serde::Serialize;

use crate::check::{check, truth};
use crate::compile::compile;
use crate::decompile::{Options, decompile};
use crate::formula::{Dag, Formula};
use crate::gnn::Gnn;
use crate::model::Model;
use crate::random::{Family, random_formula, random_graph, random_model};

/// A world where the two sides differ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Counterexample {
    /// Index of the model in the run.
    pub model: usize,
    /// The world.
    pub world: usize,
    /// The network's output there.
    pub network: bool,
}

/// Worlds compared and disagreements found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Agreement {
    /// Models compared.
    pub models: usize,
    /// Worlds compared.
    pub worlds: u64,
    /// Worlds where the two sides differ (the claim is that this is 0).
    pub disagreements: u64,
    /// The first disagreement, if any.
    pub first: Option<Counterexample>,
}

impl Agreement {
    /// Adds one model's comparison.
    pub fn add(&mut self, network: &[bool], formula: &[bool]) {
        for (w, (&a, &b)) in network.iter().zip(formula).enumerate() {
            if a != b {
                self.disagreements += 1;
                self.first.get_or_insert(Counterexample {
                    model: self.models,
                    world: w,
                    network: a,
                });
            }
        }
        self.worlds += network.len() as u64;
        self.models += 1;
    }
}

/// Which random models to compare on.
#[derive(Debug, Clone, Serialize)]
pub struct Models {
    /// How many.
    pub count: usize,
    /// Smallest and largest number of worlds per sort.
    pub nodes: (usize, usize),
    /// Draw bounded-degree graphs (for non-uniform formulas); otherwise the standard families.
    pub max_degree: Option<usize>,
    /// Seed.
    pub seed: u64,
}

/// A network and a formula compared on every world of `spec.count` random models (with as many
/// sorts as either uses, over the atoms of both), timing both sides.
pub fn verify(
    net: &Gnn,
    formula: &Formula,
    spec: &Models,
    observer: &mut dyn Observer,
) -> Result<(Agreement, Timing)> {
    let sorts = net.max_sort().max(formula.max_modality()) + 1;
    let mut atoms: Vec<String> = net.all_inputs();
    atoms.extend(formula.atoms());
    atoms.sort();
    atoms.dedup();
    let atoms: Vec<&str> = atoms.iter().map(String::as_str).collect();
    let mut rng = SeededRng::new(spec.seed);
    let mut agreement = Agreement::default();
    let mut timing = Timing::default();
    observer.start("verify", spec.count as u64);
    for i in 0..spec.count {
        let model = random_model(rng.rng(), sorts, spec.nodes, &atoms, spec.max_degree);
        let t = Instant::now();
        let out = net.eval(&model)?;
        timing.network += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let expect = truth(&model, formula, net.sort())?;
        timing.checker += t.elapsed().as_secs_f64();
        agreement.add(&out, &expect);
        observer.step(
            i as u64 + 1,
            &[("disagreements", agreement.disagreements as f64)],
        );
    }
    observer.finish();
    Ok((agreement, timing))
}

/// Seconds spent on each side of a comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Timing {
    /// Evaluating networks.
    pub network: f64,
    /// Model checking formulas.
    pub checker: f64,
}

/// Settings of the round trip.
#[derive(Debug, Clone, Serialize)]
pub struct RoundTripConfig {
    /// (graph, formula) pairs.
    pub pairs: usize,
    /// Worlds per sort.
    pub nodes: (usize, usize),
    /// Syntactic depth of the random formulas.
    pub depth: usize,
    /// Largest grade.
    pub max_grade: u32,
    /// Number of sorts (1 = plain GML on graphs; more = fibred formulas on fibred models).
    pub sorts: usize,
    /// Atoms.
    pub atoms: Vec<String>,
    /// Seed.
    pub seed: u64,
}

/// What the round trip measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RoundTrip {
    /// compile(φ) evaluated vs the checker on φ.
    pub compiled: Agreement,
    /// decompile(compile(φ)) checked vs compile(φ) evaluated.
    pub decompiled: Agreement,
    /// Pairs whose decompiled formula is syntactically φ itself.
    pub identical: usize,
    /// Decompilations that needed a degree bound (0 expected: compiled networks are uniform).
    pub non_uniform: usize,
    /// Σ |φ| (syntax-tree nodes).
    pub formula_size: u64,
    /// Σ |decompile(compile(φ))|.
    pub decompiled_size: u64,
    /// Σ neurons of the compiled networks.
    pub neurons: u64,
    /// Σ layers.
    pub layers: u64,
    /// Seconds: compiling, evaluating, checking, decompiling.
    pub seconds: [f64; 4],
}

/// compile → evaluate → decompile → re-check on `cfg.pairs` random (model, formula) pairs.
pub fn round_trip(cfg: &RoundTripConfig, observer: &mut dyn Observer) -> Result<RoundTrip> {
    let atoms: Vec<&str> = cfg.atoms.iter().map(String::as_str).collect();
    let mut rng = SeededRng::new(cfg.seed);
    let mut r = RoundTrip::default();
    observer.start(
        &format!("round trip ({} sorts)", cfg.sorts),
        cfg.pairs as u64,
    );
    for i in 0..cfg.pairs {
        let f = random_formula(rng.rng(), &atoms, cfg.depth, cfg.max_grade, cfg.sorts);
        let model = random_model(rng.rng(), cfg.sorts, cfg.nodes, &atoms, None);
        let sort = i % cfg.sorts;
        let t = Instant::now();
        let net = compile(&f, sort)?;
        r.seconds[0] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let out = net.eval(&model)?;
        r.seconds[1] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let expect = truth(&model, &f, sort)?;
        r.seconds[2] += t.elapsed().as_secs_f64();
        r.compiled.add(&out, &expect);
        let t = Instant::now();
        let d = decompile(&net, &Options::default())?;
        r.seconds[3] += t.elapsed().as_secs_f64();
        r.decompiled.add(&out, &truth(&model, &d.formula, sort)?);
        r.identical += (d.formula == f) as usize;
        r.non_uniform += d.degree_bound.is_some() as usize;
        r.formula_size += f.size() as u64;
        r.decompiled_size += d.formula.size() as u64;
        r.neurons += net.neurons() as u64;
        r.layers += net.layers().len() as u64;
        observer.step(
            i as u64 + 1,
            &[(
                "disagreements",
                (r.compiled.disagreements + r.decompiled.disagreements) as f64,
            )],
        );
    }
    observer.finish();
    Ok(r)
}

/// One throughput measurement of the model checker.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Graph family.
    pub family: String,
    /// Worlds.
    pub nodes: usize,
    /// Arcs (an undirected edge counts twice).
    pub arcs: usize,
    /// Distinct subformulas |φ|.
    pub subformulas: usize,
    /// Seconds per full labelling (every subformula at every node).
    pub seconds: f64,
    /// Node·subformula evaluations per second.
    pub evals_per_second: f64,
}

/// A formula with exactly `target` distinct subformulas: a chain cycling through ◇≥k, ∧ p, ¬
/// and ∨ p, each step adding one new subformula, so throughput can be measured at chosen |φ|.
pub fn chain_formula(target: usize) -> Formula {
    let mut f = Formula::atom("p");
    for i in 1..target.max(1) {
        f = match i % 4 {
            1 => Formula::dia(0, 1 + (i % 3) as u32, f),
            2 => Formula::and(f, Formula::atom("p")),
            3 => !(f),
            _ => Formula::or(f, Formula::atom("p")),
        };
    }
    f
}

/// Model-checking throughput on Erdős–Rényi graphs (average degree 4) of each size in `nodes`
/// for each formula size in `subformulas`; each point is repeated until it has run ≥ `min_seconds`.
pub fn bench(
    nodes: &[usize],
    subformulas: &[usize],
    min_seconds: f64,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<Vec<BenchRow>> {
    let mut rng = SeededRng::new(seed);
    let family = Family::ErdosRenyi { avg_degree: 4.0 };
    let mut rows = Vec::new();
    observer.start(
        "model-checking throughput",
        (nodes.len() * subformulas.len()) as u64,
    );
    for &n in nodes {
        let model = Model::single(random_graph(rng.rng(), family, n, &["p", "q", "r"], 0.5));
        for &s in subformulas {
            let f = chain_formula(s);
            let dag = Dag::new(&f);
            let start = Instant::now();
            let mut reps = 0u32;
            while reps == 0 || start.elapsed().as_secs_f64() < min_seconds {
                std::hint::black_box(check(&model, &dag)?);
                reps += 1;
            }
            let seconds = start.elapsed().as_secs_f64() / reps as f64;
            rows.push(BenchRow {
                family: family.name(),
                nodes: n,
                arcs: model.graph(0).arcs(),
                subformulas: dag.len(),
                seconds,
                evals_per_second: (n * dag.len()) as f64 / seconds,
            });
            observer.step(
                rows.len() as u64,
                &[("evals/s", rows.last().expect("pushed").evals_per_second)],
            );
        }
    }
    observer.finish();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use genlab_core::train::NoObserver;

    #[test]
    fn verify_counts_disagreements_of_a_wrong_formula() {
        let f = parse("<>=2 p & !q").unwrap();
        let net = compile(&f, 0).unwrap();
        let spec = Models {
            count: 20,
            nodes: (5, 30),
            max_degree: None,
            seed: 1,
        };
        let (ok, _) = verify(&net, &f, &spec, &mut NoObserver).unwrap();
        assert_eq!(ok.models, 20);
        assert!(ok.worlds >= 100);
        assert_eq!(ok.disagreements, 0);
        // A network for a different formula must be caught.
        let wrong = compile(&parse("<>=3 p & !q").unwrap(), 0).unwrap();
        let (bad, _) = verify(&wrong, &f, &spec, &mut NoObserver).unwrap();
        assert!(bad.disagreements > 0);
        let c = bad.first.unwrap();
        assert!(
            !c.network,
            "the stricter network says no where the formula says yes"
        );
    }

    #[test]
    fn round_trip_agrees_everywhere() {
        let cfg = RoundTripConfig {
            pairs: 60,
            nodes: (1, 30),
            depth: 4,
            max_grade: 3,
            sorts: 2,
            atoms: vec!["p".into(), "q".into()],
            seed: 4,
        };
        let r = round_trip(&cfg, &mut NoObserver).unwrap();
        assert_eq!(
            (r.compiled.disagreements, r.decompiled.disagreements),
            (0, 0)
        );
        assert_eq!(r.non_uniform, 0);
        assert!(r.compiled.worlds > 60);
    }

    #[test]
    fn chain_formulas_have_the_requested_size_and_bench_reports_it() {
        for s in [1, 5, 16, 33] {
            assert_eq!(Dag::new(&chain_formula(s)).len(), s);
        }
        let rows = bench(&[100, 400], &[4, 8], 0.0, 0, &mut NoObserver).unwrap();
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r.evals_per_second > 0.0 && r.seconds > 0.0)
        );
        assert_eq!(rows[3].subformulas, 8);
    }
}
