//! [`WeightsError`]: what a caller of the weights family can act on — a cost matrix that is
//! not a finite assignment problem, networks that do not follow one declared spec, a file
//! that is not a network of that spec. Everything else (I/O, training divergence) is a
//! [`genlab_core::Error`] carried in [`WeightsError::Core`]. Converting into
//! [`genlab_core::Error`] unwraps `Core` and carries every other kind whole in
//! `Error::Family`.

/// Result alias of the family.
pub type WResult<T> = std::result::Result<T, WeightsError>;

/// A failure of the weights family, by what the caller has to change.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// A linear-assignment cost matrix with a NaN or infinite entry, or the wrong size.
    #[error("assignment cost matrix: {0}")]
    BadCost(String),
    /// Two networks (or a network and a spec) whose parameters do not match.
    #[error("networks do not share one spec: {0}")]
    SpecMismatch(String),
    /// A failure of the shared core (I/O, parse, training).
    #[error(transparent)]
    Core(#[from] genlab_core::Error),
}

impl From<WeightsError> for genlab_core::Error {
    fn from(e: WeightsError) -> Self {
        match e {
            WeightsError::Core(e) => e,
            other => genlab_core::Error::family(other),
        }
    }
}
