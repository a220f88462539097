//! # genlab-attribution: data attribution for classifiers and diffusion models
//!
//! Under construction.

#![warn(missing_docs)]

pub mod attributors;
pub mod error;
pub mod grads;
pub mod lds;
pub mod linalg;
pub mod mlp;
pub mod project;

pub use error::{AttributionError, Result};

use genlab_core::experiment::Family;

/// The attribution family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "attribution",
    summary: "data attribution for diffusion models and classifiers: TRAK, D-TRAK, Concept-TRAK, LDS; shardable featurisation",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
