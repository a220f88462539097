//! genlab-attribution: data attribution for diffusion models and classifiers: TRAK, D-TRAK, Concept-TRAK, LDS; shardable featurisation.
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

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
