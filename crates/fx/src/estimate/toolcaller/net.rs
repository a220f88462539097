//! The network: an audio encoder over frames and a token decoder that cross-attends to it.
//!
//! ```text
//! u_f = [z(dry_f), z(wet_f), z(wet_f − dry_f), blind]    (z: standardised; dry part 0 when blind)
//! v   = [z(descriptors(dry, wet)), blind]                 (optional; 0 and 1 when blind)
//! m   = Encoder([W_in u_f + P_f]_{f=1..F} ‖ [W_d v + e_d]) (pre-norm transformer, F (+1) tokens)
//! h_t = E_tok[y_t] + E_pos[t] + E_slot[s_t]               (s_t: grammar slot after y_≤t)
//! z   = Decoder(h, m)                                     (causal self-attn, cross-attn to m)
//! p(y_{t+1} | y_≤t, audio) = softmax(W_out LN(z_t) + b)   (masked to the grammar when used)
//! ```
//!
//! The slot embedding tells the decoder which parameter (or which phase) the next token fills;
//! the slot is a function of the prefix, so the model stays causal. LLM2Fx-Tools puts dry and
//! wet Fx-Encoder++ frames, through a 32-query Perceiver adapter, into the LLM's input
//! sequence; here a small encoder's frames are the decoder's cross-attention memory instead
//! (the same information flow at laptop scale, as the method note's tier 3 proposes).
//! The blind flag replaces the paper's zeroed attention mask over the dry segment: the dry
//! half of every frame is zero and the flag says so.
//!
//! **Descriptor token** (`descriptors > 0`): the tier-2 regression baseline's input, the
//! interpretable pair descriptors of [`crate::estimate::features`] (band gains, level
//! percentiles, crest factors, tail energy, echo-lag correlations, stereo measures), enters
//! the encoder as one more token after the frames, so the tool-caller sees at least what the
//! baseline sees. Blind, it is the standardised mean (zeros) with the flag set.

use burn::module::Module;
use burn::nn::activation::ActivationConfig;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{
    TransformerDecoder, TransformerDecoderConfig, TransformerDecoderInput, TransformerEncoder,
    TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::audio::FeatureConfig;
use super::tokens::{MAX_LEN, N_SLOTS, VOCAB};
use crate::estimate::features::FEATURE_DIM;

/// Shape of the network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Width of every embedding and layer.
    pub d_model: usize,
    /// Attention heads.
    pub heads: usize,
    /// Encoder layers (over frames).
    pub encoder_layers: usize,
    /// Decoder layers (over tokens).
    pub decoder_layers: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// The audio front end.
    pub features: FeatureConfig,
    /// Length of the descriptor vector of the extra encoder token (0: no such token).
    #[serde(default)]
    pub descriptors: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            d_model: 64,
            heads: 4,
            encoder_layers: 1,
            decoder_layers: 2,
            d_ff: 128,
            features: FeatureConfig::default(),
            descriptors: FEATURE_DIM,
        }
    }
}

impl NetConfig {
    /// Values per encoder input frame: dry, wet, their difference, and the blind flag.
    pub fn frame_width(&self) -> usize {
        3 * self.features.width() + 1
    }

    /// Checks the shape is buildable: positive sizes, `d_model` a multiple of `heads`, a
    /// positive finite analysis window.
    pub fn validate(&self) -> genlab_core::Result<()> {
        let f = &self.features;
        let bad = self.d_model == 0
            || self.heads == 0
            || !self.d_model.is_multiple_of(self.heads)
            || self.d_ff == 0
            || self.encoder_layers == 0
            || self.decoder_layers == 0
            || f.frames == 0
            || f.bands == 0
            || !(f.window_seconds > 0.0 && f.window_seconds.is_finite());
        if bad {
            return Err(genlab_core::Error::InvalidInput(format!(
                "invalid tool-caller network {self:?}: sizes must be positive, d_model a multiple \
                 of heads, and the window a positive number of seconds"
            )));
        }
        Ok(())
    }

