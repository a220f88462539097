//! The training objectives, one file each with its equation: SimCLR's NT-Xent ([`simclr`]),
//! SupCon ([`supcon`]) and Hydra's pair-gated disparate loss ([`hydra`]), over the shared
//! similarity helpers ([`similarity`]); [`Objective`] picks one (with Hydra's pairing mode and
//! instance term) for training.

pub mod hydra;
pub mod objective;
pub mod pairing;
pub mod simclr;
pub mod similarity;
pub mod supcon;
#[cfg(test)]
pub(crate) mod testing;

pub use objective::{Objective, Pairing};
