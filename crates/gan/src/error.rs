//! [`GanError`]: what a caller of the gan family can get wrong — a data set the conditional GAN
//! cannot learn from, a setting out of range, a class the model was not trained on, a head name
//! that does not exist. Converting into [`genlab_core::Error`] carries it whole in
//! `Error::Family` (`downcast_ref::<GanError>()` gets it back).

/// Result alias of the family.
pub type GanResult<T> = std::result::Result<T, GanError>;

/// A failure the caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum GanError {
    /// Training data without class labels, with one class only, or too small.
    #[error("{0}")]
    BadData(String),
    /// A training or sampling setting out of range.
    #[error("{0}")]
    BadConfig(String),
    /// A class index the model has no embedding for.
    #[error("class {class} is out of range: the model knows classes 0..{classes}")]
    UnknownClass {
        /// The class asked for.
        class: u32,
        /// How many classes the model was trained on.
        classes: usize,
    },
    /// A head name that is not one of [`crate::heads::Head::ALL`].
    #[error("unknown head `{0}` (heads: {names})", names = crate::heads::Head::names())]
    UnknownHead(String),
}

impl From<GanError> for genlab_core::Error {
    fn from(e: GanError) -> Self {
        genlab_core::Error::family(e)
    }
}
