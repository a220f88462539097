//! The trainable embedder: global image encoder, segmentation–language connector, fusion
//! transformer, text encoder — all at one width d — and the arms that differ only in which
//! token segments reach the fusion.
//!
//! ```text
//! region tokens R = MLP(conv2×2/2(F_seg))          F_seg: the frozen prompt-conditioned map
//!                                                   [64, d] → 16 tokens (VIRTUE: 4×4/4 conv,
//!                                                   Linear–GELU–Linear)
//! scene tokens  S = CNN(x)                          64 tokens of the whole image (or the crop)
//! box tokens    B = E_box[x1, y1, x2, y2]           the box as text (4 tokens)
//! sequence      [R + p₀ | S + p₁…p₆₄ | B + p₆₅…p₆₈ | e_EOS + p₆₉]
//! query emb     q = normalise(W LN(Fusion(sequence)_EOS))
//! caption emb   t = normalise(W' LN(TextEnc([w₁…w_n EOS] + positions)_EOS))
//! ```
//!
//! Region tokens all take position 0 (VIRTUE zeroes the SAM tokens' M-RoPE ids) and every other
//! token keeps the position it has without them, so prepending R shifts nothing
//! ([`positions`]). Pooling is the EOS (last) token, as in VIRTUE's `last` pooling.

use burn::module::Module;
use burn::nn::activation::ActivationConfig;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{
    Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::loss::l2_normalize;
use crate::nn::{ConvEncoder, GRID, Mlp, map_to_tokens, tokens_to_map};
use crate::vocab::{BOX_BINS, MAX_LEN, PAD, vocab_size};

/// Scene tokens per image.
pub const SCENE_TOKENS: usize = GRID * GRID;
/// Region tokens after the connector.
pub const REGION_TOKENS: usize = (GRID / 2) * (GRID / 2);
/// Position ids: region 0, scene 1..=64, box 65..=68, EOS 69.
pub const N_POSITIONS: usize = 1 + SCENE_TOKENS + 4 + 1;

/// Which segments a model arm puts in the fusion sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arm {
    /// VIRTUE-lite: region tokens + scene tokens + box as text.
    Virtue,
    /// VLM2Vec-style: scene tokens + box as text.
    GlobalOnly,
    /// "+Cropping": the box's crop, resized, as the only image (no box text).
    CropOnly,
    /// Region tokens + box as text, no scene tokens.
    RegionOnly,
}

impl Arm {
    /// Every arm, in report order.
    pub const ALL: [Arm; 4] = [Arm::Virtue, Arm::GlobalOnly, Arm::CropOnly, Arm::RegionOnly];

    /// Report name.
    pub fn name(self) -> &'static str {
        match self {
            Arm::Virtue => "virtue",
            Arm::GlobalOnly => "global-only",
            Arm::CropOnly => "crop-only",
            Arm::RegionOnly => "region-only",
        }
    }

    /// Parses [`Arm::name`].
    pub fn parse(s: &str) -> Option<Arm> {
        Arm::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Uses the segmentation analogue's region tokens.
    pub fn region(self) -> bool {
        matches!(self, Arm::Virtue | Arm::RegionOnly)
    }

    /// Uses scene tokens (of the image, or of the crop).
    pub fn scene(self) -> bool {
        !matches!(self, Arm::RegionOnly)
    }

    /// Gets the box as text.
    pub fn box_text(self) -> bool {
        !matches!(self, Arm::CropOnly)
    }
}

/// Shape of the embedder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmbedConfig {
    /// Width of every token and layer.
    pub d: usize,
    /// Attention heads.
    pub heads: usize,
    /// Fusion transformer layers.
    pub layers: usize,
    /// Text encoder layers.
    pub text_layers: usize,
}

impl EmbedConfig {
    /// The default (tiny) shape.
    pub const DEFAULT: EmbedConfig = EmbedConfig {
        d: 32,
        heads: 4,
        layers: 2,
        text_layers: 2,
    };

