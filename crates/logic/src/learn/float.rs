//! The float network and its inputs: a node's features next to its neighbours' sums, the
//! affine map `w · [row, 1]`, the sigmoid and the cross-entropy in its stable form.

use genlab_core::Result;

use crate::graph::Graph;
use crate::model::Model;

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

/// Rows `[f_v…, Σ_{u∈N(v)} f_u…]`: a node's own features and its neighbours' sums.
pub(super) fn with_neighbours(g: &Graph, rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
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

/// The 0/1 atom features of every node.
pub(super) fn atom_rows(g: &Graph, atoms: &[String]) -> Result<Vec<Vec<f64>>> {
    let cols: Vec<&[bool]> = atoms
        .iter()
        .map(|p| g.atom(p))
        .collect::<std::result::Result<_, _>>()?;
    Ok((0..g.nodes())
        .map(|v| cols.iter().map(|c| c[v] as u8 as f64).collect())
        .collect())
}

/// `w · [row, 1]`.
pub(super) fn affine(w: &[f64], row: &[f64]) -> f64 {
    w[row.len()] + row.iter().zip(w).map(|(a, b)| a * b).sum::<f64>()
}

pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Cross-entropy of logit `z` against label `t`, in the stable softplus form.
pub(super) fn bce(z: f64, t: f64) -> f64 {
    z.max(0.0) - z * t + (-z.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbour_sums_follow_the_edges() {
        let g = Graph::new(vec![], 3, &[], &[(0, 1), (1, 2)], false).unwrap();
        let rows = vec![vec![1.0], vec![2.0], vec![4.0]];
        assert_eq!(with_neighbours(&g, &rows)[1], vec![2.0, 5.0]);
        assert_eq!(affine(&[2.0, -1.0], &[3.0]), 5.0);
        assert!((bce(0.0, 1.0) - 2f64.ln()).abs() < 1e-15);
    }
}
