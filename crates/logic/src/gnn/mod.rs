//! Aggregate-combine GNNs with integer weights and the truncated ReLU, evaluated exactly, and
//! their fibred extension.
//!
//! Layer ℓ maps the features `x_v^{(ℓ−1)}` of every node `v` to
//!
//! ```text
//! x_v^{(ℓ)}[j] = σ( Σ_i C_ij x_v^{(ℓ−1)}[i] + Σ_i A_ij Σ_{u ∈ N(v)} x_u^{(ℓ−1)}[i] + b_j ),
//! σ(z) = min(max(z, 0), 1)                                   (truncated ReLU)
//! ```
//!
//! — the "simple" AC-GNN of Barceló et al. (ICLR 2020) with sum aggregation over the successors
//! `N(v)` in the relation of the network's sort. `x^{(0)}` is the 0/1 vector of the node's
//! atomic propositions (`inputs`). With integer weights and 0/1 inputs every pre-activation is
//! an integer, so every activation is exactly 0 or 1: `σ(z) = 1` iff `z ≥ 1`. Sums are
//! accumulated in `i128`, so no input size can overflow them.
//!
//! **Fibring** (d'Avila Garcez & Gabbay 2004): a neuron may carry a child network `B` (the
//! edges of the fibring tree). When the parent evaluates the neuron at world `w` with
//! activation `a ∈ {0, 1}`, the fibring function scales B's weights and biases by `a`, runs B,
//! and injects B's output at the world `F_{s→t}(w)` of B's sort `t` as the neuron's output. B
//! with every parameter multiplied by 0 outputs σ(0) = 0 everywhere, so the output is exactly
//! `a · y_B(F_{s→t}(w))`; B therefore runs once per evaluation, not once per world.
//!
//! **Compatibility.** A child of a different sort must output a Boolean combination of its own
//! sort's diamonds (only those transfer along fibring maps in a fibred model, see
//! [`crate::model`]). Structurally: a neuron is *modal* if it has no fibre and all its
//! non-zero self weights `C` read modal neurons of the previous layer (atoms are not modal;
//! neighbour weights `A` and biases are free). A child's output neuron must be modal.
//!
//! `eval.rs` runs a network exactly; `file.rs` reads and writes its JSON form, refusing with a
//! reason what lies outside the class.

mod eval;
mod file;

use std::collections::HashMap;

use genlab_core::{Error, Result};

pub use file::FORMAT;

/// Largest absolute weight or bias accepted.
pub const MAX_WEIGHT: i64 = 1 << 31;

/// Deepest fibring tree accepted.
pub const MAX_FIBRE_DEPTH: usize = 32;

/// Most layers accepted (decompiled formulas nest about as deep as the network).
pub const MAX_LAYERS: usize = 1024;

/// `(previous-layer index, weight)` pairs.
pub type Terms = Vec<(usize, i64)>;

/// One neuron: self weights `C_·j`, neighbour weights `A_·j`, bias `b_j`, optional fibre.
#[derive(Debug, Clone, PartialEq)]
pub struct Neuron {
    /// `(previous-layer index, weight)` pairs of the self term; repeated indices add up.
    pub c: Vec<(usize, i64)>,
    /// `(previous-layer index, weight)` pairs of the aggregated neighbour term.
    pub a: Vec<(usize, i64)>,
    /// Bias.
    pub b: i64,
    /// The child network whose output this neuron's activation gates, if any.
    pub fibre: Option<Box<Gnn>>,
}

impl Neuron {
    /// A neuron without a fibre.
    pub fn plain(c: &[(usize, i64)], a: &[(usize, i64)], b: i64) -> Neuron {
        Neuron {
            c: c.to_vec(),
            a: a.to_vec(),
            b,
            fibre: None,
        }
    }

    /// Self and neighbour terms with repeated indices merged and zero weights dropped, sorted.
    pub fn terms(&self) -> (Terms, Terms) {
        (merge(&self.c), merge(&self.a))
    }
}

fn merge(terms: &[(usize, i64)]) -> Vec<(usize, i64)> {
    let mut m: Vec<(usize, i64)> = Vec::new();
    let mut sorted = terms.to_vec();
    sorted.sort_unstable_by_key(|t| t.0);
    for (i, w) in sorted {
        match m.last_mut() {
            Some(last) if last.0 == i => last.1 += w,
            _ => m.push((i, w)),
        }
    }
    m.retain(|t| t.1 != 0);
    m
}

/// One layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Its neurons; the layer's width is their number.
    pub neurons: Vec<Neuron>,
}

/// An integer AC-GNN with truncated-ReLU activations over the relation of one sort, possibly
/// fibred with child networks.
#[derive(Debug, Clone, PartialEq)]
pub struct Gnn {
    sort: usize,
    inputs: Vec<String>,
    layers: Vec<Layer>,
    output: usize,
}

impl Gnn {
    /// A validated network: indices in range, weights bounded, fibres compatible.
    pub fn new(sort: usize, inputs: Vec<String>, layers: Vec<Layer>, output: usize) -> Result<Gnn> {
        let net = Gnn {
            sort,
            inputs,
            layers,
            output,
        };
        net.validate(0)?;
        Ok(net)
    }

    /// The sort whose relation it aggregates over.
    pub fn sort(&self) -> usize {
        self.sort
    }

    /// Input atoms, in feature order.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The layers.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Index of the output neuron in the last layer.
    pub fn output(&self) -> usize {
        self.output
    }

