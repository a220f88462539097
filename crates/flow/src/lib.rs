//! # genlab-flow: EDM diffusion and flow matching
//!
//! The continuous generative teachers the rest of genlab builds on (`genlab-cmt` distils
//! them into few-step students, sampled here through [`consistency`]).
//!
//! - [`edm`]: EDM-preconditioned denoiser and loss (Karras et al. 2022).
//! - [`flow_matching`]: linear-path flow matching (Lipman et al. 2023; Liu et al. 2023).
//! - [`eval`]: a model's energy distance, MMD and sliced W2 to held-out data beside the
//!   data floor (`genlab flow eval`).
//! - [`ode`]: Euler / Heun / RK4 / DPM-Solver++(2M) solvers with trajectory recording.
//! - [`net`]: the time-conditioned MLP with a Fourier embedding.
//! - [`process`], [`model`], [`mod@train`]: one enum over both processes, the saved model
//!   artefact (`genlab flow train` / `sample`), and training on the core's `Trainer`
//!   (checkpoints, exact resume).
//! - [`consistency`]: the consistency parameterisation a `genlab-cmt` student samples with.
//! - [`repro`]: `genlab repro flow`, the end-to-end check against the data-vs-data floor.
//! - [`mod@bench`]: `genlab bench flow`, the training step's throughput; [`testutil`]: small
//!   seeded networks for this crate's and `genlab-cmt`'s tests.
#![warn(missing_docs)]

pub mod bench;
pub mod consistency;
pub mod edm;
pub mod eval;
pub mod flow_matching;
pub mod model;
pub mod net;
pub mod ode;
pub mod process;
pub mod repro;
pub mod testutil;
pub mod train;

pub use edm::Edm;
pub use flow_matching::FlowMatching;
pub use model::{FlowModel, ModelSpec, Normalizer};
pub use net::{Act, TimeMlp, TimeMlpConfig};
pub use ode::{GaussianPath, Solver, Trajectory, VectorField, solve};
pub use process::Process;
pub use train::{TrainConfig, Trained, train};

use genlab_core::experiment::{Experiment, Family};

/// The flow family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "flow",
    summary: "EDM diffusion and flow matching: train and sample on your own points",
    aliases: &[],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
