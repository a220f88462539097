//! Attention networks — graph attention networks (GATs) and transformer encoders — with
//! Boolean features, and their non-uniform descriptions by (fibred) graded modal formulas.
//!
//! # The networks
//!
//! Layer ℓ maps the 0/1 features `x_v` of every node to, for each neuron j,
//!
//! ```text
//! s(v, u) = q_j · x_v + k_j · x_u                                 attention score (an integer)
//! α(v, u) = β^{s(v,u)} / Σ_{w ∈ S(v)} β^{s(v,w)}                   softmax over the scope S(v)
//! z_v     = c_j · x_v + b_j + Σ_{u ∈ S(v)} α(v, u) · (a_j · x_u)    (no sum when S(v) = ∅)
//! x'_v[j] = H(z_v) = [z_v > 0]
//! ```
//!
//! with integer weight vectors `q, k` (query, key), `a` (value), `c` (self), bias `b`. The
//! scope is the node's neighbours, `S(v) = N(v)` (a **GAT** layer, Veličković et al. 2018, one
//! head, its score split into a query and a key part), or every node of the graph, itself
//! included, `S(v) = V` (a **transformer encoder** layer's self-attention: a GNN on the
//! complete graph). The base β is 2 ([`Base::Two`]: attention logits that are integer
//! multiples of ln 2, i.e. `softmax(ln2 · s)`) or Euler's e ([`Base::E`]: the standard
//! softmax of integer logits).
//!
//! The activation is the Heaviside step `[z > 0]`: on the integer pre-activations of the
//! sum-aggregation networks of [`crate::gnn`] it equals their truncated ReLU (which is 1 iff
//! z ≥ 1), but an attention mean is fractional, and a truncated ReLU would then make the
//! features non-Boolean — outside any finite description by a two-valued logic.
//!
//! # Exact evaluation
//!
//! Multiplying `z_v > 0` by the positive normaliser `β^{−m} Σ_w β^{s(v,w)}`, with `m` the
//! smallest score in S(v), gives the decision
//!
//! ```text
//! x'_v[j] = 1  ⟺  P(β) = Σ_{d ≥ 0} C_d β^d > 0,     C_d = Σ_{u ∈ S(v): s(v,u) − m = d} (c·x_v + b + a·x_u)
//! ```
//!
//! an integer polynomial in β. For β = 2 it is an integer, computed exactly in `i128`
//! (refused with a reason if it would overflow). For β = e it **cannot be decided in integer
//! arithmetic**: `e^d` is irrational for every d ≥ 1 (Lindemann: e is transcendental, so
//! P(e) = 0 only when every C_d is 0 — the sign is well defined), and deciding it needs real
//! bounds on e. We evaluate P(e) in `f64` with a rigorous error bound (each `e^d` from `exp`
//! within 4 ulp, glibc's is within 1; products and sums bounded by the standard
//! `(n+4)·2⁻⁵²` relative error): the sign is **certified** when |P(e)| exceeds the bound, exactly
//! 0 when every C_d is 0, and otherwise refused as uncertifiable — never guessed. The usual
//! float implementation (softmax, then the weighted sum, then `> 0`: [`AttnNet::eval_float`])
//! is the approximate version; its disagreement with the certified decision is measured in
//! the tests (it errs only on exact ties, where rounding puts z on either side of 0).
//!
//! # The correspondence (non-uniform)
//!
//! Group the nodes of S(v) by their *type* τ — the values of the features the neuron's key and
//! value read. Then C_d, hence the decision, depends only on v's own type σ (the features read
//! by c and q) and the count vector `n_τ = #{u ∈ S(v) : u has type τ}`. Over graphs whose
//! scopes have at most `B` nodes (degree ≤ Δ for a GAT, at most N nodes for a transformer)
//! there are finitely many count vectors, and the neuron is the formula
//!
//! ```text
//! ⋁_σ ( type_σ ∧ ⋁_{n accepted at σ} ⋀_τ exactly(n_τ, type_τ) )
//! ```
//!
//! with `exactly(k, ψ) = ◇≥k ψ ∧ ¬◇≥k+1 ψ` over the scope's relation: the graph's own relation
//! for a GAT, a second sort whose relation is complete, reached through identity fibring maps,
//! for a transformer ([`with_complete_sort`]) — a **fibred** formula, checked by the fibred
//! model checker. It is non-uniform: it is only claimed for scopes of at most B nodes, and
//! its size grows as the number of count vectors, `C(B + T, T)` for T types (see
//! [`describe::describe`]). No uniform GML formula exists in general: "more p- than
//! q-neighbours, weighted" is a ratio condition.
//!
//! # What the paper states, and what could be read \[M\]
//!
//! El Harzli, Cuenca Grau, d'Avila Garcez, Horrocks & Besold (arXiv 2509.23912) derive
//! "non-uniform logical expressiveness results for Graph Neural Networks (GNNs), Graph
//! Attention Networks (GATs) and Transformer encoders" from their fibring correspondence
//! (abstract, read on arxiv.org/html/2509.23912v1 through the project's `search` tool, pages
//! corpus, 2026-12-05). The theorem statements — which activation, which weight domain, which
//! attention form, which logic is matched to GATs and transformers — are in §3–5, which the
//! search tool does not return (it returns the abstract and the opening of the introduction,
//! four queries on GAT/transformer/attention/fibring-architecture wording); the secondary
//! summaries it returns (arxivlens, themoonlight, opennovelty, newx.sg, scholarfeed) only
//! restate the abstract, and no reference code was found (code corpus: nothing on fibred
//! networks). So the hypotheses here are ours, chosen so that the statement can be verified
//! exactly: Boolean features, integer query/key/value/self weights, a step activation, bounded
//! scopes (that is what "non-uniform" means in the abstract), and either base 2 (exact) or
//! base e (certified). Whether the paper's GAT uses LeakyReLU scores `a·[Wx_v ‖ Wx_u]` is not
//! known; a LeakyReLU of an integer score is a piecewise-linear function of the two types,
//! so the type argument above carries over unchanged (only the score table differs).

