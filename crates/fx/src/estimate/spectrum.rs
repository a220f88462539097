//! The search's MRSTFT in single precision: the same distance as
//! [`crate::engine::mrstft`] (spectral convergence + log-magnitude L1 per resolution, mean over
//! resolutions; Hann window of length `win` centred in an `n_fft` frame, frames every `hop`
//! samples from sample 0, zero-padded at the end, `|X| = sqrt(max(re² + im², 10⁻⁸))`), computed
//! for the hundreds of candidates a search measures against one target.
//!
//! **Real FFT by half-size complex FFT.** A real frame `x` of even length `N` is packed as
//! `z[n] = x[2n] + i·x[2n+1]`, `n < M = N/2`, and transformed by an `M`-point complex FFT;
//! with `E[k] = (Z[k] + Z*[M−k])/2`, `O[k] = (Z[k] − Z*[M−k])/(2i)` (indices mod `M`),
//! `X[k] = E[k] + e^{−2πik/N}·O[k]` for `k = 0..=N/2`. The complex FFT is iterative radix-2
//! decimation in time over split real/imaginary `f32` arrays, each butterfly pass reading its
//! own contiguous twiddle table (`e^{−2πik/(2h)}`, `k < h`, for half-size `h`), so the inner
//! loop runs over unit strides.
//!
//! **Logarithm.** For `|X| = m·2^e` with `m ∈ [1/√2, √2)`, `ln |X| = e·ln 2 + ln m` and
//! `ln m = 2·atanh(s) = 2(s + s³/3 + s⁵/5 + s⁷/7 + s⁹/9 + …)`, `s = (m − 1)/(m + 1)`,
//! `|s| ≤ 0.172`; the series is cut after `s⁹/9` (the next term is below `10⁻⁹`), so the error
//! is `f32` rounding (test against `f64::ln`). Magnitudes are at least `10⁻⁴`, so it is only
//! ever applied to normal numbers.
//!
//! The candidate's spectrogram is never stored: each frame's magnitudes are compared with the
//! target's as they are computed. Sums run in `f64` in frame order, so a distance does not
//! depend on the thread count. Against the `f64` engine implementation the distance agrees to
//! about `10⁻⁵` relative (test); only search decisions use it, every reported distance is the
//! engine's.

use genlab_core::{Error, Result};

use crate::engine::mrstft::Resolution;

const EPS: f32 = 1e-8;

/// An `m`-point complex FFT plan (`m` a power of two).
#[derive(Debug, Clone)]
struct Complex {
    m: usize,
    reversed: Vec<u32>,
    /// Twiddles of every pass, the pass of half-size `h` at `h − 1 .. 2h − 1`.
    tw_re: Vec<f32>,
    tw_im: Vec<f32>,
}

