//! genlab-embed: region-prompted image–text embeddings (VIRTUE, Wang et al., ICLR 2026) and
//! SCaR-lite, a synthetic benchmark whose captions need both the selected entity and the scene.
//!
//! Modules: the scenes ([`scene`]), the caption grammar and hard negatives ([`caption`]),
//! tokens ([`vocab`]), InfoNCE ([`loss`]), P@1 ([`metrics`]), encoder blocks ([`nn`]), the
//! frozen segmentation analogue ([`seg`]), the embedder and its arms ([`embedder`]), training
//! ([`train`]), evaluation ([`eval`]), images on disk ([`io`]), the `embed` reproduction
//! ([`repro`]) and the benchmark ([`bench`]).

#![warn(missing_docs)]

pub mod bench;
pub mod caption;
pub mod embedder;
pub mod eval;
pub mod io;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod repro;
pub mod scene;
pub mod seg;
pub mod train;
pub mod vocab;

use genlab_core::experiment::{Experiment, Family};

/// The embed family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "embed",
    summary: "region-prompted image–text embeddings (VIRTUE) and the SCaR-lite benchmark",
    aliases: &[("virtue", "embed")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
