//! # genlab-fx
//!
//! LLM2Fx-Tools (Doh, Koo et al., ICLR 2026, arXiv 2512.01559) as software: audio effects that an
//! LLM (or a producer) calls as tools. An effect chain is a list of tool calls
//! `[{"name": "compressor", "arguments": {"threshold_db": -20, …}}, …]` executed in order.
//!
//! - [`buffer`], [`wav`]: explicit channel-first N-channel audio and WAV I/O.
//! - [`spec`]: the one table of effects and parameters everything else derives from.
//! - [`effects`], [`biquad`], [`automation`], [`chain`]: the block-processing engine with reset,
//!   latency, tail padding and block-rate parameter envelopes.
//! - [`schema`]: tool schemas (OpenAI strict function calling, MCP `tools/list`, in-text
//!   `<tool_call>` format).
//! - [`parse`], [`validate`], [`execute`]: tolerant parsing of model output, validation under a
//!   reject | clamp | snap policy, rendering with a report.
//! - [`sampler`], [`sources`], [`loudness`]: random chains on the step grid, procedural dry
//!   sources, level measurement.
//! - [`fft`], [`mrstft`], [`estimate`]: multi-resolution STFT distance, the `ChainEstimator`
//!   interface and the analysis-by-synthesis objective (coordinate search on the step grid).
//! - Chain estimation: [`features`] and [`detect`] (interpretable descriptors, effect
//!   detectors), [`search`] and [`rationale`] (tier 1: analysis-by-synthesis over orders, with a
//!   written rationale), [`regression`] (tier 2: the fixed-order regression baseline),
//!   [`metrics`] (presence, order, parameter and MRSTFT metrics), [`extra_sources`] (more
//!   procedural sources), [`repro`] (`genlab repro fx`).
//! - [`mcp`]: a Model Context Protocol server (JSON-RPC 2.0 over stdio) exposing `apply_chain`,
//!   `list_effects` and one tool per effect, for LLM agents (`genlab fx mcp`).
#![warn(missing_docs)]

pub mod automation;
pub mod bench;
pub mod biquad;
pub mod buffer;
pub mod chain;
pub mod dataset;
pub mod datasets;
pub mod detect;
pub mod effects;
pub mod estimate;
pub mod execute;
pub mod extra_sources;
pub mod features;
pub mod fft;
pub mod loudness;
pub mod mcp;
pub mod metrics;
pub mod mrstft;
pub mod parse;
pub mod rationale;
pub mod recorded;
pub mod regression;
pub mod repro;
pub mod resample;
pub mod sampler;
pub mod schema;
pub mod search;
pub mod soundfont;
pub mod sources;
pub mod spec;
#[cfg(test)]
mod testutil;
pub mod toolcaller;
pub mod validate;
pub mod wav;

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
    datasets: &[datasets::MOH_MUSIC, datasets::TIMGM6MB],
};
