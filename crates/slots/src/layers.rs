//! Small building blocks shared by the encoder, slot attention and the decoder: scaled
//! dot-product attention, a linear map whose weights can be cut from the graph (the
//! stop-gradient of the contrastive term), a two-layer MLP, and a GRU cell.
//!
//! ```text
//! attend(q, k, v)   = softmax_j(q_i · k_j / √d) v_j            (softmax over the keys)
//! linear(x; W, b)   = x W + b;   with `Grad::Stop`: x sg(W) + sg(b), sg = stop-gradient
//! mlp(x)            = W₂ relu(W₁ x + b₁) + b₂
//! GRU(x, h):  r = σ(W_r x + U_r h),  z = σ(W_z x + U_z h),  n = tanh(W_n x + r ⊙ U_n h)
//!             h' = (1 − z) ⊙ n + z ⊙ h
//! ```

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid, softmax};
use burn::tensor::{Device, Tensor};

/// Whether gradients may flow into a layer's own parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grad {
    /// The usual: parameters get gradients.
    Flow,
    /// The parameters are treated as constants (detached); inputs still get gradients.
    Stop,
}

/// `x W + b` with the parameters of `layer`, detached under [`Grad::Stop`].
pub fn linear<const D: usize>(layer: &Linear, x: Tensor<D>, grad: Grad) -> Tensor<D> {
    match grad {
        Grad::Flow => layer.forward(x),
        Grad::Stop => burn::tensor::module::linear(
            x,
            layer.weight.val().detach(),
            layer.bias.as_ref().map(|b| b.val().detach()),
        ),
    }
}

/// Scaled dot-product attention: `q` `[b, n, d]`, `k` `[b, m, d]`, `v` `[b, m, e]` →
/// `[b, n, e]`, and the weights `[b, n, m]` (rows sum to 1 over the keys).
pub fn attend(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
    let d = q.dims()[2] as f64;
    let logits = q.matmul(k.swap_dims(1, 2)) / d.sqrt();
    let w = softmax(logits, 2);
    (w.clone().matmul(v), w)
}

/// Multi-head attention: `q` `[b, n, d]`, `k` `[b, m, d]`, `v` `[b, m, d]` split into `heads`
/// heads of width d/heads, attended per head and concatenated → `[b, n, d]`.
pub fn attend_heads(q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, heads: usize) -> Tensor<3> {
    if heads <= 1 {
        return attend(q, k, v).0;
    }
    let [b, n, d] = q.dims();
    let m = k.dims()[1];
    let e = d / heads;
    let split = |t: Tensor<3>, len: usize| t.reshape([b, len, heads, e]).swap_dims(1, 2);
    let (q, k, v) = (split(q, n), split(k, m), split(v, m));
    let logits = q.matmul(k.swap_dims(2, 3)) / (e as f64).sqrt();
    let out = softmax(logits, 3).matmul(v); // [b, heads, n, e]
    out.swap_dims(1, 2).reshape([b, n, d])
}

/// A two-layer ReLU MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    l1: Linear,
    l2: Linear,
}

impl Mlp {
    /// `d_in → hidden → d_out`.
    pub fn new(d_in: usize, hidden: usize, d_out: usize, device: &Device) -> Self {
        Mlp {
            l1: LinearConfig::new(d_in, hidden).init(device),
            l2: LinearConfig::new(hidden, d_out).init(device),
        }
    }

    /// The MLP of the module doc.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.l2.forward(relu(self.l1.forward(x)))
    }
}

/// A GRU cell (the slot update of slot attention).
#[derive(Module, Debug)]
pub struct GruCell {
    input: Linear,
    hidden: Linear,
    #[module(skip)]
    d: usize,
}

impl GruCell {
    /// A cell with input and state width `d`.
    pub fn new(d: usize, device: &Device) -> Self {
        GruCell {
            input: LinearConfig::new(d, 3 * d).init(device),
            hidden: LinearConfig::new(d, 3 * d).init(device),
            d,
        }
    }

    /// The next state `h'` from input `x` and state `h` (both `[b, k, d]`).
    pub fn forward(&self, x: Tensor<3>, h: Tensor<3>) -> Tensor<3> {
        let d = self.d;
        let gx = self.input.forward(x);
        let gh = self.hidden.forward(h.clone());
        let part = |t: &Tensor<3>, i: usize| t.clone().narrow(2, i * d, d);
        let r = sigmoid(part(&gx, 0) + part(&gh, 0));
        let z = sigmoid(part(&gx, 1) + part(&gh, 1));
        let n = (part(&gx, 2) + r * part(&gh, 2)).tanh();
        (z.ones_like() - z.clone()) * n + z * h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::{device, tensor};

    #[test]
    fn gru_matches_its_equations_on_one_unit() {
        // d = 1: weights set by hand, compared with the formula evaluated on the host.
        let dev = device::device();
        let mut cell = GruCell::new(1, &dev);
        let set = |l: &mut Linear, w: [f32; 3], b: [f32; 3]| {
            l.weight = burn::module::Param::from_tensor(Tensor::from_data(
                burn::tensor::TensorData::new(w.to_vec(), [1, 3]),
                &dev,
            ));
            l.bias = Some(burn::module::Param::from_tensor(Tensor::from_data(
                burn::tensor::TensorData::new(b.to_vec(), [3]),
                &dev,
            )));
        };
        set(&mut cell.input, [0.5, -1.0, 2.0], [0.1, 0.2, -0.3]);
        set(&mut cell.hidden, [1.5, 0.3, -0.7], [0.0, -0.1, 0.4]);
        let (x, h) = (0.8f32, -0.6f32);
        let sig = |a: f32| 1.0 / (1.0 + (-a).exp());
        let r = sig(0.5 * x + 0.1 + 1.5 * h);
        let z = sig(-1.0 * x + 0.2 + 0.3 * h - 0.1);
        let n = (2.0 * x - 0.3 + r * (-0.7 * h + 0.4)).tanh();
        let want = (1.0 - z) * n + z * h;
        let xt = Tensor::<3>::full([1, 1, 1], x, &dev);
        let ht = Tensor::<3>::full([1, 1, 1], h, &dev);
        let got = tensor::to_vec(cell.forward(xt, ht))[0];
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }

    #[test]
    fn multi_head_attention_equals_per_head_attention() {
        let dev = device::device();
        let mut rng = genlab_core::train::SeededRng::new(4);
        let (q, k, v) = (
            rng.normal([2, 3, 8], &dev),
            rng.normal([2, 5, 8], &dev),
            rng.normal([2, 5, 8], &dev),
        );
        let got = tensor::to_vec(attend_heads(q.clone(), k.clone(), v.clone(), 2));
        for h in 0..2 {
            let part = |t: &Tensor<3>| t.clone().narrow(2, 4 * h, 4);
            let want = tensor::to_vec(attend(part(&q), part(&k), part(&v)).0);
            for (i, w) in want.iter().enumerate() {
                let (row, col) = (i / 4, i % 4);
                assert!((got[row * 8 + 4 * h + col] - w).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn attention_rows_sum_to_one() {
        let dev = device::device();
        let mut rng = genlab_core::train::SeededRng::new(1);
        let q = rng.normal([2, 3, 4], &dev);
        let k = rng.normal([2, 5, 4], &dev);
        let v = rng.normal([2, 5, 6], &dev);
        let (out, w) = attend(q, k, v);
        assert_eq!(out.dims(), [2, 3, 6]);
        for s in tensor::to_vec(w.sum_dim(2)) {
            assert!((s - 1.0).abs() < 1e-5);
        }
    }
}
