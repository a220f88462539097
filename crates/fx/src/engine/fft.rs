//! Complex FFT (iterative Cooley–Tukey, decimation in time) and the real FFT built on it:
//! `X[k] = Σ_{n<N} x[n]·e^{-2πi kn/N}` for `N` a power of two.
//!
//! **Complex** ([`Fft`]): the input is permuted into bit-reversed order (a precomputed list of
//! swaps), then butterfly passes combine pairs of half-size transforms,
//! `X[k] = E[k] + w^k O[k]`, `X[k + h] = E[k] - w^k O[k]`, `w = e^{-2πi/(2h)}`, for
//! `h = 1, 2, 4, …, N/2`. The first two passes have the trivial twiddles `1` and `-i` and run
//! fused as one radix-4 pass without multiplications; every later pass reads its twiddles
//! `w^k, k < h` from one contiguous table (`N - 1` entries over all passes), so the inner loop
//! over `k` is a unit-stride loop over four arrays that the compiler vectorises (AVX2 when the
//! CPU has it: the same IEEE operations, so the same result bit for bit).
//!
//! **Real** ([`RealFft`]): a real signal of even length `N` is transformed with one complex
//! FFT of size `N/2`: with `z[m] = x[2m] + i·x[2m+1]` and `Z = FFT_{N/2}(z)`,
//! `E[k] = (Z[k] + Z*[N/2-k])/2`, `O[k] = (Z[k] - Z*[N/2-k])/(2i)` are the transforms of the
//! even and odd samples and `X[k] = E[k] + e^{-2πik/N}·O[k]` for `k = 0..=N/2`.
//!
//! Plans are immutable; [`Fft::shared`] / [`RealFft::shared`] keep one per size for the whole
//! process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One plan per size for the whole process.
type Plans<P> = OnceLock<Mutex<HashMap<usize, Arc<P>>>>;

/// The plan for size `n` in `plans`, made by `new` on first use (`None` where `new` refuses `n`).
fn shared_plan<P>(plans: &Plans<P>, n: usize, new: fn(usize) -> Option<P>) -> Option<Arc<P>> {
    let plans = plans.get_or_init(|| Mutex::new(HashMap::new()));
    let mut plans = plans.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = plans.get(&n) {
        return Some(p.clone());
    }
    let p = Arc::new(new(n)?);
    plans.insert(n, p.clone());
    Some(p)
}

/// A precomputed complex transform of one size.
#[derive(Debug, Clone)]
pub struct Fft {
    n: usize,
    /// Twiddles of the passes `h ≥ 4`: pass `h` uses `[h - 4, 2h - 4)` (`w^k = e^{-2πik/(2h)}`).
    tw_re: Vec<f64>,
    tw_im: Vec<f64>,
    /// Bit-reversal permutation as transpositions `(i, j)`, `i < j`.
    swaps: Vec<(u32, u32)>,
}

impl Fft {
    /// A plan for size `n`; `None` unless `n` is a power of two.
    pub fn new(n: usize) -> Option<Self> {
        if !n.is_power_of_two() || n > u32::MAX as usize {
            return None;
        }
        let bits = n.trailing_zeros();
        let swaps = (0..n)
            .filter_map(|i| {
                let j = if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (usize::BITS - bits)
                };
                (j > i).then_some((i as u32, j as u32))
            })
            .collect();
        let (mut tw_re, mut tw_im) = (Vec::new(), Vec::new());
        let mut h = 4;
        while h < n {
            for k in 0..h {
                // e^{-2πik/(2h)} = e^{-2πi(k·n/(2h))/n}: the angle from the size-n table.
                let a = -2.0 * std::f64::consts::PI * (k * (n / (2 * h))) as f64 / n as f64;
                tw_re.push(a.cos());
                tw_im.push(a.sin());
            }
            h *= 2;
        }
        Some(Fft {
            n,
            tw_re,
            tw_im,
            swaps,
        })
    }

    /// The process-wide plan for size `n` (built on first use).
    pub fn shared(n: usize) -> Option<Arc<Fft>> {
        static PLANS: Plans<Fft> = OnceLock::new();
        shared_plan(&PLANS, n, Fft::new)
    }

    /// Transform size.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for the size-0 plan (never built; `new(0)` is `None`).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// In-place transform of `(re, im)`, both of length `n`.
    pub fn forward(&self, re: &mut [f64], im: &mut [f64]) {
        assert!(re.len() == self.n && im.len() == self.n, "FFT length");
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked above).
                unsafe { self.forward_avx2(re, im) };
                return;
            }
        }
        self.forward_generic(re, im);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn forward_avx2(&self, re: &mut [f64], im: &mut [f64]) {
        self.forward_generic(re, im);
    }

    #[inline(always)]
    fn forward_generic(&self, re: &mut [f64], im: &mut [f64]) {
        let n = self.n;
        for &(i, j) in &self.swaps {
            re.swap(i as usize, j as usize);
            im.swap(i as usize, j as usize);
        }
        match n {
            1 => return,
            2 => {
                butterfly_pass_1(re, im);
                return;
            }
            _ => radix4_first(re, im),
        }
        let mut h = 4;
        while h < n {
            let (wr, wi) = (&self.tw_re[h - 4..2 * h - 4], &self.tw_im[h - 4..2 * h - 4]);
            for (gr, gi) in re.chunks_exact_mut(2 * h).zip(im.chunks_exact_mut(2 * h)) {
                let (ar, br) = gr.split_at_mut(h);
                let (ai, bi) = gi.split_at_mut(h);
                for k in 0..h {
                    let tr = wr[k] * br[k] - wi[k] * bi[k];
                    let ti = wr[k] * bi[k] + wi[k] * br[k];
                    br[k] = ar[k] - tr;
                    bi[k] = ai[k] - ti;
                    ar[k] += tr;
                    ai[k] += ti;
                }
            }
            h *= 2;
        }
    }
}

