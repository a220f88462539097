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

use genlab_core::train::{Observer, SeededRng, check_finite};
use genlab_core::{Error, Result};
use serde::Serialize;

use crate::check::truth;
use crate::gnn::{Gnn, Layer, Neuron};
use crate::graph::Graph;
use crate::model::Model;
use crate::random::{Family, random_graph};

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

/// The trained float network.
#[derive(Debug, Clone)]
pub struct FloatNet {
    /// Hidden units' weights `[c…, a…, b]` (empty for one layer).
    pub hidden: Vec<Vec<f64>>,
    /// Final temperature of the hidden sigmoid.
    pub tau: f64,
    /// Output weights `[c…, a…, b]` over the hidden units (or the atoms).
    pub output: Vec<f64>,
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

/// Rows `[f_v…, Σ_{u∈N(v)} f_u…]`: a node's own features and its neighbours' sums.
fn with_neighbours(g: &Graph, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    (0..g.nodes())
        .map(|v| {
            let mut r = rows[v].clone();
            let k = r.len();
            r.resize(2 * k, 0.0);
            for &u in g.neighbours(v) {
                for (i, x) in rows[u as usize].iter().enumerate() {
                    r[k + i] += x;
                }
            }
            r
        })
        .collect()
}

fn atom_rows(g: &Graph, atoms: &[String]) -> Result<Vec<Vec<f64>>> {
    let cols: Vec<&[bool]> = atoms.iter().map(|p| g.atom(p)).collect::<Result<_>>()?;
    Ok((0..g.nodes())
        .map(|v| cols.iter().map(|c| c[v] as u8 as f64).collect())
        .collect())
}

/// `w · [row, 1]`.
fn affine(w: &[f64], row: &[f64]) -> f64 {
    w[row.len()] + row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Cross-entropy of logit `z` against label `t`, in the stable softplus form.
fn bce(z: f64, t: f64) -> f64 {
    z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()
}

/// Adam (β₁ = 0.9, β₂ = 0.999) on a flat parameter vector.
struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
    lr: f64,
}

impl Adam {
    fn new(n: usize, lr: f64) -> Adam {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
            lr,
        }
    }

    fn step(&mut self, w: &mut [f64], g: &[f64]) {
        self.t += 1;
        for k in 0..w.len() {
            self.m[k] = 0.9 * self.m[k] + 0.1 * g[k];
            self.v[k] = 0.999 * self.v[k] + 0.001 * g[k] * g[k];
            let mh = self.m[k] / (1.0 - 0.9f64.powi(self.t));
            let vh = self.v[k] / (1.0 - 0.999f64.powi(self.t));
            w[k] -= self.lr * mh / (vh.sqrt() + 1e-8);
        }
    }
}

/// Logistic regression of `y` on `rows` (weights `[…, bias]`) and its final loss.
fn fit_logistic(
    rows: &[Vec<f64>],
    y: &[bool],
    steps: u64,
    lr: f64,
    observer: &mut dyn Observer,
) -> Result<(Vec<f64>, f64)> {
    let d = rows.first().map_or(0, Vec::len);
    let n = rows.len().max(1) as f64;
    let mut w = vec![0.0; d + 1];
    let mut adam = Adam::new(d + 1, lr);
    let mut loss = f64::NAN;
    let cw = class_weights(y);
    observer.start("train output layer", steps);
    for step in 1..=steps {
        let mut grad = vec![0.0; d + 1];
        let mut total = 0.0;
        for (row, &yi) in rows.iter().zip(y) {
            let z = affine(&w, row);
            let t = yi as u8 as f64;
            let c = cw[yi as usize];
            total += c * bce(z, t);
            let r = c * (sigmoid(z) - t) / n;
            for (g, x) in grad.iter_mut().zip(row) {
                *g += r * x;
            }
            grad[d] += r;
        }
        loss = total / n;
        check_finite(step - 1, "loss", loss)?;
        adam.step(&mut w, &grad);
        if step % 50 == 0 || step == steps {
            observer.step(step, &[("loss", loss)]);
        }
    }
    observer.finish();
    Ok((w, loss))
}

