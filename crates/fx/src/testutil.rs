//! Test support shared by the modules that read fetched data.

use genlab_core::data::{Cache, is_fetched};

/// The environment's cache when `dataset` is fetched there; otherwise `None`, after printing
/// why the calling test is skipped (tests of fetched data pass trivially where it is absent).
pub(crate) fn cached(dataset: &str) -> Option<Cache> {
    let cache = Cache::from_env();
    if is_fetched(&cache, dataset) {
        Some(cache)
    } else {
        eprintln!(
            "skipped: `{dataset}` is not in {} (run `genlab data fetch {dataset}`)",
            cache.dir().display()
        );
        None
    }
}