/// The `h = 1` pass alone (size 2).
fn butterfly_pass_1(re: &mut [f64], im: &mut [f64]) {
    for (r, i) in re.chunks_exact_mut(2).zip(im.chunks_exact_mut(2)) {
        let (r0, r1, i0, i1) = (r[0], r[1], i[0], i[1]);
        r[0] = r0 + r1;
        r[1] = r0 - r1;
        i[0] = i0 + i1;
        i[1] = i0 - i1;
    }
}

/// The `h = 1` and `h = 2` passes fused (twiddles `1` and `-i`): on each group of four
/// bit-reversed values, `y = (x0 + x1, x0 - x1, x2 + x3, x2 - x3)`, then
/// `(y0 + y2, y1 - i·y3, y0 - y2, y1 + i·y3)`.
fn radix4_first(re: &mut [f64], im: &mut [f64]) {
    for (r, i) in re.chunks_exact_mut(4).zip(im.chunks_exact_mut(4)) {
        let (y0r, y1r, y2r, y3r) = (r[0] + r[1], r[0] - r[1], r[2] + r[3], r[2] - r[3]);
        let (y0i, y1i, y2i, y3i) = (i[0] + i[1], i[0] - i[1], i[2] + i[3], i[2] - i[3]);
        r[0] = y0r + y2r;
        i[0] = y0i + y2i;
        r[2] = y0r - y2r;
        i[2] = y0i - y2i;
        // -i·y3 = (y3i, -y3r).
        r[1] = y1r + y3i;
        i[1] = y1i - y3r;
        r[3] = y1r - y3i;
        i[3] = y1i + y3r;
    }
}

/// A precomputed real transform of one even size `n ≥ 2`: bins `0..=n/2`.
#[derive(Debug, Clone)]
pub struct RealFft {
    n: usize,
    half: Arc<Fft>,
    /// `e^{-2πik/n}` for `k ≤ n/4`.
    w_re: Vec<f64>,
    w_im: Vec<f64>,
}

impl RealFft {
    /// A plan for size `n`; `None` unless `n` is a power of two ≥ 2.
    pub fn new(n: usize) -> Option<Self> {
        if n < 2 || !n.is_power_of_two() {
            return None;
        }
        let half = Fft::shared(n / 2)?;
        let (w_re, w_im) = (0..=n / 4)
            .map(|k| {
                let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                (a.cos(), a.sin())
            })
            .unzip();
        Some(RealFft {
            n,
            half,
            w_re,
            w_im,
        })
    }

    /// The process-wide plan for size `n` (built on first use).
    pub fn shared(n: usize) -> Option<Arc<RealFft>> {
        static PLANS: Plans<RealFft> = OnceLock::new();
        shared_plan(&PLANS, n, RealFft::new)
    }

