//! The MCP server end to end through [`serve`] (the rmcp service behind the line bridge):
//! handshake, tool list, tool calls over files, `estimate_chain` with progress, resources,
//! protocol errors, the stdio loop and a fuzz test.

use std::path::{Path, PathBuf};

use genlab_core::train::SeededRng;
use rand::Rng;
use serde_json::{Value, json};

use super::catalog::file_properties;
use super::estimate::ARGUMENTS;
use super::*;
use crate::engine::buffer::AudioBuffer;
use crate::engine::spec::EFFECTS;
use crate::engine::wav::{self, SampleFormat};

/// Writes a quarter-second tone of `channels` channels to `dir/in.wav` and returns the path.
fn tone_in(dir: &Path, channels: usize) -> PathBuf {
    let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.06).sin() * 0.25).collect();
    let audio = AudioBuffer::new(16000, vec![x; channels]).unwrap();
    let path = dir.join("in.wav");
    wav::write(&path, &audio, SampleFormat::Pcm16).unwrap();
    path
}

fn initialize(version: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": version, "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}})
}

const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Serves `lines` (one message each) and returns every output line, parsed.
fn run_lines(lines: &[String]) -> Vec<Value> {
    let mut input = lines.join("\n").into_bytes();
    input.push(b'\n');
    let mut out = Vec::new();
    serve(&input[..], &mut out).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// An initialised session (2025-11-25) running `messages`; returns the output after the
/// initialize response.
fn session(messages: &[Value]) -> Vec<Value> {
    let mut lines = vec![
        initialize("2025-11-25").to_string(),
        INITIALIZED.to_string(),
    ];
    lines.extend(messages.iter().map(Value::to_string));
    let mut out = run_lines(&lines);
    assert_eq!(out[0]["id"], "init", "{}", out[0]);
    out.remove(0);
    out
}

fn call_message(id: i64, name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
}

/// The result of one tool call in a fresh session.
fn call(name: &str, arguments: Value) -> Value {
    let out = session(&[call_message(7, name, arguments)]);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["id"], 7);
    out[0]["result"].clone()
}

fn body(result: &Value) -> Value {
    serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap()
}

#[test]
fn initialize_negotiates_the_version_and_declares_tools_and_resources() {
    let lines = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "ping"}).to_string(),
        initialize("2025-06-18").to_string(),
        initialize("1999-01-01").to_string(),
        json!({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {}}).to_string(),
        INITIALIZED.to_string(),
        json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}).to_string(),
    ];
    let out = run_lines(&lines);
    assert_eq!(out.len(), 5, "{out:?}");
    assert_eq!(out[0]["result"], json!({}), "ping before initialize");
    let first = &out[1]["result"];
    assert_eq!(first["protocolVersion"], "2025-06-18");
    assert_eq!(first["capabilities"]["tools"]["listChanged"], false);
    assert!(first["capabilities"]["resources"].is_object());
    assert_eq!(first["serverInfo"]["name"], "genlab-fx");
    assert!(
        first["instructions"]
            .as_str()
            .unwrap()
            .contains("apply_chain")
    );
    assert_eq!(
        out[2]["result"]["protocolVersion"], "2025-11-25",
        "unknown → newest"
    );
    assert_eq!(out[3]["error"]["code"], INVALID_PARAMS);
    assert_eq!(out[4]["id"], 4);
    assert_eq!(out[4]["result"], json!({}));
}

