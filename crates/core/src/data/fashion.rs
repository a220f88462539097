//! Fashion-MNIST (Zalando, MIT licence): 28×28 greyscale images of clothing in 10 classes,
//! 60,000 for training and 10,000 for testing. `genlab data fetch fashion-mnist` unpacks the
//! four gzipped IDX files from Debian's `dataset-fashion-mnist` package into
//! `CACHE/fashion-mnist/`; this module reads them from there.
//!
//! Labels: 0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt,
//! 7 sneaker, 8 bag, 9 ankle boot.

use std::path::Path;

use super::cache::Cache;
use super::idx::{Idx, read_idx};
use super::points::Points;
use crate::error::{Error, Result};

/// The dataset's name in the cache and on the command line.
pub(super) const NAME: &str = "fashion-mnist";

/// Which part of Fashion-MNIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The 60,000 training images.
    Train,
    /// The 10,000 test images.
    Test,
}

impl Split {
    /// The file-name prefix the original distribution uses.
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// One split as points of dimension 784 (row-major 28×28 pixels scaled from 0–255 to [0, 1])
/// with labels 0–9. A cache without the dataset gives [`Error::MissingData`], whose message
/// names the fetch command.
pub fn fashion_mnist(cache: &Cache, split: Split) -> Result<Points> {
    let dir = cache.path(NAME);
    let images = dir.join(format!("{}-images-idx3-ubyte.gz", split.prefix()));
    let labels = dir.join(format!("{}-labels-idx1-ubyte.gz", split.prefix()));
    if !images.is_file() || !labels.is_file() {
        return Err(Error::MissingData {
            name: NAME.into(),
            dir,
        });
    }
    let (image_idx, label_idx) = (read_idx(&images)?, read_idx(&labels)?);
    let (n, d) = match image_idx.dims[..] {
        [n, rows, cols] => (n, rows * cols),
        _ => {
            return Err(shape_error(
                &images,
                "images of shape [n, 28, 28]",
                &image_idx,
            ));
        }
    };
    if label_idx.dims != [n] {
        return Err(shape_error(&labels, &format!("{n} labels"), &label_idx));
    }
    if let Some(i) = label_idx.data.iter().position(|&l| l > 9) {
        let msg = format!(
            "label {} of image {} is not a class 0–9",
            label_idx.data[i],
            i + 1
        );
        return Err(Error::parse(&labels, None, msg));
    }
    let data = image_idx
        .data
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    Points::new(
        d,
        data,
        Some(label_idx.data.iter().map(|&l| u32::from(l)).collect()),
    )
}

fn shape_error(path: &Path, expected: &str, found: &Idx) -> Error {
    Error::parse(
        path,
        None,
        format!("expected {expected}, found sizes {:?}", found.dims),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_idx_gz(path: &Path, dims: &[u32], data: &[u8]) {
        let mut raw = vec![0, 0, 0x08, dims.len() as u8];
        dims.iter()
            .for_each(|d| raw.extend_from_slice(&d.to_be_bytes()));
        raw.extend_from_slice(data);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        std::fs::write(path, enc.finish().unwrap()).unwrap();
    }

    #[test]
    fn missing_dataset_names_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let err = fashion_mnist(&Cache::at(dir.path()), Split::Test).unwrap_err();
        assert!(
            matches!(&err, Error::MissingData { name, .. } if name == NAME),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("genlab data fetch fashion-mnist"), "{msg}");
        assert_eq!(msg.lines().count(), 1, "{msg}");
    }

    #[test]
    fn reads_a_small_hand_built_split() {
        let cache_dir = tempfile::tempdir().unwrap();
        let dir = cache_dir.path().join(NAME);
        std::fs::create_dir_all(&dir).unwrap();
        let pixels: Vec<u8> = (0..2 * 784).map(|i| (i % 256) as u8).collect();
        write_idx_gz(
            &dir.join("t10k-images-idx3-ubyte.gz"),
            &[2, 28, 28],
            &pixels,
        );
        write_idx_gz(&dir.join("t10k-labels-idx1-ubyte.gz"), &[2], &[9, 0]);
        let cache = Cache::at(cache_dir.path());
        let p = fashion_mnist(&cache, Split::Test).unwrap();
        assert_eq!(
            (p.len(), p.d, p.labels.as_deref()),
            (2, 784, Some(&[9, 0][..]))
        );
        assert_eq!(
            (p.data[0], p.data[255], p.data[784]),
            (0.0, 1.0, 16.0 / 255.0)
        );
        // The training split is not there.
        assert!(matches!(
            fashion_mnist(&cache, Split::Train),
            Err(Error::MissingData { .. })
        ));

        write_idx_gz(&dir.join("t10k-labels-idx1-ubyte.gz"), &[3], &[1, 2, 3]);
        let err = fashion_mnist(&cache, Split::Test).unwrap_err().to_string();
        assert!(err.contains("expected 2 labels"), "{err}");
        write_idx_gz(&dir.join("t10k-labels-idx1-ubyte.gz"), &[2], &[1, 10]);
        let err = fashion_mnist(&cache, Split::Test).unwrap_err().to_string();
        assert!(err.contains("label 10 of image 2"), "{err}");
    }

    /// Reads the real dataset where `genlab data fetch fashion-mnist` has filled the cache
    /// chosen by the environment; elsewhere there is nothing to read and it passes trivially.
    #[test]
    fn fashion_mnist_reads_when_cached() {
        let cache = Cache::from_env();
        if !crate::data::FASHION_MNIST.is_fetched(&cache) {
            return; // Not fetched on this machine.
        }
        let test = fashion_mnist(&cache, Split::Test).unwrap();
        assert_eq!((test.len(), test.d), (10_000, 784));
        let train = fashion_mnist(&cache, Split::Train).unwrap();
        assert_eq!((train.len(), train.d), (60_000, 784));
        let mut counts = [0usize; 10];
        train
            .labels
            .as_ref()
            .unwrap()
            .iter()
            .for_each(|&l| counts[l as usize] += 1);
        assert_eq!(
            counts, [6000; 10],
            "Fashion-MNIST's training classes are balanced"
        );
        assert!(train.data.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
