//! Tier 3 of the chain estimator: an order-aware autoregressive tool-caller, the laptop-scale
//! analogue of LLM2Fx-Tools (Doh, Koo et al., ICLR 2026, arXiv 2512.01559) without an LLM.
//!
//! `(dry, wet) → frames → encoder → decoder → <bos> [plan] <sep> (effect, bins…)* <eos>`
//!
//! - [`tokens`]: the chain as tokens (parameters as bins of the step grid) and the grammar;
//! - [`audio`]: log-mel-band frames of the left, right and side channels, and (optionally) the
//!   tier-2 pair descriptors as one more encoder token ([`net`]);
//! - [`net`]: frame encoder + causal token decoder with cross-attention;
//! - [`corpus`], [`train`]: examples from [`crate::estimate::dataset`], teacher-forced training with
//!   dry-dropout (blind mode) and the optional plan (the paper's "reason before calling");
//! - [`decode`]: grammar-constrained greedy decoding and beam search (always valid chains) and
//!   the rationale;
//! - [`eval`]: presence, order and parameter scores of a model on a corpus;
//! - [`study`]: plan vs no-plan on held-out source types (the paper's CoT claim).
//!
//! What the paper does that this does not: natural-language instructions and responses, a
//! free-text chain of thought (here reduced to the set of effects), and a pretrained audio
//! encoder and LLM. Its number-token loss on digit tokens becomes a distance-aware loss on bin
//! tokens ([`train`]).

pub mod audio;
pub mod corpus;
pub mod decode;
pub mod eval;
pub mod net;
pub mod study;
pub mod tokens;
pub mod train;

use std::path::Path;

use genlab_core::{Error, Result, fsx, weights};
use serde::{Deserialize, Serialize};

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::Chain;
use crate::engine::spec::EFFECTS;
use decode::{Beam, Decoded, beam_search, greedy};
use net::{Clip, NetConfig, Standardizer, ToolCallerNet, inputs_tensor};

const SPEC_FILE: &str = "toolcaller.json";
const WEIGHTS_FILE: &str = "toolcaller.bpk";

/// What a saved model is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Network shape (with the audio front end).
    pub net: NetConfig,
    /// Whether sequences carry the plan before the calls.
    pub plan: bool,
    /// Input standardisation fitted on the training corpus.
    pub input: Standardizer,
    /// Standardisation of the descriptor token's input (when `net.descriptors > 0`).
    #[serde(default)]
    pub descriptor_input: Option<Standardizer>,
    /// Training record (config, seed, steps, final loss, time), for provenance.
    #[serde(default)]
    pub training: serde_json::Value,
}

/// A trained tool-caller.
#[derive(Debug, Clone)]
pub struct ToolCaller {
    /// Its description.
    pub spec: ModelSpec,
    /// Its weights.
    pub net: ToolCallerNet,
}

/// Effects a chain on `wet`'s channel layout may use: no panner or widener on mono audio.
pub fn permitted_effects(wet: &AudioBuffer) -> u16 {
    EFFECTS
        .iter()
        .enumerate()
        .filter(|(_, e)| wet.n_channels() >= 2 || !matches!(e.name, "panner" | "stereo_widener"))
        .fold(0, |m, (i, _)| m | 1 << i)
}

/// A clip's dry frames (`None`: blind), wet frames and descriptors (`None`: blind or unused).
type ClipFeatures = (Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>);

/// Clips per forward pass when decoding (bounds memory, not results).
const DECODE_CHUNK: usize = 256;

fn check_clip(what: &str, a: &AudioBuffer) -> Result<()> {
    if a.is_empty() {
        return Err(Error::InvalidInput(format!("the {what} audio is empty")));
    }
    a.check_finite(what)
}

impl ToolCaller {
    /// Decodes a batch of clips given as feature rows.
    pub fn decode_features(&self, clips: &[Clip], permitted: &[u16]) -> Result<Vec<Decoded>> {
        let mut out = Vec::with_capacity(clips.len());
        for (c, p) in clips
            .chunks(DECODE_CHUNK)
            .zip(permitted.chunks(DECODE_CHUNK))
        {
            out.extend(greedy(&self.net, self.spec.plan, self.inputs(c), p)?);
        }
        Ok(out)
    }

    /// The `width` most probable chains of each clip by grammar-constrained beam search
    /// ([`decode::beam_search`]), most probable first.
    pub fn beam_features(
        &self,
        clips: &[Clip],
        permitted: &[u16],
        width: usize,
    ) -> Result<Vec<Vec<Beam>>> {
        let mut out = Vec::with_capacity(clips.len());
        for (c, p) in clips
            .chunks(DECODE_CHUNK)
            .zip(permitted.chunks(DECODE_CHUNK))
        {
            out.extend(beam_search(
                &self.net,
                self.spec.plan,
                self.inputs(c),
                p,
                width,
            )?);
        }
        Ok(out)
    }

