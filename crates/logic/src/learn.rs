//! A trained GNN, quantised to the correspondence's class and decompiled.
//!
//! The model is one aggregate-combine layer with a single output neuron,
//!
//! ```text
//! P(v ∈ target) = sigmoid( Σ_p c_p [p(v)] + Σ_p a_p #{u ∈ N(v) : p(u)} + b ),
//! ```
//!
//! trained by Adam on the cross-entropy against the labels of a hidden GML formula, on random
//! graphs of maximum degree ≤ Δ. Quantisation scales the weights so that the largest is `k`
//! (k = 1..=8), rounds, and keeps the `k` with the best training accuracy; the float rule
//! "pre-activation > 0" becomes the integer rule "pre-activation ≥ 1", i.e. the truncated ReLU
//! of an integer neuron. The quantised network lies in the class of [`crate::decompile`]; with
//! several neighbour terms its formula is non-uniform, exact on graphs of degree ≤ Δ.

use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};
use serde::Serialize;

use crate::check::truth;
use crate::formula::Formula;
use crate::gnn::{Gnn, Layer, Neuron};
use crate::model::Model;
use crate::random::{Family, random_graph};

/// Training settings.
#[derive(Debug, Clone, Serialize)]
pub struct LearnConfig {
    /// The hidden formula whose truth values are the labels.
    pub target: String,
    /// Atoms (input features).
    pub atoms: Vec<String>,
    /// Δ of the training graphs.
    pub max_degree: usize,
    /// Training graphs and their size.
    pub graphs: usize,
    /// Worlds per training graph.
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
    /// Float weights `[c_p…, a_p…, b]`.
    pub weights: Vec<f64>,
    /// The quantised integer network.
    pub net: Gnn,
    /// Largest quantised |weight| chosen.
    pub scale: i64,
    /// Training accuracy of the float and of the quantised network.
    pub train_accuracy: (f64, f64),
    /// Final training loss.
    pub loss: f64,
}

/// Per-node features `[x_p…, n_p…]` of sort 0 and the 0/1 labels of `target`.
fn dataset(model: &Model, atoms: &[String], target: &Formula) -> Result<(Vec<Vec<f64>>, Vec<bool>)> {
    let g = model.graph(0);
    let cols: Vec<&[bool]> = atoms.iter().map(|p| g.atom(p)).collect::<Result<_>>()?;
    let x = (0..g.nodes())
        .map(|v| {
            let own = cols.iter().map(|c| c[v] as u8 as f64);
            let neigh = cols
                .iter()
                .map(|c| g.neighbours(v).iter().filter(|&&u| c[u as usize]).count() as f64);
            own.chain(neigh).collect()
        })
        .collect();
    Ok((x, truth(model, target, 0)?))
}

/// Random bounded-degree graphs over `atoms`.
pub fn graphs(rng: &mut SeededRng, count: usize, nodes: usize, atoms: &[String], max_degree: usize) -> Vec<Model> {
    let names: Vec<&str> = atoms.iter().map(String::as_str).collect();
    (0..count)
        .map(|_| Model::single(random_graph(rng.rng(), Family::BoundedDegree { max_degree }, nodes, &names, 0.5)))
        .collect()
}