#[test]
fn tools_list_is_generated_from_the_spec_table() {
    let out = session(&[
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"cursor": "page-2"}}),
    ]);
    let tools = out[0]["result"]["tools"].as_array().unwrap();
    // The SDK's tool type carries our schemas through unchanged.
    assert_eq!(tools, &super::tools());
    assert_eq!(tools.len(), EFFECTS.len() + 3);
    assert_eq!(tools[0]["name"], APPLY_CHAIN);
    assert_eq!(tools[1]["name"], LIST_EFFECTS);
    assert_eq!(tools[2]["name"], ESTIMATE_CHAIN);
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
    let estimate_props: Vec<&String> = tools[2]["inputSchema"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(estimate_props.len(), ARGUMENTS.len());
    assert!(
        ARGUMENTS
            .iter()
            .all(|a| estimate_props.iter().any(|p| p == a))
    );
    for (t, e) in tools[3..].iter().zip(EFFECTS) {
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
    assert_eq!(out[1]["error"]["code"], INVALID_PARAMS, "a cursor");
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
            "type" => ["object", "string", "number", "integer", "boolean", "array"]
                .contains(&v.as_str().unwrap_or_default()),
            "description" | "pattern" => v.is_string(),
            "minimum" | "maximum" | "exclusiveMinimum" => v.is_number(),
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
    let bounded = |x: f64| {
        obj.get("minimum").is_none_or(|m| x >= m.as_f64().unwrap())
            && obj.get("maximum").is_none_or(|m| x <= m.as_f64().unwrap())
            && obj
                .get("exclusiveMinimum")
                .is_none_or(|m| x > m.as_f64().unwrap())
    };
    let fits = |x: &Value| match obj.get("type").and_then(Value::as_str) {
        Some("number") => x.as_f64().is_some_and(bounded),
        Some("integer") => x.as_i64().is_some_and(|i| bounded(i as f64)),
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
        assert_eq!(
            read_only,
            name == LIST_EFFECTS || name == ESTIMATE_CHAIN,
            "{name}"
        );
    }
}

#[test]
fn list_effects_returns_the_spec_table() {
    let out = session(&[
        call_message(1, LIST_EFFECTS, json!({})),
        call_message(2, LIST_EFFECTS, json!({"x": 1})),
    ]);
    let r = &out[0]["result"];
    assert_eq!(r["isError"], false);
    let text = body(r);
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
    assert_eq!(out[1]["result"]["isError"], true);
}

#[test]
fn structured_content_only_from_2025_06_18() {
    let lines = [
        initialize("2025-03-26").to_string(),
        INITIALIZED.to_string(),
        call_message(1, LIST_EFFECTS, json!({})).to_string(),
    ];
    let out = run_lines(&lines);
    assert_eq!(out[0]["result"]["protocolVersion"], "2025-03-26");
    assert_eq!(out[1]["result"]["isError"], false);
    assert!(out[1]["result"].get("structuredContent").is_none());
}

#[test]
fn apply_chain_writes_a_wav_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let input = tone_in(dir.path(), 1);
    let output = dir.path().join("sub").join("out.WAV");
    let r = call(
        APPLY_CHAIN,
        json!({
            "input_path": input, "output_path": output,
            "chain": [{"name": "gain", "arguments": {"gain_db": 6}},
                      {"name": "panner", "arguments": {"pan": 1.5}}],
        }),
    );
    assert_eq!(r["isError"], false, "{r}");
    let body = body(&r);
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
    let out = session(&[
        call_message(
            1,
            APPLY_CHAIN,
            json!({"input_path": input, "output_path": output, "chain": text, "format": "pcm16"}),
        ),
        call_message(
            2,
            "reverb",
            json!({"input_path": input, "output_path": output, "mix": 0.5, "pad_tail": false}),
        ),
    ]);
    assert_eq!(out[0]["result"]["isError"], false, "{}", out[0]);
    let r = &out[1]["result"];
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
    let input = tone_in(dir.path(), 2);
    let out = dir.path().join("out.wav");
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
            "volume is not an argument",
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
        (ESTIMATE_CHAIN, json!({"dry_path": input}), "wet_path"),
        (
            ESTIMATE_CHAIN,
            json!({"dry_path": input, "wet_path": input, "budget": 0}),
            "budget",
        ),
        (
            ESTIMATE_CHAIN,
            json!({"dry_path": input, "wet_path": input, "budget": 2.5}),
            "budget",
        ),
        (
            ESTIMATE_CHAIN,
            json!({"dry_path": input, "wet_path": input, "max_effects": 99}),
            "max_effects",
        ),
        (
            ESTIMATE_CHAIN,
            json!({"dry_path": input, "wet_path": input, "max_seconds": -1}),
            "max_seconds",
        ),
        (
            ESTIMATE_CHAIN,
            json!({"dry_path": input, "wet_path": dir.path().join("nope.wav")}),
            "cannot read",
        ),
        (
            ESTIMATE_CHAIN,
            json!({"dry_path": input, "wet_path": input, "speed": 2}),
            "speed is not an argument",
        ),
    ];
    let messages: Vec<Value> = failing
        .iter()
        .enumerate()
        .map(|(i, (tool, args, _))| call_message(i as i64, tool, args.clone()))
        .collect();
    let replies = session(&messages);
    assert_eq!(replies.len(), failing.len());
    for ((tool, args, needle), reply) in failing.iter().zip(&replies) {
        let r = &reply["result"];
        assert_eq!(r["isError"], true, "{tool} {args}: {reply}");
        let msg = r["content"][0]["text"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
    }
    assert!(!out.exists());
}

/// A dry tone and the same tone through a known chain, written as WAVs. The gain is on the
/// gain grid (2 dB steps): below its threshold, pedalboard's limiter is a pure gain of
/// 3.75 − threshold dB, so an off-grid +9 dB reads as well as a limiter at −5 dB (+8.75).
fn known_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let dry = tone_in(dir, 1);
    let wet = dir.join("wet.wav");
    let r = call(
        "gain",
        json!({"input_path": dry, "output_path": wet, "gain_db": 8}),
    );
    assert_eq!(r["isError"], false, "{r}");
    (dry, wet)
}

