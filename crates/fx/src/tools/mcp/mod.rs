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

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::engine::chain::{RenderOptions, ToolCall};
use crate::tools::execute::{ExecuteOptions, execute_calls};
use crate::tools::parse::parse_calls;
use crate::engine::spec::{EFFECTS, effect};
use crate::tools::validate::Policy;
use crate::engine::wav::{self, SampleFormat};

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

/// Serves MCP over `input`/`output` until `input` ends. Only I/O errors on the streams end it
/// early; every malformed message is answered (or ignored, for notifications) and serving goes on.
pub fn serve<R: BufRead, W: Write>(mut input: R, mut output: W) -> std::io::Result<()> {
    let mut server = Server::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = MAX_MESSAGE_BYTES as u64 + 1;
        if (&mut input).take(limit).read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let reply = if line.len() > MAX_MESSAGE_BYTES && !line.ends_with(b"\n") {
            skip_rest_of_line(&mut input)?;
            Some(error_response(
                Value::Null,
                PARSE_ERROR,
                &format!("message longer than {MAX_MESSAGE_BYTES} bytes"),
            ))
        } else {
            match std::str::from_utf8(&line) {
                Ok(text) => server.handle_line(text),
                Err(_) => Some(error_response(
                    Value::Null,
                    PARSE_ERROR,
                    "message is not valid UTF-8",
                )),
            }
        };
        if let Some(reply) = reply {
            output.write_all(reply.as_bytes())?;
            output.write_all(b"\n")?;
            output.flush()?;
        }
    }
}

fn skip_rest_of_line<R: BufRead>(input: &mut R) -> std::io::Result<()> {
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let n = input
            .take(MAX_MESSAGE_BYTES as u64)
            .read_until(b'\n', &mut chunk)?;
        if n == 0 || chunk.ends_with(b"\n") {
            return Ok(());
        }
    }
}

/// The protocol state machine: one instance per connection.
#[derive(Debug, Default)]
pub struct Server {
    /// The revision agreed in `initialize`, if it has happened.
    protocol_version: Option<String>,
}

impl Server {
    /// A server that has not been initialised yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The revision agreed in `initialize`, if any.
    pub fn protocol_version(&self) -> Option<&str> {
        self.protocol_version.as_deref()
    }

