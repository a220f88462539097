//! A trained GNN, quantised to the correspondence's class and decompiled.
//!
//! The float model has one or two aggregate-combine layers. With `hidden = H > 0`:
//!
//! ```text
//! h_v   = sigmoid(τ · (C₁ x_v + A₁ Σ_{u∈N(v)} x_u + b₁))          H hidden features
//! P(v)  = sigmoid(c₂ · h_v + a₂ · Σ_{u∈N(v)} h_u + b₂)
//! ```
//!
//! (with `H = 0` just `P(v) = sigmoid(c · x_v + a · Σ x_u + b)`), trained by Adam on the
//! class-balanced cross-entropy against the labels of a hidden GML formula on a random graph of maximum degree
//! ≤ Δ; the temperature τ rises from 1 to 4 so hidden units approach 0/1. Quantisation: each
//! neuron's weights are scaled so that the largest is `k` (k = 1..=8) and rounded, keeping the
//! `k` that best reproduces the float neuron's decisions (hidden units) or the labels (output);
//! the float rule "pre-activation > 0" becomes the integer rule "pre-activation ≥ 1", i.e. a
//! truncated-ReLU neuron. After the hidden layer is quantised the output layer is refitted on
//! the now-Boolean hidden features, then quantised; the best of three restarts (by quantised
//! training accuracy) is kept. The result lies in the class of
//! [`crate::decompile`]; neurons with several neighbour terms make its formula non-uniform,
//! exact on graphs of degree ≤ Δ.

pub mod data;
mod fit;
mod float;
mod quantise;

use genlab_core::train::{Observer, SeededRng, TrainOptions};
use genlab_core::{Error, Result};
use serde::Serialize;

use crate::check::truth;
use crate::gnn::{Gnn, Layer};
use crate::model::Model;
use crate::random::{Family, random_graph};

pub use float::FloatNet;
use float::{affine, atom_rows, with_neighbours};
use quantise::{neuron, quantise};

/// Training settings.
#[derive(Debug, Clone, Serialize)]
pub struct LearnConfig {
    /// The hidden formula whose truth values are the labels.
    pub target: String,
    /// Atoms (input features).
    pub atoms: Vec<String>,
    /// Hidden units (0: a single layer).
    pub hidden: usize,
    /// Δ of the training graph.
    pub max_degree: usize,
    /// Nodes of the training graph.
    pub nodes: usize,
    /// Adam steps (full batch).
    pub steps: u64,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed.
    pub seed: u64,
}

/// A trained network and its quantisation.
#[derive(Debug, Clone)]
pub struct Learned {
    /// The float network.
    pub float: FloatNet,
    /// The quantised integer network.
    pub net: Gnn,
    /// Chosen `k` (largest |weight|) of each quantised neuron, hidden units first.
    pub scales: Vec<i64>,
    /// Training accuracy of the float and of the quantised network.
    pub train_accuracy: (f64, f64),
    /// Final training loss of the float network.
    pub loss: f64,
}

/// A random bounded-degree graph over `atoms`, as a one-sort model.
pub fn graph(rng: &mut SeededRng, nodes: usize, atoms: &[String], max_degree: usize) -> Model {
    let names: Vec<&str> = atoms.iter().map(String::as_str).collect();
    Model::single(random_graph(
        rng.rng(),
        Family::BoundedDegree { max_degree },
        nodes,
        &names,
        0.5,
    ))
}

/// Trains, quantises and returns the network, on a random graph labelled by `cfg.target`.
pub fn learn(cfg: &LearnConfig, observer: &mut dyn Observer) -> Result<Learned> {
    let target = crate::parse::parse(&cfg.target)?;
    if let Some(p) = target.atoms().into_iter().find(|p| !cfg.atoms.contains(p)) {
        return Err(Error::InvalidInput(format!(
            "the target uses `{p}`, which is not among the atoms"
        )));
    }
    let mut rng = SeededRng::new(cfg.seed);
    let model = graph(&mut rng, cfg.nodes, &cfg.atoms, cfg.max_degree);
    let y = truth(&model, &target, 0)?;
    fit_labels(cfg, &model, &y, &mut rng, observer)
}

/// Training settings for a user's labelled graphs.
#[derive(Debug, Clone, Serialize)]
pub struct FitConfig {
    /// Atoms (input features), in feature order.
    pub atoms: Vec<String>,
    /// Hidden units (0: a single layer).
    pub hidden: usize,
    /// Adam steps (full batch).
    pub steps: u64,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed.
    pub seed: u64,
}

/// Trains, quantises and returns the network on an undirected graph (e.g. the disjoint union
/// of [`data::load_dataset`]) with one label per node.
pub fn learn_labelled(
    g: &crate::graph::Graph,
    labels: &[bool],
    fit: &FitConfig,
    observer: &mut dyn Observer,
) -> Result<Learned> {
    if labels.len() != g.nodes() {
        return Err(Error::InvalidInput(format!(
            "{} labels for a graph of {} nodes",
            labels.len(),
            g.nodes()
        )));
    }
    if g.directed() {
        return Err(Error::InvalidInput(
            "training needs an undirected graph (it backpropagates through neighbour sums)".into(),
        ));
    }
    if fit.steps == 0 || !(fit.lr.is_finite() && fit.lr > 0.0) {
        return Err(Error::InvalidInput(format!(
            "need at least one step and a positive finite learning rate (got {} steps, lr {})",
            fit.steps, fit.lr
        )));
    }
    let cfg = LearnConfig {
        target: String::new(),
        atoms: fit.atoms.clone(),
        hidden: fit.hidden,
        max_degree: g.max_degree(),
        nodes: g.nodes(),
        steps: fit.steps,
        lr: fit.lr,
        seed: fit.seed,
    };
    let model = Model::single(g.clone());
    fit_labels(
        &cfg,
        &model,
        labels,
        &mut SeededRng::new(fit.seed),
        observer,
    )
}

