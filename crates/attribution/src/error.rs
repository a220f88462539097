//! [`AttributionError`]: what a caller of the attribution library can get wrong — features
//! and scores of mismatched shapes, a feature store whose shards disagree (mixed configuration,
//! a missing or duplicate shard), a shard specification that does not parse. Converting into
//! [`genlab_core::Error`] keeps the value whole in `Error::Family`.

/// Result alias for this crate.
pub type Result<T, E = genlab_core::Error> = std::result::Result<T, E>;

/// A failure of the attribution library a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum AttributionError {
    /// Two arrays that must agree in a dimension do not.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// Which quantity (e.g. `query features`).
        what: String,
        /// The size required.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// A `--shard i/n` that is not `i/n` with `0 ≤ i < n`.
    #[error("shard `{0}`: expected i/n with 0 ≤ i < n (e.g. 0/4)")]
    BadShard(String),
    /// Shards written with different configurations (model, data, output function, projector).
    #[error(
        "shard {shard} has configuration hash {found}, the store's is {expected}: shards from different runs cannot be gathered"
    )]
    MixedConfig {
        /// The offending shard file.
        shard: String,
        /// The hash the manifest records.
        expected: String,
        /// The hash the shard records.
        found: String,
    },
    /// A row range no finished shard covers.
    #[error(
        "rows {start}..{end} are missing: no finished shard covers them (rerun `featurize --shard` for them)"
    )]
    MissingRows {
        /// First missing row.
        start: usize,
        /// One past the last missing row.
        end: usize,
    },
    /// Two shards that cover the same rows.
    #[error("shards {a} and {b} overlap (rows {start}..{end}): remove one")]
    Overlap {
        /// One shard.
        a: String,
        /// The other.
        b: String,
        /// Start of the overlap.
        start: usize,
        /// End of the overlap.
        end: usize,
    },
    /// A matrix that should be positive definite is not (after regularisation).
    #[error("{0} is not positive definite; raise the damping λ")]
    NotPositiveDefinite(String),
}

impl From<AttributionError> for genlab_core::Error {
    fn from(e: AttributionError) -> Self {
        genlab_core::Error::Family(Box::new(e))
    }
}

/// Checks `got == expected` for `what`.
pub fn check_len(what: &str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(AttributionError::Shape {
            what: what.into(),
            expected,
            got,
        }
        .into())
    }
}
