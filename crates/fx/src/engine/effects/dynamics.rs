//! The JUCE `dsp::Compressor` that pedalboard's `Compressor` is, and that pedalboard's `Limiter`
//! (JUCE `dsp::Limiter`) chains twice: a peak envelope follower per channel, then a static
//! gain computed from the envelope, all in `f32` as JUCE's `float` instantiation runs it.
//! Read in JUCE at the commit pedalboard pins (`ddaa0911`, `modules/juce_dsp/widgets/
//! juce_Compressor.cpp`, `processors/juce_BallisticsFilter.cpp`):
//!
//! - ballistics (per channel `c`, not linked): `a = |x_c[n]|`,
//!   `env_c[n] = a + κ·(env_c[n-1] - a)` with `κ = κ_A` if `a > env_c[n-1]` else `κ_R`;
//!   `κ = exp(-2π·1000/(fs·t_ms))` (computed in `f64`, stored as `f32`; `0` for
//!   `t_ms < 0.001`) — so a "time" of `t` ms is a one-pole time constant of `t/(2π)` ms.
//! - gain: `g = 1` if `env < T`, else `g = (env·T⁻¹)^(1/R - 1)`, with
//!   `T = 10^(0.05·threshold_dB)` (`powf`), `T⁻¹ = 1/T`, `1/R` all in `f32`.
//! - output `y = g·x`.
//!
//! The order of the `f32` operations is JUCE's, so the envelope is bit-identical; the power
//! is [`crate::engine::vecmath::pow`] in `f64` rounded to `f32` (correctly rounded except for
//! near-ties, where glibc's `powf` may round the other way: ≤ 1 ulp).
//!
//! Speed: samples are processed in chunks; per chunk the envelope recursion runs first (the
//! channels of a stereo pair interleaved, two independent dependency chains), then the powers
//! of the whole chunk in one vectorised pass, skipped when no envelope reached the threshold.

/// The envelope follower's smoothing constant for a time of `ms` milliseconds.
pub fn ballistics_constant(ms: f32, sample_rate: f64) -> f32 {
    if ms < 1.0e-3 {
        0.0
    } else {
        let exp_factor = -2.0 * std::f64::consts::PI * 1000.0 / sample_rate;
        (exp_factor / ms as f64).exp() as f32
    }
}

/// JUCE's `Decibels::decibelsToGain` for `float`: `10^(0.05·dB)` (`powf`), 0 at or below
/// −100 dB.
pub fn decibels_to_gain(db: f32) -> f32 {
    if db > -100.0 {
        10f32.powf(db * 0.05)
    } else {
        0.0
    }
}

/// Samples per chunk of the two-pass processing.
const CHUNK: usize = 256;

/// One JUCE compressor for several channels.
#[derive(Debug, Clone)]
pub struct JuceCompressor {
    sample_rate: f64,
    threshold: f32,
    threshold_inverse: f32,
    /// `1/R - 1`.
    exponent: f32,
    attack: f32,
    release: f32,
    /// Per-channel envelope `env_c[n-1]`.
    envelope: Vec<f32>,
    env: Vec<f32>,
    gains: Vec<f64>,
}

