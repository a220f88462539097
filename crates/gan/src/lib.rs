//! genlab-gan: conditional GANs on class mixtures and digits: projection, AC-GAN, SAN and SONA discriminators.
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

use genlab_core::experiment::Family;

/// The gan family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "gan",
    summary: "conditional GANs on class mixtures and digits: projection, AC-GAN, SAN and SONA discriminators",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
