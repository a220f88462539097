//! genlab-contrastive: contrastive representation learning: SimCLR, SupCon and Hydra's pair-gated objective.
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

use genlab_core::experiment::Family;

/// The contrastive family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "contrastive",
    summary: "contrastive representation learning: SimCLR, SupCon and Hydra's pair-gated objective",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
