//! # genlab-weights: networks as data
//!
//! Git Re-Basin weight matching (Ainsworth, Hayase, Srinivasa, ICLR 2023) as a tool, and
//! DeepWeightFlow (Gupta et al., ICLR 2026): flow matching over whole networks' weights,
//! canonicalised by Re-Basin first.
//!
//! - [`lap`]: the linear assignment problem (Jonker–Volgenant), with a Hungarian oracle in
//!   its tests.
//! - [`params`]: a network's named tensors, safetensors I/O, flatten/unflatten.
//! - [`spec`]: the permutation spec (which permutation acts on which axis of which tensor),
//!   applying permutations; the MLP spec.
//! - [`mlp`]: the MLP those specs describe: forward, loss, accuracy, hand-written gradients.
//! - [`cnn`]: the permutation spec of a small CNN (conv / BatchNorm / dense, the flatten
//!   boundary), detected from tensor names and shapes; [`convnet`]: genlab's small CNN
//!   (forward, gradient, BatchNorm recalibration); [`cnn_zoo`]: a cached zoo of them.
//! - [`matching`]: weight matching by coordinate descent, and activation matching.
//! - [`barrier`]: the linear-mode-connectivity loss barrier along the interpolation path.
//! - [`zoo`]: N MLPs trained on the 8×8 digits from different seeds, cached.
//! - [`pca`]: the optional linear compression of the flattened zoo (Gram-matrix PCA).
//! - [`flow`], [`mod@train`]: the weight-space flow network and its training/sampling.
//! - [`eval`]: accuracy distribution, novelty and diversity of generated networks.
//! - [`tool`]: the tools on the user's files (rebasin two safetensors MLPs, a folder zoo, a
//!   flow model directory).
//! - [`repro`]: `genlab repro weights`; [`repro::cnn`]: `genlab repro weights-cnn` (BatchNorm
//!   CNNs, recalibration); [`mod@bench`]: `genlab bench weights`.
#![warn(missing_docs)]

pub mod barrier;
pub mod bench;
pub mod cnn;
pub mod cnn_zoo;
pub mod convnet;
pub mod error;
pub mod eval;
pub mod flow;
pub mod lap;
pub mod matching;
pub mod mlp;
pub mod params;
pub mod pca;
pub mod repro;
pub mod spec;
pub mod tool;
pub mod train;
pub mod zoo;

pub use error::{WResult, WeightsError};
pub use mlp::Mlp;
pub use params::{Array, Params};
pub use spec::{MlpSpec, PermSpec};

use genlab_core::experiment::{Experiment, Family};

/// The weights family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "weights",
    summary: "networks as data: Git Re-Basin weight matching and flow matching over whole networks (DeepWeightFlow)",
    aliases: &[("weightflow", "weights")],
    experiments: &[
        Experiment {
            info: repro::INFO,
            run: repro::run,
        },
        Experiment {
            info: repro::cnn::INFO,
            run: repro::cnn::run,
        },
    ],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
