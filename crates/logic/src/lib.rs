//! genlab-logic: graded modal logic and graph neural networks, exactly.
//!
//! The correspondence of Barceló et al. (ICLR 2020) — a formula of graded modal logic (GML)
//! and an aggregate-combine GNN with integer weights and truncated-ReLU activations compute the
//! same node classifier — made executable in both directions, and extended to fibred formulas
//! and fibred networks as in El Harzli, Cuenca Grau, d'Avila Garcez, Horrocks & Besold,
//! "From Neural Networks to Logical Theories: The Correspondence between Fibring Modal Logics
//! and Fibring Neural Networks" (ICLR 2026, arXiv 2509.23912).
//!
//! Read top to bottom: [`formula`] (syntax, size, depth, the subformula DAG), [`parse`],
//! [`graph`] and [`model`] (Kripke and fibred models, file formats), [`check`] (the model
//! checker, linear in |model|·|formula|), [`gnn`] (exact integer AC-GNNs and fibring),
//! [`compile`] (formula → network), [`decompile`] (network → formula, uniform or for a degree
//! bound), [`random`] (graphs, models, formulas, networks), [`learn`] (a trained network,
//! quantised and decompiled), [`verify`] (agreement harness and throughput) and [`repro`]
//! (`genlab repro logic`, alias `fibring`; one file per part under `src/repro/`).
//!
//! Errors a caller can act on are typed and convert into [`genlab_core::Error`]:
//! [`parse::ParseError`] (the input, the column and what was expected there),
//! [`graph::GraphError`] and [`model::ModelError`] (what is wrong with a graph's or a fibred
//! model's shape). Nothing here prints; long loops report through
//! [`genlab_core::train::Observer`], and the float networks of [`learn`] train on
//! [`genlab_core::train::Trainer`].
//!
//! # What the paper says, and what could be checked \[M\]
//!
//! Only the abstract and the opening of the introduction of arXiv 2509.23912 could be read
//! through the project's search tool (the arXiv HTML page and secondary summaries); sections
//! 3–5, with the formal definitions and theorems, were not retrievable. Confirmed from the
//! paper's own text: fibring of networks "uses the (pre-)activations of a trained network to
//! evaluate a fibring function computing the weights of another network whose outputs are
//! injected back into the original network"; the paper formalises "fibred models compatible
//! with fibred neural networks" and derives **non-uniform** expressiveness results for GNNs,
//! GATs and transformer encoders. A secondary review states that a fibring architecture is a
//! directed tree whose nodes are labelled by neural architectures. Not confirmed, and
//! therefore implemented from the standard literature instead (Gabbay's fibred semantics,
//! Garcez & Gabbay's multiplicative fibring function `W ← a·W`, Barceló et al.'s AC-GNNs):
//! the paper's exact definition of a compatible fibred model (here: a child of another sort
//! must output a Boolean combination of its sort's diamonds, see [`gnn`]), the activation and
//! weight hypotheses of its theorem (here: truncated ReLU, integer weights, sum aggregation),
//! and its results for GATs and transformers, built in [`attention`] under hypotheses of our
//! own that make the statement checkable (Boolean features, integer query/key/value weights, a
//! step activation, bounded scopes; softmax base 2 decided exactly in integers, base e
//! certified in floating point, with the reason it cannot be integer-exact): a GAT is
//! described, for degree ≤ Δ, by a GML formula, and a transformer encoder, for ≤ N nodes, by a
//! fibred formula over the graph and a complete second sort. (Sum-aggregation files that
//! declare `mean` aggregation are still refused by [`gnn`]'s reader.)

#![warn(missing_docs)]

pub mod attention;
pub mod check;
pub mod compile;
pub mod decompile;
pub mod formula;
pub mod gnn;
pub mod graph;
pub mod learn;
pub mod model;
pub mod parse;
pub mod random;
pub mod repro;
pub mod verify;

pub use formula::Formula;
pub use gnn::Gnn;
pub use graph::Graph;
pub use model::Model;

use genlab_core::experiment::{Experiment, Family};

/// The logic family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "logic",
    summary: "graded modal logic ↔ GNNs: model-check, compile a formula to a GNN, decompile, \
              verify (fibring)",
    aliases: &[("fibring", "logic")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: &[],
    datasets: &[],
};
