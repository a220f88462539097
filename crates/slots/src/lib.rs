//! genlab-slots: object-centric learning with slot attention and a slot-conditioned diffusion
//! decoder, register slots and contrastive alignment (CODA, Nguyen et al., ICLR 2026,
//! arXiv 2601.01224) — the `slots` family.
//!
//! Modules:
//! - [`scene`]: the seeded multi-object scene generator (images, instance masks, captions);
//! - [`layers`]: attention, stop-gradient linear maps, MLP, GRU cell;
//! - [`encoder`]: the tiny CNN that stands in for DINO;
//! - [`slot_attention`]: Slot Attention (softmax over slots, GRU update, given noise);
//! - [`diffusion`]: cosine DDPM schedule, ε loss, DDIM;
//! - [`decoder`]: the caption encoder (null encoding = registers) and the cross-attention
//!   denoiser with its trainable K/V/O kept apart;
//! - [`hungarian`], [`segmentation`]: FG-ARI, mBO, mIoU;
//! - [`probe`]: the slot property probe (colour and shape from the matched slot).

#![warn(missing_docs)]

pub mod bench;
pub mod coda;
pub mod decoder;
pub mod diffusion;
pub mod encoder;
pub mod error;
pub mod evaluate;
pub mod hungarian;
pub mod images;
pub mod layers;
pub mod picture;
pub mod pretrain;
pub mod probe;
pub mod repro;
pub mod scene;
pub mod segmentation;
pub mod slot_attention;
pub mod train;

use genlab_core::experiment::{Experiment, Family};

pub use error::{SlotsError, SlotsResult};

/// The slots family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "slots",
    summary: "object-centric learning: slot attention with a slot-conditioned diffusion decoder, registers and contrastive alignment (CODA)",
    aliases: &[("coda", "slots")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
