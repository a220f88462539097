//! # genlab-sae
//!
//! Sparse autoencoders trained fast on CPU, evaluated against a known ground truth, and saved
//! in the SAELens layout (method notes: `shared/research/anchors-interpretability.md` §2).
//!
//! - Architectures, one objective ([`loss`]): ReLU + L1 ([`relu`]), TopK ([`topk`]), BatchTopK
//!   with its inference threshold ([`batchtopk`]), Matryoshka BatchTopK ([`matryoshka`]) and
//!   OrtSAE ([`ortsae`]); shared pieces: unit decoder rows ([`decoder_norm`]), bias init
//!   ([`init`]), dead latents and AuxK ([`aux`]).
//! - Gradients are computed by hand on the sparse codes ([`codes`]): after the dense encoder,
//!   only the `k` firing latents of each sample are touched.
//! - [`train`] runs the hand-gradient step ([`phase`] lists its parts; Adam in [`adam`]) on
//!   genlab-core's `Trainer` — checkpoints, exact resume, NaN guard — streaming activations
//!   ([`acts`]: memory, `.npy` / `.safetensors` files read in chunks, or the [`synthetic`]
//!   ground-truth generator; each source can seek back to a saved position).
//! - [`metrics`]: FVU / EV, L0, dead fraction, decoder max-cos, ground-truth recovery by
//!   [`hungarian`] matching, absorption, composition (meta-SAE EV, two-feature composites);
//!   [`eval`]: a saved SAE on activation files (`genlab sae eval`).
//! - Real language-model activations: [`corpus`] (text → token sequences), [`lm_acts`]
//!   (residual-stream extraction to shards), [`ce_recovered`] (CE-loss-recovered), [`datasets`]
//!   (the corpora's fetch recipes).
//! - [`saelens`]: `cfg.json` + `sae_weights.safetensors`.
//! - [`repro`]: `genlab repro sae` (alias `ortsae`); [`bench`]: `genlab bench sae`.
#![warn(missing_docs)]

pub mod acts;
pub mod adam;
pub mod aux;
pub mod batchtopk;
pub mod bench;
pub mod ce_recovered;
pub mod codes;
pub mod corpus;
pub mod datasets;
pub mod decoder_norm;
pub mod eval;
pub mod free_decoder;
pub mod hungarian;
pub mod init;
pub mod inspect;
pub mod linalg;
pub mod lm_acts;
pub mod loss;
pub mod matryoshka;
pub mod metrics;
pub mod normalise;
pub mod ortsae;
pub mod phase;
pub mod relu;
pub mod repro;
pub mod sae;
pub mod saelens;
pub mod synthetic;
pub mod topk;
pub mod train;

pub use sae::{Activation, Sae};
pub use train::{Arch, TrainConfig, train};

use genlab_core::experiment::{Experiment, Family};

/// The SAE family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "sae",
    summary: "sparse autoencoders (BatchTopK, OrtSAE, …) on activation vectors or a real LM's \
              residual stream; SAELens layout",
    aliases: &[("ortsae", "sae")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[
        genlab_lm::cache::SMOLLM2_DATASET,
        datasets::KJV,
        datasets::SHAKESPEARE,
    ],
};
