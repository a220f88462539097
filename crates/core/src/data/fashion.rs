//! Fashion-MNIST (Zalando; MIT): 60,000 training and 10,000 test images of 28×28 clothing items
//! in 10 classes, read from the IDX files that `genlab data fetch fashion-mnist` unpacks from
//! Debian's `dataset-fashion-mnist` package.

use super::cache::Cache;
use super::idx::read_idx;
use super::points::Points;
use crate::error::{Error, Result};

/// Which part of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

/// The split as points of dimension 784 (pixels scaled to [0, 1]) with labels 0–9.
pub fn fashion_mnist(cache: &Cache, split: Split) -> Result<Points> {
    let dir = cache.path("fashion-mnist");
    let prefix = match split {
        Split::Train => "train",
        Split::Test => "t10k",
    };
    let images = dir.join(format!("{prefix}-images-idx3-ubyte.gz"));
    let labels = dir.join(format!("{prefix}-labels-idx1-ubyte.gz"));
    if !images.exists() || !labels.exists() {
        return Err(Error::MissingData {
            name: "fashion-mnist".into(),
            dir,
        });
    }
    let images = read_idx(&images)?;
    let labels = read_idx(&labels)?;
    if images.dims.len() != 3 || labels.dims.len() != 1 || images.dims[0] != labels.dims[0] {
        return Err(Error::InvalidInput(format!(
            "Fashion-MNIST files disagree: images {:?}, labels {:?}",
            images.dims, labels.dims
        )));
    }
    let d = images.dims[1] * images.dims[2];
    let data = images.data.iter().map(|&b| b as f32 / 255.0).collect();
    Points::new(
        d,
        data,
        Some(labels.data.iter().map(|&l| l as u32).collect()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dataset_names_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = fashion_mnist(&Cache::at(dir.path()), Split::Test)
            .unwrap_err()
            .to_string();
        assert!(err.contains("genlab data fetch fashion-mnist"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    /// Runs against the real data only where `genlab data fetch fashion-mnist` has been run.
    #[test]
    fn fashion_mnist_reads_when_cached() {
        let cache = Cache::from_env();
        if !super::super::fetch::is_fetched(&cache, "fashion-mnist") {
            return; // not fetched on this machine: nothing to read
        }
        let test = fashion_mnist(&cache, Split::Test).unwrap();
        assert_eq!((test.len(), test.d), (10_000, 784));
        let train = fashion_mnist(&cache, Split::Train).unwrap();
        assert_eq!(train.len(), 60_000);
        assert!(train.labels.unwrap().iter().all(|&l| l < 10));
    }
}
