//! A chain is an ordered list of effects with their (possibly automated) parameters; it
//! serialises as its list of tool calls `[{"name": …, "arguments": {…}}, …]`, so presets and
//! model outputs share one format.
//!
//! Rendering: the chain's total latency `L = Σ latency_i` and tail `T = Σ tail_i` (serial tails
//! add; each stage's tail is its largest over the breakpoints of its envelopes). The input is
//! padded with `⌈T·fs⌉ + L` zeros, processed in blocks, and the first `L` output samples are
//! dropped, so the output is time-aligned with the input and `⌈T·fs⌉` samples longer (reverb and
//! echoes are not cut off). Parameters follow [`crate::engine::automation`]'s control blocks, so the
//! result does not depend on the processing block size.

use std::ops::Range;

use genlab_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::automation::{CONTROL_BLOCK, ParamValue, control_block_start};
use crate::engine::buffer::AudioBuffer;
use crate::engine::effects::{Effect, build};
use crate::engine::spec::EffectSpec;

/// One tool call: an effect name and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Effect (tool) name.
    pub name: String,
    /// Argument name → number (or `[[t, v], …]` envelope).
    pub arguments: Map<String, Value>,
}

/// One validated stage: an effect and a value per spec parameter (spec order).
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The effect.
    pub spec: &'static EffectSpec,
    /// One value per parameter of `spec`, in order.
    pub values: Vec<ParamValue>,
}

/// An ordered, validated effect chain (build one with [`crate::tools::validate::validate`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chain {
    /// Stages in processing order.
    pub stages: Vec<Stage>,
}

impl Stage {
    /// The stage with every parameter at its constant value.
    pub fn constant(spec: &'static EffectSpec, values: &[f64]) -> Self {
        Stage {
            spec,
            values: values.iter().map(|&v| ParamValue::Constant(v)).collect(),
        }
    }

    /// Values at time `t` seconds.
    pub fn at(&self, t: f64) -> Vec<f64> {
        self.values.iter().map(|v| v.at(t)).collect()
    }

    /// The stage as a tool call (arguments in spec order).
    pub fn to_call(&self) -> ToolCall {
        let mut arguments = Map::new();
        for (p, v) in self.spec.params.iter().zip(&self.values) {
            let value = serde_json::to_value(v).unwrap_or(Value::Null);
            arguments.insert(p.name.to_string(), value);
        }
        ToolCall {
            name: self.spec.name.to_string(),
            arguments,
        }
    }

    /// Times at which the stage's envelopes have breakpoints (always includes 0).
    fn breakpoint_times(&self) -> Vec<f64> {
        let mut times = vec![0.0];
        for v in &self.values {
            if let ParamValue::Envelope(points) = v {
                times.extend(points.iter().map(|p| p[0]));
            }
        }
        times
    }
}

impl Chain {
    /// The chain as tool calls.
    pub fn to_calls(&self) -> Vec<ToolCall> {
        self.stages.iter().map(Stage::to_call).collect()
    }

    /// The chain as a JSON list of tool calls.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_calls()).unwrap_or_else(|_| "[]".into())
    }

    /// True if a stage only works on stereo audio.
    pub fn needs_stereo(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s.spec.name, "panner" | "stereo_widener"))
    }
}

/// Samples per piece when no stage is automated (two channels of it fit in L1).
const STATIC_PIECE: usize = 1024;

struct Running {
    effect: Box<dyn Effect>,
    stage: Stage,
    current: Vec<f64>,
    automated: bool,
}

/// A chain instantiated for a sample rate and channel count: the streaming processor.
pub struct Processor {
    sample_rate: u32,
    stages: Vec<Running>,
    /// Absolute sample position since construction or the last `reset`.
    position: usize,
}

impl Processor {
    /// Builds every stage at `sample_rate` for `channels` channels.
    pub fn new(chain: &Chain, sample_rate: u32, channels: usize) -> Result<Self> {
        let mut stages = Vec::with_capacity(chain.stages.len());
        for stage in &chain.stages {
            let mut effect = build(stage.spec, sample_rate, channels)?;
            let current = stage.at(0.0);
            effect.set(&current);
            stages.push(Running {
                effect,
                automated: stage
                    .values
                    .iter()
                    .any(|v| matches!(v, ParamValue::Envelope(_))),
                stage: stage.clone(),
                current,
            });
        }
        Ok(Processor {
            sample_rate,
            stages,
            position: 0,
        })
    }

