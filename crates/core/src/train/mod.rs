//! Training support shared by every family: the [`Trainer`] that owns every training loop
//! (steps, schedule, checkpoints, exact resume, NaN/inf guard, history, progress), the
//! [`Learner`] (a model with its optimiser, clip and EMA) a step updates, seeded randomness,
//! learning-rate schedules, gradient clipping, atomic checkpoints, and the [`Observer`] through
//! which a loop reports progress. A run resumes exactly, or is extended to more steps
//! (see [`Trainer`]'s module doc for the contract). [`testing`] holds what every crate's kill-and-resume tests
//! share.

mod checkpoint;
mod clip;
mod ema;
mod guard;
mod learner;
mod observer;
mod resume;
mod schedule;
mod seed;
pub mod testing;
mod trainer;

pub use checkpoint::{Blobs, CHECKPOINT_FILE, Checkpoint};
pub use clip::{clip_grad_norm, grad_norm};
pub use ema::Ema;
pub use guard::check_finite;
pub use learner::{Learner, ModelHook};
pub use observer::{NoObserver, Observer};
pub use schedule::LrSchedule;
pub use seed::{RngState, SeededRng, seed_device};
pub use trainer::{History, Metrics, Outcome, StateHook, Stateful, Step, TrainOptions, Trainer};
#[cfg(test)]
mod tests;
