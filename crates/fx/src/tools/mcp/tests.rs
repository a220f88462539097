//! The MCP server end to end: handshake, tool list, tool calls over files, protocol errors,
//! the stdio loop and a fuzz test.

use std::path::{Path, PathBuf};

use genlab_core::train::SeededRng;
use rand::Rng;
use serde_json::{Value, json};

use super::catalog::file_properties;
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
    let input = tone_in(dir.path(), 1);
    let output = dir.path().join("sub").join("out.WAV");
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
    let input = tone_in(dir.path(), 2);
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
        error_code(s.handle_line(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#)),
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
    let input = tone_in(dir.path(), 1);
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
                let bytes: Vec<u8> = (0..rng.random_range(0..40)).map(|_| rng.random()).collect();
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
