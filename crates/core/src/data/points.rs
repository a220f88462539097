//! `Points`: a row-major matrix of f32 samples with optional integer class labels. The one
//! in-memory data set type that readers return, generators produce and metrics consume.

use crate::error::{Error, Result};

/// `n` samples of dimension `d`, stored row-major, with optional class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// Number of dimensions per sample.
    pub d: usize,
    /// Row-major values, `len = n * d`.
    pub data: Vec<f32>,
    /// Optional class label per sample, `len = n`.
    pub labels: Option<Vec<u32>>,
}

impl Points {
    /// Builds a point set, checking the length and that every value is finite.
    pub fn new(d: usize, data: Vec<f32>, labels: Option<Vec<u32>>) -> Result<Self> {
        if d == 0 {
            return Err(Error::InvalidInput(
                "points must have at least one dimension".into(),
            ));
        }
        if !data.len().is_multiple_of(d) {
            return Err(Error::InvalidInput(format!(
                "{} values do not divide into rows of {d}",
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(format!(
                "value {} at row {}, column {} is not finite",
                data[i],
                i / d + 1,
                i % d + 1
            )));
        }
        let n = data.len() / d;
        if let Some(l) = &labels
            && l.len() != n
        {
            return Err(Error::InvalidInput(format!(
                "{} labels for {n} points",
                l.len()
            )));
        }
        Ok(Points { d, data, labels })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.data.len() / self.d
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Row `i` as a slice of length `d`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Iterator over rows.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.data.chunks_exact(self.d)
    }

    /// The samples at `idx` (in that order), with their labels.
    pub fn select(&self, idx: &[usize]) -> Points {
        let mut data = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            data.extend_from_slice(self.row(i));
        }
        let labels = self
            .labels
            .as_ref()
            .map(|l| idx.iter().map(|&i| l[i]).collect());
        Points {
            d: self.d,
            data,
            labels,
        }
    }

    /// The first `n` samples and the rest, e.g. a train / held-out split of shuffled data.
    pub fn split_at(&self, n: usize) -> (Points, Points) {
        let n = n.min(self.len());
        let (a, b) = self.data.split_at(n * self.d);
        let (la, lb) = match &self.labels {
            Some(l) => (Some(l[..n].to_vec()), Some(l[n..].to_vec())),
            None => (None, None),
        };
        (
            Points {
                d: self.d,
                data: a.to_vec(),
                labels: la,
            },
            Points {
                d: self.d,
                data: b.to_vec(),
                labels: lb,
            },
        )
    }

    /// Per-column mean and standard deviation (population), in f64.
    pub fn column_stats(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.len().max(1) as f64;
        let mut mean = vec![0.0; self.d];
        for r in self.rows() {
            for (m, &v) in mean.iter_mut().zip(r) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; self.d];
        for r in self.rows() {
            for ((s, &v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        let std = var.into_iter().map(|s| (s / n).sqrt()).collect();
        (mean, std)
    }
}