    /// Number of neurons (including those of fibred children).
    pub fn neurons(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| &l.neurons)
            .map(|n| 1 + n.fibre.as_ref().map_or(0, |f| f.neurons()))
            .sum()
    }

    /// Number of non-zero weights and biases (including fibred children).
    pub fn parameters(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| &l.neurons)
            .map(|n| {
                let (c, a) = n.terms();
                c.len()
                    + a.len()
                    + (n.b != 0) as usize
                    + n.fibre.as_ref().map_or(0, |f| f.parameters())
            })
            .sum()
    }

    /// Largest sort used anywhere in the fibring tree.
    pub fn max_sort(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| &l.neurons)
            .filter_map(|n| n.fibre.as_ref().map(|f| f.max_sort()))
            .fold(self.sort, usize::max)
    }

    /// Whether any neuron carries a fibre.
    pub fn is_fibred(&self) -> bool {
        self.layers
            .iter()
            .flat_map(|l| &l.neurons)
            .any(|n| n.fibre.is_some())
    }

    /// All input atoms of the fibring tree, sorted and deduplicated.
    pub fn all_inputs(&self) -> Vec<String> {
        let mut out: Vec<String> = self.inputs.clone();
        for n in self.layers.iter().flat_map(|l| &l.neurons) {
            if let Some(f) = &n.fibre {
                out.extend(f.all_inputs());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    fn validate(&self, depth: usize) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidInput(msg));
        if depth > MAX_FIBRE_DEPTH {
            return bad(format!("the fibring tree is deeper than {MAX_FIBRE_DEPTH}"));
        }
        let mut seen = HashMap::new();
        for (i, p) in self.inputs.iter().enumerate() {
            if let Some(j) = seen.insert(p, i) {
                return bad(format!("input `{p}` appears twice (positions {j} and {i})"));
            }
        }
        if self.layers.is_empty() || self.layers.len() > MAX_LAYERS {
            return bad(format!(
                "the network has {} layers; 1..={MAX_LAYERS} are supported",
                self.layers.len()
            ));
        }
        let mut prev = self.inputs.len();
        for (l, layer) in self.layers.iter().enumerate() {
            if layer.neurons.is_empty() {
                return bad(format!("layer {} has no neurons", l + 1));
            }
            for (j, n) in layer.neurons.iter().enumerate() {
                let at = format!("layer {} neuron {j}", l + 1);
                for &(i, w) in n.c.iter().chain(&n.a) {
                    if i >= prev {
                        return bad(format!(
                            "{at} reads feature {i}, but the previous layer has {prev}"
                        ));
                    }
                    if w.abs() > MAX_WEIGHT {
                        return bad(format!("{at}: weight {w} exceeds ±{MAX_WEIGHT}"));
                    }
                }
                if n.b.abs() > MAX_WEIGHT {
                    return bad(format!("{at}: bias {} exceeds ±{MAX_WEIGHT}", n.b));
                }
                if let Some(child) = &n.fibre {
                    child.validate(depth + 1).map_err(|e| {
                        Error::InvalidInput(format!("{at}, fibre: {}", crate::graph::strip(e)))
                    })?;
                    if child.sort != self.sort && !child.modal()[child.layers.len()][child.output] {
                        return bad(format!(
                            "{at}: its fibre (sort {}) is not compatible with sort {}: the child's output must be a Boolean combination of sort-{} diamonds (its output neuron and every neuron its self weights read must have no fibre and must not read atoms directly)",
                            child.sort, self.sort, child.sort
                        ));
                    }
                }
            }
            prev = layer.neurons.len();
        }
        if self.output >= prev {
            return bad(format!(
                "output {} is out of range: the last layer has {prev} neurons",
                self.output
            ));
        }
        Ok(())
    }

    /// `modal[ℓ][j]`: neuron j of layer ℓ (layer 0 = inputs) is a Boolean combination of this
    /// sort's diamonds (see the module docs).
    pub fn modal(&self) -> Vec<Vec<bool>> {
        let mut out = vec![vec![false; self.inputs.len()]];
        for layer in &self.layers {
            let prev = out.last().expect("starts non-empty");
            let row = layer
                .neurons
                .iter()
                .map(|n| n.fibre.is_none() && n.terms().0.iter().all(|&(i, _)| prev[i]))
                .collect();
            out.push(row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incompatible_fibres_are_refused() {
        // A child on sort 1 whose output reads the atom p directly is not sort-1-modal.
        let child = Gnn::new(
            1,
            vec!["p".into()],
            vec![Layer {
                neurons: vec![Neuron::plain(&[(0, 1)], &[], 0)],
            }],
            0,
        )
        .unwrap();
        let mut parent = Neuron::plain(&[], &[], 1);
        parent.fibre = Some(Box::new(child));
        let e = Gnn::new(
            0,
            vec![],
            vec![Layer {
                neurons: vec![parent.clone()],
            }],
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not compatible"), "{e}");
        // Reading p through a diamond makes it compatible.
        let child = Gnn::new(
            1,
            vec!["p".into()],
            vec![Layer {
                neurons: vec![Neuron::plain(&[], &[(0, 1)], 0)],
            }],
            0,
        )
        .unwrap();
        parent.fibre = Some(Box::new(child));
        assert!(
            Gnn::new(
                0,
                vec![],
                vec![Layer {
                    neurons: vec![parent]
                }],
                0
            )
            .is_ok()
        );
    }
}