pub mod describe;

use std::collections::BTreeMap;

use genlab_core::{Error, Result};

use crate::gnn::Terms;
use crate::graph::Graph;
use crate::model::Model;

/// Which nodes a layer attends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A GAT layer: the node's successors `N(v)` in the graph.
    Neighbours,
    /// A transformer-encoder layer: every node of the graph, itself included.
    All,
}

/// The softmax base β.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// β = 2: logits in ln2·ℤ; decided exactly in integer arithmetic.
    Two,
    /// β = e: the standard softmax of integer logits; decided by certified floating point.
    E,
}

/// One neuron: score weights `q` (own features) and `k` (attended node's), value weights `a`,
/// self weights `c`, bias `b`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttnNeuron {
    /// Query: the own-feature part of the score.
    pub q: Terms,
    /// Key: the attended node's part of the score.
    pub k: Terms,
    /// Value: what an attended node contributes.
    pub a: Terms,
    /// Self weights.
    pub c: Terms,
    /// Bias.
    pub b: i64,
}

/// One layer.
#[derive(Debug, Clone, PartialEq)]
pub struct AttnLayer {
    /// Neighbours (GAT) or all nodes (transformer encoder).
    pub scope: Scope,
    /// Its neurons.
    pub neurons: Vec<AttnNeuron>,
}

/// Largest |weight| or |bias| accepted: keeps every exact sum within `i128`.
pub const MAX_WEIGHT: i64 = 1 << 20;

/// Largest |score| a neuron can produce (Σ|q| + Σ|k|): keeps `2^{score range}` within `i128`.
pub const MAX_SCORE: i64 = 24;

/// A network of attention layers over Boolean inputs (the node's atoms).
#[derive(Debug, Clone, PartialEq)]
pub struct AttnNet {
    inputs: Vec<String>,
    layers: Vec<AttnLayer>,
    output: usize,
    base: Base,
}

