//! The tool-caller's audio front end: log-band magnitude frames of a clip.
//!
//! The first `window_seconds` of a clip (zero-padded if shorter, cut if longer) are split into
//! `frames` frames, frame `f` centred at `(f + ½)·hop`, `hop = window·fs/frames`, each a Hann
//! window of `n_fft` samples (the power of two nearest 64 ms). For the left, right and side
//! channels (`S = (L − R)/2`; mono is used as both `L` and `R`; channels beyond two are ignored)
//! the band energies are
//!
//! ```text
//! E_b = mean_{k ∈ band b} |X[k]|² / (Σ w)²,    feature_b = 10·log10(E_b + 10⁻¹⁰) / 20
//! ```
//!
//! over `bands` bands equally spaced on the mel scale between 30 Hz and 8 kHz (a band narrower
//! than an FFT bin takes the bin nearest its centre), so a full-scale sine reads ≈ 0 and silence
//! −5 whatever the sample rate. Fixed frequencies and a fixed window in seconds keep the
//! features comparable across 16 and 22.05 kHz. Both channels come from one complex FFT:
//! with `z = L + iR`, `X_L[k] = (Z[k] + Z*[N−k])/2`, `X_R[k] = (Z[k] − Z*[N−k])/(2i)`.
//!
//! This stands in for LLM2Fx-Tools' frozen Fx-Encoder++ frame embeddings (no pretrained weights
//! on this machine); the wet − dry difference is left to the network ([`super::net`]).

use serde::{Deserialize, Serialize};

use crate::engine::buffer::AudioBuffer;
use crate::engine::fft::Fft;

/// Channels per signal in the features: left, right, side.
pub const CHANNELS: usize = 3;

/// How clips become frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Frames per clip.
    pub frames: usize,
    /// Mel bands per channel.
    pub bands: usize,
    /// Seconds of audio analysed.
    pub window_seconds: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            frames: 32,
            bands: 32,
            window_seconds: 1.5,
        }
    }
}

const LOW_HZ: f64 = 30.0;
const HIGH_HZ: f64 = 8000.0;

