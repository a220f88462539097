//! Full-batch training of the float network on the class-balanced cross-entropy, with
//! hand-written gradients and Adam, on the shared [`Trainer`]: the state is the parameter
//! vector with Adam's moments, so a run checkpoints and resumes like any other.
//!
//! ```text
//! m ← 0.9 m + 0.1 g,   v ← 0.999 v + 0.001 g²
//! θ ← θ − lr · (m / (1 − 0.9ᵗ)) / (√(v / (1 − 0.999ᵗ)) + 10⁻⁸)      t = 1, 2, …
//! ```

use genlab_core::train::{Blobs, Observer, SeededRng, Stateful, Step, TrainOptions, Trainer};
use genlab_core::{Error, Result};

use super::float::{FloatNet, affine, bce, sigmoid, with_neighbours};
use crate::graph::Graph;

/// Parameters under Adam (β₁ = 0.9, β₂ = 0.999): the state a step updates.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Adam {
    /// The parameters θ.
    pub(super) theta: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    pub(super) fn new(theta: Vec<f64>) -> Adam {
        let n = theta.len();
        Adam {
            theta,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// The update of the module doc at the 1-based step `t`.
    fn step(&mut self, g: &[f64], lr: f64, t: u64) {
        let t = t as i32;
        let moments = self.m.iter_mut().zip(&mut self.v);
        for ((theta, (m, v)), &g) in self.theta.iter_mut().zip(moments).zip(g) {
            *m = 0.9 * *m + 0.1 * g;
            *v = 0.999 * *v + 0.001 * g * g;
            let mh = *m / (1.0 - 0.9f64.powi(t));
            let vh = *v / (1.0 - 0.999f64.powi(t));
            *theta -= lr * mh / (vh.sqrt() + 1e-8);
        }
    }
}

impl Stateful for Adam {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        for (name, values) in [
            ("theta", &self.theta),
            ("adam_m", &self.m),
            ("adam_v", &self.v),
        ] {
            blobs.put(name, values.iter().flat_map(|x| x.to_le_bytes()).collect())?;
        }
        Ok(())
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        let n = self.theta.len();
        for (name, values) in [
            ("theta", &mut self.theta),
            ("adam_m", &mut self.m),
            ("adam_v", &mut self.v),
        ] {
            let bytes = blobs.get(name)?;
            if bytes.len() != 8 * n {
                return Err(Error::InvalidInput(format!(
                    "checkpoint record `{name}` holds {} bytes, not {n} f64",
                    bytes.len()
                )));
            }
            for (x, b) in values.iter_mut().zip(bytes.chunks_exact(8)) {
                *x = f64::from_le_bytes(b.try_into().expect("chunks of 8"));
            }
        }
        Ok(())
    }
}

/// Runs `options` over `params`, each step taking `(loss, gradient)` from `loss_and_grad(θ,
/// 0-based step)`; returns the last loss.
pub(super) fn train(
    params: &mut Adam,
    options: TrainOptions,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
    mut loss_and_grad: impl FnMut(&[f64], u64) -> (f64, Vec<f64>),
) -> Result<f64> {
    let step_fn = |p: &mut Adam, step: Step<'_>| {
        let (loss, grad) = loss_and_grad(&p.theta, step.index);
        p.step(&grad, step.lr, step.index + 1);
        Ok(vec![("loss", loss)])
    };
    let outcome = Trainer::new(options, observer).run(params, rng, step_fn, None)?;
    Ok(outcome
        .history
        .losses()
        .last()
        .map_or(f64::NAN, |&(_, l)| l))
}

/// Per-class loss weights `n / (2 n_class)`, so a rare class is not ignored.
fn class_weights(y: &[bool]) -> [f64; 2] {
    let pos = y.iter().filter(|&&t| t).count();
    let n = y.len() as f64;
    let w = |c: usize| if c == 0 { 1.0 } else { n / (2.0 * c as f64) };
    [w(y.len() - pos), w(pos)]
}

