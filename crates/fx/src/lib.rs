//! # genlab-fx
//!
//! LLM2Fx-Tools (Doh, Koo et al., ICLR 2026, arXiv 2512.01559) as software: audio effects that an
//! LLM (or a producer) calls as tools. An effect chain is a list of tool calls
//! `[{"name": "compressor", "arguments": {"threshold_db": -20, …}}, …]` executed in order.
//!
//! The crate has four layers, each a folder; a layer uses only the ones above it:
//!
//! - [`engine`]: buffers and WAV I/O, the spec table, the nine effects, chains with automation,
//!   loudness, resampling, FFT and the multi-resolution STFT distance.
//! - [`tools`]: tool schemas, the tolerant parser, validation (reject | clamp | snap), the
//!   executor and the MCP server (`genlab fx mcp`).
//! - [`sources`]: dry audio — procedural, recorded music, SoundFont instruments — and the
//!   registry datasets of the real ones.
//! - [`estimate`]: chain estimation — the estimator interface and objective, detectors and
//!   search (tier 1), regression (tier 2), the tool-caller (tier 3), dataset and metrics.
//!
//! Beside them: [`repro`] (`genlab repro fx`), [`bench`](mod@bench) (`genlab bench fx`) and
//! [`error`] ([`FxError`], the tool-call failures a caller can act on). The types most callers
//! need are re-exported here.
#![warn(missing_docs)]

pub mod bench;
pub mod engine;
pub mod error;
pub mod estimate;
pub mod repro;
pub mod sources;
#[cfg(test)]
mod testutil;
pub mod tools;

pub use engine::buffer::AudioBuffer;
pub use engine::chain::{Chain, Stage, ToolCall};
pub use error::FxError;
pub use estimate::{ChainEstimator, Estimate};
pub use tools::validate::Policy;

use genlab_core::experiment::{Experiment, Family};

/// The fx family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "fx",
    summary: "audio effects as LLM-callable tools (LLM2Fx-Tools): schemas, apply, estimate a \
              chain, MCP server",
    aliases: &[],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[sources::datasets::MOH_MUSIC, sources::datasets::TIMGM6MB],
};
