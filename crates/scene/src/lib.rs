//! genlab-scene: camera-controlled next-chunk generation conditioned on a static-only 3-D scene
//! memory (3DScenePrompt, Lee, Jung, Han et al., ICLR 2026, arXiv 2510.14945), at laptop scale
//! on a synthetic world.
//!
//! - [`camera`]: the pinhole camera, projection, unprojection, Plücker rays.
//! - [`raster`]: the z-buffered triangle rasterizer (RGB, depth, instance ids).
//! - [`world`]: the textured room with static and dynamic boxes; [`path`]: camera paths that
//!   sweep, leave and revisit, and rendered [`path::Sequence`]s.

#![warn(missing_docs)]

pub mod bench;
pub mod camera;
pub mod error;
pub mod generator;
pub mod io;
pub mod mask;
pub mod memory;
pub mod metrics;
pub mod net;
pub mod path;
pub mod png;
pub mod pose;
pub mod raster;
pub mod repro;
pub mod ssim;
pub mod world;

use genlab_core::experiment::{Experiment, Family};

/// The scene family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "scene",
    summary: "camera-controlled next-chunk generation with a static-only 3D scene memory (3DScenePrompt)",
    aliases: &[("3dsceneprompt", "scene")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
