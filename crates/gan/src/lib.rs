//! genlab-gan: class-conditional GANs whose discriminator heads are the subject — the projection
//! discriminator, AC-GAN, SAN and SONA (Takida et al., ICLR 2026) with its ablations — on 2-D
//! class mixtures, the 8×8 digits and the user's own labelled points.
//!
//! - [`mixture`]: the ring of N class components (the paper's mixture study, overlapping at
//!   large N).
//! - [`net`]: the generator and discriminator MLPs, seeded host-side.
//! - [`heads`]: one file per head with its equations ([`heads::projection`], [`heads::acgan`],
//!   [`heads::san`], [`heads::sona`]) and SONA's pieces ([`heads::sphere`] adaptive weights,
//!   [`heads::mismatch`] BT-M pairs).
//! - [`train`]: both players through the core trainer (D step, then G step), checkpoints and
//!   resume, the model directory, sampling.
//! - [`metrics`]: conditional accuracy, failed classes (NF), per-class and unconditional energy
//!   distance, mode coverage; the digit metrics through the core digit classifier.
//! - [`repro`]: `genlab repro gan` (alias `sona`); [`bench`]: `genlab bench gan`.
//! - [`error`]: [`GanError`].

#![warn(missing_docs)]

pub mod bench;
pub mod error;
pub mod heads;
pub mod metrics;
pub mod mixture;
pub mod net;
pub mod repro;
pub mod train;

pub use error::GanError;
pub use heads::Head;
pub use mixture::ClassMixture;
pub use train::{GanConfig, GanModel, train};

use genlab_core::experiment::{Experiment, Family};

/// The gan family as the CLI registers it.
pub const FAMILY: Family = Family {
    name: "gan",
    summary: "conditional GANs on class mixtures and digits: projection, AC-GAN, SAN and SONA discriminators",
    aliases: &[("sona", "gan")],
    experiments: &[Experiment {
        info: repro::INFO,
        run: repro::run,
    }],
    benchmarks: bench::BENCHMARKS,
    datasets: &[],
};
