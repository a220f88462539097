//! Tool schemas, all generated from [`crate::engine::spec::EFFECTS`]:
//!
//! - **OpenAI function calling** (strict): `{"type": "function", "function": {"name",
//!   "description", "strict": true, "parameters": {"type": "object", "properties": {…},
//!   "required": [every parameter], "additionalProperties": false}}}`. Strict mode requires
//!   every property to be listed in `required` and no additional properties.
//! - **MCP** `tools/list` result: `{"tools": [{"name", "title", "description", "inputSchema"}]}`
//!   with the same JSON Schema as `inputSchema`.
//! - **In-text** (Hermes/Qwen style, what LLM2Fx-Tools trains on): a system-prompt section that
//!   lists the tools inside `<tools></tools>` and asks for one
//!   `<tool_call>{"name": …, "arguments": {…}}</tool_call>` block per effect, in processing order.
//! - **Markdown**: the human reference (one table per effect).
//!
//! Each parameter is `{"type": "number", "minimum", "maximum", "description"}`, the description
//! carrying the unit, range, grid step, scale and default.

use serde_json::{Map, Value, json};

use crate::engine::spec::{EFFECTS, EffectSpec, ParamSpec, Scale};

/// A schema dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI function calling with strict JSON Schema.
    OpenAi,
    /// MCP `tools/list`.
    Mcp,
    /// In-text `<tool_call>` format description.
    Text,
    /// A Markdown reference table per effect (the user docs).
    Markdown,
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "openai" => Ok(Dialect::OpenAi),
            "mcp" => Ok(Dialect::Mcp),
            "text" => Ok(Dialect::Text),
            "markdown" => Ok(Dialect::Markdown),
            other => Err(format!(
                "unknown dialect `{other}` (openai, mcp, text or markdown)"
            )),
        }
    }
}

fn param_schema(p: &ParamSpec) -> Value {
    json!({
        "type": "number",
        "description": format!("{} Range {}; default {}.", p.description, p.range_text(), p.default),
        "minimum": p.min,
        "maximum": p.max,
    })
}

/// The JSON Schema of an effect's arguments (strict: all required, nothing else allowed).
pub fn parameters_schema(e: &EffectSpec) -> Value {
    let properties: Map<String, Value> = e
        .params
        .iter()
        .map(|p| (p.name.to_string(), param_schema(p)))
        .collect();
    let required: Vec<&str> = e.params.iter().map(|p| p.name).collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// OpenAI `tools` array.
pub fn openai() -> Value {
    Value::Array(
        EFFECTS
            .iter()
            .map(|e| {
                json!({
                    "type": "function",
                    "function": {
                        "name": e.name,
                        "description": e.description,
                        "strict": true,
                        "parameters": parameters_schema(e),
                    }
                })
            })
            .collect(),
    )
}

fn title(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// MCP `tools/list` result.
pub fn mcp() -> Value {
    let tools: Vec<Value> = EFFECTS
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "title": title(e.name),
                "description": e.description,
                "inputSchema": parameters_schema(e),
            })
        })
        .collect();
    json!({ "tools": tools })
}

/// The in-text format: a system-prompt section describing the tools and the call syntax.
pub fn text() -> String {
    let mut s = String::from(
        "You can process audio with the effects below. Answer with one tool call per effect, in \
         the order the effects should be applied, each on its own lines as\n\
         <tool_call>\n{\"name\": <effect name>, \"arguments\": {<parameter>: <number>, ...}}\n</tool_call>\n\
         Give every parameter of an effect. A parameter may instead be an automation envelope, \
         a list of [time_seconds, value] breakpoints, linearly interpolated.\n\n<tools>\n",
    );
    for e in EFFECTS {
        let tool = json!({"name": e.name, "description": e.description, "parameters": parameters_schema(e)});
        s.push_str(&tool.to_string());
        s.push('\n');
    }
    s.push_str("</tools>\n\nExample:\n<tool_call>\n");
    let example = EFFECTS[0];
    let args: Map<String, Value> = example
        .params
        .iter()
        .map(|p| (p.name.to_string(), json!(p.grid_point(p.intervals() / 4))))
        .collect();
    s.push_str(&json!({"name": example.name, "arguments": args}).to_string());
    s.push_str("\n</tool_call>\n");
    s
}