impl Complex {
    fn new(m: usize) -> Complex {
        let bits = m.trailing_zeros();
        let reversed = (0..m)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    (i.reverse_bits() >> (usize::BITS - bits)) as u32
                }
            })
            .collect();
        let (mut tw_re, mut tw_im) = (Vec::with_capacity(m), Vec::with_capacity(m));
        let mut h = 1;
        while h < m {
            for k in 0..h {
                let a = -std::f64::consts::PI * k as f64 / h as f64;
                tw_re.push(a.cos() as f32);
                tw_im.push(a.sin() as f32);
            }
            h *= 2;
        }
        Complex {
            m,
            reversed,
            tw_re,
            tw_im,
        }
    }

    /// In-place forward transform of `(re, im)`, both of length `m`. The first two passes
    /// (twiddles 1 and −i) run as one multiplication-free radix-4 pass.
    #[inline(always)]
    fn forward(&self, re: &mut [f32], im: &mut [f32]) {
        let m = self.m;
        for i in 0..m {
            let j = self.reversed[i] as usize;
            if j > i {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut h = 1;
        if m >= 4 {
            for (r, i) in re.chunks_exact_mut(4).zip(im.chunks_exact_mut(4)) {
                let (b0r, b0i) = (r[0] + r[1], i[0] + i[1]);
                let (b1r, b1i) = (r[0] - r[1], i[0] - i[1]);
                let (b2r, b2i) = (r[2] + r[3], i[2] + i[3]);
                let (b3r, b3i) = (r[2] - r[3], i[2] - i[3]);
                r[0] = b0r + b2r;
                i[0] = b0i + b2i;
                r[2] = b0r - b2r;
                i[2] = b0i - b2i;
                // −i·b3 = (b3i, −b3r)
                r[1] = b1r + b3i;
                i[1] = b1i - b3r;
                r[3] = b1r - b3i;
                i[3] = b1i + b3r;
            }
            h = 4;
        }
        while h < m {
            let (wr, wi) = (&self.tw_re[h - 1..2 * h - 1], &self.tw_im[h - 1..2 * h - 1]);
            for (blk_re, blk_im) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (lo_re, hi_re) = blk_re.split_at_mut(h);
                let (lo_im, hi_im) = blk_im.split_at_mut(h);
                for k in 0..h {
                    let (br, bi) = (hi_re[k], hi_im[k]);
                    let tr = wr[k] * br - wi[k] * bi;
                    let ti = wr[k] * bi + wi[k] * br;
                    hi_re[k] = lo_re[k] - tr;
                    hi_im[k] = lo_im[k] - ti;
                    lo_re[k] += tr;
                    lo_im[k] += ti;
                }
            }
            h *= 2;
        }
    }
}

/// One resolution's plan: framing, window, the half-size FFT and the unpacking twiddles.
#[derive(Debug, Clone)]
struct Plan {
    r: Resolution,
    /// The window placed in its frame (`n_fft` values, zero outside the centred `win`),
    /// split into even and odd samples (the real and imaginary parts of the packed frame).
    w_even: Vec<f32>,
    w_odd: Vec<f32>,
    fft: Complex,
    /// `e^{−2πik/N}` for `k ≤ N/2`, real and imaginary parts.
    un_re: Vec<f32>,
    un_im: Vec<f32>,
}

impl Plan {
    fn frames(&self, len: usize) -> usize {
        if len <= self.r.n_fft {
            1
        } else {
            1 + (len - self.r.n_fft).div_ceil(self.r.hop)
        }
    }

    /// The magnitudes `|X[k]|`, `k = 0..=N/2`, of frame `f` of `x` into `out` (frame sample
    /// `j` is `x[f·hop + j]` times the placed window).
    #[inline(always)]
    fn magnitudes(&self, x: &[f32], f: usize, re: &mut [f32], im: &mut [f32], out: &mut [f32]) {
        let m = self.fft.m;
        let start = f * self.r.hop;
        if start + 2 * m <= x.len() {
            let frame = &x[start..start + 2 * m];
            for (((r, i), pair), (we, wo)) in re
                .iter_mut()
                .zip(im.iter_mut())
                .zip(frame.chunks_exact(2))
                .zip(self.w_even.iter().zip(&self.w_odd))
            {
                *r = pair[0] * we;
                *i = pair[1] * wo;
            }
        } else {
            let at = |j: usize| x.get(start + j).copied().unwrap_or(0.0);
            for k in 0..m {
                re[k] = at(2 * k) * self.w_even[k];
                im[k] = at(2 * k + 1) * self.w_odd[k];
            }
        }
        self.fft.forward(re, im);
        let mask = m - 1;
        for (k, o) in out.iter_mut().enumerate() {
            let (a, b) = (k & mask, (m - (k & mask)) & mask);
            let (ar, ai, br, bi) = (re[a], im[a], re[b], im[b]);
            let (er, ei) = (0.5 * (ar + br), 0.5 * (ai - bi));
            let (or, oi) = (0.5 * (ai + bi), -0.5 * (ar - br));
            let (cr, ci) = (self.un_re[k], self.un_im[k]);
            let xr = er + cr * or - ci * oi;
            let xi = ei + cr * oi + ci * or;
            *o = (xr * xr + xi * xi).max(EPS).sqrt();
        }
    }
}

