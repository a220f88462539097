//! Chain estimation: (dry, wet) → an ordered chain with parameters and a rationale.
//!
//! - [`objective`]: the `ChainEstimator` interface, the analysis window and the
//!   analysis-by-synthesis objective with coordinate search on the step grid.
//! - [`features`], [`detect`]: interpretable descriptors and effect detectors.
//! - [`search`], [`rationale`]: tier 1, analysis-by-synthesis over orders with a written
//!   rationale.
//! - [`regression`]: tier 2, the fixed-order regression baseline.
//! - [`toolcaller`]: tier 3, the autoregressive tool-caller.
//! - [`dataset`], [`metrics`]: seeded (dry, wet, chain) examples and the chain metrics.

pub mod dataset;
pub mod detect;
pub mod features;
pub mod metrics;
pub mod objective;
pub mod rationale;
pub mod regression;
pub mod search;
pub mod toolcaller;
