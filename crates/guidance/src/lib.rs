//! Masked (absorbing-state) discrete diffusion with classifier-free guidance.
//!
//! The forward process ([`noise`]), the three guidance rules ([`guidance`]) and guidance
//! schedules ([`schedule`]), ancestral and τ-leaping samplers over any [`sampler::Denoiser`]
//! ([`sampler`]), an exact mode with enumerated denoisers and dynamic-programming output
//! distributions ([`exact`]), and the `guidance` reproduction ([`repro`]).

pub mod bench;
pub mod exact;
pub mod guidance;
pub mod model;
pub mod noise;
pub mod repro;
pub mod sampler;
pub mod schedule;
pub mod tokens;
pub mod train;

use genlab_core::experiment::{Experiment, Family};

/// The guidance family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "guidance",
    summary: "masked discrete diffusion with classifier-free guidance (standard and \
              column-normalised rules) on your own token sequences",
    aliases: &[],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
