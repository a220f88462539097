//! Exact evaluation: every layer's activations at every node, 0 or 1, with sums in `i128`;
//! a fibred neuron's output is its activation times its child's output at the world the
//! fibring map sends the node to (the child runs once per evaluation, see the module docs of
//! [`crate::gnn`]).

use genlab_core::{Error, Result};

use super::{Gnn, Layer};
use crate::model::Model;

impl Gnn {
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
            let col = g
                .atom(p)
                .map_err(|e| Error::InvalidInput(format!("network input: {e}")))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gnn::Neuron;
    use crate::graph::Graph;

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
                    Neuron::plain(&[], &[(0, 1)], -1),
                    Neuron::plain(&[(0, 3)], &[], -5),
                    Neuron::plain(&[(0, 1)], &[], 7),
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
                neurons: vec![Neuron::plain(&[(0, 2)], &[(0, 3)], 1)],
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
}