    /// Total latency in samples.
    pub fn latency(&self) -> usize {
        self.stages.iter().map(|s| s.effect.latency()).sum()
    }

    /// Total tail in seconds.
    pub fn tail_seconds(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| {
                s.stage
                    .breakpoint_times()
                    .iter()
                    .map(|&t| s.effect.tail_seconds(&s.stage.at(t)))
                    .fold(0.0, f64::max)
            })
            .sum()
    }

    /// Back to the freshly built state: position 0, all effect states cleared.
    pub fn reset(&mut self) {
        self.position = 0;
        for s in &mut self.stages {
            s.effect.reset();
            s.current = s.stage.at(0.0);
            s.effect.set(&s.current);
        }
    }

    /// Processes samples `range` of `channels` in place, as the next part of the stream.
    pub fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        if !self.stages.iter().any(|s| s.automated) {
            // Nothing changes at control rate: larger pieces (still cache-sized) through every
            // stage in turn; every effect's output is independent of how a range is split.
            for a in range.clone().step_by(STATIC_PIECE) {
                let b = (a + STATIC_PIECE).min(range.end);
                for s in &mut self.stages {
                    s.effect.process(channels, a..b);
                }
            }
            self.position += range.len();
            return;
        }
        let mut a = range.start;
        while a < range.end {
            let pos = self.position + (a - range.start);
            let block = control_block_start(pos);
            let b = (a + block + CONTROL_BLOCK - pos).min(range.end);
            let t = block as f64 / self.sample_rate as f64;
            for s in &mut self.stages {
                if s.automated {
                    let v = s.stage.at(t);
                    if v != s.current {
                        s.effect.set(&v);
                        s.current = v;
                    }
                }
                s.effect.process(channels, a..b);
            }
            a = b;
        }
        self.position += range.len();
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenderOptions {
    /// Samples per processing block (results do not depend on it).
    pub block_size: usize,
    /// Append the chain's tail so reverb and echoes ring out.
    pub pad_tail: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            block_size: 512,
            pad_tail: true,
        }
    }
}

/// A rendered chain.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The processed audio (input length + tail).
    pub audio: AudioBuffer,
    /// Tail appended, in samples.
    pub tail_samples: usize,
    /// Latency compensated, in samples.
    pub latency_samples: usize,
}

