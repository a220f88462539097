//! The learned denoiser: an MLP over one-hot tokens (MASK included) and a one-hot class (with a
//! null class for the unconditional branch), giving logits over the clean vocabulary at every
//! position:
//!
//! ```text
//! h₀ = [onehot(x_t¹), …, onehot(x_t^d), onehot(c or ∅)]
//! h_l = relu(W_l h_{l−1} + b_l);   logits = W_out h_{L−1} + b_out   reshaped to d × V
//! p_θ(x₀^ℓ | x_t, c) = softmax(logits^ℓ)
//! ```
//!
//! No time input: under masking the denoiser's target p(x₀^ℓ | x_t, c) does not depend on t
//! (MDLM makes the same observation), and the exact denoisers of [`crate::exact`] have none either.
//! Saved as a directory: `model.json` (the spec) + `weights.bpk`.

use std::path::Path;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::ops::{Activation, linear};
use genlab_core::{Error, Result, limits, tensor, weights};
use serde::{Deserialize, Serialize};

use crate::noise::NoiseSchedule;
use crate::sampler::Denoiser;

/// Shape of the data and of the network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Clean tokens (the id `vocab` is MASK).
    pub vocab: usize,
    /// Classes (the id `classes` is the null class).
    pub classes: usize,
    /// Hidden width.
    pub width: usize,
    /// Linear layers (≥ 2).
    pub depth: usize,
    /// The masking schedule the model was trained with (samplers use the same).
    pub noise: NoiseSchedule,
    /// Training record (steps, seed, final loss, …), for provenance.
    #[serde(default)]
    pub training: serde_json::Value,
}

/// The most linear layers a model may have.
pub const MAX_DEPTH: usize = 64;

impl ModelSpec {
    /// Width of the network input.
    pub fn input_width(&self) -> usize {
        self.seq_len * (self.vocab + 1) + self.classes + 1
    }

    /// Rejects a network that cannot be built: a zero size (`--width 0` panicked inside burn's
    /// initialiser; issue 25), depth outside 2..=[`MAX_DEPTH`], or a weight matrix over
    /// `genlab_core::limits::MAX_ELEMENTS` values (a 5-million-token sequence, `--width 2^40`
    /// aborted on allocation). Checked arithmetic throughout: the sizes may come from a file.
    pub fn check_shape(&self) -> Result<()> {
        let (d, v, c, w) = (self.seq_len, self.vocab, self.classes, self.width);
        if d == 0 || v == 0 || c == 0 || w == 0 {
            return Err(Error::InvalidInput(format!(
                "seq_len = {d}, vocab = {v}, classes = {c} and width = {w} must all be at least 1"
            )));
        }
        if !(2..=MAX_DEPTH).contains(&self.depth) {
            return Err(Error::InvalidInput(format!(
                "depth = {} must be in 2..={MAX_DEPTH}",
                self.depth
            )));
        }
        let input = limits::elements("seq_len × (vocab + 1)", &[d, v + 1])? + c + 1;
        limits::elements("input width × width", &[input, w])?;
        limits::elements("width × width", &[w, w])?;
        limits::elements("width × seq_len × vocab", &[w, d, v])?;
        Ok(())
    }

    /// The fresh network.
    pub fn init(&self, device: &Device) -> TokenMlp {
        let depth = self.depth.max(2);
        let layers = (0..depth)
            .map(|l| {
                let i = if l == 0 {
                    self.input_width()
                } else {
                    self.width
                };
                let o = if l + 1 == depth {
                    self.seq_len * self.vocab
                } else {
                    self.width
                };
                LinearConfig::new(i, o).init(device)
            })
            .collect();
        TokenMlp {
            layers,
            seq_len: self.seq_len,
            vocab: self.vocab,
        }
    }

    /// The one-hot network input of `tokens` (n × seq_len, MASK = vocab) with `classes`
    /// (`classes` value = the null class).
    pub fn encode(&self, tokens: &[u32], classes: &[u32], device: &Device) -> Tensor<2> {
        let (d, v, w) = (self.seq_len, self.vocab, self.input_width());
        let n = classes.len();
        let mut x = vec![0f32; n * w];
        for (i, (row, &c)) in tokens.chunks(d).zip(classes).enumerate() {
            let base = i * w;
            for (l, &t) in row.iter().enumerate() {
                x[base + l * (v + 1) + t as usize] = 1.0;
            }
            x[base + d * (v + 1) + c as usize] = 1.0;
        }
        Tensor::from_data(TensorData::new(x, [n, w]), device)
    }

    /// Checks tokens and classes are in range (burn would index out of bounds silently).
    pub fn validate(&self, tokens: &[u32], classes: &[u32]) -> Result<()> {
        if tokens.len() != classes.len() * self.seq_len {
            return Err(Error::InvalidInput(format!(
                "{} tokens for {} sequences of length {}",
                tokens.len(),
                classes.len(),
                self.seq_len
            )));
        }
        if let Some(t) = tokens.iter().find(|&&t| t as usize > self.vocab) {
            return Err(Error::InvalidInput(format!(
                "token {t} ≥ vocabulary {} (+ MASK)",
                self.vocab
            )));
        }
        if let Some(c) = classes.iter().find(|&&c| c as usize > self.classes) {
            return Err(Error::InvalidInput(format!(
                "class {c} out of range (model has {})",
                self.classes
            )));
        }
        Ok(())
    }
}

