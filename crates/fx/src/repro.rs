//! `genlab repro fx` (work in progress).

use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::Observer;
use genlab_core::{Error, Result};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "fx",
    paper: "Doh, Koo et al. 2026, LLM2Fx-Tools: tool calling for music post-production (ICLR 2026, arXiv 2512.01559)",
    claim: "an order-aware autoregressive tool-caller recovers effect chains (N >= 2) with better order accuracy and lower MRSTFT than a fixed-order regression baseline",
};

/// Runs the experiment.
pub fn run(_opts: &ReproOptions, _obs: &mut dyn Observer) -> Result<Report> {
    Err(Error::InvalidInput("repro fx is not built yet".into()))
}