    /// Handles one line of input; returns the line to send back (without the newline), or
    /// `None` for notifications, responses and blank lines.
    pub fn handle_line(&mut self, line: &str) -> Option<String> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        let reply = match serde_json::from_str::<Value>(line) {
            Ok(message) => self.handle(message)?,
            Err(e) => error_value(Value::Null, PARSE_ERROR, &format!("parse error: {e}")),
        };
        Some(reply.to_string())
    }

    /// Handles one parsed message (or batch); returns the response, if one is due.
    pub fn handle(&mut self, message: Value) -> Option<Value> {
        match message {
            Value::Array(batch) if batch.is_empty() => {
                Some(error_value(Value::Null, INVALID_REQUEST, "empty batch"))
            }
            Value::Array(batch) => {
                let replies: Vec<Value> = batch
                    .into_iter()
                    .filter_map(|m| self.handle_single(m))
                    .collect();
                (!replies.is_empty()).then_some(Value::Array(replies))
            }
            single => self.handle_single(single),
        }
    }

    fn handle_single(&mut self, message: Value) -> Option<Value> {
        let Value::Object(mut msg) = message else {
            return Some(error_value(
                Value::Null,
                INVALID_REQUEST,
                "a message must be a JSON object",
            ));
        };
        let id = msg.remove("id");
        let Some(method) = msg.remove("method") else {
            // A response to a request we never send, or garbage without an id: answer only
            // what looks like a request.
            return match id {
                Some(_) if msg.contains_key("result") || msg.contains_key("error") => None,
                Some(id) => Some(error_value(
                    if valid_id(&id) { id } else { Value::Null },
                    INVALID_REQUEST,
                    "request without a method",
                )),
                None => None,
            };
        };
        let Some(id) = id else {
            // Notifications get no answer. `initialized` and `cancelled` need no action either:
            // requests are served one at a time, so nothing is in flight to cancel.
            return None;
        };
        if !valid_id(&id) {
            return Some(error_value(
                Value::Null,
                INVALID_REQUEST,
                "the id must be a string or an integer",
            ));
        }
        if msg.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Some(error_value(
                id,
                INVALID_REQUEST,
                "\"jsonrpc\" must be \"2.0\"",
            ));
        }
        let Some(method) = method.as_str() else {
            return Some(error_value(
                id,
                INVALID_REQUEST,
                "the method must be a string",
            ));
        };
        let params = match msg.remove("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p,
            Some(_) => {
                return Some(error_value(id, INVALID_PARAMS, "params must be an object"));
            }
        };
        Some(match self.request(method, params) {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => error_value(id, code, &message),
        })
    }

    fn request(
        &mut self,
        method: &str,
        params: Map<String, Value>,
    ) -> Result<Value, (i64, String)> {
        match method {
            "initialize" => self.initialize(&params),
            "ping" => Ok(json!({})),
            "tools/list" => {
                if params.get("cursor").is_some_and(|c| !c.is_null()) {
                    return Err((
                        INVALID_PARAMS,
                        "invalid cursor: the tool list has a single page".into(),
                    ));
                }
                Ok(json!({ "tools": tools() }))
            }
            "tools/call" => self.call(params),
            other => Err((METHOD_NOT_FOUND, format!("method not found: {other}"))),
        }
    }

    fn initialize(&mut self, params: &Map<String, Value>) -> Result<Value, (i64, String)> {
        let Some(requested) = params.get("protocolVersion").and_then(Value::as_str) else {
            return Err((
                INVALID_PARAMS,
                "initialize needs params.protocolVersion (a string such as \"2025-11-25\")".into(),
            ));
        };
        let agreed = if SUPPORTED_VERSIONS.contains(&requested) {
            requested
        } else {
            PROTOCOL_VERSION
        };
        self.protocol_version = Some(agreed.to_string());
        Ok(json!({
            "protocolVersion": agreed,
            "capabilities": { "tools": { "listChanged": false } },
            "serverInfo": {
                "name": "genlab-fx",
                "title": "genlab audio effects",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "instructions": INSTRUCTIONS,
        }))
    }

    fn call(&mut self, mut params: Map<String, Value>) -> Result<Value, (i64, String)> {
        let Some(Value::String(name)) = params.remove("name") else {
            return Err((
                INVALID_PARAMS,
                "tools/call needs params.name (a string)".into(),
            ));
        };
        let arguments = match params.remove("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(a)) => a,
            Some(_) => {
                return Err((
                    INVALID_PARAMS,
                    "tools/call params.arguments must be an object".into(),
                ));
            }
        };
        if name != APPLY_CHAIN && name != LIST_EFFECTS && effect(&name).is_none() {
            return Err((INVALID_PARAMS, format!("Unknown tool: {name}")));
        }
        // The engine is not expected to panic, but a server that dies takes the client's whole
        // session with it: a panic becomes a tool error instead.
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_tool(&name, arguments)))
                .unwrap_or_else(|_| Err(format!("internal error while running `{name}`")));
        let structured = self
            .protocol_version
            .as_deref()
            .is_none_or(|v| v >= STRUCTURED_CONTENT_SINCE);
        Ok(tool_result(outcome, structured))
    }
}

const INSTRUCTIONS: &str = "Audio effects on WAV files. Call `list_effects` for the parameter \
    ranges; process a file with one effect tool (e.g. `reverb`) or with `apply_chain`, whose \
    `chain` is an ordered list of {\"name\", \"arguments\"} tool calls. Paths are local files \
    ending in .wav (relative paths are relative to the server's working directory). Out-of-range \
    values are clamped by default and every change is listed in the returned report.";

fn valid_id(id: &Value) -> bool {
    match id {
        Value::String(_) => true,
        Value::Number(n) => n.is_i64() || n.is_u64(),
        _ => false,
    }
}