/// Target spectrograms (magnitudes and their logarithms), one per resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    mags: Vec<Vec<f32>>,
    logs: Vec<Vec<f32>>,
}

/// Single-precision MRSTFT plans (see the module doc).
#[derive(Debug, Clone)]
pub struct FastMrstft {
    plans: Vec<Plan>,
}

/// `ln x` for a normal positive `x` (see the module doc).
#[inline(always)]
pub fn fast_ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let series = 1.0 + z * (1.0 / 3.0 + z * (1.0 / 5.0 + z * (1.0 / 7.0 + z * (1.0 / 9.0))));
    2.0 * s * series + e as f32 * std::f32::consts::LN_2
}

impl FastMrstft {
    /// Plans for `resolutions` (each `n_fft` a power of two ≥ 2 and ≥ `win`, `hop > 0`).
    pub fn new(resolutions: &[Resolution]) -> Result<FastMrstft> {
        let plans = resolutions
            .iter()
            .map(|&r| {
                if !r.n_fft.is_power_of_two()
                    || r.n_fft < 2
                    || r.win > r.n_fft
                    || r.win == 0
                    || r.hop == 0
                {
                    return Err(Error::InvalidInput(format!(
                        "bad STFT resolution {r:?} (n_fft a power of two ≥ 2 and ≥ win, hop > 0)"
                    )));
                }
                let offset = (r.n_fft - r.win) / 2;
                let placed: Vec<f32> = (0..r.n_fft)
                    .map(|j| {
                        if j < offset || j >= offset + r.win {
                            return 0.0;
                        }
                        let i = (j - offset) as f64;
                        (0.5 - 0.5 * (std::f64::consts::TAU * i / r.win as f64).cos()) as f32
                    })
                    .collect();
                let angle = |k: usize| -std::f64::consts::TAU * k as f64 / r.n_fft as f64;
                Ok(Plan {
                    r,
                    w_even: placed.iter().step_by(2).copied().collect(),
                    w_odd: placed.iter().skip(1).step_by(2).copied().collect(),
                    fft: Complex::new(r.n_fft / 2),
                    un_re: (0..=r.n_fft / 2).map(|k| angle(k).cos() as f32).collect(),
                    un_im: (0..=r.n_fft / 2).map(|k| angle(k).sin() as f32).collect(),
                })
            })
            .collect::<Result<_>>()?;
        Ok(FastMrstft { plans })
    }

    /// The target's spectrograms.
    pub fn target(&self, y: &[f32]) -> Target {
        let mut mags = Vec::with_capacity(self.plans.len());
        let mut logs = Vec::with_capacity(self.plans.len());
        for p in &self.plans {
            let (m, bins) = (p.fft.m, p.r.n_fft / 2 + 1);
            let (mut re, mut im) = (vec![0.0; m], vec![0.0; m]);
            let frames = p.frames(y.len());
            let mut mag = vec![0.0f32; frames * bins];
            for (f, out) in mag.chunks_exact_mut(bins).enumerate() {
                p.magnitudes(y, f, &mut re, &mut im, out);
            }
            logs.push(mag.iter().map(|&v| fast_ln(v)).collect());
            mags.push(mag);
        }
        Target { mags, logs }
    }

