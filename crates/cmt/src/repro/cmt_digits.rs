//! `genlab repro cmt-digits`: the experiment on the 8×8 digits (64-D), scored by FD-digits.

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::Observer;

use super::task::Task;
use super::{PAPER, PAPER_EFFECT, run_task};

/// `genlab list` entry.
pub const INFO_DIGITS: ExperimentInfo = ExperimentInfo {
    name: "cmt-digits",
    paper: PAPER,
    paper_effect: PAPER_EFFECT,
    claim: "the `cmt` claim on the 8×8 digits (64-D), with FD-digits as the quality metric",
};

/// Runs the experiment on the 8×8 digits (arms A, B, C, E).
pub fn run_digits(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let task = Task::digits(&opts.cache_dir)?;
    let (report, verdict) = run_task(&task, &INFO_DIGITS, opts, observer)?;
    Ok(report.finish(verdict))
}