fn error_value(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn error_response(id: Value, code: i64, message: &str) -> String {
    error_value(id, code, message).to_string()
}

fn tool_result(outcome: Result<Value, String>, structured: bool) -> Value {
    match outcome {
        Ok(value) => {
            let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
            let mut result = json!({"content": [{"type": "text", "text": text}], "isError": false});
            if structured {
                result["structuredContent"] = value;
            }
            result
        }
        Err(message) => json!({"content": [{"type": "text", "text": message}], "isError": true}),
    }
}

// ---------------------------------------------------------------------------------------------
// Tool definitions (`tools/list`).

fn path_schema(what: &str) -> Value {
    json!({
        "type": "string",
        "description": what,
        "pattern": "\\.[wW][aA][vV]$",
    })
}

/// Properties shared by every file-processing tool (the names in [`FILE_ARGUMENTS`]).
fn file_properties() -> Map<String, Value> {
    let mut p = Map::new();
    p.insert(
        "input_path".into(),
        path_schema("Input WAV file (16/24/32-bit PCM or float, any channel count)."),
    );
    p.insert(
        "output_path".into(),
        path_schema("Where to write the processed WAV (overwritten if it exists)."),
    );
    p.insert(
        "policy".into(),
        json!({
            "type": "string",
            "enum": ["reject", "clamp", "snap"],
            "default": "clamp",
            "description": "Arguments out of range or missing: reject = refuse the call; clamp = clamp into range and use defaults; snap = clamp then move to the nearest grid step. Every change is listed in the report.",
        }),
    );
    p.insert(
        "match_loudness".into(),
        json!({"type": "boolean", "default": false, "description": "Scale the output to the input's RMS level."}),
    );
    p.insert(
        "pad_tail".into(),
        json!({"type": "boolean", "default": true, "description": "Append the reverb/delay tail (false keeps the input length)."}),
    );
    p.insert(
        "format".into(),
        json!({"type": "string", "enum": ["float32", "pcm16"], "default": "float32", "description": "Output sample format (float32 never clips)."}),
    );
    p
}

/// MCP tool annotations (hints for the client's confirmation UI) of the processing tools: they
/// write (and may overwrite) `output_path`, the same call gives the same file, and they touch
/// nothing outside the local files named.
fn writes_a_file() -> Value {
    json!({"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true, "openWorldHint": false})
}

fn apply_chain_tool() -> Value {
    let names: Vec<&str> = EFFECTS.iter().map(|e| e.name).collect();
    let mut properties = file_properties();
    properties.insert(
        "chain".into(),
        json!({
            "description": "The effects to apply, in order: a list of tool calls {\"name\": <effect>, \"arguments\": {<parameter>: <number>}} (see list_effects; a parameter may also be an envelope [[time_seconds, value], ...]), or model text holding such calls (e.g. <tool_call> blocks). An empty list copies the input.",
            "anyOf": [
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "enum": names},
                            "arguments": {"type": "object"},
                        },
                        "required": ["name"],
                    },
                },
                {"type": "string"},
            ],
        }),
    );
    json!({
        "name": APPLY_CHAIN,
        "title": "Apply Effect Chain",
        "description": "Processes a WAV file with an ordered chain of effects and writes the result; returns the output path and a report (the chain as executed, adjusted arguments, levels, tail, latency).",
        "inputSchema": {
            "type": "object",
            "properties": properties,
            "required": ["input_path", "output_path", "chain"],
            "additionalProperties": false,
        },
        "annotations": writes_a_file(),
    })
}

fn list_effects_tool() -> Value {
    json!({
        "name": LIST_EFFECTS,
        "title": "List Effects",
        "description": "Lists every effect with its parameters: unit, range, grid step, scale and default.",
        "inputSchema": {"type": "object", "additionalProperties": false},
        "annotations": {"readOnlyHint": true, "openWorldHint": false},
    })
}

/// The per-effect tools: the effect's MCP entry from [`crate::tools::schema::mcp`] with the file
/// arguments added, parameters made optional (with their spec defaults as `default`).
fn effect_tools() -> Vec<Value> {
    let listed = crate::tools::schema::mcp();
    let entries = listed["tools"].as_array().cloned().unwrap_or_default();
    entries
        .into_iter()
        .zip(EFFECTS)
        .map(|(mut tool, spec)| {
            let mut properties = file_properties();
            if let Some(params) = tool["inputSchema"]["properties"].as_object() {
                for (name, schema) in params {
                    let mut schema = schema.clone();
                    if let Some(p) = spec.params.iter().find(|p| p.name == name) {
                        schema["default"] = json!(p.default);
                    }
                    properties.insert(name.clone(), schema);
                }
            }
            tool["description"] = json!(format!(
                "{} Processes input_path and writes output_path (WAV); parameters left out take their defaults.",
                spec.description
            ));
            tool["inputSchema"] = json!({
                "type": "object",
                "properties": properties,
                "required": ["input_path", "output_path"],
                "additionalProperties": false,
            });
            tool["annotations"] = writes_a_file();
            tool
        })
        .collect()
}

/// Every tool, as listed by `tools/list`: `apply_chain`, `list_effects`, then one per effect.
pub fn tools() -> Vec<Value> {
    let mut all = vec![apply_chain_tool(), list_effects_tool()];
    all.extend(effect_tools());
    all
}

// ---------------------------------------------------------------------------------------------
// Tool execution (`tools/call`).

