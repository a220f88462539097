//! genlab-scene: camera-controlled next-chunk generation conditioned on a static-only 3-D scene
//! memory (3DScenePrompt, Lee, Jung, Han et al., ICLR 2026, arXiv 2510.14945), at laptop scale
//! on a synthetic world.
//!
//! - [`camera`]: the pinhole camera, projection, unprojection, Plücker rays.
//! - [`raster`]: the z-buffered triangle rasterizer (RGB, depth, instance ids).
//! - [`world`]: the textured room with static and dynamic boxes; [`path`]: camera paths that
//!   sweep, leave and revisit, and rendered [`path::Sequence`]s; [`io`]: sequences on disk;
//!   [`png`]: PNG / animated PNG writing.
//! - [`mask`]: dynamic masks — the motion residual, "any-time" object aggregation, dilation.
//! - [`memory`]: the static point-cloud memory — retrieval by view overlap, z-buffered splats.
//! - [`net`], [`ssim`], [`generator`]: the U-Net, the L1 + (1 − SSIM) loss, the five
//!   conditioning arms, training and autoregressive generation.
//! - [`metrics`] (region PSNR/SSIM, ghost score, MEt3R-lite) and [`pose`] (camera error by
//!   photometric pose search).
//! - [`repro`]: `genlab repro scene`; [`bench`]: `genlab bench scene`.
//!
//! No official code exists (the authors' repository is README-only); everything is written
//! from the method description. Checked against the notes' corrections: the memory holds static
//! points only, selected by any-time masking over the whole video.

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