    fn inputs(&self, clips: &[Clip]) -> net::Inputs {
        inputs_tensor(
            &self.spec.net,
            &self.spec.input,
            self.spec.descriptor_input.as_ref(),
            clips,
            &genlab_core::device::device(),
        )
    }

    /// The features of (`dry`, `wet`) as the network reads them: dry and wet frames, and the
    /// pair's descriptors when the network has a descriptor token (`None` dry: blind).
    fn clip_features(&self, dry: Option<&AudioBuffer>, wet: &AudioBuffer) -> Result<ClipFeatures> {
        check_clip("wet", wet)?;
        let features = self.spec.net.features;
        let Some(d) = dry else {
            return Ok((None, features.features(wet), None));
        };
        check_clip("dry", d)?;
        if d.sample_rate != wet.sample_rate {
            return Err(Error::InvalidInput(format!(
                "dry audio is at {} Hz but wet audio at {} Hz",
                d.sample_rate, wet.sample_rate
            )));
        }
        let descriptors = if self.spec.net.descriptors > 0 {
            Some(corpus::descriptors(d, wet)?)
        } else {
            None
        };
        Ok((
            Some(features.features(d)),
            features.features(wet),
            descriptors,
        ))
    }

    /// Estimates the chain that turns `dry` into `wet`; `None` for `dry` is blind estimation.
    pub fn decode(&self, dry: Option<&AudioBuffer>, wet: &AudioBuffer) -> Result<Decoded> {
        let (d, w, v) = self.clip_features(dry, wet)?;
        let clip = Clip {
            dry: d.as_deref(),
            wet: &w,
            descriptors: v.as_deref(),
        };
        let mut out = self.decode_features(&[clip], &[permitted_effects(wet)])?;
        Ok(out.remove(0))
    }

    /// The `width` most probable chains for (`dry`, `wet`) by beam search, most probable
    /// first (`None` for `dry`: blind).
    pub fn beams(
        &self,
        dry: Option<&AudioBuffer>,
        wet: &AudioBuffer,
        width: usize,
    ) -> Result<Vec<Beam>> {
        let (d, w, v) = self.clip_features(dry, wet)?;
        let clip = Clip {
            dry: d.as_deref(),
            wet: &w,
            descriptors: v.as_deref(),
        };
        let mut out = self.beam_features(&[clip], &[permitted_effects(wet)], width)?;
        Ok(out.remove(0))
    }

    /// The estimated chain and its rationale, from dry and wet audio.
    pub fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<(Chain, String)> {
        let d = self.decode(Some(dry), wet)?;
        let rationale = d.rationale();
        Ok((d.chain, rationale))
    }

    /// The estimated chain and its rationale from the wet audio alone (blind mode).
    pub fn estimate_blind(&self, wet: &AudioBuffer) -> Result<(Chain, String)> {
        let d = self.decode(None, wet)?;
        let rationale = format!("Blind (no dry reference). {}", d.rationale());
        Ok((d.chain, rationale))
    }

    /// Writes `dir/toolcaller.json` and `dir/toolcaller.bpk`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        weights::save_weights(&self.net, &dir.join(WEIGHTS_FILE))?;
        fsx::write_json(&dir.join(SPEC_FILE), &self.spec)
    }

    /// Loads a model written by [`ToolCaller::save`].
    pub fn load(dir: &Path) -> Result<ToolCaller> {
        let spec_path = dir.join(SPEC_FILE);
        if !spec_path.exists() {
            return Err(Error::InvalidInput(format!(
                "{} holds no tool-caller model (no {SPEC_FILE})",
                dir.display()
            )));
        }
        let spec: ModelSpec = fsx::read_json(&spec_path)?;
        spec.net.validate()?;
        if spec.input.mean.len() != 3 * spec.net.features.width()
            || spec.input.std.len() != spec.input.mean.len()
        {
            return Err(Error::InvalidInput(format!(
                "{}: the input standardisation does not match the network's features",
                spec_path.display()
            )));
        }
        let descriptors_ok = match (&spec.descriptor_input, spec.net.descriptors) {
            (None, 0) => true,
            (Some(z), d) => d > 0 && z.mean.len() == d && z.std.len() == d,
            (None, _) => false,
        };
        if !descriptors_ok {
            return Err(Error::InvalidInput(format!(
                "{}: the descriptor standardisation does not match the network",
                spec_path.display()
            )));
        }
        let net = weights::load_weights(
            spec.net.init(&genlab_core::device::device()),
            &dir.join(WEIGHTS_FILE),
        )?;
        Ok(ToolCaller { spec, net })
    }
}