    /// The fresh network.
    pub fn init(&self, device: &Device) -> ToolCallerNet {
        let d = self.d_model;
        ToolCallerNet {
            input: LinearConfig::new(self.frame_width(), d).init(device),
            frame_position: EmbeddingConfig::new(self.features.frames, d).init(device),
            encoder: TransformerEncoderConfig::new(d, self.d_ff, self.heads, self.encoder_layers)
                .with_dropout(0.0)
                .with_norm_first(true)
                .with_activation(ActivationConfig::Relu)
                .init(device),
            token: EmbeddingConfig::new(VOCAB, d).init(device),
            position: EmbeddingConfig::new(MAX_LEN, d).init(device),
            slot: EmbeddingConfig::new(N_SLOTS, d).init(device),
            decoder: TransformerDecoderConfig::new(d, self.d_ff, self.heads, self.decoder_layers)
                .with_dropout(0.0)
                .with_norm_first(true)
                .with_activation(ActivationConfig::Relu)
                .init(device),
            norm: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, VOCAB).init(device),
            descriptor: (self.descriptors > 0)
                .then(|| LinearConfig::new(self.descriptors + 1, d).init(device)),
        }
    }
}

/// Per-feature standardisation of the encoder input, `(x − mean)/std` for the dry, wet and
/// difference parts (3 × width values each), fitted on the training corpus and saved with the
/// model. The features sit around −3 with spreads from 0.1 (differences) to 1, so without it
/// the first layer sees one large constant direction and small informative ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Means of dry, wet and wet − dry features.
    pub mean: Vec<f32>,
    /// Standard deviations (floored at 10⁻³).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// No change, for `width` features per signal.
    pub fn identity(width: usize) -> Self {
        Standardizer {
            mean: vec![0.0; 3 * width],
            std: vec![1.0; 3 * width],
        }
    }

    /// Per-column means and deviations of `rows` of `width` values (the descriptor token's
    /// standardisation; `mean` and `std` then have `width` entries).
    pub fn fit_columns<'a>(width: usize, rows: impl Iterator<Item = &'a [f32]>) -> Self {
        let (mut sum, mut sq, mut n) = (vec![0.0f64; width], vec![0.0f64; width], 0usize);
        for row in rows {
            for (k, &v) in row.iter().enumerate() {
                sum[k] += v as f64;
                sq[k] += (v as f64) * (v as f64);
            }
            n += 1;
        }
        let n = n.max(1) as f64;
        Standardizer {
            mean: sum.iter().map(|s| (s / n) as f32).collect(),
            std: sq
                .iter()
                .zip(&sum)
                .map(|(q, s)| ((q / n - (s / n).powi(2)).max(0.0).sqrt() as f32).max(1e-3))
                .collect(),
        }
    }

    /// Means and deviations of the dry, wet and difference features over `rows` of
    /// (dry, wet) feature frames.
    pub fn fit<'a>(width: usize, rows: impl Iterator<Item = (&'a [f32], &'a [f32])>) -> Self {
        let mut sum = vec![0.0f64; 3 * width];
        let mut sq = vec![0.0f64; 3 * width];
        let mut n = 0usize;
        for (dry, wet) in rows {
            for (k, (&d, &w)) in dry.iter().zip(wet).enumerate() {
                for (j, v) in [d, w, w - d].into_iter().enumerate() {
                    sum[j * width + k] += v as f64;
                    sq[j * width + k] += (v as f64) * (v as f64);
                }
            }
            n += 1;
        }
        let n = n.max(1) as f64;
        let mean: Vec<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std = sq
            .iter()
            .zip(&sum)
            .map(|(q, s)| ((q / n - (s / n).powi(2)).max(0.0).sqrt() as f32).max(1e-3))
            .collect();
        Standardizer { mean, std }
    }
}

