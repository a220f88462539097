//! Multi-resolution STFT distance (Yamamoto et al. 2020; the auraloss defaults used by
//! LLM2Fx-Tools): for each resolution `(n_fft, hop, win)` with a Hann window of length `win`
//! centred in an `n_fft` frame, magnitudes `|X| = sqrt(max(re² + im², 10⁻⁸))` and
//!
//! `L = ‖|Y| - |X|‖_F / ‖|Y|‖_F  +  mean |log|Y| - log|X||`
//!
//! (spectral convergence + log-magnitude L1, `Y` the target), averaged over resolutions and
//! channels. Resolutions: (1024, 120, 600), (2048, 240, 1200), (512, 50, 240). Frames start at
//! sample 0 every `hop` samples; the signal is zero-padded so the last frame covers its end.

use genlab_core::{Error, Result};

use crate::engine::buffer::AudioBuffer;
use crate::engine::fft::Fft;

/// One STFT resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// FFT size (power of two).
    pub n_fft: usize,
    /// Hop in samples.
    pub hop: usize,
    /// Hann window length (≤ n_fft).
    pub win: usize,
}

/// auraloss `MultiResolutionSTFTLoss` defaults.
pub const AURALOSS: [Resolution; 3] = [
    Resolution {
        n_fft: 1024,
        hop: 120,
        win: 600,
    },
    Resolution {
        n_fft: 2048,
        hop: 240,
        win: 1200,
    },
    Resolution {
        n_fft: 512,
        hop: 50,
        win: 240,
    },
];

const EPS: f64 = 1e-8;

/// Precomputed FFT plans and windows.
#[derive(Debug, Clone)]
pub struct Mrstft {
    stages: Vec<(Resolution, Fft, Vec<f64>)>,
}

/// Magnitude spectrograms of one signal, one per resolution (frames × bins, flattened), with
/// their logarithms (computed once, since a target is compared with many candidates).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectra {
    mags: Vec<Vec<f32>>,
    logs: Vec<Vec<f32>>,
}

impl Mrstft {
    /// Plans for `resolutions`.
    pub fn new(resolutions: &[Resolution]) -> Result<Self> {
        let stages = resolutions
            .iter()
            .map(|&r| {
                let fft = Fft::new(r.n_fft)
                    .filter(|_| r.win <= r.n_fft && r.hop > 0 && r.win > 0)
                    .ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "bad STFT resolution {r:?} (n_fft a power of two ≥ win, hop > 0)"
                        ))
                    })?;
                let window = (0..r.win)
                    .map(|i| {
                        0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / r.win as f64).cos()
                    })
                    .collect();
                Ok((r, fft, window))
            })
            .collect::<Result<_>>()?;
        Ok(Mrstft { stages })
    }

    /// Magnitude spectrograms of `x`. Two real frames share one complex FFT: with
    /// `z = x₁ + i·x₂`, `X₁[k] = (Z[k] + Z*[N-k])/2` and `X₂[k] = (Z[k] - Z*[N-k])/(2i)`.
    pub fn spectra(&self, x: &[f32]) -> Spectra {
        let mut out = Vec::with_capacity(self.stages.len());
        let longest = self.stages.iter().map(|s| s.0.n_fft).max().unwrap_or(0);
        let (mut re_buf, mut im_buf) = (vec![0.0; longest], vec![0.0; longest]);
        for (r, fft, window) in &self.stages {
            let frames = if x.len() <= r.n_fft {
                1
            } else {
                1 + (x.len() - r.n_fft).div_ceil(r.hop)
            };
            let bins = r.n_fft / 2 + 1;
            let offset = (r.n_fft - r.win) / 2;
            let mut mags = vec![0.0f32; frames * bins];
            let (re, im) = (&mut re_buf[..r.n_fft], &mut im_buf[..r.n_fft]);
            // Frame f: x[f·hop + offset + i]·w[i] at offset + i, zero outside the signal.
            let frame = |f: usize, dst: &mut [f64]| {
                dst.fill(0.0);
                if f < frames {
                    let start = f * r.hop + offset;
                    let avail = x.len().saturating_sub(start).min(r.win);
                    let (src, w) = (&x[start.min(x.len())..][..avail], &window[..avail]);
                    for ((d, &v), &w) in dst[offset..offset + avail].iter_mut().zip(src).zip(w) {
                        *d = v as f64 * w;
                    }
                }
            };
            for f in (0..frames).step_by(2) {
                frame(f, &mut *re);
                frame(f + 1, &mut *im);
                fft.forward(re, im);
                let (first, second) = mags[f * bins..].split_at_mut(bins);
                let second = (f + 1 < frames).then(|| &mut second[..bins]);
                split_magnitudes(re, im, first, second);
            }
            out.push(mags);
        }
        let logs = out
            .iter()
            .map(|m| m.iter().map(|v| v.ln()).collect())
            .collect();
        Spectra { mags: out, logs }
    }

    /// Per-channel spectra of a buffer.
    pub fn buffer_spectra(&self, a: &AudioBuffer) -> Vec<Spectra> {
        a.channels.iter().map(|c| self.spectra(c)).collect()
    }
}

