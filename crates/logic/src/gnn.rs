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
//! File format (`net.json`): `{"format": "genlab-logic/ac-gnn-1", "activation":
//! "truncated_relu", "aggregation": "sum", "sort": 0, "inputs": ["p", "q"], "layers": [[{"c":
//! [[0, 1]], "a": [[1, 1]], "b": -1}, …], …], "output": 0}`; `c` and `a` list `[input index,
//! weight]` pairs; a neuron may have `"fibre": NET`.

use std::collections::HashMap;
use std::path::Path;

use genlab_core::{Error, Result, fsx};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Model;

/// The file-format tag.
pub const FORMAT: &str = "genlab-logic/ac-gnn-1";

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

    /// The output at every world of the network's sort.
    pub fn eval(&self, model: &Model) -> Result<Vec<bool>> {
        let x = self.eval_layers(model)?;
        let last = x.last().expect("at least one layer");
        let w = self.layers.last().expect("validated").neurons.len();
        Ok(last.chunks(w).map(|row| row[self.output] == 1).collect())
    }

    /// Activations of every layer (layer 0 = inputs), row-major `nodes × width`, each 0 or 1.
    pub fn eval_layers(&self, model: &Model) -> Result<Vec<Vec<u8>>> {
        if self.sort >= model.sorts() {
            return Err(Error::InvalidInput(format!(
                "the network runs on sort {} but the model has {} sort(s)",
                self.sort,
                model.sorts()
            )));
        }
        let g = model.graph(self.sort);
        let n = g.nodes();
        let d0 = self.inputs.len();
        let mut x = vec![0u8; n * d0];
        for (i, p) in self.inputs.iter().enumerate() {
            let col = g.atom(p).map_err(|e| {
                Error::InvalidInput(format!("network input: {}", crate::graph::strip(e)))
            })?;
            for (v, &t) in col.iter().enumerate() {
                x[v * d0 + i] = t as u8;
            }
        }
        let mut all = vec![x];
        let mut d = d0;
        for layer in &self.layers {
            let x = all.last().expect("non-empty");
            let next = self.layer_forward(model, layer, x, d)?;
            d = layer.neurons.len();
            all.push(next);
        }
        Ok(all)
    }

    fn layer_forward(&self, model: &Model, layer: &Layer, x: &[u8], d: usize) -> Result<Vec<u8>> {
        let g = model.graph(self.sort);
        let n = g.nodes();
        // The aggregated sums Σ_{u∈N(v)} x_u[i], only for features some neuron reads.
        let mut slot = vec![usize::MAX; d];
        let mut used = Vec::new();
        for nr in &layer.neurons {
            for &(i, _) in &nr.a {
                if slot[i] == usize::MAX {
                    slot[i] = used.len();
                    used.push(i);
                }
            }
        }
        let q = used.len();
        let mut agg = vec![0i64; n * q];
        if q > 0 {
            for v in 0..n {
                let row = &mut agg[v * q..(v + 1) * q];
                for &u in g.neighbours(v) {
                    let xu = &x[u as usize * d..(u as usize + 1) * d];
                    for (s, &i) in used.iter().enumerate() {
                        row[s] += xu[i] as i64;
                    }
                }
            }
        }
        let w = layer.neurons.len();
        let mut out = vec![0u8; n * w];
        for (j, nr) in layer.neurons.iter().enumerate() {
            let injected = match &nr.fibre {
                None => None,
                Some(child) => {
                    let y = child.eval(model)?;
                    Some(if child.sort == self.sort {
                        y
                    } else {
                        model
                            .map(self.sort, child.sort)
                            .iter()
                            .map(|&t| y[t as usize])
                            .collect::<Vec<bool>>()
                    })
                }
            };
            for v in 0..n {
                let xv = &x[v * d..(v + 1) * d];
                let mut z = nr.b as i128;
                for &(i, c) in &nr.c {
                    z += c as i128 * xv[i] as i128;
                }
                for &(i, a) in &nr.a {
                    z += a as i128 * agg[v * q + slot[i]] as i128;
                }
                let mut y = z.clamp(0, 1) as u8;
                if let Some(inj) = &injected {
                    y *= inj[v] as u8;
                }
                out[v * w + j] = y;
            }
        }
        Ok(out)
    }

    /// Writes `net.json` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        fsx::write_json(path, &self.to_file())
    }

    /// Reads and validates a `net.json`, explaining what lies outside the supported class.
    pub fn load(path: &Path) -> Result<Gnn> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: NetFile = serde_json::from_str(&text)
            .map_err(|e| Error::parse(path, Some(e.line()), e.to_string()))?;
        Gnn::from_file(file).map_err(|e| Error::parse(path, None, crate::graph::strip(e)))
    }

    fn to_file(&self) -> NetFile {
        NetFile {
            format: Some(FORMAT.into()),
            activation: "truncated_relu".into(),
            aggregation: "sum".into(),
            sort: self.sort,
            inputs: self.inputs.clone(),
            layers: self
                .layers
                .iter()
                .map(|l| {
                    l.neurons
                        .iter()
                        .map(|n| NeuronFile {
                            c: n.c.iter().map(|&(i, w)| (i, Weight(w as f64))).collect(),
                            a: n.a.iter().map(|&(i, w)| (i, Weight(w as f64))).collect(),
                            b: Weight(n.b as f64),
                            fibre: n.fibre.as_ref().map(|f| Box::new(f.to_file())),
                        })
                        .collect()
                })
                .collect(),
            output: self.output,
        }
    }

    fn from_file(f: NetFile) -> Result<Gnn> {
        let refuse = |msg: String| Err(Error::InvalidInput(msg));
        if let Some(tag) = &f.format
            && tag != FORMAT
        {
            return refuse(format!("format `{tag}` is not `{FORMAT}`"));
        }
        match f.activation.as_str() {
            "truncated_relu" => {}
            "relu" | "sigmoid" | "tanh" | "gelu" => {
                return refuse(format!(
                    "activation `{}` is outside the supported class: only the truncated ReLU σ(z) = min(max(z, 0), 1) keeps integer networks Boolean, which is what makes a neuron a formula (Barceló et al. 2020; Nunn et al. 2024)",
                    f.activation
                ));
            }
            other => {
                return refuse(format!(
                    "unknown activation `{other}`; the supported one is `truncated_relu`"
                ));
            }
        }
        match f.aggregation.as_str() {
            "sum" => {}
            "mean" => {
                return refuse("aggregation `mean` is outside the supported class: mean-aggregating GNNs correspond to ratio modal logic (Schönherr & Lutz 2025), not graded modal logic; only `sum` is supported".into());
            }
            "max" => {
                return refuse("aggregation `max` is outside the supported class: with max a neuron only sees whether some neighbour fires, so grades are lost; only `sum` is supported".into());
            }
            other => {
                return refuse(format!(
                    "unknown aggregation `{other}`; the supported one is `sum`"
                ));
            }
        }
        let int = |w: f64, at: &str| -> Result<i64> {
            if w.fract() != 0.0 || !w.is_finite() || w.abs() > MAX_WEIGHT as f64 {
                return Err(Error::InvalidInput(format!(
                    "{at}: weight {w} is not an integer in ±{MAX_WEIGHT}; the supported class has integer weights (quantise a trained network first, e.g. by scaling and rounding)"
                )));
            }
            Ok(w as i64)
        };
        let mut layers = Vec::with_capacity(f.layers.len());
        for (l, neurons) in f.layers.into_iter().enumerate() {
            let mut out = Vec::with_capacity(neurons.len());
            for (j, n) in neurons.into_iter().enumerate() {
                let at = format!("layer {} neuron {j}", l + 1);
                let terms = |t: Vec<(usize, Weight)>| -> Result<Vec<(usize, i64)>> {
                    t.into_iter()
                        .map(|(i, w)| Ok((i, int(w.0, &at)?)))
                        .collect()
                };
                out.push(Neuron {
                    c: terms(n.c)?,
                    a: terms(n.a)?,
                    b: int(n.b.0, &at)?,
                    fibre: match n.fibre {
                        Some(child) => Some(Box::new(Gnn::from_file(*child).map_err(|e| {
                            Error::InvalidInput(format!("{at}, fibre: {}", crate::graph::strip(e)))
                        })?)),
                        None => None,
                    },
                });
            }
            layers.push(Layer { neurons: out });
        }
        Gnn::new(f.sort, f.inputs, layers, f.output)
    }
}