    /// A fresh embedder.
    pub fn init(&self, device: &Device) -> Embedder {
        let d = self.d;
        let transformer = |layers| {
            TransformerEncoderConfig::new(d, 2 * d, self.heads, layers)
                .with_dropout(0.0)
                .with_norm_first(true)
                .with_activation(ActivationConfig::Gelu)
                .init(device)
        };
        let small = Initializer::Normal {
            mean: 0.0,
            std: 0.02,
        };
        Embedder {
            global: ConvEncoder::new(d, device),
            reduce: Conv2dConfig::new([d, d], [2, 2])
                .with_stride([2, 2])
                .init(device),
            connector: Mlp::new(d, d, d, device),
            scene_norm: LayerNormConfig::new(d).init(device),
            region_norm: LayerNormConfig::new(d).init(device),
            position: EmbeddingConfig::new(N_POSITIONS, d)
                .with_initializer(Initializer::Normal {
                    mean: 0.0,
                    std: 0.3,
                })
                .init(device),
            box_token: EmbeddingConfig::new(4 * BOX_BINS, d)
                .with_initializer(small.clone())
                .init(device),
            eos: EmbeddingConfig::new(1, d)
                .with_initializer(small.clone())
                .init(device),
            fusion: transformer(self.layers),
            norm: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, d).init(device),
            word: EmbeddingConfig::new(vocab_size(), d)
                .with_initializer(small.clone())
                .init(device),
            word_position: EmbeddingConfig::new(MAX_LEN, d)
                .with_initializer(small.clone())
                .init(device),
            text: transformer(self.text_layers),
            text_norm: LayerNormConfig::new(d).init(device),
            text_head: LinearConfig::new(d, d).init(device),
        }
    }
}

/// The trainable parts (the segmentation analogue is not one of them).
#[derive(Module, Debug)]
pub struct Embedder {
    global: ConvEncoder,
    reduce: Conv2d,
    connector: Mlp,
    scene_norm: LayerNorm,
    region_norm: LayerNorm,
    position: Embedding,
    box_token: Embedding,
    eos: Embedding,
    fusion: TransformerEncoder,
    norm: LayerNorm,
    head: Linear,
    word: Embedding,
    word_position: Embedding,
    text: TransformerEncoder,
    text_norm: LayerNorm,
    text_head: Linear,
}

/// What one batch of queries brings to the fusion (absent segments are `None`).
pub struct QueryInput {
    /// Frozen prompt-conditioned maps `[B, 64, d]`.
    pub region: Option<Tensor<3>>,
    /// Images (or crops) `[B, 3, 32, 32]` for scene tokens.
    pub images: Option<Tensor<4>>,
    /// Box tokens `[B, 4]`.
    pub boxes: Option<Tensor<2, Int>>,
}

/// The position ids of each segment present: `(region, scene, box, eos)`.
pub fn positions(
    region: bool,
    scene: bool,
    boxes: bool,
) -> (Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>) {
    let r = if region {
        vec![0; REGION_TOKENS]
    } else {
        vec![]
    };
    let s = if scene {
        (1..=SCENE_TOKENS as i64).collect()
    } else {
        vec![]
    };
    let b = if boxes {
        (0..4).map(|k| 1 + SCENE_TOKENS as i64 + k).collect()
    } else {
        vec![]
    };
    (r, s, b, vec![N_POSITIONS as i64 - 1])
}

/// `ids` repeated over a batch of `b`.
fn ids(b: usize, ids: &[i64], device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = (0..b).flat_map(|_| ids.iter().copied()).collect();
    Tensor::from_data(TensorData::new(v, [b, ids.len()]), device)
}

impl Embedder {
    /// The fusion input sequence of the module doc (token embeddings plus positions).
    pub fn sequence(&self, input: &QueryInput) -> Tensor<3> {
        let b = [
            input.region.as_ref().map(|t| t.dims()[0]),
            input.images.as_ref().map(|t| t.dims()[0]),
            input.boxes.as_ref().map(|t| t.dims()[0]),
        ]
        .into_iter()
        .flatten()
        .next()
        .expect("a query has at least one segment");
        let device = self.position.weight.device();
        let (pr, ps, pb, pe) = positions(
            input.region.is_some(),
            input.images.is_some(),
            input.boxes.is_some(),
        );
        let pos = |p: &[i64]| self.position.forward(ids(b, p, &device));
        let mut parts = Vec::new();
        if let Some(f) = &input.region {
            let reduced = map_to_tokens(self.reduce.forward(tokens_to_map(f.clone())));
            parts.push(self.region_norm.forward(self.connector.forward(reduced)) + pos(&pr));
        }
        if let Some(x) = &input.images {
            parts.push(self.scene_norm.forward(self.global.tokens(x.clone())) + pos(&ps));
        }
        if let Some(t) = &input.boxes {
            parts.push(self.box_token.forward(t.clone()) + pos(&pb));
        }
        parts.push(self.eos.forward(ids(b, &[0], &device)) + pos(&pe));
        Tensor::cat(parts, 1)
    }