/// Logistic regression of `y` on `rows` (weights `[…, bias]`) and its final loss.
pub(super) fn fit_logistic(
    rows: &[Vec<f64>],
    y: &[bool],
    options: TrainOptions,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<(Vec<f64>, f64)> {
    let d = rows.first().map_or(0, Vec::len);
    let n = rows.len().max(1) as f64;
    let cw = class_weights(y);
    let mut params = Adam::new(vec![0.0; d + 1]);
    let loss = train(&mut params, options, rng, observer, |w, _| {
        let mut grad = vec![0.0; d + 1];
        let mut total = 0.0;
        for (row, &yi) in rows.iter().zip(y) {
            let z = affine(w, row);
            let t = yi as u8 as f64;
            let c = cw[yi as usize];
            total += c * bce(z, t);
            let r = c * (sigmoid(z) - t) / n;
            for (g, x) in grad.iter_mut().zip(row) {
                *g += r * x;
            }
            grad[d] += r;
        }
        (total / n, grad)
    })?;
    Ok((params.theta, loss))
}

/// Final temperature of the hidden sigmoid; it rises linearly from 1 over the run.
const TAU_MAX: f64 = 4.0;

/// The two-layer float network with `hidden` units, trained with backpropagation through the
/// neighbour sums (the graph is undirected, so a node's sum is read back by the same
/// neighbours). θ = [W₁ (hidden × (d+1)), w₂ (2·hidden + 1)], from a small random start.
pub(super) fn fit_two_layers(
    g: &Graph,
    x: &[Vec<f64>],
    y: &[bool],
    hidden: usize,
    options: TrainOptions,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<(FloatNet, f64)> {
    let (h, d) = (hidden, x.first().map_or(0, Vec::len));
    let n = x.len().max(1) as f64;
    let p1 = h * (d + 1);
    let start: Vec<f64> = rng
        .normal_vec(p1 + 2 * h + 1)
        .into_iter()
        .map(|v| 0.5 * v as f64)
        .collect();
    let mut params = Adam::new(start);
    let steps = options.steps;
    let cw = class_weights(y);
    let loss = train(&mut params, options, rng, observer, |theta, index| {
        let tau = 1.0 + (TAU_MAX - 1.0) * (index + 1) as f64 / steps as f64;
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
        (total / n, grad)
    })?;
    let theta = params.theta;
    let float = FloatNet {
        hidden: (0..h)
            .map(|j| theta[j * (d + 1)..(j + 1) * (d + 1)].to_vec())
            .collect(),
        tau: TAU_MAX,
        output: theta[p1..].to_vec(),
    };
    Ok((float, loss))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::NoObserver;
    use genlab_core::train::testing::StopAt;

    /// N steps straight equal N/2 steps, an interruption, and a resumed run to N, bit for bit.
    #[test]
    fn hand_gradient_training_resumes_exactly() {
        let rows: Vec<Vec<f64>> = (0..40)
            .map(|i| vec![(i % 7) as f64, (i % 3) as f64])
            .collect();
        let y: Vec<bool> = (0..40).map(|i| i % 7 > 3).collect();
        let dir = tempfile::tempdir().unwrap();
        let options = TrainOptions::constant(60, 0.1)
            .with_checkpoint(dir.path().join("ck.bin"), 0)
            .with_resume(true);
        let mut rng = SeededRng::new(0);
        let straight = fit_logistic(
            &rows,
            &y,
            TrainOptions::constant(60, 0.1),
            &mut rng,
            &mut NoObserver,
        )
        .unwrap();
        let e =
            fit_logistic(&rows, &y, options.clone(), &mut rng, &mut StopAt::new(30)).unwrap_err();
        assert!(matches!(e, Error::Interrupted { step: 30, .. }), "{e}");
        let resumed = fit_logistic(&rows, &y, options, &mut rng, &mut NoObserver).unwrap();
        assert_eq!(straight, resumed);
    }
}
