//! A Model Context Protocol (MCP) server for the effects, over stdio.
//!
//! **Transport** (MCP stdio): one JSON-RPC 2.0 message per line on stdin, one per line on
//! stdout (serialised without raw newlines); nothing else is ever written to the output.
//! [`serve`] is a synchronous read-line loop over any `BufRead`/`Write` pair and returns when the
//! input ends (the client closing stdin is the MCP stdio shutdown signal).
//!
//! **Protocol revision**: [`PROTOCOL_VERSION`] = `2025-11-25`, the latest revision with the
//! `initialize` handshake (checked against the specification text in the
//! `modelcontextprotocol/modelcontextprotocol` repository, `docs/specification/2025-11-25/`:
//! `basic/index`, `basic/lifecycle`, `server/tools`). Version negotiation follows
//! `basic/lifecycle`: a requested version in [`SUPPORTED_VERSIONS`] is echoed, anything else is
//! answered with the latest. The later stateless revision `2026-07-28` (no handshake,
//! `server/discover`, per-request `_meta`) is not implemented; its dual-era clients probe with
//! `server/discover`, receive `-32601` (a non-modern error) and fall back to `initialize`, as
//! that revision's compatibility matrix prescribes.
//!
//! **Messages.** Requests (`id` a string or integer, never null) get exactly one response;
//! notifications (no `id`) never get one, whatever their method; responses sent to us are
//! ignored. Errors use the JSON-RPC codes: `-32700` unparsable line (or over
//! [`MAX_MESSAGE_BYTES`]), `-32600` not a request object, `-32601` unknown method, `-32602`
//! bad params (including an unknown tool name or a bad `tools/list` cursor). A JSON array is
//! served as a JSON-RPC batch (allowed by the 2025-03-26 revision only; harmless to support).
//!
//! Methods: `initialize`, `ping`, `tools/list`, `tools/call`; notifications
//! (`notifications/initialized`, `notifications/cancelled`, …) are accepted and ignored. Requests
//! are served even before `initialize` (the server keeps no session state beyond the negotiated
//! version, which only decides whether `structuredContent` is sent: it exists from 2025-06-18).
//!
//! **Tools** (all generated from [`crate::engine::spec::EFFECTS`]):
//! - `apply_chain {input_path, output_path, chain, policy?, match_loudness?, pad_tail?, format?}`:
//!   `chain` is a list of tool calls `{"name", "arguments"}` (or model text holding them, read by
//!   the tolerant [`crate::tools::parse`] parser); runs [`crate::tools::execute::execute_calls`] and writes
//!   the output WAV.
//! - `list_effects {}`: the spec table (names, parameters, units, ranges, steps, defaults).
//! - one tool per effect (`gain`, `reverb`, …): `{input_path, output_path, <its parameters>,
//!   policy?, …}`, the schema being the effect's MCP schema from [`crate::tools::schema::mcp`] extended
//!   with the file arguments; parameters may be omitted (their defaults are used and reported)
//!   except under `policy: "reject"`.
//!
//! Tool failures (unreadable WAV, a path not ending in `.wav`, arguments refused under `reject`)
//! are tool results with `isError: true` and a message a model can act on, not protocol errors
//! (MCP `server/tools`, "Error Handling"). Success results carry the output path and the
//! executor's report as JSON text (and as `structuredContent`).

mod catalog;
mod files;
mod protocol;
#[cfg(test)]
mod tests;

pub use catalog::tools;
pub use protocol::{Server, serve};

/// The protocol revision this server implements (and answers with when the client asks for one
/// it does not know).
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Every revision the server accepts in `initialize`, newest first. The tool messages used here
/// are the same in all of them.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Longest accepted message line (bytes, without the newline); longer lines are answered with a
/// parse error and skipped.
pub const MAX_MESSAGE_BYTES: usize = 8 << 20;

/// JSON-RPC: the line is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the JSON is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: no such method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: the method's parameters are wrong.
pub const INVALID_PARAMS: i64 = -32602;

/// The first revision with `structuredContent` in tool results.
const STRUCTURED_CONTENT_SINCE: &str = "2025-06-18";

const APPLY_CHAIN: &str = "apply_chain";
const LIST_EFFECTS: &str = "list_effects";

/// Arguments every file-processing tool takes besides the effect parameters.
const FILE_ARGUMENTS: [&str; 6] = [
    "input_path",
    "output_path",
    "policy",
    "match_loudness",
    "pad_tail",
    "format",
];
