//! The tools as `tools/list` describes them, all generated from the spec table: `apply_chain`,
//! `list_effects`, `estimate_chain`, and one tool per effect with the file arguments added.

use serde_json::{Map, Value, json};

use super::estimate::{DEFAULT_MAX_SECONDS, MAX_BUDGET};
use super::{APPLY_CHAIN, ESTIMATE_CHAIN, LIST_EFFECTS};
use crate::engine::spec::EFFECTS;
use crate::estimate::search::SearchOptions;

fn path_schema(what: &str) -> Value {
    json!({
        "type": "string",
        "description": what,
        "pattern": "\\.[wW][aA][vV]$",
    })
}

/// Properties shared by every file-processing tool (the names in [`FILE_ARGUMENTS`]).
pub(super) fn file_properties() -> Map<String, Value> {
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

fn estimate_chain_tool() -> Value {
    let defaults = SearchOptions::default();
    json!({
        "name": ESTIMATE_CHAIN,
        "title": "Estimate Effect Chain",
        "description": "Finds the chain of effects that turns a dry WAV into a processed (wet) one, by analysis-by-synthesis: candidate chains are rendered over the dry audio and compared with the wet audio by multi-resolution STFT distance (MRSTFT). Returns the chain as tool calls (ready for apply_chain), a rationale, and the MRSTFT of the estimate and of no processing. Long: up to `budget` renders; send a progressToken to follow it.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "dry_path": path_schema("The unprocessed WAV."),
                "wet_path": path_schema("The processed WAV (same sample rate and channel count)."),
                "max_effects": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": EFFECTS.len(),
                    "default": defaults.max_effects,
                    "description": "Longest chain to estimate.",
                },
                "budget": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_BUDGET,
                    "default": defaults.budget,
                    "description": "Most candidate renders (time grows with it; a few hundred take seconds on 2 s of audio).",
                },
                "max_seconds": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "default": DEFAULT_MAX_SECONDS,
                    "description": "Analyse only the first max_seconds of the dry file; when the dry file is not cut, up to 0.5 s of the wet file after its end (tails) is kept.",
                },
            },
            "required": ["dry_path", "wet_path"],
            "additionalProperties": false,
        },
        "annotations": {"readOnlyHint": true, "idempotentHint": true, "openWorldHint": false},
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

/// Every tool, as listed by `tools/list`: `apply_chain`, `list_effects`, `estimate_chain`, then
/// one per effect.
pub fn tools() -> Vec<Value> {
    let mut all = vec![
        apply_chain_tool(),
        list_effects_tool(),
        estimate_chain_tool(),
    ];
    all.extend(effect_tools());
    all
}