/// Trains on `model`'s sort-0 graph against labels `y` (the shared body of [`learn`] and
/// [`learn_labelled`]).
fn fit_labels(
    cfg: &LearnConfig,
    model: &Model,
    y: &[bool],
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Learned> {
    let y = y.to_vec();
    let g = model.graph(0);
    let x = with_neighbours(g, &atom_rows(g, &cfg.atoms)?);
    let a = cfg.atoms.len();
    if cfg.hidden == 0 {
        let options = TrainOptions::constant(cfg.steps, cfg.lr).with_phase("train output layer");
        let (w, loss) = fit::fit_logistic(&x, &y, options, rng, observer)?;
        let (k, q, acc) = quantise(&w, &x, &y);
        let float = FloatNet {
            hidden: vec![],
            tau: 1.0,
            output: w,
        };
        let net = Gnn::new(
            0,
            cfg.atoms.clone(),
            vec![Layer {
                neurons: vec![neuron(&q, a)],
            }],
            0,
        )?;
        let float_acc = agreement(&float.eval(model, &cfg.atoms)?, &y);
        return Ok(Learned {
            float,
            net,
            scales: vec![k],
            train_accuracy: (float_acc, acc),
            loss,
        });
    }
    // Two layers: the loss is not convex, so keep the best of a few restarts.
    let mut best: Option<Learned> = None;
    for _ in 0..RESTARTS {
        let candidate = two_layers(cfg, model, &x, &y, rng, observer)?;
        if best
            .as_ref()
            .is_none_or(|b| candidate.train_accuracy.1 > b.train_accuracy.1)
        {
            best = Some(candidate);
        }
    }
    Ok(best.expect("at least one restart"))
}

/// Restarts of the two-layer training.
const RESTARTS: usize = 3;

/// Trains a two-layer float network, quantises each hidden unit against its own float
/// decisions, then refits and quantises the output layer on the Boolean hidden features.
fn two_layers(
    cfg: &LearnConfig,
    model: &Model,
    x: &[Vec<f64>],
    y: &[bool],
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Learned> {
    let g = model.graph(0);
    let a = cfg.atoms.len();
    let options = TrainOptions::constant(cfg.steps, cfg.lr).with_phase("train two-layer AC-GNN");
    let (float, loss) = fit::fit_two_layers(g, x, y, cfg.hidden, options, rng, observer)?;
    let mut scales = Vec::new();
    let mut hidden_neurons = Vec::new();
    let mut hb: Vec<Vec<f64>> = vec![Vec::with_capacity(cfg.hidden); x.len()];
    for w in &float.hidden {
        let want: Vec<bool> = x.iter().map(|r| affine(w, r) > 0.0).collect();
        let (k, q, _) = quantise(w, x, &want);
        let qf: Vec<f64> = q.iter().map(|&v| v as f64).collect();
        for (row, r) in hb.iter_mut().zip(x) {
            row.push((affine(&qf, r) >= 1.0) as u8 as f64);
        }
        scales.push(k);
        hidden_neurons.push(neuron(&q, a));
    }
    let hx = with_neighbours(g, &hb);
    let options =
        TrainOptions::constant(cfg.steps.min(1000), cfg.lr).with_phase("train output layer");
    let (w2, _) = fit::fit_logistic(&hx, y, options, rng, observer)?;
    let (k, q2, acc) = quantise(&w2, &hx, y);
    scales.push(k);
    let net = Gnn::new(
        0,
        cfg.atoms.clone(),
        vec![
            Layer {
                neurons: hidden_neurons,
            },
            Layer {
                neurons: vec![neuron(&q2, cfg.hidden)],
            },
        ],
        0,
    )?;
    let float_acc = agreement(&float.eval(model, &cfg.atoms)?, y);
    Ok(Learned {
        float,
        net,
        scales,
        train_accuracy: (float_acc, acc),
        loss,
    })
}

fn agreement(a: &[bool], b: &[bool]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompile::{Options, decompile};
    use genlab_core::train::NoObserver;

    #[test]
    fn learns_threshold_formulas_and_decompiles_them_exactly() {
        for (target, hidden) in [("<>=2 p & !q", 0), ("<> (p & <> q)", 2)] {
            let cfg = LearnConfig {
                target: target.into(),
                atoms: vec!["p".into(), "q".into()],
                hidden,
                max_degree: 3,
                nodes: 400,
                steps: 1500,
                lr: 0.1,
                seed: 0,
            };
            let l = learn(&cfg, &mut NoObserver).unwrap();
            assert!(
                l.train_accuracy.1 >= 0.9,
                "{target}: {:?}",
                l.train_accuracy
            );
            assert_eq!(l.net.layers().len(), 1 + (hidden > 0) as usize);
            let opts = Options {
                max_degree: Some(3),
                ..Options::default()
            };
            let d = decompile(&l.net, &opts).unwrap();
            let mut rng = SeededRng::new(9);
            for _ in 0..5 {
                let m = graph(&mut rng, 80, &cfg.atoms, 3);
                let out = l.net.eval(&m).unwrap();
                assert_eq!(out, truth(&m, &d.formula, 0).unwrap(), "{}", d.formula);
                assert_eq!(l.float.eval(&m, &cfg.atoms).unwrap().len(), 80);
            }
        }
    }
}
