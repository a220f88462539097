//! The MLP the specs describe, computed on the host: ReLU hidden layers, softmax
//! cross-entropy, and its hand-written gradient (the zoo trains hundreds of these tiny
//! networks, where a host loop beats building an autodiff graph per network).
//!
//! ```text
//! a_0 = x;  z_ℓ = a_{ℓ−1} W_ℓᵀ + b_ℓ;  a_ℓ = relu(z_ℓ) (ℓ < L), logits = z_L
//! ℓ(x, y) = −log softmax(z_L)_y,  averaged over the batch
//! δ_L = softmax(z_L) − onehot(y);  δ_{ℓ−1} = (δ_ℓ W_ℓ) ⊙ 1[z_{ℓ−1} > 0]
//! ∂W_ℓ = δ_ℓᵀ a_{ℓ−1} / n,  ∂b_ℓ = Σ δ_ℓ / n
//! ```
//!
//! Initialisation as the reference zoo's: Kaiming-uniform weights, U(±√(6 / fan_in)), zero
//! biases.

use genlab_core::train::SeededRng;

use crate::error::{WResult, WeightsError};
use crate::params::{Array, Params};
use crate::spec::MlpSpec;

/// An MLP's weights: `w[ℓ]` is `[out, in]` row-major, `b[ℓ]` is `[out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    /// Widths, input first.
    pub widths: Vec<usize>,
    /// Weights per layer.
    pub w: Vec<Vec<f32>>,
    /// Biases per layer.
    pub b: Vec<Vec<f32>>,
}

impl Mlp {
    /// Kaiming-uniform weights and zero biases.
    pub fn init(widths: &[usize], rng: &mut SeededRng) -> Mlp {
        let mut w = Vec::new();
        let mut b = Vec::new();
        for l in 0..widths.len() - 1 {
            let (i, o) = (widths[l], widths[l + 1]);
            let bound = (6.0 / i as f32).sqrt();
            w.push(
                rng.uniform_vec(o * i)
                    .into_iter()
                    .map(|u| (2.0 * u - 1.0) * bound)
                    .collect(),
            );
            b.push(vec![0.0; o]);
        }
        Mlp {
            widths: widths.to_vec(),
            w,
            b,
        }
    }

    /// All zeros (gradient buffers, Adam moments).
    pub fn zeros(widths: &[usize]) -> Mlp {
        Mlp {
            widths: widths.to_vec(),
            w: (0..widths.len() - 1)
                .map(|l| vec![0.0; widths[l] * widths[l + 1]])
                .collect(),
            b: (1..widths.len()).map(|l| vec![0.0; widths[l]]).collect(),
        }
    }

    /// The network stored in `params` under `spec`'s names.
    pub fn from_params(spec: &MlpSpec, params: &Params) -> WResult<Mlp> {
        let mut m = Mlp::zeros(&spec.widths);
        for (l, (wn, bn)) in spec.layers.iter().enumerate() {
            let get = |n: &str, len: usize| -> WResult<Vec<f32>> {
                let a = params
                    .get(n)
                    .ok_or_else(|| WeightsError::SpecMismatch(format!("no tensor `{n}`")))?;
                if a.data.len() != len {
                    return Err(WeightsError::SpecMismatch(format!(
                        "`{n}` has {} values, expected {len}",
                        a.data.len()
                    )));
                }
                Ok(a.data.clone())
            };
            m.w[l] = get(wn, m.w[l].len())?;
            m.b[l] = get(bn, m.b[l].len())?;
        }
        Ok(m)
    }

    /// The network as named tensors under `spec`'s names.
    pub fn to_params(&self, spec: &MlpSpec) -> Params {
        let mut pairs = Vec::new();
        for (l, (wn, bn)) in spec.layers.iter().enumerate() {
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            pairs.push((
                wn.clone(),
                Array {
                    shape: vec![o, i],
                    data: self.w[l].clone(),
                },
            ));
            pairs.push((
                bn.clone(),
                Array {
                    shape: vec![o],
                    data: self.b[l].clone(),
                },
            ));
        }
        Params::new(pairs)
    }

    /// Number of layers.
    pub fn depth(&self) -> usize {
        self.w.len()
    }

