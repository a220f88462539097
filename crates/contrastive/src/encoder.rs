//! Encoders f (input → representation h) and the projector p (h → z), as the paper builds
//! them at laptop scale:
//!
//! ```text
//! MLP encoder    h = W₂ relu(W₁ x + b₁) + b₂                     (vectors; 64 → 256 → 128)
//! CNN encoder    three 3×3 stride-2 convolutions with ReLU, 28² → 14² → 7² → 4², then a
//!                linear layer to h                               (28×28 images)
//! projector      z = LayerNorm(W₄ relu(W₃ h + b₃) + b₄)          (128 → 128 → 64)
//! ```
//!
//! The projector ends in LayerNorm, as the reference code does (its comment: BatchNorm "will
//! prevent gate close"); the objectives L2-normalise z.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which encoder, with its sizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EncoderSpec {
    /// Two-layer MLP on `input`-dimensional vectors.
    Mlp {
        /// Input dimension.
        input: usize,
        /// Hidden width.
        hidden: usize,
    },
    /// The small CNN on 28×28 single-channel images (input dimension 784).
    Cnn {
        /// Channels of the first convolution (doubled at each of the next two).
        channels: usize,
    },
}

impl EncoderSpec {
    /// The input dimension the encoder takes.
    pub fn input(&self) -> usize {
        match *self {
            EncoderSpec::Mlp { input, .. } => input,
            EncoderSpec::Cnn { .. } => 28 * 28,
        }
    }
}

/// The MLP encoder.
#[derive(Module, Debug)]
pub struct MlpEncoder {
    hidden: Linear,
    out: Linear,
}

/// The CNN encoder.
#[derive(Module, Debug)]
pub struct CnnEncoder {
    convs: Vec<Conv2d>,
    out: Linear,
}

/// Either encoder (exactly one is present).
#[derive(Module, Debug)]
pub struct Encoder {
    mlp: Option<MlpEncoder>,
    cnn: Option<CnnEncoder>,
}

impl Encoder {
    /// A fresh encoder of `spec` with a `rep`-dimensional output.
    pub fn new(spec: &EncoderSpec, rep: usize, device: &Device) -> Encoder {
        match *spec {
            EncoderSpec::Mlp { input, hidden } => Encoder {
                mlp: Some(MlpEncoder {
                    hidden: LinearConfig::new(input, hidden).init(device),
                    out: LinearConfig::new(hidden, rep).init(device),
                }),
                cnn: None,
            },
            EncoderSpec::Cnn { channels } => {
                let widths = [1, channels, 2 * channels, 4 * channels];
                let convs = widths
                    .windows(2)
                    .map(|w| {
                        Conv2dConfig::new([w[0], w[1]], [3, 3])
                            .with_stride([2, 2])
                            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                            .init(device)
                    })
                    .collect();
                Encoder {
                    mlp: None,
                    cnn: Some(CnnEncoder {
                        convs,
                        out: LinearConfig::new(4 * channels * 16, rep).init(device),
                    }),
                }
            }
        }
    }

    /// The representation h of `[n, input]` rows.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        if let Some(m) = &self.mlp {
            return m.out.forward(relu(m.hidden.forward(x)));
        }
        let c = self.cnn.as_ref().expect("an encoder has an MLP or a CNN");
        let n = x.dims()[0];
        let mut h: Tensor<4> = x.reshape([n, 1, 28, 28]);
        for conv in &c.convs {
            h = relu(conv.forward(h));
        }
        let [_, ch, hh, ww] = h.dims();
        c.out.forward(h.reshape([n, ch * hh * ww]))
    }
}

/// The projector of the module doc.
#[derive(Module, Debug)]
pub struct Projector {
    hidden: Linear,
    out: Linear,
    norm: LayerNorm,
}

impl Projector {
    /// A fresh projector `rep → hidden → dim`.
    pub fn new(rep: usize, hidden: usize, dim: usize, device: &Device) -> Projector {
        Projector {
            hidden: LinearConfig::new(rep, hidden).init(device),
            out: LinearConfig::new(hidden, dim).init(device),
            norm: LayerNormConfig::new(dim).init(device),
        }
    }

    /// z of the representation h (not yet L2-normalised).
    pub fn forward(&self, h: Tensor<2>) -> Tensor<2> {
        self.norm
            .forward(self.out.forward(relu(self.hidden.forward(h))))
    }
}
