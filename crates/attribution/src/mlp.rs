//! [`Mlp`]: the multilayer perceptron every model of this family is made of — a multinomial
//! logistic regression (one layer), the E1 classifier (one hidden layer), the body of the E2
//! conditional denoiser — built so that per-example gradients come out of one batched
//! backward pass ([`crate::grads`]).
//!
//! ```text
//! a_0 = x;   z_l = a_{l−1} W_l + b_l + π_l   (π_l ≡ 0: a probe, see below)
//! a_l = act(z_l)   l < L;   out = z_L
//! ```
//!
//! The probes π_l are zero leaves of the autodiff graph: the gradient of Σ_i f_i with respect
//! to π_l is the matrix of per-example output gradients δ_l[i] = ∂f_i/∂z_l[i] (examples do not
//! interact), from which ∂f_i/∂W_l = a_{l−1}[i] ⊗ δ_l[i] and ∂f_i/∂b_l = δ_l[i].
//!
//! Initialisation draws from a [`SeededRng`] (burn's default U(−1/√fan_in, 1/√fan_in) law), not
//! from burn's process-wide generator, so models built on different threads are reproducible.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::{relu, silu};
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

/// Hidden-layer activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Act {
    /// max(0, x).
    Relu,
    /// x · sigmoid(x).
    Silu,
}

impl Act {
    fn apply(self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Act::Relu => relu(x),
            Act::Silu => silu(x),
        }
    }
}

/// A stack of linear layers with an activation between them.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The layers, input first.
    pub layers: Vec<Linear>,
    #[module(skip)]
    act: Act,
}

/// What a probed forward pass leaves behind for [`crate::grads`].
pub struct Probed {
    /// The network output `[n, d_out]`.
    pub out: Tensor<2>,
    /// Each layer's input a_{l−1}, `[n, d_in(l)]`.
    pub inputs: Vec<Tensor<2>>,
    /// Each layer's zero probe π_l, `[n, d_out(l)]`, tracked by autodiff.
    pub probes: Vec<Tensor<2>>,
}

impl Mlp {
    /// Layers of widths `sizes[0] → sizes[1] → … → sizes[L]`, initialised from `rng`.
    pub fn init(sizes: &[usize], act: Act, rng: &mut SeededRng, device: &Device) -> Mlp {
        let layers = sizes
            .windows(2)
            .map(|w| {
                let (i, o) = (w[0], w[1]);
                let k = 1.0 / (i as f32).sqrt();
                let mut draw = |n: usize| -> Vec<f32> {
                    rng.uniform_vec(n)
                        .into_iter()
                        .map(|u| (2.0 * u - 1.0) * k)
                        .collect()
                };
                let w = Tensor::<2>::from_data(TensorData::new(draw(i * o), [i, o]), device);
                let b = Tensor::<1>::from_data(TensorData::new(draw(o), [o]), device);
                Linear {
                    weight: Param::from_tensor(w),
                    bias: Some(Param::from_tensor(b)),
                }
            })
            .collect();
        Mlp { layers, act }
    }

    /// The layer widths `[d_in, h_1, …, d_out]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.layers[0].weight.dims()[0]];
        s.extend(self.layers.iter().map(|l| l.weight.dims()[1]));
        s
    }

    /// The activation.
    pub fn act(&self) -> Act {
        self.act
    }

    /// Number of parameters p.
    pub fn num_params(&self) -> usize {
        self.sizes().windows(2).map(|w| (w[0] + 1) * w[1]).sum()
    }

    /// The network output.
    ///
    /// # Shapes
    /// - `x`: `[n, d_in]` → `[n, d_out]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (l, layer) in self.layers.iter().enumerate() {
            h = layer.forward(h);
            if l < last {
                h = self.act.apply(h);
            }
        }
        h
    }

    /// The forward pass with a zero probe added to every pre-activation (see the module doc);
    /// `x` must live on an autodiff device.
    pub fn forward_probed(&self, x: Tensor<2>) -> Probed {
        let [n, _] = x.dims();
        let device = x.device();
        let last = self.layers.len() - 1;
        let (mut inputs, mut probes) = (Vec::new(), Vec::new());
        let mut h = x;
        for (l, layer) in self.layers.iter().enumerate() {
            let d_out = layer.weight.dims()[1];
            let probe = Tensor::<2>::zeros([n, d_out], &device).require_grad();
            inputs.push(h.clone());
            probes.push(probe.clone());
            h = layer.forward(h) + probe;
            if l < last {
                h = self.act.apply(h);
            }
        }
        Probed {
            out: h,
            inputs,
            probes,
        }
    }
}
