//! The conditional generator's network: a three-level U-Net over the stacked conditioning
//! channels, predicting RGB.
//!
//! ```text
//! e₁ = φ(conv₃(φ(conv₃(x))))                          c  × H × W
//! e₂ = φ(conv₃(φ(conv₃↓₂(e₁))))                       2c × H/2
//! m  = φ(conv₃(φ(conv₃(φ(conv₃↓₂(e₂))))))             4c × H/4
//! d₂ = φ(conv₃([convT₂↑(m), e₂]))                     2c × H/2
//! d₁ = φ(conv₃([convT₂↑(d₂), e₁]))                    c  × H
//! y  = conv₁(d₁)                                      3  × H     (RGB, unclamped)
//! φ = ReLU; conv₃ = 3×3, padding 1; ↓₂ = stride 2; convT₂↑ = 2×2 transposed conv, stride 2
//! ```
//!
//! With c = 24 and 22 input channels this is about 0.32M parameters (see [`UNetConfig`]).

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Sizes of a [`UNet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Base width c.
    pub base: usize,
}

/// The U-Net of the module doc.
#[derive(Module, Debug)]
pub struct UNet {
    e1a: Conv2d,
    e1b: Conv2d,
    down1: Conv2d,
    e2: Conv2d,
    down2: Conv2d,
    m1: Conv2d,
    m2: Conv2d,
    up2: ConvTranspose2d,
    d2: Conv2d,
    up1: ConvTranspose2d,
    d1: Conv2d,
    out: Conv2d,
}

fn conv3(i: usize, o: usize, stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

fn up(i: usize, o: usize, device: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new([i, o], [2, 2])
        .with_stride([2, 2])
        .init(device)
}

impl UNetConfig {
    /// Builds the network with burn's default initialisation.
    pub fn init(&self, device: &Device) -> UNet {
        let (c, i) = (self.base, self.in_channels);
        UNet {
            e1a: conv3(i, c, 1, device),
            e1b: conv3(c, c, 1, device),
            down1: conv3(c, 2 * c, 2, device),
            e2: conv3(2 * c, 2 * c, 1, device),
            down2: conv3(2 * c, 4 * c, 2, device),
            m1: conv3(4 * c, 4 * c, 1, device),
            m2: conv3(4 * c, 4 * c, 1, device),
            up2: up(4 * c, 2 * c, device),
            d2: conv3(4 * c, 2 * c, 1, device),
            up1: up(2 * c, c, device),
            d1: conv3(2 * c, c, 1, device),
            out: Conv2dConfig::new([c, 3], [1, 1]).init(device),
        }
    }
}

impl UNet {
    /// RGB prediction.
    ///
    /// # Shapes
    /// - `x`: `[n, in_channels, H, W]` (H, W divisible by 4) → `[n, 3, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let e1 = relu(self.e1b.forward(relu(self.e1a.forward(x))));
        let e2 = relu(self.e2.forward(relu(self.down1.forward(e1.clone()))));
        let m = relu(self.down2.forward(e2.clone()));
        let m = relu(self.m2.forward(relu(self.m1.forward(m))));
        let d2 = relu(
            self.d2
                .forward(Tensor::cat(vec![self.up2.forward(m), e2], 1)),
        );
        let d1 = relu(
            self.d1
                .forward(Tensor::cat(vec![self.up1.forward(d2), e1], 1)),
        );
        self.out.forward(d1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_parameter_count() {
        let device = Device::flex();
        let cfg = UNetConfig {
            in_channels: 22,
            base: 24,
        };
        let net = cfg.init(&device);
        let y = net.forward(Tensor::zeros([2, 22, 32, 32], &device));
        assert_eq!(y.dims(), [2, 3, 32, 32]);
        let n = net.num_params();
        assert!((250_000..400_000).contains(&n), "{n}");
    }
}
