//! In-tree fuzzing of fx's readers (issue 25): WAV files, tool-call text (tolerant and strict,
//! then validated), and MCP JSON-RPC lines. Budget: `GENLAB_FUZZ_CASES` (default 300 each).

use genlab_core::testing::{fuzz, rejected};
use genlab_fx::engine::wav::{self, MAX_CHANNELS, SampleFormat};
use genlab_fx::tools::parse::{parse_calls, parse_calls_strict};
use genlab_fx::tools::validate::validate;
use genlab_fx::{AudioBuffer, Policy};

const CASES: u32 = 300;

#[test]
fn fuzz_wav() {
    let tone = |n: usize| -> Vec<f32> { (0..n).map(|i| (i as f32 * 0.1).sin() * 0.5).collect() };
    let seeds: Vec<Vec<u8>> = [
        (1, SampleFormat::Pcm16),
        (2, SampleFormat::Float32),
        (3, SampleFormat::Pcm16),
    ]
    .iter()
    .map(|&(channels, format)| {
        let a = AudioBuffer::new(8000, vec![tone(40); channels]).unwrap();
        wav::encode(&a, format).0
    })
    .collect();
    fuzz("wav", &seeds, CASES, |bytes| match wav::decode(bytes) {
        Ok(a) => {
            let finite = a.channels.iter().flatten().all(|v| v.is_finite());
            if !finite || a.n_channels() == 0 || a.n_channels() > MAX_CHANNELS {
                return Err(format!(
                    "accepted {} channels, finite {finite}",
                    a.n_channels()
                ));
            }
            Ok(true)
        }
        Err(e) => rejected(e),
    });
}

#[test]
fn fuzz_tool_call_text() {
    let seeds: Vec<Vec<u8>> = [
        r#"[{"name": "gain", "arguments": {"gain_db": 3}}, {"name": "panner", "arguments": {"pan": 0.5}}]"#,
        "Sure. <tool_call>{'name': 'gain', 'arguments': {'gain_db': -6}}</tool_call> done",
        r#"{"chain": [{"function": {"name": "distortion", "arguments": "{\"drive_db\": 12}"}}]}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("tool-call text", &seeds, CASES, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let strict = parse_calls_strict(&text);
        let tolerant = parse_calls(&text);
        if let (Ok(s), Err(e)) = (&strict, &tolerant) {
            return Err(format!(
                "strict accepted {} calls the tolerant parser refused: {e}",
                s.len()
            ));
        }
        if let Err(e) = &strict {
            rejected(e)?;
        }
        match tolerant {
            Ok(calls) => match validate(&calls, Policy::Reject) {
                Ok(_) => Ok(strict.is_ok()),
                Err(e) => rejected(e),
            },
            Err(e) => rejected(e),
        }
    });
}

#[test]
fn fuzz_mcp_lines() {
    let seeds: Vec<Vec<u8>> = [
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}\n",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"list_effects\",\"arguments\":{}}}\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("mcp json-rpc", &seeds, CASES, |bytes| {
        let mut out = Vec::new();
        genlab_fx::tools::mcp::serve(bytes, &mut out).map_err(|e| format!("serve failed: {e}"))?;
        // Every response is one JSON line.
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json::from_slice::<serde_json::Value>(line)
                .map_err(|e| format!("a response is not JSON: {e}"))?;
        }
        Ok(true)
    });
}