#[test]
fn estimate_chain_finds_a_known_gain_and_reports_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (dry, wet) = known_pair(dir.path());
    let mut message = call_message(
        5,
        ESTIMATE_CHAIN,
        json!({"dry_path": dry, "wet_path": wet, "max_effects": 1, "budget": 60}),
    );
    message["params"]["_meta"] = json!({"progressToken": "est-1"});
    let out = session(&[message]);
    let (progress, rest): (Vec<&Value>, Vec<&Value>) = out
        .iter()
        .partition(|m| m["method"] == "notifications/progress");
    assert_eq!(rest.len(), 1, "{out:?}");
    let r = &rest[0]["result"];
    assert_eq!(r["isError"], false, "{r}");
    let found = &r["structuredContent"];
    assert_eq!(found["chain"][0]["name"], "gain", "{found}");
    let gain = found["chain"][0]["arguments"]["gain_db"].as_f64().unwrap();
    assert!((gain - 8.0).abs() <= 1.5, "gain_db {gain}");
    let (mrstft, no_op) = (
        found["mrstft"].as_f64().unwrap(),
        found["mrstft_no_op"].as_f64().unwrap(),
    );
    assert!(mrstft < 0.5 * no_op, "{mrstft} vs no-op {no_op}");
    assert!(found["renders"].as_u64().unwrap() <= 60 + 3);
    assert!(!found["rationale"].as_str().unwrap().is_empty());
    // Reading, searching, scoring, done — in order, before the response, with the token.
    assert!(progress.len() >= 4, "{progress:?}");
    let values: Vec<f64> = progress
        .iter()
        .map(|p| {
            assert_eq!(p["params"]["progressToken"], "est-1");
            p["params"]["progress"].as_f64().unwrap()
        })
        .collect();
    assert!(values.windows(2).all(|w| w[1] > w[0]), "{values:?}");
    let messages: Vec<&str> = progress
        .iter()
        .map(|p| p["params"]["message"].as_str().unwrap())
        .collect();
    assert!(messages[0].starts_with("reading"), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("searching")));
    assert!(messages.last().unwrap().starts_with("done"));
    assert_eq!(out.last().unwrap()["id"], 5, "the response comes last");
}

#[test]
fn a_call_without_a_progress_token_gets_no_progress() {
    let dir = tempfile::tempdir().unwrap();
    let input = tone_in(dir.path(), 1);
    let out = session(&[call_message(
        1,
        "gain",
        json!({"input_path": input, "output_path": dir.path().join("o.wav")}),
    )]);
    assert_eq!(out.len(), 1, "{out:?}");
}

#[test]
fn resources_document_every_effect() {
    let out = session(&[
        json!({"jsonrpc": "2.0", "id": 1, "method": "resources/list"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/read", "params": {"uri": "genlab-fx://effects/reverb"}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "resources/read", "params": {"uri": "genlab-fx://effects"}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": "genlab-fx://effects/flanger"}}),
    ]);
    let listed = out[0]["result"]["resources"].as_array().unwrap();
    assert_eq!(listed.len(), EFFECTS.len() + 1);
    for (r, uri) in listed.iter().zip(resource_uris()) {
        assert_eq!(r["uri"], uri.as_str());
        assert_eq!(r["mimeType"], "text/markdown");
        let text = resource_text(&uri).unwrap();
        assert_eq!(r["size"].as_u64(), Some(text.len() as u64));
    }
    let page = &out[1]["result"]["contents"][0];
    assert_eq!(page["uri"], "genlab-fx://effects/reverb");
    let text = page["text"].as_str().unwrap();
    let reverb = crate::engine::spec::effect("reverb").unwrap();
    assert!(text.contains(reverb.description));
    for p in reverb.params {
        assert!(text.contains(&format!("| `{}` |", p.name)), "{}", p.name);
    }
    let index = out[2]["result"]["contents"][0]["text"].as_str().unwrap();
    assert!(
        EFFECTS
            .iter()
            .all(|e| index.contains(&format!("genlab-fx://effects/{}", e.name)))
    );
    assert_eq!(out[3]["error"]["code"], -32002, "resource not found");
}

#[test]
fn protocol_errors_use_json_rpc_codes_and_notifications_get_nothing() {
    let quiet = [
        "",
        "   ",
        INITIALIZED,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#,
        r#"{"jsonrpc":"2.0","method":"no/such/notification"}"#,
        r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"nope"}}"#,
        r#"{"jsonrpc":"2.0","id":9,"result":{}}"#,
        r#"{"no":"id"}"#,
    ];
    let answered = [
        ("{not json", PARSE_ERROR),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#,
            METHOD_NOT_FOUND,
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"prompts/list"}"#,
            METHOD_NOT_FOUND,
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope"}}"#,
            INVALID_PARAMS,
        ),
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{}}"#,
            INVALID_PARAMS,
        ),
        (
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"gain","arguments":[1]}}"#,
            INVALID_PARAMS,
        ),
        (
            r#"{"jsonrpc":"1.0","id":6,"method":"ping"}"#,
            INVALID_REQUEST,
        ),
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            INVALID_REQUEST,
        ),
        (
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            INVALID_REQUEST,
        ),
        (r#"{"jsonrpc":"2.0","id":7}"#, INVALID_REQUEST),
        ("[1, 2]", INVALID_REQUEST),
        ("[]", INVALID_REQUEST),
        ("42", INVALID_REQUEST),
    ];
    let mut lines = vec![initialize("2025-11-25").to_string()];
    lines.extend(quiet.iter().map(|s| s.to_string()));
    lines.extend(answered.iter().map(|(s, _)| s.to_string()));
    lines.push(r#"{"jsonrpc":"2.0","id":"last","method":"ping"}"#.into());
    let out = run_lines(&lines);
    assert_eq!(out.len(), 1 + answered.len() + 1, "{out:#?}");
    for ((line, code), reply) in answered.iter().zip(&out[1..]) {
        assert_eq!(reply["error"]["code"], *code, "{line} -> {reply}");
    }
    assert_eq!(out.last().unwrap()["id"], "last");
}