/// The magnitudes of two real frames transformed together as `z = x₁ + i·x₂` (`Z = (re, im)`,
/// length `n`): `|X₁[k]| = |Z[k] + Z*[n-k]|/2` into `first`, `|X₂[k]| = |Z[k] - Z*[n-k]|/2`
/// into `second` (when there is a second frame), each floored at `√EPS`, for `k < n/2 + 1`.
fn split_magnitudes(re: &[f64], im: &[f64], first: &mut [f32], second: Option<&mut [f32]>) {
    let n = re.len();
    let bins = first.len();
    let pair = |k: usize| {
        let (a, b) = (re[k], im[k]);
        let j = if k == 0 { 0 } else { n - k };
        let (c, d) = (re[j], im[j]);
        let one = ((a + c) * (a + c) + (b - d) * (b - d)) / 4.0;
        let two = ((b + d) * (b + d) + (a - c) * (a - c)) / 4.0;
        (one.max(EPS).sqrt() as f32, two.max(EPS).sqrt() as f32)
    };
    match second {
        Some(second) => {
            for k in 0..bins {
                (first[k], second[k]) = pair(k);
            }
        }
        None => {
            for (k, m) in first.iter_mut().enumerate() {
                *m = pair(k).0;
            }
        }
    }
}

/// `L(target, estimate)` for one signal: mean over resolutions.
pub fn distance(target: &Spectra, estimate: &Spectra) -> f64 {
    let mut total = 0.0;
    let resolutions = target.mags.iter().zip(&target.logs);
    for ((y, ly), (x, lx)) in resolutions.zip(estimate.mags.iter().zip(&estimate.logs)) {
        let (mut diff, mut norm, mut log_l1) = (0.0f64, 0.0f64, 0.0f64);
        for (&a, &b) in y.iter().zip(x) {
            let (a, b) = (a as f64, b as f64);
            diff += (a - b) * (a - b);
            norm += a * a;
        }
        for (&a, &b) in ly.iter().zip(lx) {
            log_l1 += (a as f64 - b as f64).abs();
        }
        total += diff.sqrt() / norm.sqrt().max(1e-12) + log_l1 / y.len().max(1) as f64;
    }
    total / target.mags.len().max(1) as f64
}

/// Mean over channels of [`distance`].
pub fn buffer_distance(target: &[Spectra], estimate: &[Spectra]) -> f64 {
    let sum: f64 = target
        .iter()
        .zip(estimate)
        .map(|(t, e)| distance(t, e))
        .sum();
    sum / target.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_for_identical_grows_with_difference_and_sees_level() {
        let m = Mrstft::new(&AURALOSS).unwrap();
        let x: Vec<f32> = crate::testutil::lcg_noise(1, 1, 8000)[0]
            .iter()
            .map(|v| v * 0.6)
            .collect();
        let sx = m.spectra(&x);
        assert_eq!(distance(&sx, &sx), 0.0);
        let scaled = |g: f32| m.spectra(&x.iter().map(|v| v * g).collect::<Vec<_>>());
        let d1 = distance(&sx, &scaled(0.9));
        let d2 = distance(&sx, &scaled(0.5));
        assert!(0.0 < d1 && d1 < d2, "{d1} {d2}");
        // Closed form for a pure scaling g (no floor active): SC = |1 - g|, log L1 = |ln g|.
        let want = (1.0 - 0.5) + 0.5f64.ln().abs();
        assert!((d2 - want).abs() < 1e-3, "{d2} vs {want}");
        assert!(
            Mrstft::new(&[Resolution {
                n_fft: 1000,
                hop: 10,
                win: 100
            }])
            .is_err()
        );
    }

    #[test]
    fn paired_frames_match_one_fft_per_frame() {
        // Oracle: every frame through its own complex FFT with a zero imaginary part.
        let r = Resolution {
            n_fft: 64,
            hop: 10,
            win: 48,
        };
        let m = Mrstft::new(&[r]).unwrap();
        for len in [30usize, 64, 101, 150] {
            let x: Vec<f32> = (0..len)
                .map(|i| ((i * 37 % 17) as f32 - 8.0) / 9.0)
                .collect();
            let got = m.spectra(&x).mags;
            let (_, fft, window) = &m.stages[0];
            let frames = if len <= 64 {
                1
            } else {
                1 + (len - 64).div_ceil(10)
            };
            assert_eq!(got[0].len(), frames * 33);
            for f in 0..frames {
                let mut re = vec![0.0; 64];
                let mut im = vec![0.0; 64];
                for (i, w) in window.iter().enumerate() {
                    re[8 + i] = x.get(f * 10 + 8 + i).map_or(0.0, |&v| v as f64) * w;
                }
                fft.forward(&mut re, &mut im);
                for k in 0..33 {
                    let want = (re[k] * re[k] + im[k] * im[k]).max(EPS).sqrt() as f32;
                    assert!(
                        (got[0][f * 33 + k] - want).abs() < 1e-5,
                        "len {len} frame {f} bin {k}"
                    );
                }
            }
        }
    }
}
