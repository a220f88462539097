//! A tolerant parser for tool calls in model output. The ladder (written independently of the
//! LLM2Fx-Tools parser it mirrors in spirit):
//!
//! 1. If the text has `<tool_call>` blocks, only their contents are read (an unclosed last block
//!    runs to the end of the text); otherwise the whole text is read.
//! 2. In the text read, every `{` or `[` is tried as the start of a value in a lenient JSON
//!    dialect: strict JSON plus single-quoted strings, unquoted keys, trailing commas, `+`
//!    signs, and Python's `True`/`False`/`None`. Values that hold no call are skipped and the
//!    scan continues inside them; prose, code fences and trailing text are ignored.
//! 3. A value holds calls if it is an object with a `name` and `arguments` (or `parameters`, or
//!    `args`; arguments given as a JSON string are parsed too), an OpenAI-style
//!    `{"function": {…}}`, a `{"chain" | "tool_calls" | "calls": [...]}` wrapper, or a list of
//!    any of these.
//!
//! The parser never panics (fuzz-tested) and bounds nesting depth and input size.

use serde_json::{Map, Number, Value};

use crate::engine::chain::ToolCall;
use crate::error::{FxError, FxResult};
use genlab_core::limits::excerpt;

/// Largest text accepted.
pub const MAX_TEXT_BYTES: usize = 4 << 20;
const MAX_DEPTH: usize = 64;

/// [`parse_calls`] for the `reject` policy, where nothing may be dropped silently (issue 25:
/// a malformed call was skipped and the rest rendered). On top of the tolerant ladder it
/// fails when text that starts as JSON (`{` or `[`) is not one well-formed value, when a
/// `<tool_call>` block holds no call, and when an object with a `name` has no arguments
/// object — each error says which and quotes at most 80 characters.
pub fn parse_calls_strict(text: &str) -> FxResult<Vec<ToolCall>> {
    let calls = parse_calls(text)?;
    let bad = |what: String| Err(FxError::MalformedCall(what));
    let trimmed = text.trim();
    if trimmed.starts_with(['{', '[']) && Reader::new(trimmed).value_then_end().is_none() {
        return bad(format!(
            "the chain is not well-formed JSON (reject policy: nothing is skipped): {:?}",
            excerpt(trimmed)
        ));
    }
    for (k, block) in tool_call_blocks(text).into_iter().enumerate() {
        let mut found = Vec::new();
        scan(block, &mut found);
        if found.is_empty() {
            return bad(format!(
                "<tool_call> block {} holds no valid call: {:?}",
                k + 1,
                excerpt(block.trim())
            ));
        }
    }
    if let Some(name) = named_without_arguments(text) {
        return bad(format!(
            "call `{}` has no arguments object (reject policy: nothing is skipped)",
            excerpt(&name)
        ));
    }
    Ok(calls)
}

