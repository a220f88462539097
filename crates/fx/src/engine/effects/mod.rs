//! The nine effects. Each is a block processor over channel-first buffers: parameters arrive in
//! spec order through [`Effect::set`] (at control rate), `process` works in place on a sample
//! range of every channel, `reset` returns to the freshly built state (cleared delay lines,
//! filter states and envelopes), and each reports its latency (samples) and tail (seconds).

mod compressor;
mod delay;
mod distortion;
pub mod dynamics;
mod eq;
mod gain;
mod limiter;
mod panner;
mod reverb;
mod widener;

use std::ops::Range;

use genlab_core::{Error, Result};

use crate::engine::spec::EffectSpec;

pub use compressor::Compressor;
pub use delay::Delay;
pub use distortion::Distortion;
pub use eq::Equalizer;
pub use gain::Gain;
pub use limiter::Limiter;
pub use panner::Panner;
pub use reverb::Reverb;
pub use widener::StereoWidener;

/// A block audio processor.
pub trait Effect: Send {
    /// New parameter values, in the order of the effect's [`EffectSpec`] (already validated).
    fn set(&mut self, values: &[f64]);
    /// Processes samples `range` of every channel in place.
    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>);
    /// Forgets all internal state (delay lines, filter memories, envelopes).
    fn reset(&mut self);
    /// Delay (samples) between an input and its effect on the output.
    fn latency(&self) -> usize {
        0
    }
    /// How long (seconds) the output keeps sounding after the input stops, for `values`.
    fn tail_seconds(&self, _values: &[f64]) -> f64 {
        0.0
    }
}

/// Applies a memoryless per-sample map to every channel over `range` (gain, waveshapers).
pub fn map_samples(
    channels: &mut [Vec<f32>],
    range: std::ops::Range<usize>,
    f: impl Fn(f32) -> f32,
) {
    for ch in channels {
        for x in &mut ch[range.clone()] {
            *x = f(*x);
        }
    }
}

/// `10^(dB/20)`.
pub fn db_to_amplitude(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// `exp(-1/(τ·fs))`: the pole of a one-pole smoother with time constant `τ = ms/1000` seconds.
pub fn one_pole(ms: f64, sample_rate: f64) -> f64 {
    (-1.0 / (ms * 1e-3 * sample_rate)).exp()
}

/// Builds the effect described by `spec` for `channels` channels at `sample_rate`, set to the
/// spec defaults. Stereo-only effects refuse other channel counts.
pub fn build(spec: &EffectSpec, sample_rate: u32, channels: usize) -> Result<Box<dyn Effect>> {
    if channels == 0 || sample_rate == 0 {
        return Err(Error::InvalidInput(format!(
            "{} needs at least one channel and a positive sample rate",
            spec.name
        )));
    }
    let sr = sample_rate as f64;
    let stereo_only = || {
        if channels == 2 {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "{} needs stereo audio, got {channels} channel(s)",
                spec.name
            )))
        }
    };
    let mut fx: Box<dyn Effect> = match spec.name {
        "gain" => Box::new(Gain::default()),
        "distortion" => Box::new(Distortion::default()),
        "compressor" => Box::new(Compressor::new(sr)),
        "limiter" => Box::new(Limiter::new(sr, channels)),
        "delay" => Box::new(Delay::new(sr, channels)),
        "reverb" => Box::new(Reverb::new(sr, channels)),
        "equalizer" => Box::new(Equalizer::new(sr, channels)),
        "panner" => {
            stereo_only()?;
            Box::new(Panner::default())
        }
        "stereo_widener" => {
            stereo_only()?;
            Box::new(StereoWidener::default())
        }
        other => return Err(Error::InvalidInput(format!("no effect called `{other}`"))),
    };
    fx.set(&spec.defaults());
    Ok(fx)
}
