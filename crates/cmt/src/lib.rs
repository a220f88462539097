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

use genlab_core::experiment::{Experiment, Family};

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
