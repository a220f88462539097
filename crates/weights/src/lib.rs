//! genlab-weights: networks as data: Git Re-Basin weight matching and flow matching over whole networks (DeepWeightFlow).
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

use genlab_core::experiment::Family;

/// The weights family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "weights",
    summary: "networks as data: Git Re-Basin weight matching and flow matching over whole networks (DeepWeightFlow)",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