/// The effect reference in Markdown: one section and parameter table per effect.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Effects\n\nEvery effect is a tool; a chain is a list of tool calls applied in order.\n",
    );
    for e in EFFECTS {
        s.push_str(&format!("\n## `{}`\n\n{}\n\n", e.name, e.description));
        s.push_str("| parameter | unit | range | step | scale | default | meaning |\n");
        s.push_str("|---|---|---|---|---|---|---|\n");
        for p in e.params {
            let step = match p.scale {
                Scale::Linear => format!("{}", p.step),
                Scale::Log => format!("{} decade", p.step),
            };
            let scale = match p.scale {
                Scale::Linear => "linear",
                Scale::Log => "log",
            };
            s.push_str(&format!(
                "| `{}` | {} | {} … {} | {step} | {scale} | {} | {} |\n",
                p.name, p.unit, p.min, p.max, p.default, p.description
            ));
        }
    }
    s
}

/// The schemas in `dialect`, as text ready to print.
pub fn render(dialect: Dialect) -> String {
    match dialect {
        Dialect::OpenAi => serde_json::to_string_pretty(&openai()).unwrap_or_default(),
        Dialect::Mcp => serde_json::to_string_pretty(&mcp()).unwrap_or_default(),
        Dialect::Text => text(),
        Dialect::Markdown => markdown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse::parse_calls;
    use crate::tools::validate::{Policy, validate};

    fn check_strict(schema: &Value, e: &EffectSpec) {
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        let props = schema["properties"].as_object().unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(props.len(), e.params.len());
        for p in e.params {
            assert!(
                required.contains(&p.name),
                "{}.{} not required",
                e.name,
                p.name
            );
            let s = &props[p.name];
            assert_eq!(s["type"], "number");
            assert_eq!(s["minimum"].as_f64(), Some(p.min));
            assert_eq!(s["maximum"].as_f64(), Some(p.max));
        }
        assert_eq!(required.len(), props.len());
    }

    #[test]
    fn openai_and_mcp_schemas_are_strict_and_round_trip_as_json() {
        let text = render(Dialect::OpenAi);
        let v: Value = serde_json::from_str(&text).unwrap();
        let tools = v.as_array().unwrap();
        assert_eq!(tools.len(), EFFECTS.len());
        for (t, e) in tools.iter().zip(EFFECTS) {
            assert_eq!(t["type"], "function");
            assert_eq!(t["function"]["name"], e.name);
            assert_eq!(t["function"]["strict"], true);
            check_strict(&t["function"]["parameters"], e);
        }
        let v: Value = serde_json::from_str(&render(Dialect::Mcp)).unwrap();
        for (t, e) in v["tools"].as_array().unwrap().iter().zip(EFFECTS) {
            assert_eq!(t["name"], e.name);
            check_strict(&t["inputSchema"], e);
        }
        assert_eq!(v["tools"][8]["title"], "Stereo Widener");
    }

    #[test]
    fn text_format_lists_every_tool_and_its_example_executes() {
        let t = text();
        for e in EFFECTS {
            assert!(
                t.contains(&format!("\"name\":\"{}\"", e.name)),
                "{}",
                e.name
            );
        }
        let example = &t[t.find("Example:").unwrap()..];
        let calls = parse_calls(example).unwrap();
        assert_eq!(calls.len(), 1);
        assert!(validate(&calls, Policy::Reject).is_ok());
    }

    #[test]
    fn markdown_has_a_row_per_parameter() {
        let md = markdown();
        let rows = md.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(rows, EFFECTS.iter().map(|e| e.params.len()).sum::<usize>());
        assert!(md.contains("| `attack_ms` | ms | 1 … 1000 | 0.1 decade | log | 10 |"));
    }
}
