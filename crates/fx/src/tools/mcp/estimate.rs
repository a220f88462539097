//! The `estimate_chain` tool: (dry WAV, wet WAV) → the chain that turns one into the other, by
//! the tier-1 analysis-by-synthesis search ([`crate::estimate::search`]), with the same window
//! as `genlab fx estimate`: the first `max_seconds` of the dry file are analysed; when the dry
//! file is not cut, up to 0.5 s of wet signal after its end (tails) is kept.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::Phase;
use super::files::{describe, internal, read_wav, shown, wav_path, wrong};
use crate::engine::chain::Chain;
use crate::engine::spec::EFFECTS;
use crate::error::{FxError, FxResult};
use crate::estimate::analysis_window;
use crate::estimate::metrics::rendered_distance;
use crate::estimate::objective::Pair;
use crate::estimate::rationale::explain;
use crate::estimate::search::{SearchOptions, search};

/// Seconds of the dry file analysed when `max_seconds` is not given (as the CLI).
pub(super) const DEFAULT_MAX_SECONDS: f64 = 2.0;
/// Wet signal kept after the dry end when the dry file is analysed whole (as the CLI).
/// The largest render budget accepted (a call is served to the end once started).
pub(super) const MAX_BUDGET: u64 = 100_000;

/// The arguments `estimate_chain` takes.
pub(super) const ARGUMENTS: [&str; 5] = [
    "dry_path",
    "wet_path",
    "max_effects",
    "budget",
    "max_seconds",
];

/// The checked arguments.
struct Request {
    dry: PathBuf,
    wet: PathBuf,
    max_effects: usize,
    budget: usize,
    max_seconds: f64,
}

impl Request {
    fn take(mut arguments: Map<String, Value>) -> FxResult<Request> {
        let defaults = SearchOptions::default();
        let dry = wav_path(arguments.remove("dry_path"), "dry_path")?;
        let wet = wav_path(arguments.remove("wet_path"), "wet_path")?;
        let max_effects = count(
            arguments.remove("max_effects"),
            "max_effects",
            defaults.max_effects as u64,
            EFFECTS.len() as u64,
        )?;
        let budget = count(
            arguments.remove("budget"),
            "budget",
            defaults.budget as u64,
            MAX_BUDGET,
        )?;
        let max_seconds = match arguments.remove("max_seconds") {
            None | Some(Value::Null) => DEFAULT_MAX_SECONDS,
            Some(v) => match v.as_f64() {
                Some(s) if s.is_finite() && s > 0.0 => s,
                _ => {
                    return Err(wrong(
                        "max_seconds",
                        format!("must be a positive number of seconds (got {v})"),
                    ));
                }
            },
        };
        if let Some(extra) = arguments.keys().next() {
            return Err(FxError::UnknownArgument {
                arg: format!("estimate_chain: {extra}"),
                known: ARGUMENTS.join(", "),
            });
        }
        Ok(Request {
            dry,
            wet,
            max_effects: max_effects as usize,
            budget: budget as usize,
            max_seconds,
        })
    }
}

/// A whole number in `1..=max`, or `default` when absent.
fn count(value: Option<Value>, what: &str, default: u64, max: u64) -> FxResult<u64> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Ok(default);
    };
    let n = v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0)
            .map(|x| x as u64)
    });
    match n {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(wrong(
            what,
            format!("must be a whole number from 1 to {max} (got {v})"),
        )),
    }
}

/// Runs `estimate_chain`.
pub(super) fn run(arguments: Map<String, Value>, phase: Phase<'_>) -> FxResult<Value> {
    let request = Request::take(arguments)?;
    phase(format!(
        "reading {} and {}",
        request.dry.display(),
        request.wet.display()
    ));
    let mut dry = read_wav(&request.dry, "read the dry WAV")?;
    let mut wet = read_wav(&request.wet, "read the wet WAV")?;
    if dry.sample_rate != wet.sample_rate || dry.n_channels() != wet.n_channels() {
        return Err(wrong(
            "wet_path",
            format!(
                "dry ({} Hz, {} ch) and wet ({} Hz, {} ch) must have the same sample rate and channel count",
                dry.sample_rate,
                dry.n_channels(),
                wet.sample_rate,
                wet.n_channels()
            ),
        ));
    }
    let max_tail_seconds = analysis_window(&mut dry, &mut wet, request.max_seconds);
    let options = SearchOptions {
        max_effects: request.max_effects,
        budget: request.budget,
        max_tail_seconds,
        ..SearchOptions::default()
    };
    phase(format!(
        "searching chains of up to {} effect(s) on {} (budget {} renders)",
        options.max_effects,
        describe(&dry),
        options.budget
    ));
    let started = Instant::now();
    let found = search(&dry, &wet, &options)?;
    let search_seconds = started.elapsed().as_secs_f64();
    phase(format!(
        "scoring the estimate ({} effect(s), {} renders): MRSTFT of its render and of the no-op",
        found.chain.stages.len(),
        found.trace.evaluations
    ));
    let pair = Pair::new(&dry, &wet, Some(max_tail_seconds))?;
    let mrstft = rendered_distance(&pair, &found.chain)?;
    let mrstft_no_op = rendered_distance(&pair, &Chain::default())?;
    let calls = serde_json::to_value(found.chain.to_calls()).map_err(internal)?;
    Ok(json!({
        "chain": calls,
        "rationale": explain(&found.trace),
        "mrstft": mrstft,
        "mrstft_no_op": mrstft_no_op,
        "renders": found.trace.evaluations,
        "budget": options.budget,
        "budget_exhausted": found.trace.budget_exhausted,
        "search_seconds": search_seconds,
        "analysed_seconds": dry.len() as f64 / dry.sample_rate.max(1) as f64,
        "dry_path": shown(&request.dry),
        "wet_path": shown(&request.wet),
    }))
}