/// The MLP of the module doc.
#[derive(Module, Debug)]
pub struct TokenMlp {
    layers: Vec<Linear>,
    #[module(skip)]
    seq_len: usize,
    #[module(skip)]
    vocab: usize,
}

impl TokenMlp {
    /// Logits, `[n, seq_len, vocab]`.
    pub fn logits(&self, x: Tensor<2>) -> Tensor<3> {
        let n = x.dims()[0];
        let mut h = x;
        let last = self.layers.len() - 1;
        for (l, layer) in self.layers.iter().enumerate() {
            // The fused layer of `genlab_core::ops::linear`: burn's `Linear` + ReLU, same
            // numbers, bias and ReLU in the GEMM's epilogue.
            let act = if l < last {
                Activation::Relu
            } else {
                Activation::Identity
            };
            h = linear(layer, h, act);
        }
        h.reshape([n, self.seq_len, self.vocab])
    }
}

/// A trained denoiser with its spec.
#[derive(Debug, Clone)]
pub struct TokenModel {
    /// Shapes, noise schedule and training record.
    pub spec: ModelSpec,
    /// The network (no autodiff).
    pub net: TokenMlp,
}

/// Sequences per forward pass when sampling (bounds memory, not results).
const DENOISE_CHUNK: usize = 1024;

impl Denoiser for TokenModel {
    fn vocab(&self) -> usize {
        self.spec.vocab
    }

    fn seq_len(&self) -> usize {
        self.spec.seq_len
    }

    fn denoise(&self, tokens: &[u32], classes: &[u32]) -> Result<(Vec<f64>, Vec<f64>)> {
        self.spec.validate(tokens, classes)?;
        let d = self.spec.seq_len;
        let null = self.spec.classes as u32;
        let (mut pc, mut pu) = (Vec::new(), Vec::new());
        for (rows, cls) in tokens
            .chunks(DENOISE_CHUNK * d)
            .zip(classes.chunks(DENOISE_CHUNK))
        {
            // Conditional and unconditional branches in one batch of 2n.
            let both_tokens = [rows, rows].concat();
            let both_classes: Vec<u32> = cls
                .iter()
                .copied()
                .chain(cls.iter().map(|_| null))
                .collect();
            let x = self
                .spec
                .encode(&both_tokens, &both_classes, &genlab_core::device::device());
            let p = tensor::to_vec(softmax(self.net.logits(x), 2));
            let half = p.len() / 2;
            pc.extend(p[..half].iter().map(|&v| v as f64));
            pu.extend(p[half..].iter().map(|&v| v as f64));
        }
        Ok((pc, pu))
    }
}

impl TokenModel {
    /// Writes `dir/model.json` and `dir/weights.bpk`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        weights::save_model(dir, &self.spec, &self.net)
    }

    /// Loads a model saved by [`TokenModel::save`], its shape checked
    /// ([`ModelSpec::check_shape`]) before the network is built.
    pub fn load(dir: &Path) -> Result<TokenModel> {
        let spec_path = dir.join(weights::MODEL_SPEC_FILE);
        if spec_path.exists() {
            let spec: ModelSpec = genlab_core::fsx::read_json(&spec_path)?;
            spec.check_shape()
                .and_then(|()| spec.noise.validate())
                .map_err(|e| Error::parse(&spec_path, None, e.to_string()))?;
        }
        let device = genlab_core::device::device();
        let (spec, net) =
            weights::load_model(dir, "guidance", |spec: &ModelSpec| spec.init(&device))?;
        Ok(TokenModel { spec, net })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ModelSpec {
        ModelSpec {
            seq_len: 4,
            vocab: 3,
            classes: 2,
            width: 8,
            depth: 2,
            noise: NoiseSchedule::DEFAULT,
            training: serde_json::Value::Null,
        }
    }

    /// Issue 25: `--width 0` panicked in burn's initialiser; a 5-million-token sequence and
    /// `--width 2^40` aborted on allocation; a model.json may carry any of these.
    #[test]
    fn check_shape_refuses_unbuildable_networks() {
        spec().check_shape().unwrap();
        type Break = fn(&mut ModelSpec);
        let cases: [(&str, Break); 5] = [
            ("width = 0", |s| s.width = 0),
            ("depth", |s| s.depth = 1_000_000),
            ("width × width", |s| s.width = 1 << 40),
            ("seq_len × (vocab + 1)", |s| s.seq_len = usize::MAX / 2),
            ("input width × width", |s| {
                s.seq_len = 5_000_000;
                s.width = 384;
            }),
        ];
        for (needle, corrupt) in cases {
            let mut s = spec();
            corrupt(&mut s);
            let err = s.check_shape().unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn load_refuses_a_corrupt_spec_before_building() {
        let (dir, _) = genlab_core::testing::scratch("m");
        let mut s = spec();
        s.width = 1 << 40;
        genlab_core::fsx::write_json(&dir.path().join(weights::MODEL_SPEC_FILE), &s).unwrap();
        let err = TokenModel::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("width × width"), "{err}");
    }
}