    /// `L(target, x)`: the mean over resolutions of spectral convergence plus log-magnitude
    /// L1 (`x` must have the target signal's length). Per frame, the sums run over 8 lanes
    /// of bins, then across lanes, in a fixed order (the same on every CPU path).
    pub fn distance(&self, target: &Target, x: &[f32]) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked above).
                return unsafe { self.distance_avx2(target, x) };
            }
        }
        self.distance_generic(target, x)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn distance_avx2(&self, target: &Target, x: &[f32]) -> f64 {
        self.distance_generic(target, x)
    }

    #[inline(always)]
    fn distance_generic(&self, target: &Target, x: &[f32]) -> f64 {
        const LANES: usize = 8;
        let mut total = 0.0;
        for ((p, ty), tl) in self.plans.iter().zip(&target.mags).zip(&target.logs) {
            let (m, bins) = (p.fft.m, p.r.n_fft / 2 + 1);
            let (mut re, mut im) = (vec![0.0; m], vec![0.0; m]);
            let mut mag = vec![0.0f32; bins];
            let (mut diff, mut norm, mut log_l1) = (0.0f64, 0.0f64, 0.0f64);
            for (f, (y, ly)) in ty.chunks_exact(bins).zip(tl.chunks_exact(bins)).enumerate() {
                p.magnitudes(x, f, &mut re, &mut im, &mut mag);
                let (mut d, mut nn, mut l) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
                let whole = bins / LANES * LANES;
                for ((yc, lc), bc) in y[..whole]
                    .chunks_exact(LANES)
                    .zip(ly[..whole].chunks_exact(LANES))
                    .zip(mag[..whole].chunks_exact(LANES))
                {
                    for j in 0..LANES {
                        let (a, b) = (yc[j], bc[j]);
                        d[j] += (a - b) * (a - b);
                        nn[j] += a * a;
                        l[j] += (lc[j] - fast_ln(b)).abs();
                    }
                }
                for j in whole..bins {
                    let (a, b) = (y[j], mag[j]);
                    d[0] += (a - b) * (a - b);
                    nn[0] += a * a;
                    l[0] += (ly[j] - fast_ln(b)).abs();
                }
                diff += d.iter().map(|&v| v as f64).sum::<f64>();
                norm += nn.iter().map(|&v| v as f64).sum::<f64>();
                log_l1 += l.iter().map(|&v| v as f64).sum::<f64>();
            }
            total += diff.sqrt() / norm.sqrt().max(1e-12) + log_l1 / ty.len().max(1) as f64;
        }
        total / self.plans.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mrstft::{AURALOSS, Mrstft, distance};
    use crate::estimate::objective::SEARCH_RESOLUTIONS;

    fn signal(len: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..len)
            .map(|i| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                0.3 * (i as f32 * 0.05).sin() + 0.2 * noise
            })
            .collect()
    }

    #[test]
    fn the_complex_fft_matches_a_naive_dft() {
        for m in [1, 2, 4, 16, 128] {
            let x = signal(m, 1);
            let y = signal(m, 2);
            let (mut re, mut im) = (x.clone(), y.clone());
            Complex::new(m).forward(&mut re, &mut im);
            for k in 0..m {
                let (mut sr, mut si) = (0.0f64, 0.0f64);
                for t in 0..m {
                    let a = -std::f64::consts::TAU * (k * t) as f64 / m as f64;
                    sr += x[t] as f64 * a.cos() - y[t] as f64 * a.sin();
                    si += x[t] as f64 * a.sin() + y[t] as f64 * a.cos();
                }
                assert!(
                    (re[k] as f64 - sr).abs() < 1e-4 && (im[k] as f64 - si).abs() < 1e-4,
                    "m {m} k {k}"
                );
            }
        }
    }

    #[test]
    fn fast_ln_is_accurate_over_the_magnitude_range() {
        let mut worst = 0.0f64;
        let mut v = 1e-4f32;
        while v < 1e4 {
            worst = worst.max((fast_ln(v) as f64 - (v as f64).ln()).abs());
            v *= 1.0137;
        }
        assert!(worst < 1e-6, "worst absolute error {worst}");
    }

    #[test]
    fn distance_matches_the_engine_mrstft() {
        let y = signal(9000, 3);
        let x: Vec<f32> = signal(9000, 4)
            .iter()
            .zip(&y)
            .map(|(a, b)| 0.3 * a + 0.8 * b)
            .collect();
        for res in [&SEARCH_RESOLUTIONS[..], &AURALOSS[..]] {
            let engine = Mrstft::new(res).unwrap();
            let want = distance(&engine.spectra(&y), &engine.spectra(&x));
            let fast = FastMrstft::new(res).unwrap();
            let got = fast.distance(&fast.target(&y), &x);
            assert!((got - want).abs() < 1e-5 * want.max(1.0), "{got} vs {want}");
            assert!(fast.distance(&fast.target(&y), &y) < 1e-6);
        }
    }
}