    /// Transform size `n`.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Never true (sizes start at 2).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// `X[k]` for `k = 0..=n/2` of the real signal `x` (length `n`) into `re`, `im` (length
    /// `n/2 + 1` each).
    pub fn forward(&self, x: &[f64], re: &mut [f64], im: &mut [f64]) {
        let (n, m) = (self.n, self.n / 2);
        assert!(
            x.len() == n && re.len() == m + 1 && im.len() == m + 1,
            "real FFT length"
        );
        for (k, pair) in x.chunks_exact(2).enumerate() {
            re[k] = pair[0];
            im[k] = pair[1];
        }
        self.half.forward(&mut re[..m], &mut im[..m]);
        // k = 0 and k = n/2: E = Re Z0, O = Im Z0, w = 1 and -1.
        let (z0r, z0i) = (re[0], im[0]);
        re[0] = z0r + z0i;
        im[0] = 0.0;
        re[m] = z0r - z0i;
        im[m] = 0.0;
        // Pairs (k, m - k) share Z[k] and Z[m - k].
        for k in 1..=m / 2 {
            let j = m - k;
            let (ar, ai, br, bi) = (re[k], im[k], re[j], im[j]);
            // E[k] = (Z[k] + Z*[j])/2, O[k] = (Z[k] - Z*[j])/(2i).
            let (er, ei) = (0.5 * (ar + br), 0.5 * (ai - bi));
            let (or, oi) = (0.5 * (ai + bi), -0.5 * (ar - br));
            let (wr, wi) = (self.w_re[k], self.w_im[k]);
            re[k] = er + (wr * or - wi * oi);
            im[k] = ei + (wr * oi + wi * or);
            if j != k {
                // X[j] = E*[k] + w^j O*[k] with w^j = -conj(w^k) for j = n/2 - k.
                re[j] = er - (wr * or - wi * oi);
                im[j] = -ei + (wr * oi + wi * or);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let n = x.len();
        (0..n)
            .map(|k| {
                let (mut sr, mut si) = (0.0, 0.0);
                for t in 0..n {
                    let a = -2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                    sr += x[t] * a.cos() - y[t] * a.sin();
                    si += x[t] * a.sin() + y[t] * a.cos();
                }
                (sr, si)
            })
            .unzip()
    }

    fn random(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn matches_a_naive_dft() {
        for n in [1, 2, 4, 8, 64, 256] {
            let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0).collect();
            let y: Vec<f64> = (0..n).map(|i| ((i * 13 % 7) as f64 - 3.0) / 2.0).collect();
            let (mut re, mut im) = (x.clone(), y.clone());
            Fft::new(n).unwrap().forward(&mut re, &mut im);
            let (sr, si) = naive(&x, &y);
            for k in 0..n {
                assert!(
                    (re[k] - sr[k]).abs() < 1e-9 * n as f64
                        && (im[k] - si[k]).abs() < 1e-9 * n as f64,
                    "n {n} k {k}"
                );
            }
        }
        assert!(Fft::new(12).is_none());
    }

    #[test]
    fn random_inputs_of_every_size_to_4096_match_the_naive_dft() {
        for bits in 0..=12 {
            let n = 1usize << bits;
            let (x, y) = (random(n, bits), random(n, 100 + bits));
            let (mut re, mut im) = (x.clone(), y.clone());
            Fft::shared(n).unwrap().forward(&mut re, &mut im);
            let (sr, si) = naive(&x, &y);
            let err = (0..n)
                .map(|k| (re[k] - sr[k]).abs().max((im[k] - si[k]).abs()))
                .fold(0.0, f64::max);
            // Rounding grows like log2(n)·ε·‖x‖; the naive sum's own error like n·ε.
            assert!(err < 1e-12 * n as f64, "n {n}: {err}");
        }
    }

    #[test]
    fn real_fft_matches_the_naive_dft_of_a_real_signal() {
        for bits in 1..=11 {
            let n = 1usize << bits;
            let x = random(n, 7 + bits);
            let (sr, si) = naive(&x, &vec![0.0; n]);
            let plan = RealFft::new(n).unwrap();
            let (mut re, mut im) = (vec![0.0; n / 2 + 1], vec![0.0; n / 2 + 1]);
            plan.forward(&x, &mut re, &mut im);
            for k in 0..=n / 2 {
                assert!(
                    (re[k] - sr[k]).abs() < 1e-12 * n as f64
                        && (im[k] - si[k]).abs() < 1e-12 * n as f64,
                    "n {n} k {k}: ({}, {}) vs ({}, {})",
                    re[k],
                    im[k],
                    sr[k],
                    si[k]
                );
            }
        }
        assert!(RealFft::new(1).is_none() && RealFft::new(6).is_none());
    }

    /// The textbook radix-2 kernel this module replaced (strided twiddles, every pass
    /// multiplies): an oracle, and the baseline of the timing below.
    fn plain_radix2(re: &mut [f64], im: &mut [f64]) {
        let n = re.len();
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = if bits == 0 {
                0
            } else {
                i.reverse_bits() >> (usize::BITS - bits)
            };
            if j > i {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut half = 1;
        while half < n {
            let stride = n / (2 * half);
            for start in (0..n).step_by(2 * half) {
                for k in 0..half {
                    let a = -2.0 * std::f64::consts::PI * (k * stride) as f64 / n as f64;
                    let (wr, wi) = (a.cos(), a.sin());
                    let (p, q) = (start + k, start + k + half);
                    let tr = wr * re[q] - wi * im[q];
                    let ti = wr * im[q] + wi * re[q];
                    re[q] = re[p] - tr;
                    im[q] = im[p] - ti;
                    re[p] += tr;
                    im[p] += ti;
                }
            }
            half *= 2;
        }
    }

    #[test]
    fn equals_the_plain_radix2_kernel_to_rounding() {
        for n in [2usize, 4, 16, 512, 2048] {
            let (x, y) = (random(n, 3), random(n, 4));
            let (mut a, mut b) = (x.clone(), y.clone());
            plain_radix2(&mut a, &mut b);
            let (mut c, mut d) = (x, y);
            Fft::new(n).unwrap().forward(&mut c, &mut d);
            for k in 0..n {
                assert!(
                    (a[k] - c[k]).abs() < 1e-12 && (b[k] - d[k]).abs() < 1e-12,
                    "{n} {k}"
                );
            }
        }
    }

    /// `cargo test --release -p genlab-fx --lib fft::tests::timing -- --ignored --nocapture`:
    /// time per transform of this module's kernels against the plain radix-2 one (whose
    /// twiddles are precomputed here, as the old plan did).
    #[test]
    #[ignore = "timing, seconds: run by hand to compare FFT kernels (prints times per transform)"]
    fn timing() {
        for n in [512usize, 1024, 2048] {
            let reps = 20_000_000 / n;
            let (x, y) = (random(n, 1), random(n, 2));
            let plan = Fft::new(n).unwrap();
            let (mut re, mut im) = (x.clone(), y.clone());
            let t = std::time::Instant::now();
            for _ in 0..reps {
                re.copy_from_slice(&x);
                im.copy_from_slice(&y);
                plan.forward(&mut re, &mut im);
            }
            let new = t.elapsed().as_secs_f64() / reps as f64;
            let real = RealFft::new(n).unwrap();
            let (mut rr, mut ri) = (vec![0.0; n / 2 + 1], vec![0.0; n / 2 + 1]);
            let t = std::time::Instant::now();
            for _ in 0..reps {
                real.forward(&x, &mut rr, &mut ri);
            }
            let half = t.elapsed().as_secs_f64() / reps as f64;
            // Old plan: twiddle table of n/2 entries read with a stride.
            let tw: Vec<(f64, f64)> = (0..n / 2)
                .map(|k| {
                    let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                    (a.cos(), a.sin())
                })
                .collect();
            let t = std::time::Instant::now();
            for _ in 0..reps {
                re.copy_from_slice(&x);
                im.copy_from_slice(&y);
                old_with_table(&tw, &mut re, &mut im);
            }
            let old = t.elapsed().as_secs_f64() / reps as f64;
            eprintln!(
                "n {n}: complex {:.2} us (old {:.2} us, {:.2}x); real {:.2} us",
                new * 1e6,
                old * 1e6,
                old / new,
                half * 1e6
            );
        }
    }

    fn old_with_table(tw: &[(f64, f64)], re: &mut [f64], im: &mut [f64]) {
        let n = re.len();
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if j > i {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut half = 1;
        while half < n {
            let stride = n / (2 * half);
            for start in (0..n).step_by(2 * half) {
                for k in 0..half {
                    let (wr, wi) = tw[k * stride];
                    let (a, b) = (start + k, start + k + half);
                    let tr = wr * re[b] - wi * im[b];
                    let ti = wr * im[b] + wi * re[b];
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            half *= 2;
        }
    }

    #[test]
    fn shared_plans_are_reused() {
        let a = Fft::shared(512).unwrap();
        let b = Fft::shared(512).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Fft::shared(3).is_none());
        assert!(Arc::ptr_eq(
            &RealFft::shared(64).unwrap(),
            &RealFft::shared(64).unwrap()
        ));
    }
}
