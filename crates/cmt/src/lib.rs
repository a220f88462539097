//! # genlab-cmt: consistency students
//!
//! Few-step students of the flow family's teachers (`genlab-flow`): consistency mid-training
//! (Hu et al. 2026) and the post-training methods it is compared with. Students keep their
//! teacher's network and sample through `genlab_flow::consistency`.
//!
//! - [`mid_training`]: CMT — regress the student onto the teacher's ODE trajectory
//!   (`genlab cmt distill`).
//! - [`ect`]: easy consistency tuning (post-training from data).
//! - [`ecd`]: consistency distillation with the EDM teacher.
//! - [`meanflow`]: MeanFlow and its CMT-MF mid-training.
//! - [`meanflow_training`]: a 1–2-step MeanFlow student of a flow-matching model
//!   (`genlab cmt meanflow`).
//! - [`post_training`]: ECT / ECD post-training of a student on the user's data
//!   (`genlab cmt post-train`).
//! - [`repro`]: `genlab repro cmt` and `genlab repro cmt-digits`.
#![warn(missing_docs)]

pub mod ecd;
pub mod ect;
pub mod meanflow;
pub mod meanflow_training;
pub mod mid_training;
pub mod post_training;
pub mod repro;

use std::path::Path;

use genlab_core::experiment::{Experiment, Family};
use genlab_core::train::TrainOptions;
use genlab_core::{Error, Result};

/// Steps between checkpoints of the CLI's training runs.
const CHECKPOINT_EVERY: u64 = 200;

/// `options` checkpointing to `run_dir/file` (every [`CHECKPOINT_EVERY`] steps, at the end and
/// on an interruption) and, with `resume`, continuing from it; `config` is recorded in the
/// checkpoint, and a resume with a different one is refused. Without `run_dir`, `options`.
fn checkpointed(
    options: TrainOptions,
    run_dir: Option<&Path>,
    file: &str,
    resume: bool,
    config: &impl serde::Serialize,
) -> Result<TrainOptions> {
    let Some(dir) = run_dir else {
        return Ok(options);
    };
    let meta = serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?;
    Ok(options
        .with_checkpoint(dir.join(file), CHECKPOINT_EVERY)
        .with_resume(resume)
        .with_meta(meta))
}

/// The consistency-students family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "cmt",
    summary: "consistency mid-training: distil an EDM model into a 1–2-step sampler",
    aliases: &[],
    experiments: &[
        Experiment {
            info: repro::INFO,
            run: repro::run,
        },
        Experiment {
            info: repro::INFO_DIGITS,
            run: repro::run_digits,
        },
    ],
    benchmarks: &[],
    datasets: &[],
};

#[cfg(test)]
mod tests {
    use genlab_core::data::Points;
    use genlab_core::train::Observer;
    use genlab_core::train::testing::{assert_same_weights, weights};
    use genlab_core::train::{CHECKPOINT_FILE, NoObserver};
    use genlab_flow::edm::Edm;
    use genlab_flow::flow_matching::FlowMatching;
    use genlab_flow::model::FlowModel;
    use genlab_flow::process::Process;
    use genlab_flow::train::{TrainConfig, train};

    use crate::meanflow_training::{MeanFlowConfig, distill_meanflow};
    use crate::mid_training::{DistillConfig, distill};
    use crate::post_training::{PostTrainConfig, post_train};
    use genlab_core::{Error, Result};

    fn ring() -> Points {
        let data = (0..64)
            .flat_map(|i| {
                let a = i as f32 * 0.7;
                [2.0 * a.cos(), 2.0 * a.sin()]
            })
            .collect();
        Points::new(2, data, None).unwrap()
    }

    fn teacher(process: Process) -> FlowModel {
        let config = TrainConfig {
            width: 16,
            depth: 3,
            batch: 32,
            steps: 5,
            warmup: 1,
            ..TrainConfig::new(process)
        };
        train(&ring(), &config, None, false, &mut NoObserver)
            .unwrap()
            .model
    }

    /// Asks to stop after `left` steps in total, across phases (core's `StopAt` reads the
    /// step number, which restarts in each phase).
    struct StopAfter {
        left: u64,
    }

    impl Observer for StopAfter {
        fn step(&mut self, _: u64, _: &[(&str, f64)]) {
            self.left = self.left.saturating_sub(1);
        }
        fn should_stop(&mut self) -> bool {
            self.left == 0
        }
    }

    /// N steps straight == interrupted after `stop` steps (as Ctrl-C would), then resumed — weight
    /// for weight, loss for loss; the resumed run takes only the `total − stop` remaining steps.
    /// `run(dir, resume, observer)` is one training command.
    fn resume_equals_uninterrupted(
        what: &str,
        total: u64,
        stop: u64,
        run: impl Fn(
            Option<&std::path::Path>,
            bool,
            &mut dyn Observer,
        ) -> Result<(FlowModel, genlab_core::train::History)>,
    ) {
        let (straight, straight_history) = run(None, false, &mut NoObserver).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = run(Some(dir.path()), false, &mut StopAfter { left: stop }).unwrap_err();
        assert!(matches!(err, Error::Interrupted { .. }), "{what}: {err}");
        assert!(
            dir.path().join(CHECKPOINT_FILE).is_file(),
            "{what}: no checkpoint"
        );
        let mut count = StopAfter { left: u64::MAX };
        let (resumed, history) = run(Some(dir.path()), true, &mut count).unwrap();
        assert_eq!(
            u64::MAX - count.left,
            total - stop,
            "{what}: steps after resuming"
        );
        assert_same_weights(&weights(&straight.net), &weights(&resumed.net), what);
        assert_eq!(straight_history, history, "{what}");
    }

    #[test]
    fn distill_resumes_exactly() {
        let edm = teacher(Process::Edm(Edm::default()));
        let config = DistillConfig {
            steps: 6,
            batch: 16,
            trajectory_steps: 4,
            ..DistillConfig::default()
        };
        resume_equals_uninterrupted("distill", 6, 3, |dir, resume, obs| {
            distill(&edm, &config, dir, resume, obs)
        });
    }

    #[test]
    fn post_train_resumes_exactly() {
        let edm = teacher(Process::Edm(Edm::default()));
        let config = PostTrainConfig {
            steps: 6,
            batch: 16,
            ..PostTrainConfig::default()
        };
        resume_equals_uninterrupted("post-train", 6, 3, |dir, resume, obs| {
            post_train(&edm, None, &ring(), &config, dir, resume, obs)
        });
    }

    /// Interrupted in either phase of MeanFlow distillation.
    #[test]
    fn meanflow_resumes_exactly_in_either_phase() {
        let fm = teacher(Process::FlowMatching(FlowMatching));
        let config = MeanFlowConfig {
            mid_steps: 4,
            post_steps: 4,
            batch: 16,
            trajectory_steps: 3,
            ..MeanFlowConfig::default()
        };
        for stop in [2, 6] {
            resume_equals_uninterrupted("meanflow", 8, stop, |dir, resume, obs| {
                distill_meanflow(&fm, Some(&ring()), &config, dir, resume, obs)
            });
        }
    }
}
