//! `genlab fx mcp`: a real MCP client exchange over the server's stdin/stdout.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use genlab_fx::engine::buffer::AudioBuffer;
use genlab_fx::engine::wav::{self, SampleFormat};
use serde_json::{Value, json};

/// The longest any single response may take (a short WAV renders in milliseconds).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A client speaking to a spawned `genlab fx mcp`.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: i64,
}

impl Client {
    fn spawn(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_genlab"))
            .args(["fx", "mcp"])
            .current_dir(dir)
            .env("GENLAB_DATA", dir.join("cache"))
            .env("GENLAB_THREADS", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the genlab binary starts");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        // Lines arrive on a channel so a hung server fails the test instead of hanging it.
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            lines,
            next_id: 1,
        }
    }

    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
    }

    fn receive(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(REPLY_TIMEOUT)
            .expect("the server answers in time");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Sends a request and returns its response, checking the envelope.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let reply = self.receive();
        assert_eq!(reply["jsonrpc"], "2.0");
        assert_eq!(reply["id"], id, "{reply}");
        reply
    }

    fn call_tool(&mut self, name: &str, arguments: Value) -> Value {
        let reply = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        reply["result"].clone()
    }

    /// Closes stdin (the MCP stdio shutdown) and returns the exit code.
    fn close(mut self) -> i32 {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(
            self.lines.recv_timeout(Duration::from_secs(5)).is_err(),
            "nothing after the last response"
        );
        status.code().unwrap_or(-1)
    }
}

fn write_tone(path: &Path) {
    let sr = 22050;
    let x: Vec<f32> = (0..sr / 2)
        .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 330.0 * i as f32 / sr as f32).sin())
        .collect();
    let audio = AudioBuffer::new(sr as u32, vec![x.clone(), x]).unwrap();
    wav::write(path, &audio, SampleFormat::Pcm16).unwrap();
}

#[test]
fn an_mcp_client_lists_tools_and_applies_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    write_tone(&dir.path().join("dry.wav"));
    let mut client = Client::spawn(dir.path());

    let init = client.request(
        "initialize",
        json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "fx-mcp-test", "version": "0.0.1"},
        }),
    );
    let result = &init["result"];
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert!(result["capabilities"]["tools"].is_object());
    assert_eq!(result["serverInfo"]["name"], "genlab-fx");
    client.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));

    let list = client.request("tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"apply_chain") && names.contains(&"list_effects"));
    assert!(names.contains(&"reverb") && names.contains(&"stereo_widener"));
    assert_eq!(tools.len(), 2 + genlab_fx::engine::spec::EFFECTS.len());
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{}", t["name"]);
    }

    // A relative output path resolves against the server's working directory.
    let result = client.call_tool(
        "apply_chain",
        json!({
            "input_path": dir.path().join("dry.wav"),
            "output_path": "wet/room.wav",
            "chain": [
                {"name": "equalizer", "arguments": {"low_gain_db": -3, "mid_gain_db": 2, "high_gain_db": 0}},
                {"name": "reverb", "arguments": {"room_size": 0.6, "damping": 0.4, "width": 1.0, "mix": 0.3}},
                {"name": "gain", "arguments": {"gain_db": 25}},
            ],
            "match_loudness": true,
        }),
    );
    assert_eq!(result["isError"], false, "{result}");
    let body: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap())
        .expect("the text content is the JSON report");
    let out = dir.path().join("wet").join("room.wav");
    assert_eq!(Path::new(body["output_path"].as_str().unwrap()), out);
    let wet = wav::read(&out).expect("the output WAV is readable");
    let report = &body["report"];
    assert_eq!(report["chain"].as_array().unwrap().len(), 3);
    assert_eq!(report["chain"][2]["arguments"]["gain_db"], 20.0, "clamped");
    assert!(report["tail_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(
        wet.len() as f64 / wet.sample_rate as f64,
        report["output_seconds"].as_f64().unwrap()
    );
    let rms_in = report["input"]["rms_dbfs"].as_f64().unwrap();
    let rms_out = report["output"]["rms_dbfs"].as_f64().unwrap();
    assert!((rms_in - rms_out).abs() < 0.01, "{rms_in} vs {rms_out}");

    // A refused call is a tool result with isError, and the session goes on.
    let refused = client.call_tool(
        "gain",
        json!({"input_path": "dry.wav", "output_path": "loud.wav", "gain_db": 40, "policy": "reject"}),
    );
    assert_eq!(refused["isError"], true);
    assert!(
        refused["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("gain_db")
    );
    assert!(!dir.path().join("loud.wav").exists());
    let not_wav = client.call_tool(
        "gain",
        json!({"input_path": "dry.wav", "output_path": "out.mp3"}),
    );
    assert_eq!(not_wav["isError"], true);

    // Protocol errors.
    assert_eq!(
        client.request("resources/list", json!({}))["error"]["code"],
        -32601
    );
    client
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"{oops\n")
        .unwrap();
    assert_eq!(client.receive()["error"]["code"], -32700);
    assert_eq!(client.request("ping", json!({}))["result"], json!({}));

    assert_eq!(client.close(), 0);
}
