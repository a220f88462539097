//! Hydra's feature filter: a gate vector per class pair, from the fused label embedding.
//!
//! ```text
//! e(y, y₂) = (E[y] + E[y₂]) / 2                 E ∈ R^{C×e}     ("fuse" mode, symmetric)
//! g(y, y₂) = σ( W₂ relu( W₁ relu(e) + b₁ ) + b₂ ) ∈ (0, 1)^D
//! ```
//!
//! The reference MLP is `[ReLU, BN, Linear(512→1024), ReLU, BN, Linear(1024→D)]` on a
//! 512-d embedding; we drop the BatchNorms (batch statistics over a batch of pair embeddings
//! with few distinct pairs are degenerate at our C) and use e = 64, hidden 128. E[y] is a
//! bias-free linear map of the one-hot class, so the average is one matmul.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};

/// The gate network of the module doc.
#[derive(Module, Debug)]
pub struct Gate {
    embed: Linear,
    hidden: Linear,
    out: Linear,
    #[module(skip)]
    classes: usize,
}

impl Gate {
    /// A fresh gate over `classes` classes with `embed`-d label embeddings, a `hidden` layer
    /// and `dim` outputs.
    pub fn new(classes: usize, embed: usize, hidden: usize, dim: usize, device: &Device) -> Gate {
        Gate {
            embed: LinearConfig::new(classes, embed)
                .with_bias(false)
                .init(device),
            hidden: LinearConfig::new(embed, hidden).init(device),
            out: LinearConfig::new(hidden, dim).init(device),
            classes,
        }
    }

    /// Classes the gate knows.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// `g(y_i, y₂_i)` for each i, `[n, D]`.
    pub fn forward(&self, y: &[u32], y2: &[u32], device: &Device) -> Tensor<2> {
        let (n, c) = (y.len(), self.classes);
        let mut fused = vec![0f32; n * c];
        for (i, (&a, &b)) in y.iter().zip(y2).enumerate() {
            fused[i * c + a as usize] += 0.5;
            fused[i * c + b as usize] += 0.5;
        }
        let m = Tensor::<2>::from_data(TensorData::new(fused, [n, c]), device);
        let e = self.embed.forward(m);
        sigmoid(self.out.forward(relu(self.hidden.forward(relu(e)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::tensor::to_vec;

    #[test]
    fn gates_are_symmetric_in_the_pair_and_in_the_open_interval() {
        let device = Device::flex();
        genlab_core::train::seed_device(&device, 0);
        let gate = Gate::new(5, 8, 16, 6, &device);
        let a = to_vec(gate.forward(&[0, 3, 2], &[3, 0, 2], &device));
        let b = to_vec(gate.forward(&[3, 0, 2], &[0, 3, 2], &device));
        assert_eq!(a, b);
        assert_eq!(a[..6], a[6..12], "g(0, 3) = g(3, 0)");
        assert!(a.iter().all(|&g| g > 0.0 && g < 1.0));
    }
}