/// Runs tool `name`; `Err` is a message for an `isError` result.
fn run_tool(name: &str, mut arguments: Map<String, Value>) -> Result<Value, String> {
    match name {
        LIST_EFFECTS => {
            if let Some(extra) = arguments.keys().next() {
                return Err(format!("list_effects takes no arguments (got `{extra}`)"));
            }
            Ok(json!({ "effects": serde_json::to_value(EFFECTS).map_err(|e| e.to_string())? }))
        }
        APPLY_CHAIN => {
            let files = FileArguments::take(&mut arguments)?;
            let chain = arguments.remove("chain").ok_or(
                "apply_chain needs `chain`: a list of {\"name\", \"arguments\"} tool calls",
            )?;
            if let Some(extra) = arguments.keys().next() {
                return Err(format!(
                    "apply_chain: unknown argument `{extra}` (expected chain, {})",
                    FILE_ARGUMENTS.join(", ")
                ));
            }
            files.run(&chain_calls(chain)?)
        }
        effect_name => {
            let files = FileArguments::take(&mut arguments)?;
            let call = ToolCall {
                name: effect_name.to_string(),
                arguments,
            };
            files.run(&[call])
        }
    }
}

/// The calls in an `apply_chain` `chain` argument.
fn chain_calls(chain: Value) -> Result<Vec<ToolCall>, String> {
    match chain {
        Value::String(text) => parse_calls(&text).map_err(|e| format!("chain: {e}")),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let Value::Object(mut call) = item else {
                    return Err(format!(
                        "chain[{i}] must be an object {{\"name\": …, \"arguments\": {{…}}}}"
                    ));
                };
                let Some(Value::String(name)) = call.remove("name") else {
                    return Err(format!("chain[{i}] needs a string `name` (an effect)"));
                };
                let arguments = match call.remove("arguments") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(a)) => a,
                    // Models often send the arguments object JSON-encoded as a string.
                    Some(Value::String(s)) => match serde_json::from_str(&s) {
                        Ok(Value::Object(a)) => a,
                        _ => {
                            return Err(format!(
                                "chain[{i}] ({name}): `arguments` must be an object"
                            ));
                        }
                    },
                    Some(_) => {
                        return Err(format!(
                            "chain[{i}] ({name}): `arguments` must be an object"
                        ));
                    }
                };
                Ok(ToolCall { name, arguments })
            })
            .collect(),
        _ => Err(
            "chain must be a list of {\"name\", \"arguments\"} tool calls (or text holding them)"
                .into(),
        ),
    }
}

/// The file and execution arguments of a processing tool.
struct FileArguments {
    input: PathBuf,
    output: PathBuf,
    options: ExecuteOptions,
    format: SampleFormat,
}

impl FileArguments {
    /// Removes the [`FILE_ARGUMENTS`] from `arguments`, checking each.
    fn take(arguments: &mut Map<String, Value>) -> Result<Self, String> {
        let input = wav_path(arguments.remove("input_path"), "input_path")?;
        let output = wav_path(arguments.remove("output_path"), "output_path")?;
        let policy = match arguments.remove("policy") {
            None | Some(Value::Null) => Policy::default(),
            Some(Value::String(s)) => s.parse()?,
            Some(_) => return Err("policy must be \"reject\", \"clamp\" or \"snap\"".into()),
        };
        let match_loudness = flag(arguments.remove("match_loudness"), "match_loudness", false)?;
        let pad_tail = flag(arguments.remove("pad_tail"), "pad_tail", true)?;
        let format = match arguments.remove("format") {
            None | Some(Value::Null) => SampleFormat::Float32,
            Some(Value::String(s)) if s == "float32" => SampleFormat::Float32,
            Some(Value::String(s)) if s == "pcm16" => SampleFormat::Pcm16,
            Some(_) => return Err("format must be \"float32\" or \"pcm16\"".into()),
        };
        Ok(FileArguments {
            input,
            output,
            options: ExecuteOptions {
                policy,
                render: RenderOptions {
                    pad_tail,
                    ..RenderOptions::default()
                },
                match_loudness,
            },
            format,
        })
    }

    /// Reads the input, executes `calls`, writes the output; returns the result object.
    fn run(&self, calls: &[ToolCall]) -> Result<Value, String> {
        let input =
            wav::read(&self.input).map_err(|e| format!("cannot read the input WAV: {e}"))?;
        let started = Instant::now();
        let done = execute_calls(&input, calls, self.options).map_err(|e| e.to_string())?;
        let render_seconds = started.elapsed().as_secs_f64();
        let clipped = wav::write(&self.output, &done.audio, self.format)
            .map_err(|e| format!("cannot write the output WAV: {e}"))?;
        let report = serde_json::to_value(&done.report).map_err(|e| e.to_string())?;
        Ok(json!({
            "output_path": shown(&self.output),
            "samples_clipped_in_file": clipped,
            "render_seconds": render_seconds,
            "report": report,
        }))
    }
}

