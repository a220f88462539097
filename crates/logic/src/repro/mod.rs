//! `genlab repro logic` (alias `fibring`): the formula ↔ network correspondence checked exactly,
//! node by node — a network's output against the model checker's truth value.
//!
//! 1. **Round trip, GML** and 2. **fibred** (`round_trip.rs`). Random formulas (depth ≤ 4,
//!    grades ≤ 3, atoms p, q, r) on random graphs (Erdős–Rényi, power-law, grid): compile →
//!    evaluate → check, then decompile → re-check against the network; the same with fibred
//!    formulas (three modalities) on random fibred models, compiled into fibred networks.
//! 3. **Large graphs** (`large.rs`). Compiled networks vs the checker on 10⁵-node graphs of each
//!    family, with both sides' throughput.
//! 4. **Non-uniform decompilation** (`non_uniform.rs`). Random integer networks (not in the
//!    compiler's image) decompiled for a degree bound Δ and checked on graphs of degree ≤ Δ;
//!    the size of the formula for "Σ a_i #ψ_i ≥ t" as Δ grows.
//! 5. **Trained GNNs** (`trained.rs`). One- and two-layer AC-GNNs trained on the labels of a
//!    hidden formula, quantised to integers, decompiled, and checked against the quantised
//!    network on held-out graphs.
//! 6. **Throughput** (`throughput.rs`). Model checking on graphs of 10³…10⁶ nodes (10⁵ with
//!    `--quick`) for several |φ|; time against |graph|·|formula| with a least-squares line
//!    through the origin.
//! 7. **Attention networks** (`attention.rs`). Random GATs and transformer encoders (softmax
//!    base 2 and e) described non-uniformly — for degree ≤ Δ by a GML formula, for ≤ N nodes
//!    by a fibred formula over a complete second sort — and checked against the exact network
//!    (see [`crate::attention`]).
//!
//! The run reads as its phases: every part draws its data from one seeded RNG and measures
//! (compiling or training its networks on the way), in this order, since the order of the
//! draws is part of the result; then the arms and tables; the verdict (`verdict.rs`); the figures.
//! Arms of parts 1–5 and 7 carry `worlds` and `disagreements`; the claim is exact, so one comparison
//! per arm decides it: 0 disagreements over a positive number of compared worlds.

mod attention;
mod large;
mod non_uniform;
mod round_trip;
mod throughput;
mod trained;
mod verdict;

use genlab_core::experiment::{ExperimentInfo, ReportBuilder, ReproOptions, Scales};
use genlab_core::report::Report;
use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};
use serde::Serialize;

use crate::verify::Agreement;

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "logic",
    paper: "El Harzli, Cuenca Grau, d'Avila Garcez, Horrocks, Besold 2026, Fibring modal logics ↔ fibring neural networks (arXiv 2509.23912); Barceló et al. 2020, The logical expressiveness of GNNs (ICLR)",
    paper_effect: "a theorem, not a measurement: a fibred network's output is the truth value of its fibred formula on every input (agreement 100%, 0 disagreements)",
    claim: "Node by node, a (fibred) GNN compiled from a (fibred) graded modal formula outputs the model checker's truth value of the formula, and the formula decompiled from a network of the correspondence (compiled, random, or trained and quantised) is true exactly where the network outputs 1: 0 disagreements on every compared node of every graph",
};

/// The sizes of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Sizes {
    /// Random (graph, formula) pairs of the GML round trip.
    pub pairs: usize,
    /// Random (fibred model, fibred formula) pairs of the fibred round trip.
    pub fibred_pairs: usize,
    /// Smallest and largest number of worlds per sort of a random model.
    pub nodes: (usize, usize),
    /// Nodes of each large graph.
    pub large_nodes: usize,
    /// Formulas compiled and checked on each large graph.
    pub large_formulas: usize,
    /// Random integer networks decompiled non-uniformly.
    pub random_nets: usize,
    /// Degree bounds Δ of the non-uniform decompilation.
    pub deltas: &'static [usize],
    /// Adam steps of each trained network.
    pub learn_steps: u64,
    /// Graph sizes of the throughput measurement.
    pub bench_nodes: &'static [usize],
    /// Formula sizes (distinct subformulas) of the throughput measurement.
    pub bench_subformulas: &'static [usize],
    /// Least seconds each throughput measurement repeats for.
    pub bench_seconds: f64,
    /// Random attention networks per arm (scope × base).
    pub attention_nets: usize,
}

/// Quick (≤ 20 s) and full (≤ 2 min) sizes on 2 shared cores.
pub const SCALES: Scales<Sizes> = Scales {
    quick: Sizes {
        pairs: 12_000,
        fibred_pairs: 5_000,
        nodes: (1, 80),
        large_nodes: 100_000,
        large_formulas: 3,
        random_nets: 3_000,
        deltas: &[1, 2, 3, 4, 5, 6],
        learn_steps: 2_000,
        bench_nodes: &[1_000, 10_000, 100_000],
        bench_subformulas: &[4, 16, 64],
        bench_seconds: 0.05,
        attention_nets: 40,
    },
    full: Sizes {
        pairs: 100_000,
        fibred_pairs: 40_000,
        nodes: (1, 150),
        large_nodes: 100_000,
        large_formulas: 12,
        random_nets: 20_000,
        deltas: &[1, 2, 3, 4, 5, 6, 7, 8],
        learn_steps: 3_000,
        bench_nodes: &[1_000, 10_000, 100_000, 1_000_000],
        bench_subformulas: &[4, 16, 64],
        bench_seconds: 0.3,
        attention_nets: 200,
    },
};

