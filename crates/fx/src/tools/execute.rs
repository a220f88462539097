//! The executor: tool calls (or model text) → validate → build → render → audio plus a report.
//!
//! Mono input to a chain with a stereo-only effect (panner, widener) is up-mixed explicitly by
//! duplicating the channel, and the report says so; other channel counts are an error. With
//! `match_loudness`, the output is scaled to the input's RMS level (so "distortion makes it
//! louder" does not dominate comparisons); the gain is reported.

use genlab_core::Error;
use serde::{Deserialize, Serialize};

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{RenderOptions, ToolCall, render};
use crate::engine::loudness::{Levels, levels, match_rms};
use crate::error::FxResult;
use crate::tools::parse::{parse_calls, parse_calls_strict};
use crate::tools::validate::{Adjustment, Policy, validate};

/// How to execute.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ExecuteOptions {
    /// Validation policy.
    pub policy: Policy,
    /// Block size and tail handling.
    pub render: RenderOptions,
    /// Scale the output to the input's RMS level.
    pub match_loudness: bool,
}

/// What was executed and what came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The validation policy in force.
    pub policy: Policy,
    /// The chain as executed (after validation), as tool calls.
    pub chain: Vec<ToolCall>,
    /// Arguments that were clamped, snapped, defaulted, dropped or coerced.
    pub adjustments: Vec<Adjustment>,
    /// Sample rate (Hz).
    pub sample_rate: u32,
    /// Input channels.
    pub input_channels: usize,
    /// Output channels.
    pub output_channels: usize,
    /// True if mono input was duplicated to stereo for a stereo-only effect.
    pub upmixed_to_stereo: bool,
    /// Input duration (s).
    pub input_seconds: f64,
    /// Output duration (s) = input + tail.
    pub output_seconds: f64,
    /// Tail appended (s).
    pub tail_seconds: f64,
    /// Latency compensated (samples).
    pub latency_samples: usize,
    /// Input levels.
    pub input: Levels,
    /// Output levels.
    pub output: Levels,
    /// Gain applied by loudness matching (dB), if requested.
    pub loudness_gain_db: Option<f64>,
    /// Output samples with `|x| > 1` (they will clip in 16-bit PCM).
    pub samples_over_full_scale: usize,
}

/// Rendered audio with its report.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The processed audio.
    pub audio: AudioBuffer,
    /// What was done.
    pub report: Report,
}

/// Validates and renders `calls` over `input`.
pub fn execute_calls(
    input: &AudioBuffer,
    calls: &[ToolCall],
    options: ExecuteOptions,
) -> FxResult<Execution> {
    input.check_finite("input audio")?;
    let validated = validate(calls, options.policy)?;
    let chain = validated.chain;
    let mut upmixed = false;
    let source;
    let dry = if chain.needs_stereo() && input.n_channels() != 2 {
        if input.n_channels() != 1 {
            return Err(Error::InvalidInput(format!(
                "the chain pans or widens, which needs stereo, but the input has {} channels",
                input.n_channels()
            ))
            .into());
        }
        upmixed = true;
        source = input.mono_to_stereo()?;
        &source
    } else {
        input
    };
    let rendered = render(&chain, dry, options.render)?;
    let mut audio = rendered.audio;
    let input_levels = levels(input);
    let loudness_gain_db = options
        .match_loudness
        .then(|| match_rms(&mut audio, input_levels.rms_dbfs));
    let sr = input.sample_rate as f64;
    let report = Report {
        policy: options.policy,
        chain: chain.to_calls(),
        adjustments: validated.adjustments,
        sample_rate: input.sample_rate,
        input_channels: input.n_channels(),
        output_channels: audio.n_channels(),
        upmixed_to_stereo: upmixed,
        input_seconds: input.duration_seconds(),
        output_seconds: audio.duration_seconds(),
        tail_seconds: rendered.tail_samples as f64 / sr,
        latency_samples: rendered.latency_samples,
        input: input_levels,
        output: levels(&audio),
        loudness_gain_db,
        samples_over_full_scale: audio
            .channels
            .iter()
            .flatten()
            .filter(|x| x.abs() > 1.0)
            .count(),
    };
    Ok(Execution { audio, report })
}

/// Parses tool calls out of `text` (see [`crate::tools::parse`]) and executes them. Under the
/// reject policy the parse is strict ([`parse_calls_strict`]): a malformed call fails the
/// whole text instead of being skipped.
pub fn execute_text(
    input: &AudioBuffer,
    text: &str,
    options: ExecuteOptions,
) -> FxResult<Execution> {
    let calls = match options.policy {
        Policy::Reject => parse_calls_strict(text)?,
        _ => parse_calls(text)?,
    };
    execute_calls(input, &calls, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::chain::Chain;
    use crate::engine::sampler::sample_chain;
    use crate::tools::validate::AdjustmentKind;
    use genlab_core::train::SeededRng;

    fn tone(channels: usize) -> AudioBuffer {
        let x: Vec<f32> = (0..8000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        AudioBuffer::new(16000, vec![x; channels]).unwrap()
    }

    #[test]
    fn text_to_audio_with_report() {
        let text = "<tool_call>{'name': 'gain', 'arguments': {'gain_db': 30}}</tool_call>\
                    <tool_call>{\"name\": \"panner\", \"arguments\": {\"pan\": -1}}</tool_call> done.";
        let out = execute_text(&tone(1), text, ExecuteOptions::default()).unwrap();
        let r = &out.report;
        assert!(r.upmixed_to_stereo);
        assert_eq!(r.output_channels, 2);
        assert_eq!(r.adjustments[0].kind, AdjustmentKind::Clamped);
        assert!((r.output.peak_dbfs - (20.0 + 20.0 * 0.5f64.log10())).abs() < 1e-3);
        // Hard left: the right channel is (numerically) silent.
        assert!(out.audio.channels[1].iter().all(|x| x.abs() < 1e-6));
        assert!(r.samples_over_full_scale > 0);
        let strict = ExecuteOptions {
            policy: Policy::Reject,
            ..Default::default()
        };
        assert!(execute_text(&tone(1), text, strict).is_err());
        assert!(execute_text(&tone(3), text, ExecuteOptions::default()).is_err());
    }

    #[test]
    fn loudness_matching_restores_the_input_rms() {
        let opts = ExecuteOptions {
            match_loudness: true,
            ..Default::default()
        };
        let out = execute_text(
            &tone(2),
            r#"[{"name":"distortion","arguments":{"drive_db":20}}]"#,
            opts,
        )
        .unwrap();
        assert!((out.report.output.rms_dbfs - out.report.input.rms_dbfs).abs() < 1e-3);
        assert!(out.report.loudness_gain_db.unwrap() < 0.0);
    }

    #[test]
    fn a_chain_serialises_as_tool_calls_and_parses_back_identically() {
        for seed in 0..10 {
            let chain =
                sample_chain(&mut SeededRng::new(seed), 1 + seed as usize % 9, true).unwrap();
            let json = chain.to_json();
            let back = validate(&parse_calls(&json).unwrap(), Policy::Reject).unwrap();
            assert_eq!(back.chain, chain);
            assert!(back.adjustments.is_empty());
        }
        let empty = validate(&parse_calls("[]").unwrap(), Policy::Reject).unwrap();
        assert_eq!(empty.chain, Chain::default());
    }
}
