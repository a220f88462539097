//! [`FxError`]: the failures of a tool call a caller can act on — a tool that does not exist,
//! an argument out of range, of the wrong type, missing or unknown, text that holds no
//! well-formed call, a WAV file that cannot be read or written. Everything else (non-finite
//! audio, a bad block size) is a [`genlab_core::Error`] carried in [`FxError::Core`].
//!
//! The MCP server answers by kind: an unknown tool named by `tools/call` is a JSON-RPC
//! "invalid params" error, every other failure a tool result with `isError` that the model can
//! read and retry from. Converting into [`genlab_core::Error`] unwraps [`FxError::Core`] and
//! carries every other kind whole in `Error::Family` (`downcast_ref::<FxError>()` gets it back).

use crate::engine::spec::EFFECTS;
use genlab_core::limits::excerpt;

/// User text as an error quotes it: control characters escaped (one line), then at most 80
/// characters.
fn quote(text: &str) -> String {
    excerpt(&text.escape_debug().to_string())
}

/// Result alias for the tool layer.
pub type FxResult<T> = std::result::Result<T, FxError>;

/// A tool call that cannot be executed, by what the caller has to change.
#[derive(Debug, thiserror::Error)]
pub enum FxError {
    /// A tool (effect) name that is not in the spec table.
    #[error("{}unknown tool `{}` (tools: {})", call_prefix(*.call), quote(name), tool_names())]
    UnknownEffect {
        /// The name as given.
        name: String,
        /// 0-based index of the call in its chain, when it was part of one.
        call: Option<usize>,
    },
    /// A value outside its parameter's range (refused under the reject policy).
    #[error(
        "{} = {value} is outside {range} (use the clamp or snap policy to accept it)",
        quote(arg)
    )]
    OutOfRange {
        /// Where: `call 0 (gain): gain_db`.
        arg: String,
        /// The value given.
        value: f64,
        /// The allowed range in words (`-20 to 20 dB`).
        range: String,
    },
    /// A value of the wrong type or shape: not a number, not finite, a malformed envelope, a
    /// numeric string under the reject policy, a bad option value.
    #[error("{}: {}", quote(arg), quote(problem))]
    WrongType {
        /// Where: `call 0 (gain): gain_db`, or an option name.
        arg: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A required argument that is missing.
    #[error("{} is missing ({expected})", quote(arg))]
    MissingArgument {
        /// Where: `call 0 (gain): gain_db`, or an option name.
        arg: String,
        /// What is expected there.
        expected: String,
    },
    /// An argument the tool does not take (refused under the reject policy).
    #[error("{} is not an argument (arguments: {known})", quote(arg))]
    UnknownArgument {
        /// Where: `call 0 (delay): wet`.
        arg: String,
        /// The arguments the tool takes.
        known: String,
    },
    /// Text or JSON that holds no well-formed tool call.
    #[error("{0}")]
    MalformedCall(String),
    /// A WAV file that cannot be read or written.
    #[error("cannot {action}: {source}")]
    File {
        /// `read the input WAV`, `write the output WAV`.
        action: &'static str,
        /// Why.
        source: genlab_core::Error,
    },
    /// A failure of the shared core (non-finite audio, rendering).
    #[error(transparent)]
    Core(#[from] genlab_core::Error),
}

impl From<FxError> for genlab_core::Error {
    fn from(e: FxError) -> Self {
        match e {
            FxError::Core(e) => e,
            other => genlab_core::Error::family(other),
        }
    }
}

fn call_prefix(call: Option<usize>) -> String {
    call.map(|i| format!("call {i}: ")).unwrap_or_default()
}

fn tool_names() -> String {
    EFFECTS
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_argument_and_convert_into_core() {
        let e = FxError::UnknownEffect {
            name: "chorus".into(),
            call: Some(2),
        };
        assert!(
            e.to_string()
                .starts_with("call 2: unknown tool `chorus` (tools: gain,")
        );
        let core: genlab_core::Error = e.into();
        assert!(matches!(
            core.downcast_ref::<FxError>(),
            Some(FxError::UnknownEffect { call: Some(2), .. })
        ));
        assert!(core.to_string().contains("`chorus`"));
        let inner = genlab_core::Error::InvalidInput("block size".into());
        let core: genlab_core::Error = FxError::Core(inner).into();
        assert_eq!(core.to_string(), "invalid input: block size");
    }
}
