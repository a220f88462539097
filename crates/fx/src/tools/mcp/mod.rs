//! A Model Context Protocol (MCP) server for the effects, on the official Rust SDK
//! ([`rmcp`], pinned in `crates/fx/Cargo.toml`), over stdio.
//!
//! **Layers.** [`rmcp`] does the protocol: the `initialize` handshake and version negotiation
//! (2024-11-05 … 2025-11-25 echoed; a version it does not know gets the newest with a
//! handshake, `2025-11-25`), the stateless `2026-07-28` revision (`server/discover`, requests
//! carrying their own `_meta` protocol metadata, no `ping`), `tools/*`, `resources/*`,
//! method-not-found for the rest, progress notifications. `server` is our `ServerHandler`
//! ([`EffectsServer`]): the tools, the resources and the progress reports. `bridge` is the
//! transport: [`serve`] runs the service on its own thread
//! and pumps any synchronous `BufRead`/`Write` pair into it, so the CLI calls
//! `serve(stdin().lock(), stdout().lock())` without an async runtime of its own.
//!
//! **Transport** (MCP stdio): one JSON-RPC 2.0 message per line each way, nothing else on the
//! output; [`serve`] returns when the input ends (the client closing stdin is the MCP stdio
//! shutdown) and the last response is written. Requests are served one at a time, in order:
//! after forwarding a request the bridge writes what the server sends (progress notifications,
//! then the response) and reads the next line only once the response is out. A
//! `notifications/cancelled` therefore cannot stop a running call (budgets keep calls short:
//! `estimate_chain` takes a render budget). Lines the SDK cannot take are answered by the
//! bridge with the JSON-RPC codes: `-32700` not JSON / not UTF-8 / over [`MAX_MESSAGE_BYTES`],
//! `-32600` not a request object (including batches, which MCP dropped in 2025-06-18) or a bad
//! id, `-32602` a known method with malformed params; notifications and responses the server
//! cannot use are ignored, as are notifications before the session has started (the SDK would
//! otherwise end the session on them).
//!
//! **Tools** (all generated from [`crate::engine::spec::EFFECTS`]):
//! - `apply_chain {input_path, output_path, chain, policy?, match_loudness?, pad_tail?, format?}`:
//!   `chain` is a list of tool calls `{"name", "arguments"}` (or model text holding them, read by
//!   the tolerant [`crate::tools::parse`] parser); runs [`crate::tools::execute::execute_calls`]
//!   and writes the output WAV.
//! - `list_effects {}`: the spec table (names, parameters, units, ranges, steps, defaults).
//! - `estimate_chain {dry_path, wet_path, max_effects?, budget?, max_seconds?}`: the tier-1
//!   analysis-by-synthesis search ([`crate::estimate::search`]) on the pair; returns the chain
//!   as tool calls (ready for `apply_chain`), the rationale, and the MRSTFT of its render and
//!   of the no-op.
//! - one tool per effect (`gain`, `reverb`, …): `{input_path, output_path, <its parameters>,
//!   policy?, …}`, the schema being the effect's MCP schema from [`crate::tools::schema::mcp`]
//!   extended with the file arguments; parameters may be omitted (their defaults are used and
//!   reported) except under `policy: "reject"`.
//!
//! Tool failures (unreadable WAV, a path not ending in `.wav`, arguments refused under `reject`,
//! a bad budget) are tool results with `isError: true` and a message a model can act on; an
//! unknown tool name is a protocol error, `-32602` (MCP `server/tools`, "Error Handling").
//! Success results carry the result as JSON text, and as `structuredContent` from 2025-06-18.
//!
//! **Progress.** A `tools/call` whose `_meta` holds a `progressToken` receives
//! `notifications/progress` for each phase (reading, rendering or searching, writing or
//! scoring, done) and, during a phase longer than [`HEARTBEAT`], one per heartbeat. `progress`
//! is the seconds elapsed since the call started (strictly increasing), `message` says what
//! is happening; there is no `total`, because the search does not report how many of its
//! renders remain (the last message gives the renders used).
//!
//! **Resources** (`resources`): `genlab-fx://effects` (the whole reference) and
//! `genlab-fx://effects/<name>`, one Markdown page per effect, written from the spec table.

mod bridge;
mod catalog;
mod estimate;
mod files;
mod resources;
mod server;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use bridge::serve;
pub use catalog::tools;
pub use resources::{resource_text, resource_uris};
pub use server::EffectsServer;

/// Longest accepted message line (bytes, without the newline); longer lines are answered with a
/// parse error and skipped.
pub const MAX_MESSAGE_BYTES: usize = 8 << 20;

/// Longest quiet stretch in a tool call with a progress token: a phase that runs longer sends a
/// progress notification this often.
pub const HEARTBEAT: Duration = Duration::from_millis(500);

/// JSON-RPC: the line is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the JSON is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: no such method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: the method's parameters are wrong.
pub const INVALID_PARAMS: i64 = -32602;

const APPLY_CHAIN: &str = "apply_chain";
const LIST_EFFECTS: &str = "list_effects";
const ESTIMATE_CHAIN: &str = "estimate_chain";

/// Arguments every file-processing tool takes besides the effect parameters.
const FILE_ARGUMENTS: [&str; 6] = [
    "input_path",
    "output_path",
    "policy",
    "match_loudness",
    "pad_tail",
    "format",
];

/// What a running tool says about itself: one message per phase; the server turns each into a
/// progress notification (when the client asked for progress).
pub(crate) type Phase<'a> = &'a mut dyn FnMut(String);