/// Syntactic depth of the random formulas of the round trips.
const FORMULA_DEPTH: usize = 4;
/// Largest grade of the random formulas of the round trips.
const MAX_GRADE: u32 = 3;
/// Sorts of the fibred round trip.
const FIBRED_SORTS: usize = 3;
/// The atoms every part labels its graphs with.
const ATOMS: [&str; 3] = ["p", "q", "r"];

fn atoms() -> Vec<String> {
    ATOMS.iter().map(|s| s.to_string()).collect()
}

/// Runs the experiment.
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let sizes = opts.scale(&SCALES);
    std::fs::create_dir_all(&opts.dir).map_err(|e| Error::io(&opts.dir, e))?;
    let mut rng = SeededRng::new(opts.seed);

    // Data, networks and measurements, part by part (one RNG, drawn in this order).
    let round_trips = round_trip::measure(sizes, &mut rng, observer)?;
    let large = large::measure(sizes, &mut rng, observer)?;
    let random_nets = non_uniform::random_nets(sizes, &mut rng, observer)?;
    let blowups = non_uniform::blowups(sizes, &mut rng)?;
    let trained = trained::measure(sizes, &mut rng, observer)?;
    let throughput = throughput::measure(sizes, &mut rng, observer)?;
    let attention = attention::measure(sizes.attention_nets, &mut rng)?;

    let mut b = ReportBuilder::new(&INFO, opts);
    b.seeds(&opts.seeds(1));
    record_config(&mut b, sizes);
    round_trip::report(&round_trips, &mut b);
    large::report(&large, sizes, &mut b);
    non_uniform::report(&random_nets, &blowups, &mut b);
    trained::report(&trained, &mut b);
    throughput::report(&throughput, &mut b);
    attention::report(&attention, &mut b);

    let verdict = verdict::exact_everywhere(b.arms_so_far())?;

    non_uniform::figure(&blowups, &mut b)?;
    throughput::figures(&throughput, &mut b)?;
    b.key_figure(non_uniform::FIGURE);
    notes(&mut b);
    Ok(b.finish(verdict))
}

/// The sizes and the fixed settings, as the report's configuration.
fn record_config(b: &mut ReportBuilder, sizes: &Sizes) {
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(sizes) {
        for (key, value) in fields {
            b.config(&key, value);
        }
    }
    b.config("fibred_sorts", FIBRED_SORTS)
        .config("formula_depth", FORMULA_DEPTH)
        .config("max_grade", MAX_GRADE)
        .config("atoms", ATOMS);
}

fn notes(b: &mut ReportBuilder) {
    b.note("Every comparison is exact (integer networks, Boolean truth values); a single differing node fails the verdict.")
        .note("Only the abstract and introduction of arXiv 2509.23912 were available; fibred models follow Gabbay's semantics and fibred networks Garcez & Gabbay's multiplicative fibring function (see the crate docs). GATs and transformer encoders are built under our own hypotheses (Boolean features, integer query/key/value weights, step activation, bounded scopes), since the paper's theorem statements could not be read: base-2 softmax is decided exactly in integers; base-e softmax cannot be (e^d is irrational) and is decided by certified floating point, refusing rather than guessing an uncertifiable sign; the 'float_errors' metric counts nodes where the usual float softmax evaluation differs from the exact one (only at exact ties z = 0).")
        .note("The trained networks have one or two aggregate-combine layers (sigmoid units during training, annealed towards 0/1), trained by Adam on a hidden formula's labels and quantised by scaling and rounding each neuron (the output layer refitted on the Boolean hidden units); 'quantised = target' measures how well they learnt the hidden formula and is not part of the verdict, while 'formula ≠ quantised net' is.")
        .note("Random integer networks whose neurons sum two neighbour counts are decompiled non-uniformly (degree bound Δ ≤ 4) and checked on graphs of maximum degree ≤ Δ only, where the formula is claimed.");
}

/// Records an arm of the verdict: `worlds`, `disagreements` and `models` of `a`, plus `extra`.
fn agreement_arm(b: &mut ReportBuilder, arm: &str, a: &Agreement, extra: &[(&str, f64)]) {
    b.metric(arm, "worlds", a.worlds as f64)
        .metric(arm, "disagreements", a.disagreements as f64)
        .metric(arm, "models", a.models as f64);
    for &(metric, value) in extra {
        b.metric(arm, metric, value);
    }
}

/// A table with these columns and no rows yet.
fn table(title: impl Into<String>, columns: &[&str]) -> genlab_core::report::Table {
    genlab_core::report::Table {
        title: title.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows: vec![],
    }
}

/// A rate or a duration spanning orders of magnitude, to three significant digits.
fn sci(x: f64) -> String {
    format!("{x:.2e}")
}