/// Renders `chain` over `input` (see the module doc for padding and alignment). The tail is
/// rounded up to whole samples, ignoring float noise below 10⁻⁶ samples.
pub fn render(chain: &Chain, input: &AudioBuffer, options: RenderOptions) -> Result<Rendered> {
    if options.block_size == 0 {
        return Err(Error::InvalidInput("block size must be positive".into()));
    }
    let mut processor = Processor::new(chain, input.sample_rate, input.n_channels())?;
    let latency = processor.latency();
    let tail = if options.pad_tail {
        (processor.tail_seconds() * input.sample_rate as f64 - 1e-6).ceil() as usize
    } else {
        0
    };
    let mut audio = input.clone();
    audio.pad_end(tail + latency);
    let len = audio.len();
    let mut start = 0;
    while start < len {
        let end = (start + options.block_size).min(len);
        processor.process(&mut audio.channels, start..end);
        start = end;
    }
    audio.drop_start(latency);
    Ok(Rendered {
        audio,
        tail_samples: tail,
        latency_samples: latency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{EFFECTS, effect};
    use crate::testutil::lcg_noise;

    fn noise(channels: usize, len: usize, sr: u32) -> AudioBuffer {
        AudioBuffer::new(sr, lcg_noise(12345, channels, len)).unwrap()
    }

    fn every_effect_with_automation() -> Chain {
        let mut stages: Vec<Stage> = EFFECTS
            .iter()
            .map(|e| {
                let mid: Vec<f64> = e
                    .params
                    .iter()
                    .map(|p| p.snap(p.denormalise(0.6)))
                    .collect();
                Stage::constant(e, &mid)
            })
            .collect();
        // Automate the gain and the EQ mid frequency.
        stages[0].values[0] = ParamValue::Envelope(vec![[0.0, -12.0], [0.05, 6.0]]);
        stages[6].values[4] = ParamValue::Envelope(vec![[0.01, 500.0], [0.08, 4000.0]]);
        Chain { stages }
    }

    #[test]
    fn blocks_of_64_and_odd_sizes_equal_one_block() {
        let input = noise(2, 4410, 22050);
        let chain = every_effect_with_automation();
        let one = render(
            &chain,
            &input,
            RenderOptions {
                block_size: usize::MAX / 2,
                pad_tail: true,
            },
        )
        .unwrap();
        for block_size in [64, 100, 1, 4096] {
            let r = render(
                &chain,
                &input,
                RenderOptions {
                    block_size,
                    pad_tail: true,
                },
            )
            .unwrap();
            assert_eq!(r.audio, one.audio, "block size {block_size}");
        }
        assert!(one.audio.channels.iter().flatten().all(|x| x.is_finite()));
    }

    #[test]
    fn reset_gives_identical_output_on_rerender() {
        let input = noise(2, 3000, 22050);
        let chain = every_effect_with_automation();
        let mut p = Processor::new(&chain, 22050, 2).unwrap();
        let mut a = input.channels.clone();
        p.process(&mut a, 0..3000);
        p.reset();
        let mut b = input.channels.clone();
        p.process(&mut b, 0..3000);
        assert_eq!(a, b);
    }

    #[test]
    fn tail_is_padded_and_nothing_has_latency() {
        let sr = 8000;
        let mut input = AudioBuffer::silence(sr, 1, 800);
        input.channels[0][10] = 0.5;
        let delay = Stage::constant(effect("delay").unwrap(), &[0.1, 0.5, 0.5]);
        let gain = Stage::constant(effect("gain").unwrap(), &[-6.0]);
        let chain = Chain {
            stages: vec![gain, delay],
        };
        let r = render(&chain, &input, RenderOptions::default()).unwrap();
        // Every effect matches pedalboard's, and none of those has a look-ahead.
        assert_eq!(r.latency_samples, 0);
        let g = 0.5 * 10f32.powf(std::hint::black_box(-6.0f32) * 0.05);
        // 0.5^10 < 1e-3: 11 echo periods of 800 samples.
        assert_eq!(r.tail_samples, 8800);
        assert_eq!(r.audio.len(), 800 + 8800);
        let y = &r.audio.channels[0];
        // Dry at the original position, echoes every 800 samples (the ones past the input's
        // end are exactly what pedalboard users lose).
        assert!((y[10] - 0.5 * g).abs() < 1e-7);
        for k in 1..=10 {
            let want = 0.5 * g * 0.5f32.powi(k - 1);
            assert!((y[10 + 800 * k as usize] - want).abs() < 1e-7, "echo {k}");
        }
        let without = render(
            &chain,
            &input,
            RenderOptions {
                block_size: 512,
                pad_tail: false,
            },
        )
        .unwrap();
        assert_eq!(without.audio.len(), 800);
    }

    #[test]
    fn stereo_only_effects_refuse_mono_and_five_channels_work_elsewhere() {
        let chain = Chain {
            stages: vec![Stage::constant(effect("panner").unwrap(), &[0.5])],
        };
        assert!(chain.needs_stereo());
        assert!(render(&chain, &noise(1, 100, 8000), RenderOptions::default()).is_err());
        let multi = Chain {
            stages: [
                "gain",
                "compressor",
                "reverb",
                "equalizer",
                "delay",
                "limiter",
                "distortion",
            ]
            .iter()
            .map(|n| {
                let e = effect(n).unwrap();
                Stage::constant(e, &e.defaults())
            })
            .collect(),
        };
        let r = render(&multi, &noise(5, 2000, 16000), RenderOptions::default()).unwrap();
        assert_eq!(r.audio.n_channels(), 5);
        assert!(r.audio.channels.iter().flatten().all(|x| x.is_finite()));
    }

    #[test]
    fn automated_gain_follows_its_envelope_at_control_rate() {
        let sr = 6400; // 100 control blocks per second
        let input = AudioBuffer::new(sr, vec![vec![1.0; 640]]).unwrap();
        let mut stage = Stage::constant(effect("gain").unwrap(), &[0.0]);
        stage.values[0] = ParamValue::Envelope(vec![[0.0, -20.0], [0.1, 0.0]]);
        let r = render(
            &Chain {
                stages: vec![stage],
            },
            &input,
            RenderOptions::default(),
        )
        .unwrap();
        for k in 0..10 {
            let db = (-20.0 + 200.0 * (k as f64 * 0.01)) as f32;
            let want = 10f32.powf(std::hint::black_box(db) * 0.05);
            let block = &r.audio.channels[0][k * 64..(k + 1) * 64];
            assert!(block.iter().all(|&y| y == want), "block {k}");
        }
    }
}
