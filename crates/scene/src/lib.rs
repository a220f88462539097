//! genlab-scene: camera-controlled next-chunk generation with a static-only 3D scene memory (3DScenePrompt).
//!
//! Under construction: the modules, experiments and benchmarks arrive with the family's issue.

#![warn(missing_docs)]

use genlab_core::experiment::Family;

/// The scene family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "scene",
    summary: "camera-controlled next-chunk generation with a static-only 3D scene memory (3DScenePrompt)",
    aliases: &[],
    experiments: &[],
    benchmarks: &[],
    datasets: &[],
};
