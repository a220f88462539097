//! [`ContrastiveError`]: what a caller of the contrastive family can get wrong and act on.
//! Converting into [`genlab_core::Error`] keeps it whole in `Error::Family`.

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum ContrastiveError {
    /// An objective name that does not exist.
    #[error("unknown objective `{0}` (simclr, supcon, hydra)")]
    UnknownObjective(String),
}

impl From<ContrastiveError> for genlab_core::Error {
    fn from(e: ContrastiveError) -> Self {
        genlab_core::Error::family(e)
    }
}