impl JuceCompressor {
    /// A compressor at 0 dB threshold, ratio 1, 1 ms attack and 100 ms release (JUCE's defaults).
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let mut c = JuceCompressor {
            sample_rate,
            threshold: 1.0,
            threshold_inverse: 1.0,
            exponent: 0.0,
            attack: 0.0,
            release: 0.0,
            envelope: vec![0.0; channels],
            env: vec![0.0; 2 * CHUNK],
            gains: vec![0.0; 2 * CHUNK],
        };
        c.set(0.0, 1.0, 1.0, 100.0);
        c
    }

    /// New parameters (`f32`, as pedalboard's float plugin receives them).
    pub fn set(&mut self, threshold_db: f32, ratio: f32, attack_ms: f32, release_ms: f32) {
        self.threshold = decibels_to_gain(threshold_db);
        self.threshold_inverse = 1.0 / self.threshold;
        self.exponent = 1.0 / ratio - 1.0;
        self.attack = ballistics_constant(attack_ms, self.sample_rate);
        self.release = ballistics_constant(release_ms, self.sample_rate);
    }

    /// Clears the envelopes.
    pub fn reset(&mut self) {
        self.envelope.fill(0.0);
    }

    /// Compresses every channel over `range` in place (envelopes follow the channel count).
    pub fn process(&mut self, channels: &mut [Vec<f32>], range: std::ops::Range<usize>) {
        if self.envelope.len() != channels.len() {
            self.envelope.resize(channels.len(), 0.0);
        }
        let mut start = range.start;
        while start < range.end {
            let end = (start + CHUNK).min(range.end);
            let mut c = 0;
            while c < channels.len() {
                if c + 1 < channels.len() {
                    let (a, b) = channels[c..].split_at_mut(1);
                    self.chunk_pair(c, &mut a[0][start..end], &mut b[0][start..end]);
                    c += 2;
                } else {
                    self.chunk_one(c, &mut channels[c][start..end]);
                    c += 1;
                }
            }
            start = end;
        }
    }

    /// The envelope recursion of one channel over `x`, into `env`.
    #[inline(always)]
    fn follow(env: &mut [f32], x: &[f32], state: &mut f32, attack: f32, release: f32) {
        let mut y = *state;
        for (e, &v) in env.iter_mut().zip(x) {
            let a = v.abs();
            let k = if a > y { attack } else { release };
            y = a + k * (y - a);
            *e = y;
        }
        *state = y;
    }

    fn chunk_one(&mut self, c: usize, x: &mut [f32]) {
        let n = x.len();
        let (attack, release) = (self.attack, self.release);
        Self::follow(
            &mut self.env[..n],
            x,
            &mut self.envelope[c],
            attack,
            release,
        );
        self.apply(x, 0);
    }

    fn chunk_pair(&mut self, c: usize, x0: &mut [f32], x1: &mut [f32]) {
        let n = x0.len();
        let (attack, release) = (self.attack, self.release);
        let (mut y0, mut y1) = (self.envelope[c], self.envelope[c + 1]);
        let (e0, e1) = self.env.split_at_mut(CHUNK);
        // Two independent recursions in one loop, so their latencies overlap.
        for i in 0..n {
            let (a0, a1) = (x0[i].abs(), x1[i].abs());
            let k0 = if a0 > y0 { attack } else { release };
            let k1 = if a1 > y1 { attack } else { release };
            y0 = a0 + k0 * (y0 - a0);
            y1 = a1 + k1 * (y1 - a1);
            e0[i] = y0;
            e1[i] = y1;
        }
        self.envelope[c] = y0;
        self.envelope[c + 1] = y1;
        self.apply(x0, 0);
        self.apply(x1, CHUNK);
    }

    /// `x[i] ← g(env[at + i])·x[i]`.
    fn apply(&mut self, x: &mut [f32], at: usize) {
        let n = x.len();
        let env = &self.env[at..at + n];
        let (t, t_inv) = (self.threshold, self.threshold_inverse);
        if env.iter().all(|&e| e < t) {
            return;
        }
        let gains = &mut self.gains[at..at + n];
        for (g, &e) in gains.iter_mut().zip(env) {
            *g = if e < t { 1.0 } else { (e * t_inv) as f64 };
        }
        crate::engine::vecmath::pow_in_place(gains, self.exponent as f64);
        for (v, &g) in x.iter_mut().zip(gains.iter()) {
            *v *= g as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JUCE's per-sample `processSample`, written out plainly (`powf` from libm).
    fn reference(
        x: &[Vec<f32>],
        (thr_db, ratio, att, rel): (f32, f32, f32, f32),
        fs: f64,
    ) -> Vec<Vec<f32>> {
        let t = 10f32.powf(thr_db * 0.05);
        let (t_inv, r_inv) = (1.0 / t, 1.0 / ratio);
        let (ka, kr) = (ballistics_constant(att, fs), ballistics_constant(rel, fs));
        x.iter()
            .map(|ch| {
                let mut y = 0.0f32;
                ch.iter()
                    .map(|&v| {
                        let a = v.abs();
                        let k = if a > y { ka } else { kr };
                        y = a + k * (y - a);
                        let g = if y < t {
                            1.0
                        } else {
                            (y * t_inv).powf(r_inv - 1.0)
                        };
                        g * v
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn chunked_two_pass_equals_the_per_sample_definition() {
        let fs = 44100.0;
        let noise = crate::testutil::lcg_noise(7, 3, 3000);
        // Bursts: loud in the middle, quiet at both ends, so both paths are exercised.
        let x: Vec<Vec<f32>> = noise
            .iter()
            .map(|ch| {
                ch.iter()
                    .enumerate()
                    .map(|(i, v)| v * if (800..2000).contains(&i) { 0.9 } else { 0.02 })
                    .collect()
            })
            .collect();
        for params in [(-20.0, 4.0, 10.0, 100.0), (-6.0, 1000.0, 0.001, 5.0)] {
            let want = reference(&x, params, fs);
            for channels in [1usize, 2, 3] {
                let mut c = JuceCompressor::new(fs, channels);
                c.set(params.0, params.1, params.2, params.3);
                let mut y: Vec<Vec<f32>> = x[..channels].to_vec();
                // Ranges of odd sizes, across chunk boundaries.
                let mut a = 0;
                for len in [1usize, 300, 7, 1000, 1692] {
                    c.process(&mut y, a..a + len);
                    a += len;
                }
                let mut differ = 0;
                for (yc, wc) in y.iter().zip(&want) {
                    for (u, w) in yc.iter().zip(wc) {
                        // The power may round the other way on a near-tie: ≤ 1 ulp.
                        assert!((u - w).abs() <= 1.2e-7 * w.abs().max(1e-30), "{u} vs {w}");
                        differ += (u != w) as usize;
                    }
                }
                // glibc's powf is not always correctly rounded: about 1 sample in 2000 differs.
                assert!(
                    differ <= 3 * channels * 3000 / 1000,
                    "{differ} samples differ by an ulp"
                );
            }
        }
    }

    #[test]
    fn constants_follow_juce() {
        // κ = exp(-2π·1000/(fs·t)): 10 ms at 44.1 kHz.
        let k = ballistics_constant(10.0, 44100.0);
        assert_eq!(k, (-2.0 * std::f64::consts::PI / 441.0).exp() as f32);
        assert_eq!(ballistics_constant(0.0005, 44100.0), 0.0);
        let db = std::hint::black_box(-20.0f32);
        assert_eq!(decibels_to_gain(db), 10f32.powf(db * 0.05));
        assert_eq!(decibels_to_gain(-100.0), 0.0);
    }
}
