//! [`SlotsError`]: what a caller of the slots family can get wrong — an image folder with no
//! images, images of different sizes, a mask that does not match its image, a model directory
//! that is not a slots model. Converting into [`genlab_core::Error`] keeps the message.

/// Result alias of the family.
pub type SlotsResult<T> = std::result::Result<T, SlotsError>;

/// A failure a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum SlotsError {
    /// A folder without any PNG image.
    #[error("{0}: no .png images in this folder")]
    NoImages(String),
    /// Images (or masks) whose sizes differ.
    #[error("{path}: is {got}, but the other images are {want} (resize them to one size)")]
    SizeMismatch {
        /// The offending file.
        path: String,
        /// Its size, `W×H`.
        got: String,
        /// The expected size.
        want: String,
    },
    /// A PNG that cannot be decoded or written.
    #[error("{path}: {msg}")]
    Png {
        /// The file.
        path: String,
        /// What went wrong.
        msg: String,
    },
    /// A value out of range in a configuration.
    #[error("{0}")]
    Config(String),
}

impl From<SlotsError> for genlab_core::Error {
    fn from(e: SlotsError) -> Self {
        genlab_core::Error::InvalidInput(e.to_string())
    }
}
