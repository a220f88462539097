//! `{"format": "genlab-logic/ac-gnn-1", "activation":
//! "truncated_relu", "aggregation": "sum", "sort": 0, "inputs": ["p", "q"], "layers": [[{"c":
//! [[0, 1]], "a": [[1, 1]], "b": -1}, …], …], "output": 0}`; `c` and `a` list `[input index,

use std::path::Path;

use genlab_core::{Error, Result, fsx};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Gnn, Layer, MAX_WEIGHT, Neuron};

/// The file-format tag.
pub const FORMAT: &str = "genlab-logic/ac-gnn-1";

impl Gnn {
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
    use genlab_core::testing::scratch;

    #[test]
    fn files_round_trip_and_unsupported_networks_are_explained() {
        let (_dir, path) = scratch("net.json");
        let net = Gnn::new(
            0,
            vec!["p".into(), "q".into()],
            vec![Layer {
                neurons: vec![Neuron::plain(&[(0, 1), (1, -1)], &[(1, 2)], 0)],
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
}