fn mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn inverse_mel(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

impl FeatureConfig {
    /// Values per frame for one signal: `CHANNELS × bands`.
    pub fn width(&self) -> usize {
        CHANNELS * self.bands
    }

    /// FFT size at `sample_rate`: the power of two nearest 64 ms (in log terms).
    pub fn n_fft(sample_rate: u32) -> usize {
        let target = (0.064 * sample_rate as f64).max(16.0);
        1usize << target.log2().round() as u32
    }

    /// FFT bins `[lo, hi)` of each band at `sample_rate` with `n_fft` points.
    fn band_bins(&self, sample_rate: u32, n_fft: usize) -> Vec<(usize, usize)> {
        let bin_hz = sample_rate as f64 / n_fft as f64;
        let nyquist_bin = n_fft / 2;
        let (m0, m1) = (mel(LOW_HZ), mel(HIGH_HZ.min(0.5 * sample_rate as f64)));
        (0..self.bands)
            .map(|b| {
                let edge = |i: usize| inverse_mel(m0 + (m1 - m0) * i as f64 / self.bands as f64);
                let (f0, f1) = (edge(b), edge(b + 1));
                let lo = ((f0 / bin_hz).ceil() as usize).min(nyquist_bin);
                let hi = ((f1 / bin_hz).ceil() as usize).min(nyquist_bin + 1);
                if hi > lo {
                    (lo, hi)
                } else {
                    let c = ((0.5 * (f0 + f1) / bin_hz).round() as usize).min(nyquist_bin);
                    (c, c + 1)
                }
            })
            .collect()
    }

    /// The `[frames × width]` features of `audio`, row-major.
    pub fn features(&self, audio: &AudioBuffer) -> Vec<f32> {
        let sr = audio.sample_rate;
        let n_fft = Self::n_fft(sr);
        let fft = Fft::new(n_fft).expect("a power of two");
        let window: Vec<f64> = (0..n_fft)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n_fft as f64).cos())
            .collect();
        let norm = window.iter().sum::<f64>().powi(2);
        let bands = self.band_bins(sr, n_fft);
        let left = &audio.channels[0];
        let right = audio.channels.get(1).unwrap_or(left);
        let hop = self.window_seconds * sr as f64 / self.frames as f64;
        let (mut re, mut im) = (vec![0.0; n_fft], vec![0.0; n_fft]);
        let mut power = vec![[0.0f64; CHANNELS]; n_fft / 2 + 1];
        let mut out = Vec::with_capacity(self.frames * self.width());
        for f in 0..self.frames {
            let start = ((f as f64 + 0.5) * hop).round() as i64 - (n_fft / 2) as i64;
            for (i, w) in window.iter().enumerate() {
                let n = start + i as i64;
                let at = |x: &[f32]| {
                    usize::try_from(n)
                        .ok()
                        .and_then(|n| x.get(n))
                        .map_or(0.0, |&v| v as f64)
                };
                re[i] = at(left) * w;
                im[i] = at(right) * w;
            }
            fft.forward(&mut re, &mut im);
            for (k, p) in power.iter_mut().enumerate() {
                let (a, b) = (re[k], im[k]);
                let (c, d) = (re[(n_fft - k) % n_fft], im[(n_fft - k) % n_fft]);
                // X_L = ((a + c) + i(b − d))/2,  X_R = ((b + d) − i(a − c))/2.
                let (lr, li) = (0.5 * (a + c), 0.5 * (b - d));
                let (rr, ri) = (0.5 * (b + d), -0.5 * (a - c));
                let (sr_, si) = (0.5 * (lr - rr), 0.5 * (li - ri));
                *p = [lr * lr + li * li, rr * rr + ri * ri, sr_ * sr_ + si * si];
            }
            for c in 0..CHANNELS {
                for &(lo, hi) in &bands {
                    let e =
                        power[lo..hi].iter().map(|p| p[c]).sum::<f64>() / ((hi - lo) as f64 * norm);
                    out.push((10.0 * (e + 1e-10).log10() / 20.0) as f32);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stereo(sr: u32, len: usize, f: impl Fn(usize) -> (f32, f32)) -> AudioBuffer {
        let (l, r): (Vec<f32>, Vec<f32>) = (0..len).map(f).unzip();
        AudioBuffer::new(sr, vec![l, r]).unwrap()
    }

    #[test]
    fn a_sine_lights_its_band_and_channels_separate() {
        let config = FeatureConfig::default();
        let sr = 16_000;
        let tone = |i: usize| (std::f64::consts::TAU * 1000.0 * i as f64 / sr as f64).sin() as f32;
        // Left only: L loud, R silent, side = L/2 (−6 dB).
        let x = stereo(sr, 24_000, |i| (tone(i), 0.0));
        let feats = config.features(&x);
        assert_eq!(feats.len(), config.frames * config.width());
        let frame = &feats[10 * config.width()..11 * config.width()];
        let (l, r, s) = (&frame[..32], &frame[32..64], &frame[64..96]);
        let peak = (0..32).max_by(|&a, &b| l[a].total_cmp(&l[b])).unwrap();
        let (lo, hi) = config.band_bins(sr, 1024)[peak];
        let bin = 1000.0 / (sr as f64 / 1024.0);
        assert!(
            lo as f64 <= bin + 1.0 && bin - 1.0 <= hi as f64,
            "band {peak}: {lo}..{hi}"
        );
        assert!(
            r.iter().all(|&v| v < -4.9),
            "right channel should be silent"
        );
        assert!(
            (l[peak] - s[peak] - 6.02 / 20.0).abs() < 0.01,
            "{} {}",
            l[peak],
            s[peak]
        );
        // Identical channels: no side.
        let mono = AudioBuffer::new(sr, vec![(0..24_000).map(tone).collect()]).unwrap();
        let m = config.features(&mono);
        assert!(m[10 * 96 + 64..10 * 96 + 96].iter().all(|&v| v < -4.9));
        assert_eq!(&m[10 * 96..10 * 96 + 32], &m[10 * 96 + 32..10 * 96 + 64]);
    }

    #[test]
    fn paired_fft_matches_one_channel_at_a_time() {
        // Oracle: the left channel alone (right = 0) gives the same left features.
        let config = FeatureConfig {
            frames: 6,
            bands: 8,
            window_seconds: 0.5,
        };
        let sr = 8000;
        let noise = |i: usize, k: usize| (((i * 7919 + k * 104_729) % 1000) as f32 / 500.0) - 1.0;
        let both = config.features(&stereo(sr, 4000, |i| (noise(i, 1), noise(i, 2))));
        let left = config.features(&stereo(sr, 4000, |i| (noise(i, 1), 0.0)));
        for f in 0..6 {
            for b in 0..8 {
                let (x, y) = (both[f * 24 + b], left[f * 24 + b]);
                assert!((x - y).abs() < 1e-5, "frame {f} band {b}: {x} vs {y}");
            }
        }
        // Louder input, higher features (by 20·log10(2)/20 per doubling).
        let twice = config.features(&stereo(sr, 4000, |i| (2.0 * noise(i, 1), 0.0)));
        assert!((twice[3 * 24 + 4] - left[3 * 24 + 4] - 0.301).abs() < 1e-3);
    }

    #[test]
    fn sample_rates_share_a_frequency_axis() {
        let config = FeatureConfig::default();
        for sr in [16_000u32, 22_050, 44_100] {
            let n = FeatureConfig::n_fft(sr);
            assert!(n.is_power_of_two());
            let bands = config.band_bins(sr, n);
            assert!(bands.iter().all(|&(lo, hi)| lo < hi && hi <= n / 2 + 1));
            assert!(bands.windows(2).all(|w| w[0].0 <= w[1].0));
        }
        assert_eq!(FeatureConfig::n_fft(16_000), 1024);
    }
}
