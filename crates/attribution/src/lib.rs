//! # genlab-attribution: data attribution for classifiers and diffusion models
//!
//! TRAK (Park et al. 2023), D-TRAK (Zheng et al. 2024) and Concept-TRAK (Park et al. 2026),
//! scored by the linear datamodeling score, on a CPU, exactly and reproducibly:
//!
//! - [`grads`]: exact per-example gradients — the layer-wise outer-product trick on an
//!   [`mlp::Mlp`] (one batched backward pass with zero probes) and, for any burn module, a
//!   loop of backward passes; [`mlp`]: the MLP every model here is built from.
//! - [`project`]: seeded random projections that never hold the whole p × k matrix
//!   (Gaussian, Rademacher, SJLT), bit-identical at any thread count.
//! - [`attributors`]: the TRAK kernel (ensembles, Q, λ relative to the spectrum), Grad-Dot,
//!   Grad-Cos, random; [`influence`]: exact influence functions for logistic regression;
//!   [`linalg`]: the Cholesky and GEMM pieces.
//! - [`lds`]: α-subsets, Spearman per query, mean ± s.e.; [`classify`]: the Gaussian-mixture
//!   task, classifiers, TRAK's margin and Q.
//! - [`diffusion`]: the Concept-TRAK toy (16×16 shapes × colours), a class-conditional DDPM with
//!   label dropout, and the output functions DSM, ‖ε‖², ‖ε‖₁, DPS reward and CFG utility.
//! - [`store`]: the sharded, resumable safetensors feature store and its gather;
//!   [`flowfeat`]: features of a `genlab flow train` model for `genlab attribution featurize`.
//! - [`repro`]: `genlab repro attribution` (E2, Concept-TRAK toy; alias `concept-trak`) and
//!   `genlab repro attribution-lds` (E1, TRAK + LDS); [`mod@bench`]: `genlab bench attribution`.
//! - [`error`]: the family's typed errors (shape mismatches, shard and store problems).

#![warn(missing_docs)]

pub mod attributors;
pub mod bench;
pub mod classify;
pub mod diffusion;
pub mod error;
pub mod flowfeat;
pub mod grads;
pub mod influence;
pub mod lds;
pub mod linalg;
pub mod mlp;
pub mod project;
pub mod repro;
pub mod store;

pub use error::{AttributionError, Result};

use genlab_core::experiment::{Experiment, Family};

/// The attribution family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "attribution",
    summary: "data attribution for diffusion models and classifiers: TRAK, D-TRAK, Concept-TRAK, LDS; shardable featurisation",
    aliases: &[("concept-trak", "attribution")],
    experiments: &[
        Experiment {
            info: repro::CONCEPT_INFO,
            run: repro::concept_report::run,
        },
        Experiment {
            info: repro::LDS_INFO,
            run: repro::lds_report::run,
        },
    ],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
