//! genlab-slots: object-centric learning: slot attention with a slot-conditioned diffusion decoder, registers and contrastive alignment (CODA).
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

use genlab_core::experiment::Family;

/// The slots family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "slots",
    summary: "object-centric learning: slot attention with a slot-conditioned diffusion decoder, registers and contrastive alignment (CODA)",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
