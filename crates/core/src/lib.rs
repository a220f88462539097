//! # genlab-core
//!
//! What at least two of genlab's method families share, and nothing else:
//!
//! - [`data`]: seeded 2-D mixtures, the 8×8 digits (shipped), Fashion-MNIST (IDX, fetched from
//!   Debian), the user's CSV / NPY points, and the registry cache behind `genlab data fetch`.
//! - [`train`]: seeded RNG plumbing, EMA, learning-rate schedules, gradient clipping, the
//!   NaN/inf guard, atomic checkpoints with resume, and the observer through which training
//!   loops report progress (libraries never print).
//! - [`metrics`]: energy distance, MMD, sliced Wasserstein, Fréchet distance, k-NN
//!   precision/recall, and FD-digits (a Fréchet distance on the features of [`metrics::DigitClassifier`]).
//! - [`report`]: the `report.json` every experiment writes, verdicts computed from measured
//!   arms, SVG figures, and the `index.html` that lists every experiment.
//! - [`limits`]: the bound on every size taken from a file or a flag, and how much of a bad
//!   input an error quotes.
//! - [`testing`] and [`train::testing`]: what every crate's tests share (scratch files, the
//!   fuzz budget and byte mutator; the kill-and-resume observer and weight comparison).
//!
//! Tensors are burn's, on the pure-Rust `flex` CPU backend (see [`device`]).
#![warn(missing_docs)]

pub mod bench;
pub mod data;
pub mod device;
pub mod error;
pub mod experiment;
pub mod fsx;
pub mod gradcheck;
pub mod limits;
pub mod linalg;
pub mod metrics;
pub mod ops;
pub mod report;
pub mod tensor;
pub mod testing;
pub mod train;
pub mod weights;

pub use burn;
pub use error::{Error, Result};