    /// Query embeddings `[B, d]`, unit norm.
    pub fn embed_query(&self, input: &QueryInput) -> Tensor<2> {
        let h = self
            .fusion
            .forward(TransformerEncoderInput::new(self.sequence(input)));
        let [b, n, d] = h.dims();
        let last = h.slice([0..b, n - 1..n, 0..d]).reshape([b, d]);
        l2_normalize(self.head.forward(self.norm.forward(last)))
    }

    /// Caption embeddings `[B, d]` of padded tokens `[B, len]` (row-major) whose EOS sits at
    /// `eos[i]`.
    pub fn embed_text(&self, tokens: &[i64], len: usize, eos: &[usize]) -> Tensor<2> {
        let device = self.word.weight.device();
        let b = eos.len();
        let t = Tensor::<2, Int>::from_data(TensorData::new(tokens.to_vec(), [b, len]), &device);
        let pad: Vec<bool> = tokens.iter().map(|&x| x == PAD as i64).collect();
        let pad = Tensor::<2, Bool>::from_data(TensorData::new(pad, [b, len]), &device);
        let p: Vec<i64> = (0..len as i64).collect();
        let x = self.word.forward(t) + self.word_position.forward(ids(b, &p, &device));
        let h = self
            .text
            .forward(TransformerEncoderInput::new(x).mask_pad(pad));
        let mut pick = vec![0f32; b * len];
        for (i, &e) in eos.iter().enumerate() {
            pick[i * len + e] = 1.0;
        }
        let pick = Tensor::<3>::from_data(TensorData::new(pick, [b, len, 1]), &device);
        let d = h.dims()[2];
        let last = (h * pick).sum_dim(1).reshape([b, d]);
        l2_normalize(self.text_head.forward(self.text_norm.forward(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::{device, tensor};

    #[test]
    fn region_tokens_at_position_zero_shift_nothing() {
        let with = positions(true, true, true);
        let without = positions(false, true, true);
        assert!(with.0.iter().all(|&p| p == 0) && with.0.len() == REGION_TOKENS);
        assert_eq!(
            (&with.1, &with.2, &with.3),
            (&without.1, &without.2, &without.3)
        );
        assert_eq!(without.1[0], 1, "scene tokens start after the region slot");
        // The same holds for the embedded sequence: the scene, box and EOS inputs are
        // identical with and without the region prefix.
        let dev = device::device();
        device::device().seed(1);
        let m = EmbedConfig {
            d: 8,
            heads: 2,
            layers: 1,
            text_layers: 1,
        }
        .init(&dev);
        let img = vec![0.4f32; 3 * 32 * 32];
        let images = crate::nn::images_tensor(&[&img], &dev);
        let boxes =
            Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 17, 40, 60], [1, 4]), &dev);
        let region = Tensor::<3>::ones([1, 64, 8], &dev);
        let a = m.sequence(&QueryInput {
            region: Some(region),
            images: Some(images.clone()),
            boxes: Some(boxes.clone()),
        });
        let b = m.sequence(&QueryInput {
            region: None,
            images: Some(images),
            boxes: Some(boxes),
        });
        assert_eq!(a.dims(), [1, REGION_TOKENS + 64 + 4 + 1, 8]);
        let tail = tensor::to_vec(a.slice([0..1, REGION_TOKENS..REGION_TOKENS + 69, 0..8]));
        assert_eq!(tail, tensor::to_vec(b));
    }

    #[test]
    fn text_embedding_ignores_padding_and_is_unit_norm() {
        let dev = device::device();
        dev.seed(2);
        let m = EmbedConfig {
            d: 8,
            heads: 2,
            layers: 1,
            text_layers: 1,
        }
        .init(&dev);
        let short = m.embed_text(&[5, 7, 1], 3, &[2]);
        let padded = m.embed_text(&[5, 7, 1, 0, 0, 9, 9, 9, 9, 1], 5, &[2, 4]);
        let (s, p) = (tensor::to_vec(short), tensor::to_vec(padded));
        for k in 0..8 {
            assert!((s[k] - p[k]).abs() < 1e-5, "{s:?} {p:?}");
        }
        let norm: f32 = p[8..].iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}