/// One frame's encoder input from the dry and wet feature frames (`None`: blind), appended to
/// `out`: standardised dry, wet and wet − dry, then the blind flag. Blind frames have zeros
/// (the standardised mean) in the dry and difference parts.
pub fn frame_input(dry: Option<&[f32]>, wet: &[f32], input: &Standardizer, out: &mut Vec<f32>) {
    let w = wet.len();
    let z = |j: usize, k: usize, v: f32| (v - input.mean[j * w + k]) / input.std[j * w + k];
    match dry {
        Some(dry) => {
            out.extend(dry.iter().enumerate().map(|(k, &d)| z(0, k, d)));
            out.extend(wet.iter().enumerate().map(|(k, &v)| z(1, k, v)));
            out.extend((0..w).map(|k| z(2, k, wet[k] - dry[k])));
            out.push(0.0);
        }
        None => {
            out.extend(std::iter::repeat_n(0.0, w));
            out.extend(wet.iter().enumerate().map(|(k, &v)| z(1, k, v)));
            out.extend(std::iter::repeat_n(0.0, w));
            out.push(1.0);
        }
    }
}

/// One clip's encoder input: dry and wet feature rows of `frames × width` each (`None` dry:
/// blind) and, for a network with a descriptor token, the pair's descriptors (`None`: blind).
#[derive(Debug, Clone, Copy)]
pub struct Clip<'a> {
    /// Dry features (`None`: blind).
    pub dry: Option<&'a [f32]>,
    /// Wet features.
    pub wet: &'a [f32],
    /// Pair descriptors (`None`: blind or not used).
    pub descriptors: Option<&'a [f32]>,
}

/// The encoder's input tensors.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `[n, F, frame_width]`.
    pub frames: Tensor<3>,
    /// `[n, descriptors + 1]`, when the network has a descriptor token.
    pub descriptors: Option<Tensor<2>>,
}

impl Inputs {
    /// Frames only (a network without descriptor token).
    pub fn frames(frames: Tensor<3>) -> Inputs {
        Inputs {
            frames,
            descriptors: None,
        }
    }
}

/// Encoder inputs of `clips`: frames standardised by `input`, descriptors by `descriptor_input`
/// (required when `config.descriptors > 0`).
pub fn inputs_tensor(
    config: &NetConfig,
    input: &Standardizer,
    descriptor_input: Option<&Standardizer>,
    clips: &[Clip],
    device: &Device,
) -> Inputs {
    let (frames, width) = (config.features.frames, config.features.width());
    let mut x = Vec::with_capacity(clips.len() * frames * config.frame_width());
    for clip in clips {
        for k in 0..frames {
            let rows = k * width..(k + 1) * width;
            frame_input(
                clip.dry.map(|d| &d[rows.clone()]),
                &clip.wet[rows],
                input,
                &mut x,
            );
        }
    }
    let frames = Tensor::from_data(
        TensorData::new(x, [clips.len(), frames, config.frame_width()]),
        device,
    );
    let descriptors = (config.descriptors > 0).then(|| {
        let d = config.descriptors;
        let z = descriptor_input.expect("a descriptor standardisation");
        let mut v = Vec::with_capacity(clips.len() * (d + 1));
        for clip in clips {
            match clip.descriptors {
                Some(desc) => {
                    v.extend((0..d).map(|k| (desc[k] - z.mean[k]) / z.std[k]));
                    v.push(0.0);
                }
                None => {
                    v.extend(std::iter::repeat_n(0.0, d));
                    v.push(1.0);
                }
            }
        }
        Tensor::from_data(TensorData::new(v, [clips.len(), d + 1]), device)
    });
    Inputs {
        frames,
        descriptors,
    }
}

/// The encoder–decoder of the module doc.
#[derive(Module, Debug)]
pub struct ToolCallerNet {
    input: Linear,
    frame_position: Embedding,
    encoder: TransformerEncoder,
    token: Embedding,
    position: Embedding,
    slot: Embedding,
    decoder: TransformerDecoder,
    norm: LayerNorm,
    head: Linear,
    descriptor: Option<Linear>,
}

