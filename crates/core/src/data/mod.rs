//! Data: the in-memory [`Points`] type and every way genlab gets points.
//!
//! - [`Mixture`]: seeded, labelled 2-D toy distributions (8 Gaussians, checkerboard, moons,
//!   spiral).
//! - [`digits()`]: the 8×8 UCI digits, shipped inside the binary (no fetch needed).
//! - [`fashion_mnist`]: Fashion-MNIST, read from the cache after `genlab data fetch
//!   fashion-mnist` has unpacked it from its Debian package ([`DatasetInfo::fetch`], [`Cache`]).
//! - The user's own files: CSV ([`read_points_csv`], [`write_points_csv`]), NumPy `.npy`
//!   ([`read_npy`], [`write_npy`]) and IDX ([`read_idx`]).
//!
//! Nothing here downloads from an arbitrary URL: fetched data comes only from package
//! registries, through their ordinary clients.

mod cache;
mod csv;
mod digits;
mod fashion;
mod fetch;
mod idx;
mod npy;
mod points;
mod synthetic;

pub use cache::Cache;
pub use csv::{points_to_csv, read_points_csv, write_points_csv};
pub use digits::digits;
pub use fashion::{Split, fashion_mnist};
pub use fetch::{
    Build, CORE_DATASETS, DIGITS, DatasetInfo, FASHION_MNIST, FetchOutcome, Provider, Recipe,
    Source, find_dataset, run_command,
};
pub use idx::{Idx, read_idx};
pub use npy::{read_npy, write_npy};
pub use points::Points;
pub use synthetic::Mixture;
