//! The effects as tools an LLM calls: schemas in three dialects, a tolerant parser of model
//! output, validation under a reject | clamp | snap policy, execution with a report, and an MCP
//! server.
//!
//! - [`schema`]: OpenAI strict function calling, MCP `tools/list`, in-text `<tool_call>` format.
//! - [`parse`], [`validate`], [`execute`]: model output → validated chain → rendered audio and
//!   a report of every adjustment.
//! - [`mcp`]: a Model Context Protocol server (JSON-RPC 2.0 over stdio) exposing `apply_chain`,
//!   `list_effects` and one tool per effect (`genlab fx mcp`).

pub mod execute;
pub mod mcp;
pub mod parse;
pub mod schema;
pub mod validate;