    /// Every layer's output for the `n` rows of `x`: ReLU activations of the hidden layers,
    /// the logits last (pre-activations are recoverable: a hidden unit is active iff > 0).
    pub fn activations(&self, x: &[f32], n: usize) -> Vec<Vec<f32>> {
        let mut outs: Vec<Vec<f32>> = Vec::with_capacity(self.depth());
        for l in 0..self.depth() {
            let input = if l == 0 { x } else { &outs[l - 1] };
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let wt = transpose(&self.w[l], o, i);
            let mut z = vec![0.0f32; n * o];
            for s in 0..n {
                let zs = &mut z[s * o..(s + 1) * o];
                zs.copy_from_slice(&self.b[l]);
                for (k, &xk) in input[s * i..(s + 1) * i].iter().enumerate() {
                    if xk != 0.0 {
                        for (zo, &wk) in zs.iter_mut().zip(&wt[k * o..(k + 1) * o]) {
                            *zo += xk * wk;
                        }
                    }
                }
            }
            if l + 1 < self.depth() {
                z.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            outs.push(z);
        }
        outs
    }

    /// The logits `[n, d_out]`.
    pub fn logits(&self, x: &[f32], n: usize) -> Vec<f32> {
        self.activations(x, n).pop().expect("at least one layer")
    }

    /// Mean cross-entropy on `(x, y)` and its gradient.
    pub fn loss_and_grad(&self, x: &[f32], y: &[u32], grad: &mut Mlp) -> f64 {
        let n = y.len();
        let acts = self.activations(x, n);
        let classes = *self.widths.last().expect("widths");
        let (loss, mut delta) = softmax_delta(&acts[self.depth() - 1], y, classes);
        for l in (0..self.depth()).rev() {
            let input = if l == 0 { x } else { &acts[l - 1] };
            let (i, o) = (self.widths[l], self.widths[l + 1]);
            let (gw, gb) = (&mut grad.w[l], &mut grad.b[l]);
            gw.iter_mut().for_each(|v| *v = 0.0);
            gb.iter_mut().for_each(|v| *v = 0.0);
            for s in 0..n {
                let xs = &input[s * i..(s + 1) * i];
                for (oo, &d) in delta[s * o..(s + 1) * o].iter().enumerate() {
                    if d != 0.0 {
                        gb[oo] += d;
                        for (g, &xv) in gw[oo * i..(oo + 1) * i].iter_mut().zip(xs) {
                            *g += d * xv;
                        }
                    }
                }
            }
            if l > 0 {
                let mut prev = vec![0.0f32; n * i];
                for s in 0..n {
                    let ps = &mut prev[s * i..(s + 1) * i];
                    for (oo, &d) in delta[s * o..(s + 1) * o].iter().enumerate() {
                        if d != 0.0 {
                            for (p, &wv) in ps.iter_mut().zip(&self.w[l][oo * i..(oo + 1) * i]) {
                                *p += d * wv;
                            }
                        }
                    }
                    for (p, &a) in ps.iter_mut().zip(&input[s * i..(s + 1) * i]) {
                        if a <= 0.0 {
                            *p = 0.0;
                        }
                    }
                }
                delta = prev;
            }
        }
        loss
    }

    /// All weights and biases, layer by layer (W then b), as one vector.
    pub fn flat(&self) -> Vec<f32> {
        let mut out = Vec::new();
        for (w, b) in self.w.iter().zip(&self.b) {
            out.extend_from_slice(w);
            out.extend_from_slice(b);
        }
        out
    }

    /// Mutable views of every parameter buffer, in [`Mlp::flat`] order.
    pub fn buffers_mut(&mut self) -> Vec<&mut [f32]> {
        let mut out: Vec<&mut [f32]> = Vec::new();
        for (w, b) in self.w.iter_mut().zip(self.b.iter_mut()) {
            out.push(w);
            out.push(b);
        }
        out
    }

    /// Every parameter buffer, in [`Mlp::flat`] order.
    pub fn flat_buffers(&self) -> Vec<&[f32]> {
        let mut out: Vec<&[f32]> = Vec::new();
        for (w, b) in self.w.iter().zip(&self.b) {
            out.push(w);
            out.push(b);
        }
        out
    }

    /// The network of `widths` holding `flat` (inverse of [`Mlp::flat`]).
    pub fn from_flat(widths: &[usize], flat: &[f32]) -> WResult<Mlp> {
        let mut m = Mlp::zeros(widths);
        let total: usize = m.w.iter().chain(&m.b).map(Vec::len).sum();
        if flat.len() != total {
            return Err(WeightsError::SpecMismatch(format!(
                "{} values for an MLP {widths:?} of {total} parameters",
                flat.len()
            )));
        }
        let mut off = 0;
        for buf in m.buffers_mut() {
            let n = buf.len();
            buf.copy_from_slice(&flat[off..off + n]);
            off += n;
        }
        Ok(m)
    }
}

fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}