impl AttnNet {
    /// A validated network.
    pub fn new(
        inputs: Vec<String>,
        layers: Vec<AttnLayer>,
        output: usize,
        base: Base,
    ) -> Result<AttnNet> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if layers.is_empty() {
            return bad("an attention network needs at least one layer".into());
        }
        let mut width = inputs.len();
        for (l, layer) in layers.iter().enumerate() {
            if layer.neurons.is_empty() {
                return bad(format!("layer {} has no neurons", l + 1));
            }
            for (j, n) in layer.neurons.iter().enumerate() {
                for &(i, w) in n.q.iter().chain(&n.k).chain(&n.a).chain(&n.c) {
                    if i >= width {
                        return bad(format!(
                            "layer {} neuron {j} reads feature {i} of {width}",
                            l + 1
                        ));
                    }
                    if w.abs() > MAX_WEIGHT {
                        return bad(format!(
                            "layer {} neuron {j}: weight {w} exceeds ±{MAX_WEIGHT}",
                            l + 1
                        ));
                    }
                }
                let score: i64 = n.q.iter().chain(&n.k).map(|t| t.1.abs()).sum();
                if score > MAX_SCORE || n.b.abs() > MAX_WEIGHT {
                    return bad(format!(
                        "layer {} neuron {j}: scores must stay within ±{MAX_SCORE} and the bias within ±{MAX_WEIGHT}",
                        l + 1
                    ));
                }
            }
            width = layer.neurons.len();
        }
        if output >= width {
            return bad(format!(
                "output {output} is out of range: the last layer has {width} neurons"
            ));
        }
        Ok(AttnNet {
            inputs,
            layers,
            output,
            base,
        })
    }

    /// Input atoms, in feature order.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The layers.
    pub fn layers(&self) -> &[AttnLayer] {
        &self.layers
    }

    /// The output neuron of the last layer.
    pub fn output(&self) -> usize {
        self.output
    }

    /// The softmax base.
    pub fn base(&self) -> Base {
        self.base
    }

    /// The output at every node, exactly (module doc); refuses an overflow or, for base e,
    /// an uncertifiable sign.
    pub fn eval(&self, g: &Graph) -> Result<Vec<bool>> {
        self.run(g, |n, xv, scope| {
            let mut coeffs: BTreeMap<i64, i128> = BTreeMap::new();
            let own = dot(&n.c, xv) as i128 + n.b as i128;
            let qv = dot(&n.q, xv);
            for xu in scope {
                let entry = coeffs.entry(qv + dot(&n.k, xu)).or_insert(0);
                *entry += own + dot(&n.a, xu) as i128;
            }
            if coeffs.is_empty() {
                return Ok(own > 0);
            }
            Ok(sign(&coeffs, self.base)? == std::cmp::Ordering::Greater)
        })
    }

    /// The usual floating-point evaluation (max-subtracted softmax, weighted sum, `z > 0`): the
    /// approximate version the exact [`AttnNet::eval`] is compared with.
    pub fn eval_float(&self, g: &Graph) -> Result<Vec<bool>> {
        let beta: f64 = match self.base {
            Base::Two => 2.0,
            Base::E => std::f64::consts::E,
        };
        self.run(g, |n, xv, scope| {
            let own = dot(&n.c, xv) as f64 + n.b as f64;
            let qv = dot(&n.q, xv);
            let scores: Vec<f64> = scope.iter().map(|xu| (qv + dot(&n.k, xu)) as f64).collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let w: Vec<f64> = scores.iter().map(|s| beta.powf(s - max)).collect();
            let total: f64 = w.iter().sum();
            let z = own
                + scope
                    .iter()
                    .zip(&w)
                    .map(|(xu, wi)| wi / total * dot(&n.a, xu) as f64)
                    .sum::<f64>();
            Ok(z > 0.0)
        })
    }

    /// Runs every layer with `neuron(n, x_v, [x_u for u ∈ S(v)])` deciding each activation.
    fn run(
        &self,
        g: &Graph,
        neuron: impl Fn(&AttnNeuron, &[u8], &[&[u8]]) -> Result<bool>,
    ) -> Result<Vec<bool>> {
        let n = g.nodes();
        let mut width = self.inputs.len();
        let mut x = vec![0u8; n * width];
        for (i, p) in self.inputs.iter().enumerate() {
            let col = g
                .atom(p)
                .map_err(|e| Error::InvalidInput(format!("network input: {e}")))?;
            for (v, &t) in col.iter().enumerate() {
                x[v * width + i] = t as u8;
            }
        }
        for layer in &self.layers {
            let w = layer.neurons.len();
            let mut next = vec![0u8; n * w];
            let row = |v: usize| &x[v * width..(v + 1) * width];
            for v in 0..n {
                let scope: Vec<&[u8]> = match layer.scope {
                    Scope::Neighbours => g.neighbours(v).iter().map(|&u| row(u as usize)).collect(),
                    Scope::All => (0..n).map(row).collect(),
                };
                for (j, nr) in layer.neurons.iter().enumerate() {
                    next[v * w + j] = neuron(nr, row(v), &scope)? as u8;
                }
            }
            x = next;
            width = w;
        }
        Ok((0..n).map(|v| x[v * width + self.output] == 1).collect())
    }
}

/// `w · x` over the terms.
fn dot(terms: &Terms, x: &[u8]) -> i64 {
    terms.iter().map(|&(i, w)| w * x[i] as i64).sum()
}

