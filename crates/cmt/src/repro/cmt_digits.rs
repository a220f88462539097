//! `genlab repro cmt-digits`: the experiment on the 8×8 digits (64-D), scored by FD-digits.

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::Observer;

use super::task::Task;
use super::{PAPER, PAPER_EFFECT, SCALES, meanflow_arms, run_task};

/// `genlab list` entry.
pub const INFO_DIGITS: ExperimentInfo = ExperimentInfo {
    name: "cmt-digits",
    paper: PAPER,
    paper_effect: PAPER_EFFECT,
    claim: "the three-part `cmt` claim (tuned post-training; compute to the 2-step target, \
            post-training loss noise, final 1- and 2-step quality, each over ≥ 3 seeds) on the \
            8×8 digits (64-D), with FD-digits as the quality metric",
};

/// Runs the experiment on the 8×8 digits (arms A, B, C, E, then D).
pub fn run_digits(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let task = Task::digits(&opts.cache_dir)?;
    let (mut report, verdict) = run_task(&task, &INFO_DIGITS, opts, observer)?;
    let sizes = opts.scale(&SCALES);
    meanflow_arms::run(&opts.seeds(sizes.seeds), sizes, &task, observer)?.write(&mut report)?;
    Ok(report.finish(verdict))
}