/// The integer neuron (largest |weight| = k ∈ 1..=8) agreeing most often with `want`, as
/// `(k, weights, agreement)`; the integer rule is `q · [row, 1] ≥ 1`.
fn quantise(w: &[f64], rows: &[Vec<f64>], want: &[bool]) -> (i64, Vec<i64>, f64) {
    let largest = w
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let mut best: Option<(i64, Vec<i64>, f64)> = None;
    for k in 1..=8i64 {
        let q: Vec<i64> = w
            .iter()
            .map(|v| (v * k as f64 / largest).round() as i64)
            .collect();
        let qf: Vec<f64> = q.iter().map(|&x| x as f64).collect();
        let hits = rows
            .iter()
            .zip(want)
            .filter(|(r, t)| (affine(&qf, r) >= 1.0) == **t)
            .count();
        let acc = hits as f64 / rows.len().max(1) as f64;
        if best.as_ref().is_none_or(|b| acc > b.2) {
            best = Some((k, q, acc));
        }
    }
    best.expect("k ranges over 1..=8")
}

/// The integer neuron reading `[own…, neighbours…, bias]` weights over `width` features.
fn neuron(q: &[i64], width: usize) -> Neuron {
    let terms = |range: std::ops::Range<usize>| -> Vec<(usize, i64)> {
        range
            .filter(|&i| q[i] != 0)
            .map(|i| (i % width, q[i]))
            .collect()
    };
    Neuron {
        c: terms(0..width),
        a: terms(width..2 * width),
        b: q[2 * width],
        fibre: None,
    }
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

/// Trains, quantises and returns the network.
pub fn learn(cfg: &LearnConfig, observer: &mut dyn Observer) -> Result<Learned> {
    let target = crate::parse::parse_formula(&cfg.target)?;
    if let Some(p) = target.atoms().into_iter().find(|p| !cfg.atoms.contains(p)) {
        return Err(Error::InvalidInput(format!(
            "the target uses `{p}`, which is not among the atoms"
        )));
    }
    let mut rng = SeededRng::new(cfg.seed);
    let model = graph(&mut rng, cfg.nodes, &cfg.atoms, cfg.max_degree);
    let g = model.graph(0);
    let y = truth(&model, &target, 0)?;
    let x = with_neighbours(g, &atom_rows(g, &cfg.atoms)?);
    let a = cfg.atoms.len();
    if cfg.hidden == 0 {
        let (w, loss) = fit_logistic(&x, &y, cfg.steps, cfg.lr, observer)?;
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
        let float_acc = agreement(&float.eval(&model, &cfg.atoms)?, &y);
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
        let candidate = two_layers(cfg, &model, &x, &y, &mut rng, observer)?;
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
    let (float, loss) = fit_two_layers(cfg, g, x, y, rng, observer)?;
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
    let (w2, _) = fit_logistic(&hx, y, cfg.steps.min(1000), cfg.lr, observer)?;
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

/// Per-class loss weights `n / (2 n_class)`, so a rare class is not ignored.
fn class_weights(y: &[bool]) -> [f64; 2] {
    let pos = y.iter().filter(|&&t| t).count();
    let n = y.len() as f64;
    let w = |c: usize| if c == 0 { 1.0 } else { n / (2.0 * c as f64) };
    [w(y.len() - pos), w(pos)]
}

fn agreement(a: &[bool], b: &[bool]) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len().max(1) as f64
}

/// Full-batch training of the two-layer float network, with hand-written backpropagation
/// through the neighbour sums (the graph is undirected, so a node's sum is read back by the
/// same neighbours).
fn fit_two_layers(
    cfg: &LearnConfig,
    g: &Graph,
    x: &[Vec<f64>],
    y: &[bool],
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<(FloatNet, f64)> {
    let (h, d) = (cfg.hidden, x.first().map_or(0, Vec::len));
    let n = x.len().max(1) as f64;
    // θ = [W₁ (h × (d+1)), w₂ (2h+1)], small random start.
    let p1 = h * (d + 1);
    let mut theta: Vec<f64> = rng
        .normal_vec(p1 + 2 * h + 1)
        .into_iter()
        .map(|v| 0.5 * v as f64)
        .collect();
    let mut adam = Adam::new(theta.len(), cfg.lr);
    let tau_max = 4.0;
    let cw = class_weights(y);
    let mut loss = f64::NAN;
    observer.start("train two-layer AC-GNN", cfg.steps);
    for step in 1..=cfg.steps {
        let tau = 1.0 + (tau_max - 1.0) * step as f64 / cfg.steps as f64;
        let (w1, w2) = theta.split_at(p1);
        let hid: Vec<Vec<f64>> = x
            .iter()
            .map(|r| {
                (0..h)
                    .map(|j| sigmoid(tau * affine(&w1[j * (d + 1)..(j + 1) * (d + 1)], r)))
                    .collect()
            })
            .collect();
        let hx = with_neighbours(g, &hid);
        let mut go = vec![0.0; x.len()];
        let mut total = 0.0;
        for (v, row) in hx.iter().enumerate() {
            let z = affine(w2, row);
            let t = y[v] as u8 as f64;
            let c = cw[y[v] as usize];
            total += c * bce(z, t);
            go[v] = c * (sigmoid(z) - t) / n;
        }
        loss = total / n;
        check_finite(step - 1, "loss", loss)?;
        let mut grad = vec![0.0; theta.len()];
        for (v, row) in hx.iter().enumerate() {
            for (i, xv) in row.iter().enumerate() {
                grad[p1 + i] += go[v] * xv;
            }
            grad[p1 + 2 * h] += go[v];
        }
        for (u, row) in x.iter().enumerate() {
            let from_neighbours: f64 = g.neighbours(u).iter().map(|&v| go[v as usize]).sum();
            for j in 0..h {
                let dh = go[u] * w2[j] + w2[h + j] * from_neighbours;
                let dz = dh * tau * hid[u][j] * (1.0 - hid[u][j]);
                let base = j * (d + 1);
                for (i, xv) in row.iter().enumerate() {
                    grad[base + i] += dz * xv;
                }
                grad[base + d] += dz;
            }
        }
        adam.step(&mut theta, &grad);
        if step % 50 == 0 || step == cfg.steps {
            observer.step(step, &[("loss", loss)]);
        }
    }
    observer.finish();
    let hidden = (0..h)
        .map(|j| theta[j * (d + 1)..(j + 1) * (d + 1)].to_vec())
        .collect();
    Ok((
        FloatNet {
            hidden,
            tau: tau_max,
            output: theta[p1..].to_vec(),
        },
        loss,
    ))
}

impl FloatNet {
    /// The float network's decision ("output logit > 0") at every world of sort 0.
    pub fn eval(&self, model: &Model, atoms: &[String]) -> Result<Vec<bool>> {
        let g = model.graph(0);
        let x = with_neighbours(g, &atom_rows(g, atoms)?);
        let rows = if self.hidden.is_empty() {
            x
        } else {
            let hid: Vec<Vec<f64>> = x
                .iter()
                .map(|r| {
                    self.hidden
                        .iter()
                        .map(|w| sigmoid(self.tau * affine(w, r)))
                        .collect()
                })
                .collect();
            with_neighbours(g, &hid)
        };
        Ok(rows.iter().map(|r| affine(&self.output, r) > 0.0).collect())
    }
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

    #[test]
    fn quantisation_keeps_an_exact_integer_rule() {
        // Float rule 0.5·x − 0.9 > 0 ⟺ x ≥ 2 on integers; k = 5 gives 3x − 5 ≥ 1 ⟺ x ≥ 2.
        let rows: Vec<Vec<f64>> = (0..5).map(|x| vec![x as f64]).collect();
        let want: Vec<bool> = (0..5).map(|x| x >= 2).collect();
        let (_, q, acc) = quantise(&[0.5, -0.9], &rows, &want);
        assert_eq!(acc, 1.0, "{q:?}");
        let g = Graph::new(vec![], 3, &[], &[(0, 1), (1, 2)], false).unwrap();
        let rows = vec![vec![1.0], vec![2.0], vec![4.0]];
        assert_eq!(with_neighbours(&g, &rows)[1], vec![2.0, 5.0]);
    }
}
