//! `genlab repro cmt`: the experiment on the 8-Gaussian mixture, with the MeanFlow arm (D).

use genlab_core::Result;
use genlab_core::experiment::{ExperimentInfo, ReproOptions};
use genlab_core::report::Report;
use genlab_core::train::{Observer, SeededRng};

use super::task::Task;
use super::{PAPER, PAPER_EFFECT, SCALES, meanflow_arms, run_task};

/// `genlab list` entry.
pub const INFO: ExperimentInfo = ExperimentInfo {
    name: "cmt",
    paper: PAPER,
    paper_effect: PAPER_EFFECT,
    claim: "mid-training on teacher ODE trajectories lets ECT post-training reach 2-step quality \
            within 1.1× of the teacher in fewer post-training steps than ECT from the teacher's weights",
};

/// Runs the experiment on the 8-Gaussian mixture (arms A, B, C, E, then D).
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let task = Task::mixture(&mut SeededRng::new(opts.seed));
    let (mut report, verdict) = run_task(&task, &INFO, opts, observer)?;
    let sizes = opts.scale(&SCALES);
    meanflow_arms::run(&opts.seeds(sizes.seeds), sizes, &task, observer)?.write(&mut report)?;
    report.note(
        "The 8×8-digits version of this experiment is `genlab repro cmt-digits` (run separately \
         to keep each under 5 minutes).",
    );
    Ok(report.finish(verdict))
}
