//! Slot Attention (Locatello et al. 2020), as used by LSD and CODA: K slots compete for N input
//! features over I iterations.
//!
//! ```text
//! x        = LN(inputs);   k = W_k x,  v = W_v x                       [b, N, D]
//! s⁰       = μ + exp(log σ) ⊙ ξ,   ξ ~ N(0, I) given by the caller      [b, K, D]
//! for i in 1..=I:
//!   q      = W_q LN(sⁱ⁻¹)
//!   A_nk   = softmax_k( k_n · q_k / √D )          softmax over SLOTS (competition)
//!   W_nk   = (A_nk + ε) / Σ_n' (A_n'k + ε)        renormalised over INPUTS (weighted mean)
//!   u_k    = Σ_n W_nk v_n
//!   sⁱ     = GRU(u, sⁱ⁻¹);   sⁱ += MLP(LN(sⁱ))
//! masks    = A of the last iteration                                     [b, N, K]
//! ```
//!
//! The caller draws ξ so that the two halves of a contrastive batch can share it (slot k then
//! means something comparable across the halves). The q/k/v projections keep their biases (the
//! `lucidrains/slot-attention` PR #2 report that biases mattered for reproduction).

use burn::module::{Module, Param};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

use crate::layers::{GruCell, Mlp};

/// The ε added before renormalising over inputs.
pub const EPSILON: f64 = 1e-8;

/// The slot-attention module.
#[derive(Module, Debug)]
pub struct SlotAttention {
    norm_inputs: LayerNorm,
    norm_slots: LayerNorm,
    norm_mlp: LayerNorm,
    to_q: Linear,
    to_k: Linear,
    to_v: Linear,
    gru: GruCell,
    mlp: Mlp,
    mu: Param<Tensor<1>>,
    log_sigma: Param<Tensor<1>>,
    #[module(skip)]
    iters: usize,
}

/// The slots and the last iteration's attention.
#[derive(Debug, Clone)]
pub struct SlotOutput {
    /// `[b, K, D]`.
    pub slots: Tensor<3>,
    /// `[b, N, K]`, softmax over slots (each input's weights sum to 1).
    pub attn: Tensor<3>,
}

impl SlotAttention {
    /// Slots of width `d` over inputs of width `d_in`, `iters` iterations.
    pub fn new(d_in: usize, d: usize, iters: usize, device: &Device) -> Self {
        let dev = device;
        SlotAttention {
            norm_inputs: LayerNormConfig::new(d_in).init(dev),
            norm_slots: LayerNormConfig::new(d).init(dev),
            norm_mlp: LayerNormConfig::new(d).init(dev),
            to_q: LinearConfig::new(d, d).init(dev),
            to_k: LinearConfig::new(d_in, d).init(dev),
            to_v: LinearConfig::new(d_in, d).init(dev),
            gru: GruCell::new(d, dev),
            mlp: Mlp::new(d, 2 * d, d, dev),
            mu: Param::from_tensor(Tensor::zeros([d], dev)),
            log_sigma: Param::from_tensor(Tensor::full([d], -1.0, dev)),
            iters,
        }
    }

    /// Slot width D.
    pub fn width(&self) -> usize {
        self.mu.dims()[0]
    }

    /// s⁰ = μ + exp(log σ) ⊙ ξ for noise ξ `[b, K, D]`.
    pub fn init_slots(&self, noise: Tensor<3>) -> Tensor<3> {
        let d = self.width();
        let mu = self.mu.val().reshape([1, 1, d]);
        let sigma = self.log_sigma.val().exp().reshape([1, 1, d]);
        noise * sigma + mu
    }

    /// Runs the iterations of the module doc on `inputs` `[b, N, d_in]`.
    pub fn forward(&self, inputs: Tensor<3>, noise: Tensor<3>) -> SlotOutput {
        let x = self.norm_inputs.forward(inputs);
        let k = self.to_k.forward(x.clone());
        let v = self.to_v.forward(x);
        let mut slots = self.init_slots(noise);
        let mut attn = None;
        for _ in 0..self.iters {
            let prev = slots.clone();
            let q = self.to_q.forward(self.norm_slots.forward(slots));
            let (a, w) = attention(k.clone(), q);
            let updates = w.swap_dims(1, 2).matmul(v.clone()); // [b, K, D]
            slots = self.gru.forward(updates, prev);
            slots = slots.clone() + self.mlp.forward(self.norm_mlp.forward(slots));
            attn = Some(a);
        }
        SlotOutput {
            slots,
            attn: attn.expect("at least one iteration"),
        }
    }
}

