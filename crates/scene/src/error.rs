//! [`SceneError`]: what a user of the scene family can get wrong — a camera file that does not
//! match its frames, frames of mismatched sizes, a sequence too short for the temporal window.
//! It converts into [`genlab_core::Error`] (carried whole in `Error::Family`).

/// Result alias of the scene family.
pub type SceneResult<T> = std::result::Result<T, SceneError>;

/// Bad scene input, by what the caller has to change.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// A camera list whose length differs from the number of frames.
    #[error("{what}: {cameras} cameras for {frames} frames")]
    CameraCount {
        /// Which file or list.
        what: String,
        /// Cameras given.
        cameras: usize,
        /// Frames given.
        frames: usize,
    },
    /// Frames, depth maps or cameras of different sizes.
    #[error("{what}: size {got} does not match {expected}")]
    SizeMismatch {
        /// What was compared.
        what: String,
        /// The size found.
        got: String,
        /// The size expected.
        expected: String,
    },
    /// Anything else unusable (too few frames, a non-finite value, a bad option).
    #[error("{0}")]
    Invalid(String),
}

impl From<SceneError> for genlab_core::Error {
    fn from(e: SceneError) -> Self {
        genlab_core::Error::family(e)
    }
}
