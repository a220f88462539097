//! Building blocks shared by the encoders: a strided CNN that turns a 32×32 image into an 8×8
//! map of tokens, a two-layer MLP, and small tensor helpers.
//!
//! ```text
//! CNN(x) = GELU(conv3×3/1(GELU(conv3×3/2(GELU(conv3×3/2(x))))))  : [B,3,32,32] → [B,d,8,8]
//! tokens(F) = F reshaped to [B, H·W, d]  (row-major cells)
//! MLP(x)  = W₂ GELU(W₁ x + b₁) + b₂
//! ```

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Gelu, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};

use crate::scene::IMAGE;

/// Cells per side of the encoders' feature maps.
pub const GRID: usize = 8;

/// The CNN of the module doc.
#[derive(Module, Debug)]
pub struct ConvEncoder {
    conv1: Conv2d,
    conv2: Conv2d,
    conv3: Conv2d,
    act: Gelu,
}

impl ConvEncoder {
    /// A fresh encoder of width `d`.
    pub fn new(d: usize, device: &Device) -> Self {
        let conv = |i: usize, o: usize, s: usize| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let h = (d / 2).max(1);
        ConvEncoder {
            conv1: conv(3, h, 2),
            conv2: conv(h, d, 2),
            conv3: conv(d, d, 1),
            act: Gelu::new(),
        }
    }

    /// `[B, 3, 32, 32]` → `[B, d, 8, 8]`.
    pub fn map(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.act.forward(self.conv1.forward(x));
        let x = self.act.forward(self.conv2.forward(x));
        self.act.forward(self.conv3.forward(x))
    }

    /// `[B, 3, 32, 32]` → `[B, 64, d]`.
    pub fn tokens(&self, x: Tensor<4>) -> Tensor<3> {
        map_to_tokens(self.map(x))
    }
}

/// `[B, d, H, W]` → `[B, H·W, d]`.
pub fn map_to_tokens(m: Tensor<4>) -> Tensor<3> {
    let [b, d, h, w] = m.dims();
    m.reshape([b, d, h * w]).swap_dims(1, 2)
}

/// `[B, H·W, d]` → `[B, d, H, W]` for a square map.
pub fn tokens_to_map(t: Tensor<3>) -> Tensor<4> {
    let [b, n, d] = t.dims();
    let side = (n as f64).sqrt().round() as usize;
    t.swap_dims(1, 2).reshape([b, d, side, side])
}

/// A two-layer MLP with GELU.
#[derive(Module, Debug)]
pub struct Mlp {
    fc1: Linear,
    fc2: Linear,
    act: Gelu,
}

impl Mlp {
    /// `i → h → o`.
    pub fn new(i: usize, h: usize, o: usize, device: &Device) -> Self {
        Mlp {
            fc1: LinearConfig::new(i, h).init(device),
            fc2: LinearConfig::new(h, o).init(device),
            act: Gelu::new(),
        }
    }

    /// Applies the MLP to the last axis.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.fc2.forward(self.act.forward(self.fc1.forward(x)))
    }
}

/// Images (each `[3, IMAGE, IMAGE]`) as one `[B, 3, IMAGE, IMAGE]` tensor.
pub fn images_tensor(images: &[&[f32]], device: &Device) -> Tensor<4> {
    let mut data = Vec::with_capacity(images.len() * 3 * IMAGE * IMAGE);
    for im in images {
        data.extend_from_slice(im);
    }
    Tensor::from_data(
        TensorData::new(data, [images.len(), 3, IMAGE, IMAGE]),
        device,
    )
}

/// Moves a tensor to `device` through host memory; on an autodiff device the result is a
/// constant (no gradient reaches whatever produced it).
pub fn to_device_const<const D: usize>(t: Tensor<D>, device: &Device) -> Tensor<D> {
    Tensor::from_data(t.into_data(), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::device;

    #[test]
    fn map_token_reshapes_are_inverse_and_row_major() {
        let dev = device::device();
        let v: Vec<f32> = (0..2 * 3 * 4).map(|i| i as f32).collect();
        let m = Tensor::<4>::from_data(TensorData::new(v, [2, 3, 2, 2]), &dev);
        let t = map_to_tokens(m.clone());
        // Token 1 of batch 0 is cell (0, 1): channels 0, 1, 2 at offset 1 of each 4-cell map.
        let got = genlab_core::tensor::to_vec(t.clone().slice([0..1, 1..2, 0..3]));
        assert_eq!(got, vec![1.0, 5.0, 9.0]);
        let back = genlab_core::tensor::to_vec(tokens_to_map(t));
        assert_eq!(back, genlab_core::tensor::to_vec(m));
    }

    #[test]
    fn encoder_shapes() {
        let dev = device::device();
        let enc = ConvEncoder::new(16, &dev);
        let img = vec![0.5f32; 3 * IMAGE * IMAGE];
        let t = enc.tokens(images_tensor(&[&img, &img], &dev));
        assert_eq!(t.dims(), [2, GRID * GRID, 16]);
    }
}
