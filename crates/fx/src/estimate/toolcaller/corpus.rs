//! Training and evaluation examples as the tool-caller sees them: feature frames of dry and wet,
//! the pair's descriptors (the tier-2 input, [`descriptors`]) and the target chain. Examples come from [`crate::estimate::dataset::example`] (seeded per index) and
//! are reduced to features as they are generated, so the audio (with its tails) is never held
//! for the whole set at once.

use genlab_core::Result;

use crate::engine::buffer::AudioBuffer;
use crate::estimate::TAIL_SECONDS;
use crate::estimate::features::{Descriptors, FEATURE_DIM};
use crate::estimate::objective::Pair;
use genlab_core::train::Observer;
use rayon::prelude::*;

use super::audio::FeatureConfig;
use super::net::Standardizer;
use super::permitted_effects;
use crate::engine::chain::Chain;
use crate::estimate::dataset::{DatasetSpec, Example, example};

/// Examples reduced to features.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// The front end the features were computed with.
    pub features: FeatureConfig,
    /// `[n × frames × width]` dry features.
    pub dry: Vec<f32>,
    /// `[n × frames × width]` wet features.
    pub wet: Vec<f32>,
    /// `[n × FEATURE_DIM]` pair descriptors.
    pub descriptors: Vec<f32>,
    /// Target chains.
    pub chains: Vec<Chain>,
    /// Source name of each example.
    pub sources: Vec<String>,
    /// Effects the decoder may call for each example (bit `i` = effect `i` of the spec).
    pub permitted: Vec<u16>,
}

/// The descriptors of (`dry`, `wet`) the tool-caller's descriptor token reads: those of the
/// regression baseline ([`Descriptors::to_vec`]), with at most [`TAIL_SECONDS`] of wet tail.
pub fn descriptors(dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Vec<f32>> {
    Ok(Descriptors::of(&Pair::new(dry, wet, Some(TAIL_SECONDS))?).to_vec())
}

/// Examples generated per progress report.
const CHUNK: usize = 256;

impl Corpus {
    /// Generates `spec.n` examples under `seed` (in parallel) and keeps their features.
    pub fn generate(
        spec: &DatasetSpec,
        seed: u64,
        features: FeatureConfig,
        observer: &mut dyn Observer,
    ) -> Result<Corpus> {
        let mut corpus = Corpus::empty(features);
        observer.start("generate tool-caller examples", spec.n as u64);
        for start in (0..spec.n).step_by(CHUNK) {
            let end = (start + CHUNK).min(spec.n);
            let part: Vec<Example> = (start..end)
                .into_par_iter()
                .map(|i| example(spec, seed, i))
                .collect::<Result<_>>()?;
            corpus.extend(&part)?;
            observer.step(end as u64, &[]);
        }
        observer.finish();
        Ok(corpus)
    }

    /// The features of already generated examples.
    pub fn from_examples(examples: &[Example], features: FeatureConfig) -> Result<Corpus> {
        let mut corpus = Corpus::empty(features);
        corpus.extend(examples)?;
        Ok(corpus)
    }

    fn empty(features: FeatureConfig) -> Corpus {
        Corpus {
            features,
            dry: Vec::new(),
            wet: Vec::new(),
            descriptors: Vec::new(),
            chains: Vec::new(),
            sources: Vec::new(),
            permitted: Vec::new(),
        }
    }

    fn extend(&mut self, examples: &[Example]) -> Result<()> {
        let f = self.features;
        let feats: Vec<(Vec<f32>, Vec<f32>, Vec<f32>)> = examples
            .par_iter()
            .map(|e| {
                Ok((
                    f.features(&e.dry),
                    f.features(&e.wet),
                    descriptors(&e.dry, &e.wet)?,
                ))
            })
            .collect::<Result<_>>()?;
        for (e, (dry, wet, desc)) in examples.iter().zip(feats) {
            self.dry.extend(dry);
            self.wet.extend(wet);
            self.descriptors.extend(desc);
            self.chains.push(e.chain.clone());
            self.sources.push(e.source.clone());
            self.permitted.push(permitted_effects(&e.wet));
        }
        Ok(())
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.chains.len()
    }

    /// True without examples.
    pub fn is_empty(&self) -> bool {
        self.chains.is_empty()
    }

    /// The input standardisation fitted on every example's (dry, wet) frames.
    pub fn standardizer(&self) -> Standardizer {
        let (frames, width) = (self.features.frames, self.features.width());
        Standardizer::fit(
            width,
            (0..self.len() * frames).map(|r| {
                let rows = r * width..(r + 1) * width;
                (&self.dry[rows.clone()], &self.wet[rows])
            }),
        )
    }

    /// The descriptor standardisation fitted on every example.
    pub fn descriptor_standardizer(&self) -> Standardizer {
        Standardizer::fit_columns(FEATURE_DIM, self.descriptors.chunks(FEATURE_DIM))
    }

    /// Example `i` as the network reads it (`blind`: without dry frames and descriptors).
    pub fn clip(&self, i: usize, blind: bool) -> super::net::Clip<'_> {
        let (dry, wet) = self.frames(i);
        super::net::Clip {
            dry: (!blind).then_some(dry),
            wet,
            descriptors: (!blind)
                .then(|| &self.descriptors[i * FEATURE_DIM..(i + 1) * FEATURE_DIM]),
        }
    }

    /// Feature rows of example `i`: (dry, wet), each `frames × width`.
    pub fn frames(&self, i: usize) -> (&[f32], &[f32]) {
        let size = self.features.frames * self.features.width();
        (
            &self.dry[i * size..(i + 1) * size],
            &self.wet[i * size..(i + 1) * size],
        )
    }
}