#[test]
fn serve_answers_line_by_line_and_stops_at_end_of_input() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(initialize("2025-11-25").to_string().as_bytes());
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(INITIALIZED.as_bytes());
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
        EFFECTS.len() + 3
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

/// Random lines: mutations of valid messages, random JSON, random bytes, in one session. Every
/// output line must be one well-formed message, never a panic or a hang.
#[test]
fn fuzz_random_lines_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let input = tone_in(dir.path(), 1);
    let out = dir.path().join("out.wav");
    let valid = [
        initialize("2025-11-25"),
        serde_json::from_str(INITIALIZED).unwrap(),
        json!({"jsonrpc":"2.0","id":"x","method":"tools/list","params":{}}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"apply_chain","arguments":{"input_path":input,"output_path":out,"chain":[{"name":"delay","arguments":{"delay_seconds":0.05,"feedback":0.2,"mix":0.3}}],"pad_tail":false}}}),
        json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"gain","_meta":{"progressToken":1},"arguments":{"input_path":input,"output_path":out,"gain_db":[[0,-3],[0.1,3]]}}}),
        json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_effects"}}),
        json!({"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"genlab-fx://effects/gain"}}),
    ]
    .map(|v| v.to_string());
    let alphabet = b"{}[]\":,0123456789.-eE truefalsnul\\/ABCxyz_\t";
    let mut rng = SeededRng::new(11);
    let rng = rng.rng();
    let mut lines = vec![valid[0].clone()];
    for round in 0..1500 {
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
                let bytes: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
                String::from_utf8_lossy(&bytes).replace('\n', " ")
            }
        };
        lines.push(line);
    }
    let mut input = lines.join("\n").into_bytes();
    input.push(b'\n');
    let mut output = Vec::new();
    serve(&input[..], &mut output).unwrap();
    let text = String::from_utf8(output).unwrap();
    let mut responses = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("replies are JSON");
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        if v.get("method").is_some() {
            assert_eq!(v["method"], "notifications/progress", "{v}");
            continue;
        }
        responses += 1;
        assert!(v.get("result").is_some() != v.get("error").is_some(), "{v}");
    }
    assert!(responses > 100, "{responses} responses");
}

/// The stateless revision (2026-07-28, no handshake): the SDK serves requests that carry their
/// own protocol metadata, and `server/discover`.
#[test]
fn a_stateless_2026_07_28_client_is_served_without_initialize() {
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "0"},
    });
    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
               "params": {"name": LIST_EFFECTS, "arguments": {}, "_meta": meta}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}),
    ]
    .map(|v| v.to_string());
    let out = run_lines(&lines);
    assert_eq!(out.len(), 3, "{out:?}");
    let versions = out[0]["result"]["supportedVersions"].as_array().unwrap();
    assert!(versions.contains(&json!("2026-07-28")), "{}", out[0]);
    assert_eq!(out[1]["result"]["isError"], false, "{}", out[1]);
    assert!(out[1]["result"]["structuredContent"]["effects"].is_array());
    assert_eq!(
        out[2]["error"]["code"], INVALID_PARAMS,
        "no metadata: {}",
        out[2]
    );
}