/// Trains, quantises and returns the network.
pub fn learn(cfg: &LearnConfig, observer: &mut dyn Observer) -> Result<Learned> {
    let target = crate::parse::parse_formula(&cfg.target)?;
    if let Some(p) = target.atoms().into_iter().find(|p| !cfg.atoms.contains(p)) {
        return Err(Error::InvalidInput(format!("the target uses `{p}`, which is not among the atoms")));
    }
    let mut rng = SeededRng::new(cfg.seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for m in graphs(&mut rng, cfg.graphs, cfg.nodes, &cfg.atoms, cfg.max_degree) {
        let (xs, ys) = dataset(&m, &cfg.atoms, &target)?;
        x.extend(xs);
        y.extend(ys);
    }
    let d = 2 * cfg.atoms.len();
    let n = x.len() as f64;
    let mut w = vec![0.0f64; d + 1];
    let (mut m1, mut m2) = (vec![0.0; d + 1], vec![0.0; d + 1]);
    let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
    let mut loss = f64::NAN;
    observer.start("train AC-GNN", cfg.steps);
    for step in 1..=cfg.steps {
        let mut grad = vec![0.0; d + 1];
        let mut total = 0.0;
        for (xi, &yi) in x.iter().zip(&y) {
            let z = w[d] + xi.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            let t = yi as u8 as f64;
            // Cross-entropy in the numerically stable softplus form.
            total += z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
            let r = p - t;
            for (g, xv) in grad.iter_mut().zip(xi) {
                *g += r * xv;
            }
            grad[d] += r;
        }
        loss = total / n;
        genlab_core::train::check_finite(step - 1, "loss", loss)?;
        for k in 0..=d {
            let g = grad[k] / n;
            m1[k] = b1 * m1[k] + (1.0 - b1) * g;
            m2[k] = b2 * m2[k] + (1.0 - b2) * g * g;
            let mh = m1[k] / (1.0 - b1.powi(step as i32));
            let vh = m2[k] / (1.0 - b2.powi(step as i32));
            w[k] -= cfg.lr * mh / (vh.sqrt() + eps);
        }
        if step % 50 == 0 || step == cfg.steps {
            observer.step(step, &[("loss", loss)]);
        }
    }
    observer.finish();
    let accuracy = |weights: &[f64], integer: bool| -> f64 {
        let hits = x
            .iter()
            .zip(&y)
            .filter(|(xi, yi)| {
                let z = weights[d] + xi.iter().zip(weights).map(|(a, b)| a * b).sum::<f64>();
                (if integer { z >= 1.0 } else { z > 0.0 }) == **yi
            })
            .count();
        hits as f64 / n
    };
    let largest = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
    let mut best: Option<(f64, i64, Vec<f64>)> = None;
    for k in 1..=8i64 {
        let q: Vec<f64> = w.iter().map(|v| (v * k as f64 / largest).round()).collect();
        let acc = accuracy(&q, true);
        if best.as_ref().is_none_or(|b| acc > b.0) {
            best = Some((acc, k, q));
        }
    }
    let (q_acc, scale, q) = best.expect("k ranges over 1..=8");
    let a = cfg.atoms.len();
    let terms = |range: std::ops::Range<usize>| -> Vec<(usize, i64)> {
        range.filter(|&i| q[i] != 0.0).map(|i| (i % a, q[i] as i64)).collect()
    };
    let net = Gnn::new(
        0,
        cfg.atoms.clone(),
        vec![Layer {
            neurons: vec![Neuron {
                c: terms(0..a),
                a: terms(a..2 * a),
                b: q[d] as i64,
                fibre: None,
            }],
        }],
        0,
    )?;
    Ok(Learned {
        train_accuracy: (accuracy(&w, false), q_acc),
        weights: w,
        net,
        scale,
        loss,
    })
}

/// The float network's decision at every world of sort 0.
pub fn float_eval(weights: &[f64], atoms: &[String], model: &Model) -> Result<Vec<bool>> {
    let (x, _) = dataset(model, atoms, &Formula::Top)?;
    let d = weights.len() - 1;
    Ok(x.iter()
        .map(|xi| weights[d] + xi.iter().zip(weights).map(|(a, b)| a * b).sum::<f64>() > 0.0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decompile::{Options, decompile};
    use genlab_core::train::NoObserver;

    #[test]
    fn learns_a_threshold_formula_and_decompiles_it_exactly() {
        let cfg = LearnConfig {
            target: "<>=2 p & !q".into(),
            atoms: vec!["p".into(), "q".into()],
            max_degree: 4,
            graphs: 10,
            nodes: 60,
            steps: 400,
            lr: 0.1,
            seed: 0,
        };
        let l = learn(&cfg, &mut NoObserver).unwrap();
        assert!(l.train_accuracy.1 >= 0.97, "{:?}", l.train_accuracy);
        let d = decompile(&l.net, &Options { max_degree: Some(4), ..Options::default() }).unwrap();
        let mut rng = SeededRng::new(9);
        for m in graphs(&mut rng, 5, 80, &cfg.atoms, 4) {
            assert_eq!(l.net.eval(&m).unwrap(), truth(&m, &d.formula, 0).unwrap(), "{}", d.formula);
            assert_eq!(float_eval(&l.weights, &cfg.atoms, &m).unwrap().len(), 80);
        }
    }
}
