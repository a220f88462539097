//! Running a tool (`tools/call`): the file arguments every processing tool takes, the chain
//! argument of `apply_chain`, and the read → execute → write of one call.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{APPLY_CHAIN, FILE_ARGUMENTS, LIST_EFFECTS};
use crate::engine::chain::{RenderOptions, ToolCall};
use crate::engine::spec::EFFECTS;
use crate::engine::wav::{self, SampleFormat};
use crate::tools::execute::{ExecuteOptions, execute_calls};
use crate::tools::parse::parse_calls;
use crate::tools::validate::Policy;

/// Runs tool `name`; `Err` is a message for an `isError` result.
pub(super) fn run_tool(name: &str, mut arguments: Map<String, Value>) -> Result<Value, String> {
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