/// The name of the first object in `text` that has a `name` but no usable arguments.
fn named_without_arguments(text: &str) -> Option<String> {
    fn walk(v: &Value, depth: usize) -> Option<String> {
        if depth > MAX_DEPTH {
            return None;
        }
        match v {
            Value::Array(items) => items.iter().find_map(|x| walk(x, depth + 1)),
            Value::Object(o) => {
                if let Some(Value::String(name)) = o.get("name") {
                    let args = ["arguments", "parameters", "args"]
                        .iter()
                        .find_map(|k| o.get(*k))
                        .and_then(arguments);
                    // A call's own arguments are not searched for further calls.
                    return args.is_none().then(|| name.clone());
                }
                o.values().find_map(|x| walk(x, depth + 1))
            }
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' || bytes[i] == b'[' {
            let mut r = Reader::new(&text[i..]);
            if let Some(v) = r.value(0) {
                if let Some(name) = walk(&v, 0) {
                    return Some(name);
                }
                i += r.pos.max(1);
                continue;
            }
        }
        i += 1;
    }
    None
}

/// Extracts every tool call from `text`, in order; errors if there is none.
pub fn parse_calls(text: &str) -> FxResult<Vec<ToolCall>> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(FxError::MalformedCall(format!(
            "tool-call text is {} bytes; the limit is {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    let mut calls = Vec::new();
    let blocks = tool_call_blocks(text);
    if blocks.is_empty() {
        scan(text, &mut calls);
    } else {
        for b in blocks {
            scan(b, &mut calls);
        }
    }
    if calls.is_empty() && !looks_like_empty_chain(text) {
        let shown: String = text.chars().take(80).collect();
        return Err(FxError::MalformedCall(format!(
            "no tool call found in the text (expected {{\"name\": …, \"arguments\": {{…}}}} objects): {shown:?}"
        )));
    }
    Ok(calls)
}

/// `[]` or `{"chain": []}`: an explicitly empty chain (a no-op) is valid.
fn looks_like_empty_chain(text: &str) -> bool {
    match Reader::new(text.trim()).value_then_end() {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o
            .get("chain")
            .and_then(Value::as_array)
            .is_some_and(|a| a.is_empty()),
        _ => false,
    }
}

fn tool_call_blocks(text: &str) -> Vec<&str> {
    const OPEN: &str = "<tool_call>";
    const CLOSE: &str = "</tool_call>";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(OPEN) {
        let body = &rest[i + OPEN.len()..];
        match body.find(CLOSE) {
            Some(j) => {
                blocks.push(&body[..j]);
                rest = &body[j + CLOSE.len()..];
            }
            None => {
                blocks.push(body);
                break;
            }
        }
    }
    blocks
}

fn scan(text: &str, calls: &mut Vec<ToolCall>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' || bytes[i] == b'[' {
            let mut r = Reader::new(&text[i..]);
            if let Some(v) = r.value(0) {
                let found = interpret(&v, 0);
                if !found.is_empty() {
                    calls.extend(found);
                    i += r.pos;
                    continue;
                }
            }
        }
        i += 1;
    }
}

fn interpret(v: &Value, depth: usize) -> Vec<ToolCall> {
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    match v {
        Value::Array(items) => items.iter().flat_map(|x| interpret(x, depth + 1)).collect(),
        Value::Object(o) => {
            if let Some(Value::String(name)) = o.get("name") {
                let args = ["arguments", "parameters", "args"]
                    .iter()
                    .find_map(|k| o.get(*k))
                    .and_then(arguments);
                return match args {
                    Some(arguments) => vec![ToolCall {
                        name: name.trim().to_string(),
                        arguments,
                    }],
                    None => Vec::new(),
                };
            }
            if let Some(f) = o.get("function") {
                return interpret(f, depth + 1);
            }
            ["chain", "tool_calls", "calls"]
                .iter()
                .find_map(|k| o.get(*k))
                .map(|x| interpret(x, depth + 1))
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

fn arguments(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o.clone()),
        Value::String(s) => match Reader::new(s.trim()).value_then_end() {
            Some(Value::Object(o)) => Some(o),
            _ => None,
        },
        _ => None,
    }
}

/// Recursive-descent reader of the lenient JSON dialect.
struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Self {
        Reader {
            s: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    /// One value that spans the whole (trimmed) text.
    fn value_then_end(&mut self) -> Option<Value> {
        let v = self.value(0)?;
        self.ws();
        (self.pos == self.s.len()).then_some(v)
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            q @ (b'"' | b'\'') => self.string(q).map(Value::String),
            b'-' | b'+' | b'.' | b'0'..=b'9' => self.number(),
            _ => {
                let word = self.word();
                match word {
                    "true" | "True" => Some(Value::Bool(true)),
                    "false" | "False" => Some(Value::Bool(false)),
                    "null" | "None" => Some(Value::Null),
                    _ => None,
                }
            }
        }
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.text[start..self.pos]
    }

    fn object(&mut self, depth: usize) -> Option<Value> {
        self.pos += 1;
        let mut map = Map::new();
        loop {
            self.ws();
            match self.peek()? {
                b'}' => {
                    self.pos += 1;
                    return Some(Value::Object(map));
                }
                b',' if !map.is_empty() => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let key = match self.peek()? {
                q @ (b'"' | b'\'') => self.string(q)?,
                c if c.is_ascii_alphabetic() || c == b'_' => self.word().to_string(),
                _ => return None,
            };
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.pos += 1;
            let v = self.value(depth + 1)?;
            map.insert(key, v);
            self.after_item(b'}')?;
        }
    }

    fn array(&mut self, depth: usize) -> Option<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            if self.peek()? == b']' {
                self.pos += 1;
                return Some(Value::Array(items));
            }
            items.push(self.value(depth + 1)?);
            self.after_item(b']')?;
        }
    }

    /// Past an object member or array item: white space, then a `,` (consumed) or `close`
    /// (left for the loop to see); anything else is not JSON.
    fn after_item(&mut self, close: u8) -> Option<()> {
        self.ws();
        match self.peek()? {
            b',' => self.pos += 1,
            c if c == close => {}
            _ => return None,
        }
        Some(())
    }

    fn string(&mut self, quote: u8) -> Option<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(c) = self.peek() {
                if c == quote || c == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            // `start..pos` ends before an ASCII byte (or at the end), so it is a char boundary.
            out.push_str(self.text.get(start..self.pos)?);
            match self.peek()? {
                b'\\' => {
                    self.pos += 1;
                    let c = self.peek()?;
                    self.pos += 1;
                    match c {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let hex = self.text.get(self.pos..self.pos + 4)?;
                            let code = u32::from_str_radix(hex, 16).ok()?;
                            self.pos += 4;
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        c if c.is_ascii() => out.push(c as char),
                        // A backslash before a multi-byte character: keep the character.
                        _ => {
                            self.pos -= 1;
                        }
                    }
                }
                _ => {
                    self.pos += 1;
                    return Some(out);
                }
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        while let Some(c) = self.peek() {
            let exp_sign = matches!(c, b'+' | b'-') && matches!(self.s[self.pos - 1], b'e' | b'E');
            if c.is_ascii_digit() || c == b'.' || c == b'e' || c == b'E' || exp_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = self.text.get(start..self.pos)?.trim_start_matches('+');
        let x: f64 = text.parse().ok()?;
        Number::from_f64(x).map(Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;
    use rand::Rng;
    use serde_json::json;

    fn names(calls: &[ToolCall]) -> Vec<&str> {
        calls.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn tool_call_blocks_with_thinking_and_prose() {
        let text = "<think>It sounds roomy; add reverb after the EQ.</think>\n\
            <tool_call>\n{\"name\": \"equalizer\", \"arguments\": {\"mid_gain_db\": 3}}\n</tool_call>\n\
            <tool_call>\n{\"name\": \"reverb\", \"arguments\": {\"room_size\": 0.7, \"mix\": 0.2}}\n</tool_call>\n\
            I added a gentle mid boost and a medium room.";
        let calls = parse_calls(text).unwrap();
        assert_eq!(names(&calls), vec!["equalizer", "reverb"]);
        assert_eq!(calls[1].arguments["room_size"], json!(0.7));
    }

    #[test]
    fn messy_inputs() {
        // Single-quoted pseudo-JSON with Python literals and a trailing comma.
        let c = parse_calls("{'name': 'gain', 'arguments': {'gain_db': -6, 'x': True,},}").unwrap();
        assert_eq!(c[0].arguments["gain_db"], json!(-6.0));
        // A JSON list of calls inside a code fence, followed by prose.
        let c = parse_calls(
            "Here you go:\n```json\n[{\"name\":\"distortion\",\"arguments\":{\"drive_db\":12}},\
             {\"name\":\"limiter\",\"arguments\":{\"threshold_db\":-1,\"release_ms\":50}}]\n```\nEnjoy!",
        )
        .unwrap();
        assert_eq!(names(&c), vec!["distortion", "limiter"]);
        // OpenAI tool_calls with arguments as a JSON string.
        let c = parse_calls(
            r#"{"tool_calls":[{"type":"function","function":{"name":"panner","arguments":"{\"pan\": -0.5}"}}]}"#,
        )
        .unwrap();
        assert_eq!(c[0].arguments["pan"], json!(-0.5));
        // The estimate output format, unquoted keys, `parameters`, a `+` sign.
        let c = parse_calls(
            r#"{"chain":[{name:"gain",parameters:{gain_db:+3}}],"rationale":"louder"}"#,
        )
        .unwrap();
        assert_eq!(c[0].arguments["gain_db"], json!(3.0));
        // An unclosed last block, and a call nested in some other wrapper.
        let c = parse_calls("<tool_call>{\"name\": \"gain\", \"arguments\": {\"gain_db\": 1}}")
            .unwrap();
        assert_eq!(names(&c), vec!["gain"]);
        let c = parse_calls(r#"{"result": {"name": "delay", "arguments": {}}}"#).unwrap();
        assert_eq!(names(&c), vec!["delay"]);
        // Broken JSON before a good call does not hide it.
        let c = parse_calls(r#"{"name": "gain", "arguments": {"gain_db": } then {"name":"gain","arguments":{"gain_db":2}}"#).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].arguments["gain_db"], json!(2.0));
        // Unicode in strings and escapes.
        let c = parse_calls("{\"name\": \"gain\", \"arguments\": {\"note\": \"caf\u{e9} \\u00e9 \\\"q\\\"\", \"gain_db\": 1e0}}").unwrap();
        assert_eq!(c[0].arguments["note"], json!("café é \"q\""));
        // An explicitly empty chain is a valid no-op; prose without calls is an error.
        assert!(parse_calls("[]").unwrap().is_empty());
        assert!(parse_calls("{\"chain\": []}").unwrap().is_empty());
        let err = parse_calls("I would add some reverb.")
            .unwrap_err()
            .to_string();
        assert!(err.contains("no tool call found"), "{err}");
        assert!(parse_calls("{\"name\": \"gain\"}").is_err());
    }

    #[test]
    fn never_panics_on_random_text() {
        let alphabet: Vec<char> =
            "{}[]\"':,.-+0123456789eE \n\\utrufalsNoneTrue<>/_tool_call name arguments é😀"
                .chars()
                .collect();
        let mut rng = SeededRng::new(7);
        let fragments = [
            "<tool_call>",
            "</tool_call>",
            "{\"name\": \"gain\", \"arguments\": {",
            "\"gain_db\": ",
            "[[0, 1], [2, 3]]",
            "\\u12",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        ];
        for _ in 0..20000 {
            let len = rng.rng().random_range(0..120);
            let mut s = String::new();
            for _ in 0..len {
                if rng.rng().random_range(0..10) == 0 {
                    s.push_str(fragments[rng.rng().random_range(0..fragments.len())]);
                } else {
                    s.push(alphabet[rng.rng().random_range(0..alphabet.len())]);
                }
            }
            let _ = parse_calls(&s);
        }
        // Pathological nesting is refused, not a stack overflow.
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(parse_calls(&deep).is_err());
    }

    /// Issue 25: under `--policy reject` a malformed call was dropped and the rest rendered.
    /// The strict parse fails the whole text; the tolerant one still reads what it can.
    #[test]
    fn strict_parse_drops_nothing() {
        let fine = r#"[{"name": "gain", "arguments": {"gain_db": 3}}, {"name": "panner", "arguments": {"pan": 0.5}}]"#;
        assert_eq!(
            names(&parse_calls_strict(fine).unwrap()),
            vec!["gain", "panner"]
        );
        let prose =
            "Sure: <tool_call>{'name': 'gain', 'arguments': {'gain_db': 3}}</tool_call> done.";
        assert_eq!(parse_calls_strict(prose).unwrap().len(), 1);
        let malformed = [
            (
                r#"[{"name": "gain", "arguments": {"gain_db": 3}}, {"name": "reverb", "arguments": {"mix": }}]"#,
                "not well-formed",
            ),
            (
                r#"[{"name": "gain", "arguments": {"gain_db": 3}}, {"name": "reverb", "arguments": 5}]"#,
                "`reverb` has no arguments",
            ),
            (
                r#"[{"name": "gain", "arguments": {"gain_db": 3}}, {"name": "reverb"}]"#,
                "`reverb` has no arguments",
            ),
            (
                "<tool_call>{'name': 'gain', 'arguments': {'gain_db': 3}}</tool_call><tool_call>{'name': 'reverb', 'arguments': {'mix'</tool_call>",
                "block 2",
            ),
        ];
        for (text, needle) in malformed {
            assert!(
                parse_calls(text).is_ok(),
                "the tolerant parser keeps the good call"
            );
            let err = parse_calls_strict(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let long = format!(
            "[{{\"name\": \"gain\", \"arguments\": {{}}}}, {}",
            "x".repeat(100_000)
        );
        let err = parse_calls_strict(&long).unwrap_err().to_string();
        assert!(
            err.len() < 300,
            "the error quotes at most 80 characters: {} bytes",
            err.len()
        );
        let nested = r#"[{"name": "gain", "arguments": {"gain_db": 3, "meta": {"name": "x"}}}]"#;
        assert!(
            parse_calls_strict(nested).is_ok(),
            "a call's arguments are not calls"
        );
    }
}
