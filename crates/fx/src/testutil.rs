//! Test support shared by the modules that read fetched data.

use genlab_core::data::{Cache, DatasetInfo};

/// The environment's cache when `dataset` is fetched there; otherwise `None`, after printing
/// why the calling test is skipped (tests of fetched data pass trivially where it is absent).
pub(crate) fn cached(dataset: DatasetInfo) -> Option<Cache> {
    let cache = Cache::from_env();
    if dataset.is_fetched(&cache) {
        Some(cache)
    } else {
        eprintln!(
            "skipped: `{}` is not in {} (run `genlab data fetch {}`)",
            dataset.name,
            cache.dir().display(),
            dataset.name
        );
        None
    }
}