/// Mean cross-entropy of `logits` `[n, classes]` against `y`, and δ = (softmax − onehot) / n.
pub(crate) fn softmax_delta(logits: &[f32], y: &[u32], classes: usize) -> (f64, Vec<f32>) {
    let n = y.len();
    let mut delta = vec![0.0f32; logits.len()];
    let mut loss = 0.0f64;
    for s in 0..n {
        let z = &logits[s * classes..(s + 1) * classes];
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f64 = z.iter().map(|&v| ((v - max) as f64).exp()).sum();
        loss += sum.ln() - (z[y[s] as usize] - max) as f64;
        for c in 0..classes {
            let p = ((z[c] - max) as f64).exp() / sum;
            let t = if c == y[s] as usize { 1.0 } else { 0.0 };
            delta[s * classes + c] = ((p - t) / n as f64) as f32;
        }
    }
    (loss / n as f64, delta)
}

/// Mean cross-entropy of `logits` against `y`.
pub fn cross_entropy(logits: &[f32], y: &[u32]) -> f64 {
    let classes = logits.len() / y.len().max(1);
    softmax_delta(logits, y, classes).0
}

/// The arg-max class of each row of `logits`.
pub fn predictions(logits: &[f32], classes: usize) -> Vec<u32> {
    logits
        .chunks_exact(classes)
        .map(|z| {
            let mut best = 0;
            for c in 1..classes {
                if z[c] > z[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// The fraction of rows whose arg-max logit is the label.
pub fn accuracy(logits: &[f32], y: &[u32]) -> f64 {
    let classes = logits.len() / y.len().max(1);
    let hits = predictions(logits, classes)
        .iter()
        .zip(y)
        .filter(|(p, t)| p == t)
        .count();
    hits as f64 / y.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written gradient against central finite differences, in f64 arithmetic on
    /// an f32 network (so the tolerance is loose but far below a wrong sign or index).
    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = SeededRng::new(5);
        let widths = [5, 4, 3, 3];
        let mut m = Mlp::init(&widths, &mut rng);
        // Non-zero biases: with zero biases a sample whose hidden units are all dead sits
        // exactly on the next layer's ReLU kink, where finite differences average two slopes.
        for b in m.b.iter_mut() {
            b.iter_mut().for_each(|v| *v = 0.3);
        }
        let n = 6;
        let x: Vec<f32> = rng.normal_vec(n * 5);
        let y: Vec<u32> = (0..n as u32).map(|s| s % 3).collect();
        let mut grad = Mlp::zeros(&widths);
        m.loss_and_grad(&x, &y, &mut grad);
        let analytic = grad.flat();
        let base = m.flat();
        let h = 1e-3f32;
        for k in (0..base.len()).step_by(3) {
            let at = |delta: f32| {
                let mut p = base.clone();
                p[k] += delta;
                let mm = Mlp::from_flat(&widths, &p).unwrap();
                cross_entropy(&mm.logits(&x, n), &y)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h as f64);
            assert!(
                (fd - analytic[k] as f64).abs() < 2e-3 + 2e-2 * fd.abs(),
                "parameter {k}: finite difference {fd} vs analytic {}",
                analytic[k]
            );
        }
    }

    #[test]
    fn flat_round_trip_and_params_round_trip() {
        let mut rng = SeededRng::new(6);
        let widths = [4, 3, 2];
        let m = Mlp::init(&widths, &mut rng);
        assert_eq!(Mlp::from_flat(&widths, &m.flat()).unwrap(), m);
        let spec = MlpSpec::new(&widths);
        let p = m.to_params(&spec);
        assert_eq!(Mlp::from_params(&spec, &p).unwrap(), m);
        assert_eq!(p.flatten().len(), m.flat().len());
        assert!(Mlp::from_flat(&widths, &[0.0; 3]).is_err());
    }

    #[test]
    fn accuracy_counts_argmax_hits() {
        let logits = [0.1, 0.9, 0.8, 0.2, 0.3, 0.4];
        assert_eq!(predictions(&logits, 2), [1, 0, 1]);
        assert!((accuracy(&logits, &[1, 1, 1]) - 2.0 / 3.0).abs() < 1e-12);
    }
}