/// `[n, len]` integer tensor from host values.
pub fn int_tensor(values: &[u32], n: usize, len: usize, device: &Device) -> Tensor<2, Int> {
    let data: Vec<i64> = values.iter().map(|&v| v as i64).collect();
    Tensor::from_data(TensorData::new(data, [n, len]), device)
}

fn positions(n: usize, len: usize, device: &Device) -> Tensor<2, Int> {
    let row: Vec<u32> = (0..len as u32).collect();
    int_tensor(&row.repeat(n), n, len, device)
}

impl ToolCallerNet {
    /// Encoder memory: the frames, then the descriptor token when the network has one.
    ///
    /// # Shapes
    /// - `inputs.frames`: `[n, F, frame_width]`, `inputs.descriptors`: `[n, D + 1]`
    ///   → `[n, F (+ 1), d_model]`
    pub fn encode(&self, inputs: Inputs) -> Tensor<3> {
        let [n, f, _] = inputs.frames.dims();
        let device = inputs.frames.device();
        let mut x = self.input.forward(inputs.frames)
            + self.frame_position.forward(positions(n, f, &device));
        if let (Some(layer), Some(v)) = (&self.descriptor, inputs.descriptors) {
            x = Tensor::cat(vec![x, layer.forward(v).unsqueeze_dim::<3>(1)], 1);
        }
        self.encoder.forward(TransformerEncoderInput::new(x))
    }

