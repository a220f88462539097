//! genlab-embed: region-prompted image–text embeddings (VIRTUE) and the SCaR-lite benchmark.
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

use genlab_core::experiment::Family;

/// The embed family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "embed",
    summary: "region-prompted image–text embeddings (VIRTUE) and the SCaR-lite benchmark",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