/// The sign of `P(β) = Σ_s C_s β^{s − min s}` (keys are scores), exactly for β = 2 and
/// certified for β = e (module doc).
pub fn sign(coeffs: &BTreeMap<i64, i128>, base: Base) -> Result<std::cmp::Ordering> {
    use std::cmp::Ordering;
    let Some(&m) = coeffs.keys().next() else {
        return Ok(Ordering::Equal);
    };
    if coeffs.values().all(|&c| c == 0) {
        return Ok(Ordering::Equal);
    }
    match base {
        Base::Two => {
            let mut total: i128 = 0;
            for (&s, &c) in coeffs {
                let d = u32::try_from(s - m).ok().filter(|&d| d < 100);
                let term = d
                    .and_then(|d| 1i128.checked_shl(d))
                    .and_then(|p| p.checked_mul(c))
                    .and_then(|t| total.checked_add(t));
                total = term.ok_or_else(|| {
                    Error::InvalidInput("the exact attention sum exceeds 128 bits".into())
                })?;
            }
            Ok(total.cmp(&0))
        }
        Base::E => {
            let (mut total, mut magnitude) = (0.0f64, 0.0f64);
            for (&s, &c) in coeffs {
                let term = (c as f64) * ((s - m) as f64).exp();
                total += term;
                magnitude += term.abs();
            }
            let bound = (coeffs.len() as f64 + 8.0) * 4.0 * f64::EPSILON * magnitude;
            if total.abs() > bound {
                Ok(total.partial_cmp(&0.0).expect("finite"))
            } else {
                Err(Error::InvalidInput(format!(
                    "the sign of the attention sum Σ C_d e^d ({total:.3e}, error bound {bound:.3e}) cannot be certified in floating point"
                )))
            }
        }
    }
}

/// The fibred model of a transformer description: sort 0 is `g`, sort 1 the same nodes and
/// atoms with the complete relation (every ordered pair, self loops included), fibred to each
/// other by the identity. `◇_1≥k φ` then says "at least k nodes of the graph satisfy φ".
pub fn with_complete_sort(g: &Graph) -> Result<Model> {
    let n = g.nodes();
    if n > 4096 {
        return Err(Error::InvalidInput(format!(
            "a transformer's complete relation on {n} nodes has {} arcs; at most 4096 nodes",
            n * n
        )));
    }
    let labels: Vec<Vec<usize>> = {
        let cols: Vec<&[bool]> = g
            .props()
            .iter()
            .map(|p| g.atom(p))
            .collect::<std::result::Result<_, _>>()?;
        (0..n)
            .map(|v| (0..cols.len()).filter(|&p| cols[p][v]).collect())
            .collect()
    };
    let edges: Vec<(usize, usize)> = (0..n).flat_map(|u| (0..n).map(move |v| (u, v))).collect();
    let complete = Graph::new(g.props().to_vec(), n, &labels, &edges, true)?;
    let id: Vec<usize> = (0..n).collect();
    Ok(Model::new(
        vec![g.clone(), complete],
        vec![(0, 1, id.clone()), (1, 0, id)],
    )?)
}

/// A random attention network over the atoms p, q, r (the first `atoms`): 1–2 layers of 1–3
/// neurons, each weight part reading ≤ 2 features with small integer weights; the last layer
/// global (a transformer encoder layer) when `transformer`, every other layer a GAT layer.
pub fn random_net(
    rng: &mut impl rand::Rng,
    atoms: usize,
    transformer: bool,
    base: Base,
) -> AttnNet {
    let mut width = atoms;
    let layers_n = rng.random_range(1..=2);
    let mut layers = Vec::new();
    for l in 0..layers_n {
        let scope = if transformer && l + 1 == layers_n {
            Scope::All
        } else {
            Scope::Neighbours
        };
        let neurons = (0..rng.random_range(1..=3))
            .map(|_| {
                let mut terms = |lo: i64, hi: i64| -> Terms {
                    (0..rng.random_range(0..=2))
                        .map(|_| (rng.random_range(0..width), rng.random_range(lo..=hi)))
                        .collect()
                };
                let (q, k, a, c) = (terms(-2, 2), terms(-2, 2), terms(-3, 3), terms(-2, 2));
                AttnNeuron {
                    q,
                    k,
                    a,
                    c,
                    b: rng.random_range(-2..=2),
                }
            })
            .collect::<Vec<_>>();
        width = neurons.len();
        layers.push(AttnLayer { scope, neurons });
    }
    let output = rng.random_range(0..width);
    let inputs = ["p", "q", "r"][..atoms]
        .iter()
        .map(|s| s.to_string())
        .collect();
    AttnNet::new(inputs, layers, output, base).unwrap()
}

#[cfg(test)]
mod tests;