/// One attention step: `A` (softmax over slots) and `W` (A + ε renormalised over inputs), both
/// `[b, N, K]`, from keys `[b, N, D]` and queries `[b, K, D]`.
pub fn attention(k: Tensor<3>, q: Tensor<3>) -> (Tensor<3>, Tensor<3>) {
    let d = q.dims()[2] as f64;
    let logits = k.matmul(q.swap_dims(1, 2)) / d.sqrt();
    let a = softmax(logits, 2);
    let shifted = a.clone() + EPSILON;
    let w = shifted.clone() / shifted.sum_dim(1);
    (a, w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;
    use genlab_core::{device, tensor};

    #[test]
    fn attention_normalises_over_slots_then_over_inputs() {
        let dev = device::device();
        let mut rng = SeededRng::new(2);
        let (b, n, k, d) = (2, 7, 4, 5);
        let keys = rng.normal([b, n, d], &dev) * 3.0;
        let queries = rng.normal([b, k, d], &dev) * 3.0;
        let (a, w) = attention(keys.clone(), queries.clone());
        // Each input's weights over the slots sum to 1.
        for s in tensor::to_vec(a.clone().sum_dim(2)) {
            assert!((s - 1.0).abs() < 1e-5, "{s}");
        }
        // Each slot's weights over the inputs sum to 1.
        for s in tensor::to_vec(w.clone().sum_dim(1)) {
            assert!((s - 1.0).abs() < 1e-5, "{s}");
        }
        // And it is softmax over slots, not over inputs: a naive host computation.
        let (kv, qv, av) = (
            tensor::to_vec(keys),
            tensor::to_vec(queries),
            tensor::to_vec(a),
        );
        for bi in 0..b {
            for ni in 0..n {
                let logits: Vec<f32> = (0..k)
                    .map(|ki| {
                        (0..d)
                            .map(|j| kv[(bi * n + ni) * d + j] * qv[(bi * k + ki) * d + j])
                            .sum::<f32>()
                            / (d as f32).sqrt()
                    })
                    .collect();
                let m = logits.iter().cloned().fold(f32::MIN, f32::max);
                let z: f32 = logits.iter().map(|l| (l - m).exp()).sum();
                for ki in 0..k {
                    let want = (logits[ki] - m).exp() / z;
                    assert!((av[(bi * n + ni) * k + ki] - want).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn gradient_through_the_iterations_matches_finite_differences() {
        use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};
        let dev = device::train_device();
        dev.seed(8);
        let (n, d_in, k, d) = (5, 3, 2, 4);
        let sa = SlotAttention::new(d_in, d, 2, &dev);
        let mut rng = SeededRng::new(9);
        let noise = rng.normal([1, k, d], &dev);
        let probe = rng.normal([1, k, d], &dev);
        let x = rng.normal_vec(n * d_in);
        let f = |t: Tensor<3>| (sa.forward(t, noise.clone()).slots * probe.clone()).sum();
        let analytic = autodiff_grad(|t| f(t.reshape([1, n, d_in])), &x, [n, d_in], &dev);
        let numerical = numerical_grad(
            |v| {
                let t = Tensor::<3>::from_data(
                    burn::tensor::TensorData::new(v.to_vec(), [1, n, d_in]),
                    &dev,
                );
                f(t).into_scalar::<f32>() as f64
            },
            &x,
            1e-2,
        );
        let err = max_relative_error(&analytic, &numerical);
        assert!(err < 2e-2, "max relative error {err}");
        assert!(analytic.iter().any(|g| g.abs() > 1e-3));
    }

    #[test]
    fn module_output_shapes_and_shared_noise() {
        let dev = device::device();
        dev.seed(1);
        let sa = SlotAttention::new(6, 8, 3, &dev);
        let mut rng = SeededRng::new(3);
        let inputs = rng.normal([2, 10, 6], &dev);
        let half = rng.normal([1, 3, 8], &dev);
        let noise = Tensor::cat(vec![half.clone(), half], 0);
        let out = sa.forward(inputs.clone(), noise.clone());
        assert_eq!(out.slots.dims(), [2, 3, 8]);
        assert_eq!(out.attn.dims(), [2, 10, 3]);
        for s in tensor::to_vec(out.attn.sum_dim(2)) {
            assert!((s - 1.0).abs() < 1e-5);
        }
        // Same image, same noise → the same slots in both halves.
        let same = Tensor::cat(vec![inputs.clone().narrow(0, 0, 1); 2], 0);
        let s = tensor::to_vec(sa.forward(same, noise).slots);
        let (x, y) = s.split_at(s.len() / 2);
        assert!(x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-6));
    }
}
