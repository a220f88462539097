//! The JSON-RPC side of the server: the stdio line loop, the request state machine
//! (`initialize`, `ping`, `tools/list`, `tools/call`), version negotiation, and how a tool's
//! outcome becomes a response.

use std::io::{BufRead, Read, Write};

use serde_json::{Map, Value, json};

use super::catalog::tools;
use super::files::run_tool;
use super::*;
use crate::error::FxError;

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
        // The engine is not expected to panic, but a server that dies takes the client's whole
        // session with it: a panic becomes a tool error instead.
        let ran =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_tool(&name, arguments)));
        let outcome = match ran {
            // An unknown tool is a protocol error (MCP `server/tools`, "Error Handling"); an
            // unknown effect inside a chain is the model's mistake to read and fix.
            Ok(Err(FxError::UnknownEffect { call: None, .. })) => {
                return Err((INVALID_PARAMS, format!("Unknown tool: {name}")));
            }
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!("internal error while running `{name}`")),
        };
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
