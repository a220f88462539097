//! Training and evaluation examples as the tool-caller sees them: feature frames of dry and wet
//! and the target chain. Examples come from [`crate::estimate::dataset::example`] (seeded per index) and
//! are reduced to features as they are generated, so the audio (with its tails) is never held
//! for the whole set at once.

use genlab_core::Result;
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
    /// Target chains.
    pub chains: Vec<Chain>,
    /// Source name of each example.
    pub sources: Vec<String>,
    /// Effects the decoder may call for each example (bit `i` = effect `i` of the spec).
    pub permitted: Vec<u16>,
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
            corpus.extend(&part);
            observer.step(end as u64, &[]);
        }
        observer.finish();
        Ok(corpus)
    }

    /// The features of already generated examples.
    pub fn from_examples(examples: &[Example], features: FeatureConfig) -> Corpus {
        let mut corpus = Corpus::empty(features);
        corpus.extend(examples);
        corpus
    }

    fn empty(features: FeatureConfig) -> Corpus {
        Corpus {
            features,
            dry: Vec::new(),
            wet: Vec::new(),
            chains: Vec::new(),
            sources: Vec::new(),
            permitted: Vec::new(),
        }
    }

    fn extend(&mut self, examples: &[Example]) {
        let f = self.features;
        let feats: Vec<(Vec<f32>, Vec<f32>)> = examples
            .par_iter()
            .map(|e| (f.features(&e.dry), f.features(&e.wet)))
            .collect();
        for (e, (dry, wet)) in examples.iter().zip(feats) {
            self.dry.extend(dry);
            self.wet.extend(wet);
            self.chains.push(e.chain.clone());
            self.sources.push(e.source.clone());
            self.permitted.push(permitted_effects(&e.wet));
        }
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

    /// Feature rows of example `i`: (dry, wet), each `frames × width`.
    pub fn frames(&self, i: usize) -> (&[f32], &[f32]) {
        let size = self.features.frames * self.features.width();
        (
            &self.dry[i * size..(i + 1) * size],
            &self.wet[i * size..(i + 1) * size],
        )
    }
}
