//! Training support shared by every family: seeded randomness, learning-rate schedules, EMA,
//! gradient clipping, the NaN/inf guard, atomic checkpoints with resume, the observer through
//! which a loop reports progress, and [`fit`], the loop that ties them together.

mod checkpoint;
mod clip;
mod ema;
mod fit;
mod guard;
mod observer;
mod schedule;
mod seed;

pub use checkpoint::{CHECKPOINT_FILE, Checkpoint};
pub use clip::{clip_grad_norm, grad_norm};
pub use ema::Ema;
pub use fit::{EvalHook, FitConfig, FitOutcome, fit};
pub use guard::check_finite;
pub use observer::{NoObserver, Observer};
pub use schedule::LrSchedule;
pub use seed::{RngState, SeededRng, seed_device};
