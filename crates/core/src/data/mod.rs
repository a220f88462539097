//! Data: the in-memory [`Points`] type, seeded 2-D mixtures, the shipped 8×8 digits,
//! Fashion-MNIST from its Debian package, the user's CSV / NPY files, and the registry cache
//! behind `genlab data fetch`.

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
pub use fetch::{DATASETS, DatasetInfo, FetchOutcome, fetch, is_fetched};
pub use idx::{Idx, read_idx};
pub use npy::{read_npy, write_npy};
pub use points::Points;
pub use synthetic::Mixture;
