//! # genlab-attribution: data attribution for classifiers and diffusion models
//!
//! Under construction.

#![warn(missing_docs)]

pub mod attributors;
pub mod bench;
pub mod classify;
pub mod diffusion;
pub mod error;
pub mod flowfeat;
pub mod grads;
pub mod influence;
pub mod lds;
pub mod linalg;
pub mod mlp;
pub mod project;
pub mod repro;
pub mod store;

pub use error::{AttributionError, Result};

use genlab_core::experiment::{Experiment, Family};

/// The attribution family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "attribution",
    summary: "data attribution for diffusion models and classifiers: TRAK, D-TRAK, Concept-TRAK, LDS; shardable featurisation",
    aliases: &[("concept-trak", "attribution")],
    experiments: &[
        Experiment {
            info: repro::CONCEPT_INFO,
            run: repro::concept_report::run,
        },
        Experiment {
            info: repro::LDS_INFO,
            run: repro::lds_report::run,
        },
    ],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
