//! The weight-space flow network of DeepWeightFlow: a velocity field v_θ(x, t) over flattened
//! (optionally PCA-projected) network weights.
//!
//! ```text
//! e(t) = Linear(64→64)(GELU(Linear(1→64)(t)))
//! h = Drop(GELU(LN(Linear(dim+64 → d_h)([x, e(t)]))))
//! h = Drop(GELU(LN(Linear(d_h → d_h/2)(h))))
//! h = GELU(LN(Linear(d_h/2 → d_h)(h)))
//! v = Linear(d_h → dim)(h)                      last layer zero-initialised: v ≡ 0 at start
//! ```
//!
//! Dropout 0.1 as in the reference `WeightSpaceFlowModel` (checked in the public DeepWeightFlow
//! code: `nn.Dropout(0.1)` after the first two blocks, time embedding width 64). The flow
//! hidden width d_h is the ablation's knob; the reference's default is min(512, dim/4).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::ops::gelu;
use genlab_core::train::SeededRng;
use genlab_flow::ode::VectorField;

/// Configuration of a [`WeightFlowNet`].
#[derive(Config, Debug, PartialEq)]
pub struct WeightFlowNetConfig {
    /// Dimension of the (projected) weight vectors.
    pub dim: usize,
    /// Hidden width d_h.
    pub hidden: usize,
    /// Width of the time embedding.
    #[config(default = 64)]
    pub time_dim: usize,
    /// Dropout probability after the first two blocks.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// The network of the module doc.
#[derive(Module, Debug)]
pub struct WeightFlowNet {
    time_in: Linear,
    time_out: Linear,
    l1: Linear,
    n1: LayerNorm,
    l2: Linear,
    n2: LayerNorm,
    l3: Linear,
    n3: LayerNorm,
    out: Linear,
    #[module(skip)]
    dropout: f64,
}

impl WeightFlowNetConfig {
    /// Builds the network (burn's default initialisation; the output layer zeroed).
    pub fn init(&self, device: &Device) -> WeightFlowNet {
        let (h, half) = (self.hidden.max(2), (self.hidden / 2).max(1));
        WeightFlowNet {
            time_in: LinearConfig::new(1, self.time_dim).init(device),
            time_out: LinearConfig::new(self.time_dim, self.time_dim).init(device),
            l1: LinearConfig::new(self.dim + self.time_dim, h).init(device),
            n1: LayerNormConfig::new(h).init(device),
            l2: LinearConfig::new(h, half).init(device),
            n2: LayerNormConfig::new(half).init(device),
            l3: LinearConfig::new(half, h).init(device),
            n3: LayerNormConfig::new(h).init(device),
            out: LinearConfig::new(h, self.dim)
                .with_initializer(Initializer::Zeros)
                .init(device),
            dropout: self.dropout,
        }
    }
}

impl WeightFlowNet {
    /// v_θ(x, t) without dropout (sampling).
    ///
    /// # Shapes
    /// - `x`: `[batch, dim]`, `t`: `[batch, 1]` → `[batch, dim]`
    pub fn forward(&self, x: Tensor<2>, t: Tensor<2>) -> Tensor<2> {
        self.forward_train(x, t, None)
    }

    /// v_θ(x, t), with dropout masks drawn from `rng` when given (training). The masks come
    /// from the run's checkpointed host RNG rather than burn's process-wide generator, so an
    /// interrupted run resumes exactly.
    pub fn forward_train(
        &self,
        x: Tensor<2>,
        t: Tensor<2>,
        mut rng: Option<&mut SeededRng>,
    ) -> Tensor<2> {
        let mut drop = |h: Tensor<2>| -> Tensor<2> {
            match rng.as_deref_mut() {
                Some(r) if self.dropout > 0.0 => {
                    let keep = 1.0 - self.dropout;
                    let dims = h.dims();
                    let mask: Vec<f32> = r
                        .uniform_vec(dims[0] * dims[1])
                        .into_iter()
                        .map(|u| {
                            if (u as f64) < keep {
                                (1.0 / keep) as f32
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    h * Tensor::<2>::from_data(TensorData::new(mask, dims), &x_device(&self.out))
                }
                _ => h,
            }
        };
        let e = self.time_out.forward(gelu(self.time_in.forward(t)));
        let h = self.l1.forward(Tensor::cat(vec![x, e], 1));
        let h = drop(gelu(self.n1.forward(h)));
        let h = drop(gelu(self.n2.forward(self.l2.forward(h))));
        let h = gelu(self.n3.forward(self.l3.forward(h)));
        self.out.forward(h)
    }
}

/// The device a layer's weights live on.
fn x_device(l: &Linear) -> Device {
    l.weight.val().device()
}

impl VectorField for WeightFlowNet {
    fn velocity(&self, x: Tensor<2>, t: f32) -> Tensor<2> {
        let [batch, _] = x.dims();
        let tt = Tensor::full([batch, 1], t, &x.device());
        self.forward(x, tt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::{device, tensor};

    #[test]
    fn starts_at_the_zero_field_with_the_right_shape() {
        let dev = device::device();
        let net = WeightFlowNetConfig::new(7, 16).init(&dev);
        let x = Tensor::<2>::ones([3, 7], &dev);
        let v = tensor::to_vec(net.velocity(x, 0.3));
        assert_eq!(v.len(), 21);
        assert!(v.iter().all(|&a| a == 0.0));
    }
}
