//! Masked (absorbing-state) discrete diffusion with classifier-free guidance — the `guidance`
//! family (crate `genlab-guidance`; it was called `discrete` until the family, its command and
//! its experiment took one name).
//!
//! The forward process ([`noise`]), the three guidance rules — unlocking, simple and the
//! column-normalised rule — ([`guidance`]) and guidance schedules ([`schedule`]), ancestral and
//! τ-leaping samplers over any [`sampler::Denoiser`] ([`sampler`]), an exact mode with
//! enumerated denoisers and dynamic-programming output distributions ([`exact`]) for built-in
//! or user tables ([`table`]), the MLP denoiser ([`model`]) trained with label dropout
//! ([`train`]) on class-labelled token sequences ([`tokens`]) and scored on its own samples
//! ([`eval`]), the `guidance` reproduction ([`repro`]) and the throughput benchmark
//! ([`bench`]).

#![warn(missing_docs)]

pub mod bench;
pub mod eval;
pub mod exact;
pub mod guidance;
pub mod model;
pub mod noise;
pub mod repro;
pub mod sampler;
pub mod schedule;
pub mod table;
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
