//! Running a tool (`tools/call`): the file arguments every processing tool takes, the chain
//! argument of `apply_chain`, and the read → execute → write of one call.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{APPLY_CHAIN, ESTIMATE_CHAIN, FILE_ARGUMENTS, LIST_EFFECTS, Phase};
use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{RenderOptions, ToolCall};
use crate::engine::spec::{EFFECTS, effect};
use crate::engine::wav::{self, SampleFormat};
use crate::error::{FxError, FxResult};
use crate::tools::execute::{ExecuteOptions, execute_calls};
use crate::tools::parse::parse_calls;
use crate::tools::validate::Policy;

/// Runs tool `name`. An unknown `name` is [`FxError::UnknownEffect`] without a call index
/// (the protocol answers it as invalid params); every other error becomes an `isError` result.
/// `phase` hears what the tool is doing, phase by phase.
pub(super) fn run_tool(
    name: &str,
    mut arguments: Map<String, Value>,
    phase: Phase<'_>,
) -> FxResult<Value> {
    match name {
        LIST_EFFECTS => {
            if let Some(extra) = arguments.keys().next() {
                return Err(FxError::UnknownArgument {
                    arg: format!("list_effects: {extra}"),
                    known: "none".into(),
                });
            }
            let effects = serde_json::to_value(EFFECTS).map_err(internal)?;
            Ok(json!({ "effects": effects }))
        }
        APPLY_CHAIN => {
            let files = FileArguments::take(&mut arguments)?;
            let chain = arguments
                .remove("chain")
                .ok_or_else(|| FxError::MissingArgument {
                    arg: "apply_chain: chain".into(),
                    expected: CHAIN_SHAPE.into(),
                })?;
            if let Some(extra) = arguments.keys().next() {
                return Err(FxError::UnknownArgument {
                    arg: format!("apply_chain: {extra}"),
                    known: format!("chain, {}", FILE_ARGUMENTS.join(", ")),
                });
            }
            files.run(&chain_calls(chain)?, phase)
        }
        ESTIMATE_CHAIN => super::estimate::run(arguments, phase),
        effect_name => {
            if effect(effect_name).is_none() {
                return Err(FxError::UnknownEffect {
                    name: effect_name.into(),
                    call: None,
                });
            }
            let files = FileArguments::take(&mut arguments)?;
            let call = ToolCall {
                name: effect_name.to_string(),
                arguments,
            };
            files.run(&[call], phase)
        }
    }
}

const CHAIN_SHAPE: &str = "a list of {\"name\", \"arguments\"} tool calls, or text holding them";

/// The calls in an `apply_chain` `chain` argument.
fn chain_calls(chain: Value) -> FxResult<Vec<ToolCall>> {
    let malformed = |what: String| FxError::MalformedCall(what);
    match chain {
        Value::String(text) => parse_calls(&text).map_err(|e| malformed(format!("chain: {e}"))),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let Value::Object(mut call) = item else {
                    return Err(malformed(format!(
                        "chain[{i}] must be an object {{\"name\": …, \"arguments\": {{…}}}}"
                    )));
                };
                let Some(Value::String(name)) = call.remove("name") else {
                    return Err(malformed(format!(
                        "chain[{i}] needs a string `name` (an effect)"
                    )));
                };
                let not_an_object = || {
                    malformed(format!(
                        "chain[{i}] ({name}): `arguments` must be an object"
                    ))
                };
                let arguments = match call.remove("arguments") {
                    None | Some(Value::Null) => Map::new(),
                    Some(Value::Object(a)) => a,
                    // Models often send the arguments object JSON-encoded as a string.
                    Some(Value::String(s)) => match serde_json::from_str(&s) {
                        Ok(Value::Object(a)) => a,
                        _ => return Err(not_an_object()),
                    },
                    Some(_) => return Err(not_an_object()),
                };
                Ok(ToolCall { name, arguments })
            })
            .collect(),
        _ => Err(malformed(format!("chain must be {CHAIN_SHAPE}"))),
    }
}

