//! The audio-effects engine: channel-first buffers and WAV I/O, the one spec table of effects
//! and parameters, the nine block-processing effects, chains with block-rate automation,
//! level measurement, and the STFT distances every estimator is measured with.
//!
//! - [`buffer`], [`wav`]: explicit channel-first N-channel audio and WAV I/O.
//! - [`spec`]: the table of effects and parameters everything else derives from.
//! - [`effects`], [`biquad`], [`automation`], [`chain`]: block processing with reset, latency,
//!   tail padding and block-rate parameter envelopes.
//! - [`sampler`]: random chains on the step grid (LP-Fx's sampling).
//! - [`loudness`], [`resample`]: level measurement and windowed-sinc resampling.
//! - [`fft`], [`mrstft`]: the real FFT and the multi-resolution STFT distance.
//! - [`vecmath`]: a vectorisable `x^e` for the dynamics processors.

pub mod automation;
pub mod biquad;
pub mod buffer;
pub mod chain;
pub mod effects;
pub mod fft;
pub mod loudness;
pub mod mrstft;
pub mod resample;
pub mod sampler;
pub mod spec;
pub mod vecmath;
pub mod wav;