/// A JSON number read as `f64` (so non-integers can be refused with a reason) and written as
/// an integer.
#[derive(Debug, Clone, Copy)]
struct Weight(f64);

impl Serialize for Weight {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_i64(self.0 as i64)
    }
}

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        f64::deserialize(d).map(Weight)
    }
}

fn zero() -> Weight {
    Weight(0.0)
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetFile {
    #[serde(default)]
    format: Option<String>,
    activation: String,
    aggregation: String,
    #[serde(default)]
    sort: usize,
    inputs: Vec<String>,
    layers: Vec<Vec<NeuronFile>>,
    output: usize,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NeuronFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    c: Vec<(usize, Weight)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    a: Vec<(usize, Weight)>,
    #[serde(default = "zero")]
    b: Weight,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fibre: Option<Box<NetFile>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Graph;

    fn neuron(c: &[(usize, i64)], a: &[(usize, i64)], b: i64) -> Neuron {
        Neuron {
            c: c.to_vec(),
            a: a.to_vec(),
            b,
            fibre: None,
        }
    }

    fn path3() -> Model {
        // 0 — 1 — 2, p at 0 and 2.
        Model::single(
            Graph::new(
                vec!["p".into()],
                3,
                &[vec![0], vec![], vec![0]],
                &[(0, 1), (1, 2)],
                false,
            )
            .unwrap(),
        )
    }

    #[test]
    fn layer_is_the_clipped_affine_map() {
        // Neuron 0: #p-neighbours − 1 (≥ 1 iff two p-neighbours); neuron 1: 3·p − 5 (always ≤ 0
        // → 0); neuron 2: p + 7 (clipped to 1).
        let net = Gnn::new(
            0,
            vec!["p".into()],
            vec![Layer {
                neurons: vec![
                    neuron(&[], &[(0, 1)], -1),
                    neuron(&[(0, 3)], &[], -5),
                    neuron(&[(0, 1)], &[], 7),
                ],
            }],
            0,
        )
        .unwrap();
        let x = net.eval_layers(&path3()).unwrap();
        assert_eq!(x[1], vec![0, 0, 1, 1, 0, 1, 0, 0, 1]);
        assert_eq!(net.eval(&path3()).unwrap(), [false, true, false]);
    }

    #[test]
    fn fibre_with_zero_scaled_weights_outputs_zero() {
        // The identity behind evaluating a child once: B with all parameters × 0 is σ(0) = 0.
        let child = Gnn::new(
            0,
            vec!["p".into()],
            vec![Layer {
                neurons: vec![neuron(&[(0, 2)], &[(0, 3)], 1)],
            }],
            0,
        )
        .unwrap();
        let mut scaled = child.clone();
        for n in &mut scaled.layers[0].neurons {
            n.c.iter_mut().chain(n.a.iter_mut()).for_each(|t| t.1 *= 0);
            n.b *= 0;
        }
        assert_eq!(scaled.eval(&path3()).unwrap(), [false; 3]);
        assert_eq!(child.eval(&path3()).unwrap(), [true; 3]);
    }

    #[test]
    fn files_round_trip_and_unsupported_networks_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.json");
        let net = Gnn::new(
            0,
            vec!["p".into(), "q".into()],
            vec![Layer {
                neurons: vec![neuron(&[(0, 1), (1, -1)], &[(1, 2)], 0)],
            }],
            0,
        )
        .unwrap();
        net.save(&path).unwrap();
        assert_eq!(Gnn::load(&path).unwrap(), net);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(".0"),
            "weights are written as integers: {text}"
        );
        let load = |s: &str| {
            std::fs::write(&path, s).unwrap();
            Gnn::load(&path).unwrap_err().to_string()
        };
        let base = |act: &str, agg: &str, w: &str| {
            format!(
                r#"{{"activation": "{act}", "aggregation": "{agg}", "inputs": ["p"], "layers": [[{{"c": [[0, {w}]]}}]], "output": 0}}"#
            )
        };
        assert!(load(&base("sigmoid", "sum", "1")).contains("truncated ReLU"));
        assert!(load(&base("truncated_relu", "mean", "1")).contains("ratio modal logic"));
        assert!(load(&base("truncated_relu", "sum", "0.5")).contains("not an integer"));
        std::fs::write(&path, base("truncated_relu", "sum", "1")).unwrap();
        assert!(Gnn::load(&path).is_ok());
        let e = load(
            r#"{"activation": "truncated_relu", "aggregation": "sum", "inputs": ["p"], "layers": [[{"c": [[3, 1]]}]], "output": 0}"#,
        );
        assert!(e.contains("reads feature 3"), "{e}");
        let e = load(
            r#"{"activation": "truncated_relu", "aggregation": "sum", "inputs": ["p"], "layers": [[{"b": 1}]], "output": 2}"#,
        );
        assert!(e.contains("output 2"), "{e}");
    }

    #[test]
    fn incompatible_fibres_are_refused() {
        // A child on sort 1 whose output reads the atom p directly is not sort-1-modal.
        let child = Gnn::new(
            1,
            vec!["p".into()],
            vec![Layer {
                neurons: vec![neuron(&[(0, 1)], &[], 0)],
            }],
            0,
        )
        .unwrap();
        let mut parent = neuron(&[], &[], 1);
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
                neurons: vec![neuron(&[], &[(0, 1)], 0)],
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
