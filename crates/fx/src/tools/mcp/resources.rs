//! The effect documentation as MCP resources, written from the spec table: an index
//! (`genlab-fx://effects`, every effect) and one page per effect (`genlab-fx://effects/<name>`):
//! what it does, its parameters (unit, range, grid step, scale, default, meaning) and a tool call
//! with every default, in Markdown.

use serde_json::{Map, Value, json};

use crate::engine::spec::{EFFECTS, EffectSpec, Scale, effect};

/// The index resource.
pub const INDEX_URI: &str = "genlab-fx://effects";
/// The MIME type of every page.
pub const MIME: &str = "text/markdown";

/// The URI of effect `name`'s page.
pub fn effect_uri(name: &str) -> String {
    format!("{INDEX_URI}/{name}")
}

/// Every resource URI: the index, then one per effect in spec order.
pub fn resource_uris() -> Vec<String> {
    std::iter::once(INDEX_URI.to_string())
        .chain(EFFECTS.iter().map(|e| effect_uri(e.name)))
        .collect()
}

/// The page at `uri`, or `None` for a URI the server does not have.
pub fn resource_text(uri: &str) -> Option<String> {
    if uri == INDEX_URI {
        return Some(index());
    }
    let name = uri.strip_prefix(INDEX_URI)?.strip_prefix('/')?;
    effect(name).map(page)
}

/// One line per effect: name, link, description.
fn index() -> String {
    let mut s = String::from(
        "# genlab audio effects\n\nEvery effect is a tool (call it on a WAV file), and a chain \
         is an ordered list of tool calls `{\"name\", \"arguments\"}` (the `apply_chain` tool). \
         Values out of range are clamped by default and every change is reported; a parameter \
         may also be an automation envelope `[[time_seconds, value], ...]`.\n\n",
    );
    for e in EFFECTS {
        s.push_str(&format!(
            "- [`{}`]({}): {}\n",
            e.name,
            effect_uri(e.name),
            e.description
        ));
    }
    s
}

fn scale_and_step(p: &crate::engine::spec::ParamSpec) -> (&'static str, String) {
    match p.scale {
        Scale::Linear => ("linear", format!("{}", p.step)),
        Scale::Log => ("log", format!("{} decade", p.step)),
    }
}

/// The page of one effect.
fn page(e: &EffectSpec) -> String {
    let mut s = format!("# `{}`\n\n{}\n\n", e.name, e.description);
    s.push_str("| parameter | unit | range | step | scale | default | meaning |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for p in e.params {
        let (scale, step) = scale_and_step(p);
        let unit = if p.unit.is_empty() { "–" } else { p.unit };
        s.push_str(&format!(
            "| `{}` | {unit} | {} … {} | {step} | {scale} | {} | {} |\n",
            p.name, p.min, p.max, p.default, p.description
        ));
    }
    let arguments: Map<String, Value> = e
        .params
        .iter()
        .map(|p| (p.name.to_string(), json!(p.default)))
        .collect();
    let call = json!({"name": e.name, "arguments": arguments});
    s.push_str(&format!(
        "\nAs a tool call (every parameter at its default), in an `apply_chain` chain or, with \
         `input_path` and `output_path` added, as the arguments of the `{}` tool:\n\n```json\n{}\n```\n",
        e.name, call
    ));
    s
}