    /// Next-token logits at every position.
    ///
    /// # Shapes
    /// - `memory`: `[n, F, d]`, `tokens`, `slots`: `[n, L]` (`L ≤ MAX_LEN`) → `[n, L, VOCAB]`
    pub fn logits(
        &self,
        memory: Tensor<3>,
        tokens: Tensor<2, Int>,
        slots: Tensor<2, Int>,
    ) -> Tensor<3> {
        let [n, len] = tokens.dims();
        let device = tokens.device();
        let h = self.token.forward(tokens)
            + self.position.forward(positions(n, len, &device))
            + self.slot.forward(slots);
        let causal = generate_autoregressive_mask(n, len, &device);
        let z = self
            .decoder
            .forward(TransformerDecoderInput::new(h, memory).target_mask_attn(causal));
        self.head.forward(self.norm.forward(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::tensor::to_vec;
    use genlab_core::train::SeededRng;

    #[test]
    fn logits_at_t_ignore_later_tokens() {
        let device = Device::flex();
        device.seed(1);
        let config = NetConfig {
            features: FeatureConfig {
                frames: 4,
                bands: 4,
                window_seconds: 0.5,
            },
            ..NetConfig::default()
        };
        let net = config.init(&device);
        let mut rng = SeededRng::new(2);
        let frames = rng.normal([2, 4, config.frame_width()], &device);
        let memory = net.encode(Inputs::frames(frames));
        let (n, len) = (2, 12);
        let a_tokens: Vec<u32> = (0..n * len).map(|i| (i * 7 % VOCAB) as u32).collect();
        let a_slots: Vec<u32> = (0..n * len).map(|i| (i * 5 % N_SLOTS) as u32).collect();
        let (mut b_tokens, mut b_slots) = (a_tokens.clone(), a_slots.clone());
        let cut = 5;
        for r in 0..n {
            for t in cut + 1..len {
                b_tokens[r * len + t] = ((b_tokens[r * len + t] + 3) as usize % VOCAB) as u32;
                b_slots[r * len + t] = ((b_slots[r * len + t] + 1) as usize % N_SLOTS) as u32;
            }
        }
        let run = |tokens: &[u32], slots: &[u32]| {
            to_vec(net.logits(
                memory.clone(),
                int_tensor(tokens, n, len, &device),
                int_tensor(slots, n, len, &device),
            ))
        };
        let (a, b) = (run(&a_tokens, &a_slots), run(&b_tokens, &b_slots));
        for r in 0..n {
            for t in 0..len {
                let row = |x: &[f32]| x[(r * len + t) * VOCAB..(r * len + t + 1) * VOCAB].to_vec();
                let diff = row(&a)
                    .iter()
                    .zip(row(&b))
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0f32, f32::max);
                if t <= cut {
                    assert!(diff < 1e-5, "row {r} position {t} changed by {diff}");
                } else {
                    assert!(
                        diff > 1e-4,
                        "row {r} position {t} should depend on its token"
                    );
                }
            }
        }
    }

    #[test]
    fn blind_frames_zero_the_dry_half_and_inputs_are_standardised() {
        let (dry, wet) = ([1.0f32, 2.0], [4.0f32, 3.0]);
        let id = Standardizer::identity(2);
        let mut seen = Vec::new();
        frame_input(Some(&dry), &wet, &id, &mut seen);
        assert_eq!(seen, vec![1.0, 2.0, 4.0, 3.0, 3.0, 1.0, 0.0]);
        let mut blind = Vec::new();
        frame_input(None, &wet, &id, &mut blind);
        assert_eq!(blind, vec![0.0, 0.0, 4.0, 3.0, 0.0, 0.0, 1.0]);
        // Fitted on two rows: every standardised feature has mean 0 and deviation 1.
        let rows = [([1.0f32, 0.0], [2.0f32, 5.0]), ([3.0, 2.0], [0.0, 1.0])];
        let s = Standardizer::fit(2, rows.iter().map(|(d, w)| (&d[..], &w[..])));
        let mut out = Vec::new();
        for (d, w) in &rows {
            frame_input(Some(d), w, &s, &mut out);
        }
        for j in 0..6 {
            let (a, b) = (out[j], out[7 + j]);
            assert!(
                (a + b).abs() < 1e-6 && (a.abs() - 1.0).abs() < 1e-6,
                "{j}: {a} {b}"
            );
        }
    }

    #[test]
    fn the_descriptor_token_is_one_more_memory_row_and_blind_is_its_mean() {
        let device = Device::flex();
        device.seed(3);
        let features = FeatureConfig {
            frames: 3,
            bands: 2,
            window_seconds: 0.5,
        };
        let config = NetConfig {
            d_model: 16,
            d_ff: 32,
            features,
            descriptors: 2,
            ..NetConfig::default()
        };
        let net = config.init(&device);
        let frame = vec![0.5f32; 3 * features.width()];
        let z = Standardizer {
            mean: vec![1.0, -1.0],
            std: vec![2.0, 0.5],
        };
        let seen = [3.0f32, -2.0];
        let clip = |descriptors| Clip {
            dry: Some(&frame[..]),
            wet: &frame[..],
            descriptors,
        };
        let id = Standardizer::identity(features.width());
        let inputs = inputs_tensor(
            &config,
            &id,
            Some(&z),
            &[clip(Some(&seen)), clip(None)],
            &device,
        );
        // (3 − 1)/2 = 1, (−2 + 1)/0.5 = −2, flag 0; blind: zeros, flag 1.
        assert_eq!(
            to_vec(inputs.descriptors.clone().unwrap()),
            vec![1.0, -2.0, 0.0, 0.0, 0.0, 1.0]
        );
        let memory = net.encode(inputs);
        assert_eq!(memory.dims(), [2, 4, 16]);
        // The frames are the same; only the descriptor token differs between the clips, and
        // through attention it reaches every row of the memory.
        let m = to_vec(memory);
        let row = |c: usize, r: usize| m[(c * 4 + r) * 16..(c * 4 + r + 1) * 16].to_vec();
        for r in 0..4 {
            let d = row(0, r)
                .iter()
                .zip(row(1, r))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(d > 1e-5, "row {r} ignores the descriptors");
        }
        // Without a descriptor token the memory has the frames only.
        let plain = NetConfig {
            descriptors: 0,
            ..config
        };
        let inputs = inputs_tensor(&plain, &id, None, &[clip(None)], &device);
        assert!(inputs.descriptors.is_none());
        assert_eq!(plain.init(&device).encode(inputs).dims(), [1, 3, 16]);
    }
}
