//! genlab-contrastive: contrastive representation learning — SimCLR, SupCon and Hydra / SimLAP
//! (Wu et al., "Rethinking Positive Pairs in Contrastive Learning", arXiv 2410.18200), whose
//! pair gate lets any two classes be a positive pair inside a learned subspace.
//!
//! - [`objectives`]: the losses, one file each with its equation — NT-Xent
//!   ([`objectives::simclr`]), SupCon ([`objectives::supcon`]), Hydra's disparate loss
//!   ([`objectives::hydra`]), the pairing modes ([`objectives::pairing`]) and the choice of
//!   objective with Hydra's instance term ([`objectives::objective`]);
//! - [`gate`]: the pair gate g = σ(MLP((E[y] + E[y₂]) / 2));
//! - [`encoder`]: the MLP and CNN encoders and the LayerNorm-terminated projector;
//!   [`model`]: the network, its spec, save/load and embedding;
//! - [`augment`]: the two views (jitter + dropout; shift, mirror, noise);
//! - [`factors`]: the factor-structured synthetic set with its true sharing matrix;
//! - [`train`]: training on labelled rows through the core trainer;
//! - [`metrics`]: linear probe, k-NN, RankMe, Spearman, the gate-overlap dendrogram;
//! - [`repro`]: `genlab repro contrastive`; [`bench`]: `genlab bench contrastive`.

#![warn(missing_docs)]

pub mod augment;
pub mod bench;
pub mod encoder;
pub mod error;
pub mod factors;
pub mod gate;
pub mod metrics;
pub mod model;
pub mod objectives;
pub mod repro;
pub mod train;

pub use error::ContrastiveError;

use genlab_core::experiment::{Experiment, Family};

/// The contrastive family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "contrastive",
    summary: "contrastive representation learning: SimCLR, SupCon and Hydra's pair-gated objective",
    aliases: &[("hydra", "contrastive")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