/// The absolute form of `path` where it can be formed (clients may run elsewhere).
fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn wav_path(value: Option<Value>, what: &str) -> Result<PathBuf, String> {
    let Some(Value::String(path)) = value else {
        return Err(format!("{what} is required: a path to a .wav file"));
    };
    let is_wav = Path::new(&path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    if !is_wav || path.trim() != path {
        return Err(format!(
            "{what} must be a path ending in .wav (got {path:?}); only WAV files are read and written"
        ));
    }
    Ok(PathBuf::from(path))
}

fn flag(value: Option<Value>, what: &str, default: bool) -> Result<bool, String> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err(format!("{what} must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::buffer::AudioBuffer;
    use genlab_core::train::SeededRng;
    use rand::Rng;

    fn tone(path: &Path, channels: usize) {
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.06).sin() * 0.25).collect();
        let audio = AudioBuffer::new(16000, vec![x; channels]).unwrap();
        wav::write(path, &audio, SampleFormat::Pcm16).unwrap();
    }

    fn request(server: &mut Server, id: i64, method: &str, params: Value) -> Value {
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let reply = server
            .handle_line(&line.to_string())
            .expect("a request gets a response");
        let v: Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["jsonrpc"], "2.0");
        assert_eq!(v["id"], id);
        v
    }

    fn call(server: &mut Server, name: &str, arguments: Value) -> Value {
        request(
            server,
            7,
            "tools/call",
            json!({"name": name, "arguments": arguments}),
        )["result"]
            .clone()
    }

    fn error_code(reply: Option<String>) -> i64 {
        let v: Value = serde_json::from_str(&reply.expect("an error response")).unwrap();
        v["error"]["code"].as_i64().expect("an error object")
    }

    #[test]
    fn initialize_negotiates_the_version_and_declares_tools() {
        let mut s = Server::new();
        let init = |v: &str| json!({"protocolVersion": v, "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}});
        let r = request(&mut s, 1, "initialize", init("2025-06-18"));
        assert_eq!(r["result"]["protocolVersion"], "2025-06-18");
        assert_eq!(s.protocol_version(), Some("2025-06-18"));
        assert_eq!(r["result"]["capabilities"]["tools"]["listChanged"], false);
        assert_eq!(r["result"]["serverInfo"]["name"], "genlab-fx");
        let r = request(&mut s, 2, "initialize", init("1999-01-01"));
        assert_eq!(r["result"]["protocolVersion"], PROTOCOL_VERSION);
        let r = request(&mut s, 3, "initialize", json!({}));
        assert_eq!(r["error"]["code"], INVALID_PARAMS);
        assert_eq!(
            s.handle_line(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            None
        );
        let r = request(&mut s, 4, "ping", json!({}));
        assert_eq!(r["result"], json!({}));
    }

    #[test]
    fn tools_list_is_generated_from_the_spec_table() {
        let mut s = Server::new();
        let r = request(&mut s, 1, "tools/list", json!({}));
        let tools = r["result"]["tools"].as_array().unwrap();
        assert_eq!(tools.len(), EFFECTS.len() + 2);
        assert_eq!(tools[0]["name"], APPLY_CHAIN);
        assert_eq!(tools[1]["name"], LIST_EFFECTS);
        let mut names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), tools.len(), "tool names are unique");
        for t in tools {
            let name = t["name"].as_str().unwrap();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            );
            let schema = &t["inputSchema"];
            assert_eq!(schema["type"], "object");
            assert_eq!(schema["additionalProperties"], false);
            let props = schema["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for req in schema["required"].as_array().cloned().unwrap_or_default() {
                assert!(props.contains_key(req.as_str().unwrap()), "{name}: {req}");
            }
        }
        let mut shared: Vec<String> = file_properties().keys().cloned().collect();
        shared.sort();
        let mut expected: Vec<&str> = FILE_ARGUMENTS.to_vec();
        expected.sort();
        assert_eq!(shared, expected);
        for (t, e) in tools[2..].iter().zip(EFFECTS) {
            assert_eq!(t["name"], e.name);
            let props = t["inputSchema"]["properties"].as_object().unwrap();
            assert_eq!(props.len(), e.params.len() + FILE_ARGUMENTS.len());
            for p in e.params {
                assert!(!FILE_ARGUMENTS.contains(&p.name), "{} collides", p.name);
                let s = &props[p.name];
                assert_eq!(s["type"], "number");
                assert_eq!(s["minimum"].as_f64(), Some(p.min));
                assert_eq!(s["maximum"].as_f64(), Some(p.max));
                assert_eq!(s["default"].as_f64(), Some(p.default));
            }
        }
        let chain_names = &tools[0]["inputSchema"]["properties"]["chain"]["anyOf"][0]["items"]["properties"]
            ["name"]["enum"];
        assert_eq!(chain_names.as_array().unwrap().len(), EFFECTS.len());
        let r = request(&mut s, 2, "tools/list", json!({"cursor": "page-2"}));
        assert_eq!(r["error"]["code"], INVALID_PARAMS);
    }

    /// A structural check of a schema against the JSON Schema 2020-12 keywords it may use:
    /// every keyword known and of the right JSON type, `required` naming declared properties,
    /// and every `default` / `enum` value satisfying its own schema's type and bounds.
    fn check_schema(s: &Value, at: &str) {
        let obj = s
            .as_object()
            .unwrap_or_else(|| panic!("{at}: a schema is an object"));
        for (k, v) in obj {
            let ok = match k.as_str() {
                "type" => ["object", "string", "number", "boolean", "array"]
                    .contains(&v.as_str().unwrap_or_default()),
                "description" | "pattern" => v.is_string(),
                "minimum" | "maximum" => v.is_number(),
                "additionalProperties" => v.is_boolean(),
                "required" => v.as_array().is_some_and(|r| {
                    r.iter().all(|n| {
                        n.as_str()
                            .is_some_and(|n| obj["properties"].get(n).is_some())
                    })
                }),
                "enum" => v.as_array().is_some_and(|e| !e.is_empty()),
                "default" => true,
                "properties" => {
                    for (name, p) in v.as_object().expect("properties is an object") {
                        check_schema(p, &format!("{at}.{name}"));
                    }
                    true
                }
                "items" => {
                    check_schema(v, &format!("{at}[]"));
                    true
                }
                "anyOf" => {
                    for (i, p) in v.as_array().expect("anyOf is a list").iter().enumerate() {
                        check_schema(p, &format!("{at}|{i}"));
                    }
                    true
                }
                _ => false,
            };
            assert!(ok, "{at}: bad or unknown keyword {k}: {v}");
        }
        let fits = |x: &Value| match obj.get("type").and_then(Value::as_str) {
            Some("number") => x.as_f64().is_some_and(|x| {
                obj.get("minimum").is_none_or(|m| x >= m.as_f64().unwrap())
                    && obj.get("maximum").is_none_or(|m| x <= m.as_f64().unwrap())
            }),
            Some("string") => x.is_string(),
            Some("boolean") => x.is_boolean(),
            _ => true,
        };
        for x in obj
            .get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(fits(x), "{at}: enum value {x}");
        }
        if let Some(d) = obj.get("default") {
            assert!(fits(d), "{at}: default {d}");
            if let Some(e) = obj.get("enum").and_then(Value::as_array) {
                assert!(e.contains(d), "{at}: default {d} not in the enum");
            }
        }
    }

    #[test]
    fn every_input_schema_is_well_formed_and_annotated() {
        for t in tools() {
            let name = t["name"].as_str().unwrap();
            check_schema(&t["inputSchema"], name);
            let read_only = t["annotations"]["readOnlyHint"].as_bool().unwrap();
            assert_eq!(read_only, name == LIST_EFFECTS, "{name}");
        }
    }

    #[test]
    fn list_effects_returns_the_spec_table() {
        let mut s = Server::new();
        let r = call(&mut s, LIST_EFFECTS, json!({}));
        assert_eq!(r["isError"], false);
        let text: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, r["structuredContent"]);
        let effects = text["effects"].as_array().unwrap();
        assert_eq!(effects.len(), EFFECTS.len());
        for (v, e) in effects.iter().zip(EFFECTS) {
            assert_eq!(v["name"], e.name);
            for (vp, p) in v["params"].as_array().unwrap().iter().zip(e.params) {
                assert_eq!(vp["unit"], p.unit);
                assert_eq!(vp["step"].as_f64(), Some(p.step));
                assert_eq!(vp["default"].as_f64(), Some(p.default));
            }
        }
        assert_eq!(call(&mut s, LIST_EFFECTS, json!({"x": 1}))["isError"], true);
    }

    #[test]
    fn apply_chain_writes_a_wav_and_reports() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        let output = dir.path().join("sub").join("out.WAV");
        tone(&input, 1);
        let mut s = Server::new();
        let r = call(
            &mut s,
            APPLY_CHAIN,
            json!({
                "input_path": input, "output_path": output,
                "chain": [{"name": "gain", "arguments": {"gain_db": 6}},
                          {"name": "panner", "arguments": {"pan": 1.5}}],
            }),
        );
        assert_eq!(r["isError"], false, "{r}");
        let body: Value = serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap();
        let report = &body["report"];
        assert_eq!(report["policy"], "clamp");
        assert_eq!(report["upmixed_to_stereo"], true);
        assert_eq!(report["adjustments"][0]["kind"], "clamped");
        assert_eq!(report["chain"][1]["arguments"]["pan"], 1.0);
        let written = wav::read(&output).unwrap();
        assert_eq!(written.n_channels(), 2);
        assert_eq!(Path::new(body["output_path"].as_str().unwrap()), output);
        // Hard right: 6 dB up on the right, silence on the left (to float32 precision).
        let input_peak = wav::read(&input).unwrap().peak() as f64;
        let right_peak = written.channels[1].iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
        assert!((right_peak / input_peak - 10f64.powf(6.0 / 20.0)).abs() < 1e-3);
        assert!(written.channels[0].iter().all(|x| x.abs() < 1e-6));

        // The same chain as model text, and a single-effect tool.
        let text = "<tool_call>{'name': 'gain', 'arguments': {'gain_db': -6}}</tool_call>";
        let r = call(
            &mut s,
            APPLY_CHAIN,
            json!({"input_path": input, "output_path": output, "chain": text, "format": "pcm16"}),
        );
        assert_eq!(r["isError"], false, "{r}");
        let r = call(
            &mut s,
            "reverb",
            json!({"input_path": input, "output_path": output, "mix": 0.5, "pad_tail": false}),
        );
        assert_eq!(r["isError"], false, "{r}");
        let defaulted = r["structuredContent"]["report"]["adjustments"]
            .as_array()
            .unwrap();
        assert_eq!(
            defaulted.len(),
            3,
            "room_size, damping and width take defaults"
        );
        assert_eq!(wav::read(&output).unwrap().len(), 4000, "no tail");
    }

    #[test]
    fn tool_failures_are_results_with_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        tone(&input, 2);
        let out = dir.path().join("out.wav");
        let mut s = Server::new();
        let failing = [
            (
                APPLY_CHAIN,
                json!({"input_path": dir.path().join("missing.wav"), "output_path": out, "chain": []}),
                "cannot read",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": dir.path().join("out.mp3"), "chain": []}),
                ".wav",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": out, "chain": [{"name": "gain", "arguments": {"gain_db": 60}}], "policy": "reject"}),
                "gain_db",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": out, "chain": [{"name": "flanger", "arguments": {}}]}),
                "unknown tool",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": out}),
                "chain",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": out, "chain": 3}),
                "chain",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": out, "chain": [], "policy": "maybe"}),
                "policy",
            ),
            (
                APPLY_CHAIN,
                json!({"input_path": input, "output_path": out, "chain": [], "volume": 3}),
                "unknown argument `volume`",
            ),
            ("gain", json!({"input_path": input}), "output_path"),
            (
                "gain",
                json!({"input_path": input, "output_path": out, "gain_db": "loud"}),
                "gain_db",
            ),
            (
                "delay",
                json!({"input_path": input, "output_path": out, "policy": "reject"}),
                "delay",
            ),
        ];
        for (tool, args, needle) in failing {
            let r = call(&mut s, tool, args.clone());
            assert_eq!(r["isError"], true, "{tool} {args}");
            let msg = r["content"][0]["text"].as_str().unwrap();
            assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
        }
        assert!(!out.exists());
    }

    #[test]
    fn protocol_errors_use_json_rpc_codes_and_notifications_get_nothing() {
        let mut s = Server::new();
        assert_eq!(error_code(s.handle_line("{not json")), PARSE_ERROR);
        assert_eq!(
            error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#)),
            METHOD_NOT_FOUND
        );
        assert_eq!(
            error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":1,"method":"server/discover"}"#)),
            METHOD_NOT_FOUND
        );
        assert_eq!(
            error_code(s.handle_line(
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#
            )),
            INVALID_PARAMS
        );
        assert_eq!(
            error_code(
                s.handle_line(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#)
            ),
            INVALID_PARAMS
        );
        assert_eq!(error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gain","arguments":[1]}}"#)), INVALID_PARAMS);
        assert_eq!(
            error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#)),
            INVALID_PARAMS
        );
        assert_eq!(
            error_code(s.handle_line(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#)),
            INVALID_REQUEST
        );
        assert_eq!(
            error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)),
            INVALID_REQUEST
        );
        assert_eq!(
            error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#)),
            INVALID_REQUEST
        );
        let v: Value = serde_json::from_str(&s.handle_line("[1, 2]").unwrap()).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[1]["error"]["code"], INVALID_REQUEST);
        assert_eq!(error_code(s.handle_line("[]")), INVALID_REQUEST);
        assert_eq!(error_code(s.handle_line("42")), INVALID_REQUEST);
        for quiet in [
            "",
            "   ",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#,
            r#"{"jsonrpc":"2.0","method":"no/such/notification"}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"nope"}}"#,
            r#"{"jsonrpc":"2.0","id":9,"result":{}}"#,
            r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#,
        ] {
            assert_eq!(s.handle_line(quiet), None, "{quiet:?}");
        }
        // A batch answers its requests only, in order.
        let batch = s
            .handle_line(r#"[{"jsonrpc":"2.0","id":"a","method":"ping"},{"jsonrpc":"2.0","method":"x"},{"jsonrpc":"2.0","id":"b","method":"y"}]"#)
            .unwrap();
        let v: Value = serde_json::from_str(&batch).unwrap();
        assert_eq!(v[0]["id"], "a");
        assert_eq!(v[1]["error"]["code"], METHOD_NOT_FOUND);
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn serve_answers_line_by_line_and_stops_at_end_of_input() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}"#);
        bytes.extend_from_slice(b"\n");
        bytes.extend_from_slice(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        bytes.extend_from_slice(b"\r\n\n\xFFgarbage\n"); // a blank line, then invalid UTF-8
        // The last message has no newline: end of input ends it.
        bytes.extend_from_slice(br#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
        let mut out = Vec::new();
        serve(&bytes[..], &mut out).unwrap();
        let lines: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["result"]["protocolVersion"], "2025-11-25");
        assert_eq!(lines[1]["error"]["code"], PARSE_ERROR);
        assert_eq!(
            lines[2]["result"]["tools"].as_array().unwrap().len(),
            EFFECTS.len() + 2
        );
    }

    #[test]
    fn an_overlong_line_is_a_parse_error_and_the_next_line_is_served() {
        let mut bytes = vec![b'x'; MAX_MESSAGE_BYTES + 10];
        bytes.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}\n");
        let mut out = Vec::new();
        serve(&bytes[..], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["error"]["code"], PARSE_ERROR);
        assert_eq!(lines[1]["id"], 5);
    }

    /// Random lines: mutations of valid messages, random JSON, random bytes. Every line must be
    /// answered with one well-formed response or nothing, never a panic.
    #[test]
    fn fuzz_random_lines_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.wav");
        tone(&input, 1);
        let out = dir.path().join("out.wav");
        let valid = [
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}),
            json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
            json!({"jsonrpc":"2.0","id":"x","method":"tools/list","params":{}}),
            json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"apply_chain","arguments":{"input_path":input,"output_path":out,"chain":[{"name":"delay","arguments":{"delay_seconds":0.05,"feedback":0.2,"mix":0.3}}],"pad_tail":false}}}),
            json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"gain","arguments":{"input_path":input,"output_path":out,"gain_db":[[0,-3],[0.1,3]]}}}),
            json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_effects"}}),
        ]
        .map(|v| v.to_string());
        let alphabet = b"{}[]\":,0123456789.-eE truefalsnul\\/ABCxyz_\t";
        let mut rng = SeededRng::new(11);
        let rng = rng.rng();
        let mut server = Server::new();
        for round in 0..3000 {
            let line: String = match round % 3 {
                0 => {
                    let mut b = valid[rng.random_range(0..valid.len())].clone().into_bytes();
                    for _ in 0..rng.random_range(1..4) {
                        let i = rng.random_range(0..b.len());
                        match rng.random_range(0..3) {
                            0 => b[i] = alphabet[rng.random_range(0..alphabet.len())],
                            1 => {
                                b.remove(i);
                            }
                            _ => b.insert(i, alphabet[rng.random_range(0..alphabet.len())]),
                        }
                        if b.is_empty() {
                            break;
                        }
                    }
                    String::from_utf8_lossy(&b).into_owned()
                }
                1 => (0..rng.random_range(0..60))
                    .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
                    .collect(),
                _ => {
                    let bytes: Vec<u8> =
                        (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            if let Some(reply) = server.handle_line(&line) {
                assert!(!reply.contains('\n'));
                let v: Value = serde_json::from_str(&reply).expect("replies are JSON");
                let single = v.as_array().map(|a| a[0].clone()).unwrap_or(v);
                assert_eq!(single["jsonrpc"], "2.0", "{line:?} -> {single}");
                assert!(single.get("result").is_some() != single.get("error").is_some());
            }
        }
    }
}