pub(super) fn internal(e: serde_json::Error) -> FxError {
    FxError::Core(genlab_core::Error::InvalidInput(e.to_string()))
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
    fn take(arguments: &mut Map<String, Value>) -> FxResult<Self> {
        let input = wav_path(arguments.remove("input_path"), "input_path")?;
        let output = wav_path(arguments.remove("output_path"), "output_path")?;
        let policy = match arguments.remove("policy") {
            None | Some(Value::Null) => Policy::default(),
            Some(Value::String(s)) => s.parse().map_err(|problem| wrong("policy", problem))?,
            Some(_) => return Err(wrong("policy", "must be \"reject\", \"clamp\" or \"snap\"")),
        };
        let match_loudness = flag(arguments.remove("match_loudness"), "match_loudness", false)?;
        let pad_tail = flag(arguments.remove("pad_tail"), "pad_tail", true)?;
        let format = match arguments.remove("format") {
            None | Some(Value::Null) => SampleFormat::Float32,
            Some(Value::String(s)) if s == "float32" => SampleFormat::Float32,
            Some(Value::String(s)) if s == "pcm16" => SampleFormat::Pcm16,
            Some(_) => return Err(wrong("format", "must be \"float32\" or \"pcm16\"")),
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
    fn run(&self, calls: &[ToolCall], phase: Phase<'_>) -> FxResult<Value> {
        phase(format!("reading {}", self.input.display()));
        let input = read_wav(&self.input, "read the input WAV")?;
        phase(format!(
            "rendering {} effect(s) over {}",
            calls.len(),
            describe(&input)
        ));
        let started = Instant::now();
        let done = execute_calls(&input, calls, self.options)?;
        let render_seconds = started.elapsed().as_secs_f64();
        phase(format!("writing {}", self.output.display()));
        let clipped =
            wav::write(&self.output, &done.audio, self.format).map_err(|source| FxError::File {
                action: "write the output WAV",
                source,
            })?;
        let report = serde_json::to_value(&done.report).map_err(internal)?;
        Ok(json!({
            "output_path": shown(&self.output),
            "samples_clipped_in_file": clipped,
            "render_seconds": render_seconds,
            "report": report,
        }))
    }
}

/// Reads a WAV file, naming `action` in the error.
pub(super) fn read_wav(path: &Path, action: &'static str) -> FxResult<AudioBuffer> {
    wav::read(path).map_err(|source| FxError::File { action, source })
}

/// `2.00 s, 44100 Hz, 2 ch`.
pub(super) fn describe(audio: &AudioBuffer) -> String {
    format!(
        "{:.2} s, {} Hz, {} ch",
        audio.len() as f64 / audio.sample_rate.max(1) as f64,
        audio.sample_rate,
        audio.n_channels()
    )
}

/// The absolute form of `path` where it can be formed (clients may run elsewhere).
pub(super) fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

pub(super) fn wav_path(value: Option<Value>, what: &str) -> FxResult<PathBuf> {
    let Some(Value::String(path)) = value else {
        return Err(FxError::MissingArgument {
            arg: what.into(),
            expected: "a path to a .wav file".into(),
        });
    };
    let is_wav = Path::new(&path)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    if !is_wav || path.trim() != path {
        return Err(wrong(
            what,
            format!(
                "must be a path ending in .wav (got {path:?}); only WAV files are read and written"
            ),
        ));
    }
    Ok(PathBuf::from(path))
}

fn flag(value: Option<Value>, what: &str, default: bool) -> FxResult<bool> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(b),
        Some(_) => Err(wrong(what, "must be true or false")),
    }
}

pub(super) fn wrong(arg: &str, problem: impl Into<String>) -> FxError {
    FxError::WrongType {
        arg: arg.into(),
        problem: problem.into(),
    }
}
