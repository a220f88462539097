//! Reverb: pedalboard's `Reverb`, which is JUCE's `juce::Reverb` (Jezar's Freeverb) — read in
//! JUCE at the commit pedalboard pins (`ddaa0911`, `modules/juce_audio_basics/utilities/
//! juce_Reverb.h`). Per channel 8 parallel damped comb filters feed 4 series allpasses, all in
//! `f32`:
//!
//! - input `u[n] = 0.015·(x_L[n] + x_R[n])` (stereo), `0.015·x[n]` (mono)
//! - comb (length `N_k`): `o = buf[i]`; `s = o·(1 - d) + s·d`; `buf[i] = u + s·g`, with
//!   feedback `g = 0.28·room_size + 0.7` and damping `d = 0.4·damping`; summed in order
//!   `k = 0..7`
//! - allpass (length `M_k`): `b = buf[i]`; `buf[i] = v + 0.5·b`; `v ← b - v`
//! - JUCE's `JUCE_UNDENORMALISE` on x86 (`s += 0.1f; s -= 0.1f`) after every stored comb
//!   state and every stored comb/allpass buffer value: values below ≈ 3.7·10⁻⁹ become 0 and
//!   the rest are rounded to a multiple of 2⁻²⁷ (≈ 7.5·10⁻⁹). Done here too, so the tails
//!   agree with pedalboard's to float rounding.
//! - lengths: combs 1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617 and allpasses 556, 441,
//!   341, 225; channel `c` adds a spread of `23·c`, then `⌊⌊fs⌋·len/44100⌋` (JUCE's integer
//!   arithmetic)
//! - output with wet gains `w₁ = 0.5·(3·mix)·(1 + width)`, `w₂ = 0.5·(3·mix)·(1 - width)` and
//!   dry gain `D = 2·(1 - mix)`: stereo `y_L = (r_L·w₁ + r_R·w₂) + x_L·D` (and mirrored),
//!   mono `y = r·w₁ + x·D`.
//!
//! **The dry gain is `2·(1 - mix)`** (changed 2026-12-05; it was `1 - mix`): LLM2Fx-Tools
//! calls pedalboard's `Reverb(wet_level = mix, dry_level = 1 - mix)` and JUCE multiplies the
//! dry level by its `dryScaleFactor = 2` (and the wet level by `wetScaleFactor = 3`), so in the
//! reference data `mix = 0` is the dry signal at +6 dB and `mix = 0.5` a dry path at unity.
//! genlab renders what the reference renders.
//!
//! Not reproduced: JUCE ramps the gains, damping and feedback linearly over 10 ms when they
//! change during playback; a fresh (or re-prepared) JUCE reverb starts at its targets, which
//! is all pedalboard ever does, so only genlab's automated parameters differ (they step at
//! control-block boundaries). More than two channels (JUCE refuses them): `u` is
//! `0.03·mean_c x_c` and `y_c = r_c·w₁ + mean_{j≠c} r_j·w₂ + x_c·D`.
//!
//! Tail: the comb loop gain at DC is `g`, so the longest comb decays by 60 dB in
//! `N_max·ln 10⁻³/ln g` samples, plus the allpass chain.
//!
//! Speed: samples are processed in blocks of `B ≤ min(64, shortest delay line)` samples. Within
//! such a block no comb or allpass reads a value written in the same block, so each comb's `B`
//! reads are gathered first, the 8 combs of two channels run as 16 lanes of one recursion
//! (two 8-wide vectors per step), the writes are scattered back, and the allpasses run over the
//! block vectorised in time. The arithmetic per value is exactly the per-sample definition's.

use std::ops::Range;

use super::Effect;

const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
const SPREAD: usize = 23;
const INPUT_GAIN: f32 = 0.015;
const WET_SCALE: f32 = 3.0;
const DRY_SCALE: f32 = 2.0;
/// Lanes of the comb recursion: the 8 combs of two channels.
const LANES: usize = 16;
/// Largest processing block.
const BLOCK: usize = 64;

/// `x += 0.1f; x -= 0.1f` (JUCE's `JUCE_UNDENORMALISE` on x86).
#[inline(always)]
fn undenormalise(x: f32) -> f32 {
    (x + 0.1) - 0.1
}

/// A delay line with its read/write position.
#[derive(Debug, Clone)]
struct Line {
    buf: Vec<f32>,
    i: usize,
}

impl Line {
    fn new(len: usize) -> Self {
        Line {
            buf: vec![0.0; len.max(1)],
            i: 0,
        }
    }

    /// The two contiguous pieces of the next `n ≤ len` positions: `(start, first_len)`.
    fn split(&self, n: usize) -> (usize, usize) {
        (self.i, (self.buf.len() - self.i).min(n))
    }

    fn advance(&mut self, n: usize) {
        self.i = (self.i + n) % self.buf.len();
    }

    fn clear(&mut self) {
        self.buf.fill(0.0);
        self.i = 0;
    }
}

/// One channel's combs (with their filter states) and allpasses.
#[derive(Debug, Clone)]
struct Tank {
    combs: Vec<Line>,
    store: [f32; 8],
    allpasses: Vec<Line>,
}

impl Tank {
    fn new(c: usize, sample_rate: f64) -> Self {
        Tank {
            combs: COMBS
                .iter()
                .map(|&n| Line::new(scaled(n, c, sample_rate)))
                .collect(),
            store: [0.0; 8],
            allpasses: ALLPASSES
                .iter()
                .map(|&n| Line::new(scaled(n, c, sample_rate)))
                .collect(),
        }
    }

    fn shortest(&self) -> usize {
        self.combs
            .iter()
            .chain(&self.allpasses)
            .map(|l| l.buf.len())
            .min()
            .unwrap_or(1)
    }

    /// The series allpasses over `v` (`v.len() ≤` every allpass length), in place.
    #[inline(always)]
    fn allpasses(&mut self, v: &mut [f32]) {
        let n = v.len();
        for ap in &mut self.allpasses {
            let (start, first) = ap.split(n);
            let (head, tail) = v.split_at_mut(first);
            allpass_run(&mut ap.buf[start..start + first], head);
            allpass_run(&mut ap.buf[..n - first], tail);
            ap.advance(n);
        }
    }
}

/// `b = buf[j]; buf[j] = undenormalise(v[j] + 0.5·b); v[j] = b - v[j]`.
#[inline(always)]
fn allpass_run(buf: &mut [f32], v: &mut [f32]) {
    for (b, x) in buf.iter_mut().zip(v.iter_mut()) {
        let old = *b;
        *b = undenormalise(*x + old * 0.5);
        *x = old - *x;
    }
}

/// JUCE's `(⌊fs⌋·(len + 23·c))/44100` in integers (at least 1).
fn scaled(len: usize, c: usize, sample_rate: f64) -> usize {
    let fs = sample_rate.floor().max(1.0) as u64;
    ((fs * (len + SPREAD * c) as u64 / 44100) as usize).max(1)
}

/// Reverb state.
#[derive(Debug, Clone)]
pub struct Reverb {
    sample_rate: f64,
    /// One tank per channel, plus a dummy when the channel count is odd (lanes come in pairs).
    tanks: Vec<Tank>,
    channels: usize,
    block: usize,
    feedback: f32,
    damp: f32,
    w1: f32,
    w2: f32,
    dry: f32,
    /// Scratch: comb input, per-tank comb sums (then allpass outputs), gathered reads and
    /// the values to write back.
    u: Vec<f32>,
    wet: Vec<Vec<f32>>,
    reads: Vec<[f32; LANES]>,
    writes: Vec<[f32; LANES]>,
}

impl Reverb {
    /// A reverb for `channels` channels.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let tanks: Vec<Tank> = (0..channels.div_ceil(2) * 2)
            .map(|c| Tank::new(c.min(channels.saturating_sub(1)), sample_rate))
            .collect();
        let block = tanks
            .iter()
            .map(Tank::shortest)
            .min()
            .unwrap_or(1)
            .min(BLOCK);
        let n_tanks = tanks.len();
        Reverb {
            sample_rate,
            tanks,
            channels,
            block,
            feedback: 0.0,
            damp: 0.0,
            w1: 0.0,
            w2: 0.0,
            dry: 1.0,
            u: vec![0.0; BLOCK],
            wet: vec![vec![0.0; BLOCK]; n_tanks],
            reads: vec![[0.0; LANES]; BLOCK],
            writes: vec![[0.0; LANES]; BLOCK],
        }
    }

    /// Runs tanks `2p` and `2p + 1` over `self.u[..n]` into `self.wet[2p..2p+2][..n]`.
    #[inline(always)]
    fn combs(&mut self, p: usize, n: usize) {
        let (g, d) = (self.feedback, self.damp);
        let one_minus_d = 1.0 - d;
        let pair = &mut self.tanks[2 * p..2 * p + 2];
        let (reads, writes) = (&mut self.reads[..n], &mut self.writes[..n]);
        let mut last = [0.0f32; LANES];
        for (t, tank) in pair.iter().enumerate() {
            last[8 * t..8 * t + 8].copy_from_slice(&tank.store);
            for (k, comb) in tank.combs.iter().enumerate() {
                let lane = 8 * t + k;
                let (start, first) = comb.split(n);
                let (head, tail) = reads.split_at_mut(first);
                for (r, &v) in head.iter_mut().zip(&comb.buf[start..start + first]) {
                    r[lane] = v;
                }
                for (r, &v) in tail.iter_mut().zip(&comb.buf[..n - first]) {
                    r[lane] = v;
                }
            }
        }
        for ((r, w), &u) in reads.iter().zip(writes.iter_mut()).zip(&self.u[..n]) {
            for l in 0..LANES {
                let s = undenormalise(r[l] * one_minus_d + last[l] * d);
                last[l] = s;
                w[l] = undenormalise(u + s * g);
            }
        }
        for (t, tank) in pair.iter_mut().enumerate() {
            tank.store.copy_from_slice(&last[8 * t..8 * t + 8]);
            for (k, comb) in tank.combs.iter_mut().enumerate() {
                let (start, first) = comb.split(n);
                let (head, tail) = writes.split_at(first);
                for (b, w) in comb.buf[start..start + first].iter_mut().zip(head) {
                    *b = w[8 * t + k];
                }
                for (b, w) in comb.buf[..n - first].iter_mut().zip(tail) {
                    *b = w[8 * t + k];
                }
                comb.advance(n);
            }
            // outL = 0; outL += o_k for k = 0..7, in that order.
            let wet = &mut self.wet[2 * p + t][..n];
            for (o, r) in wet.iter_mut().zip(reads.iter()) {
                let mut sum = 0.0f32;
                for &v in &r[8 * t..8 * t + 8] {
                    sum += v;
                }
                *o = sum;
            }
        }
    }

    #[inline(always)]
    fn process_blocks(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let mut a = range.start;
        while a < range.end {
            let n = (range.end - a).min(self.block);
            self.run_block(channels, a, n);
            a += n;
        }
    }

    /// [`Reverb::process_blocks`] compiled for AVX2: the same IEEE operations (no FMA), wider.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn process_avx2(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        self.process_blocks(channels, range);
    }

    #[inline(always)]
    fn run_block(&mut self, channels: &mut [Vec<f32>], a: usize, n: usize) {
        let nch = self.channels;
        // Comb input.
        if nch == 2 {
            let (l, r) = (&channels[0][a..a + n], &channels[1][a..a + n]);
            for ((u, &x), &y) in self.u.iter_mut().zip(l).zip(r) {
                *u = (x + y) * INPUT_GAIN;
            }
        } else if nch == 1 {
            for (u, &x) in self.u.iter_mut().zip(&channels[0][a..a + n]) {
                *u = x * INPUT_GAIN;
            }
        } else {
            for j in 0..n {
                let sum: f32 = channels.iter().map(|c| c[a + j]).sum();
                self.u[j] = 2.0 * INPUT_GAIN * (sum / nch as f32);
            }
        }
        for p in 0..self.tanks.len() / 2 {
            self.combs(p, n);
        }
        for (tank, wet) in self.tanks.iter_mut().zip(&mut self.wet).take(nch) {
            tank.allpasses(&mut wet[..n]);
        }
        let (w1, w2, dry) = (self.w1, self.w2, self.dry);
        match nch {
            1 => {
                for (x, &r) in channels[0][a..a + n].iter_mut().zip(&self.wet[0]) {
                    *x = r * w1 + *x * dry;
                }
            }
            2 => {
                let (l, r) = channels.split_at_mut(1);
                let (l, r) = (&mut l[0][a..a + n], &mut r[0][a..a + n]);
                for j in 0..n {
                    let (ol, or) = (self.wet[0][j], self.wet[1][j]);
                    l[j] = ol * w1 + or * w2 + l[j] * dry;
                    r[j] = or * w1 + ol * w2 + r[j] * dry;
                }
            }
            _ => {
                for j in 0..n {
                    let total: f32 = self.wet[..nch].iter().map(|w| w[j]).sum();
                    for (c, ch) in channels.iter_mut().enumerate() {
                        let own = self.wet[c][j];
                        let others = (total - own) / (nch - 1) as f32;
                        ch[a + j] = own * w1 + others * w2 + ch[a + j] * dry;
                    }
                }
            }
        }
    }
}

impl Effect for Reverb {
    fn set(&mut self, v: &[f64]) {
        let (room, damping, width, mix) = (v[0] as f32, v[1] as f32, v[2] as f32, v[3] as f32);
        self.feedback = room * 0.28 + 0.7;
        self.damp = damping * 0.4;
        let wet = mix * WET_SCALE;
        self.w1 = 0.5 * wet * (1.0 + width);
        self.w2 = 0.5 * wet * (1.0 - width);
        // pedalboard receives dry_level = 1 - mix computed in double, as a float.
        self.dry = (1.0 - v[3]) as f32 * DRY_SCALE;
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked above).
                unsafe { self.process_avx2(channels, range) };
                return;
            }
        }
        self.process_blocks(channels, range);
    }

    fn reset(&mut self) {
        for tank in &mut self.tanks {
            tank.combs.iter_mut().for_each(Line::clear);
            tank.allpasses.iter_mut().for_each(Line::clear);
            tank.store = [0.0; 8];
        }
    }

    fn tail_seconds(&self, v: &[f64]) -> f64 {
        let g = 0.7 + 0.28 * v[0];
        let longest = self
            .tanks
            .iter()
            .flat_map(|t| t.combs.iter().map(|c| c.buf.len()))
            .max()
            .unwrap_or(0) as f64;
        let allpass: usize = self
            .tanks
            .first()
            .map_or(0, |t| t.allpasses.iter().map(|a| a.buf.len()).sum());
        (longest * (1e-3f64.ln() / g.ln()) + allpass as f64) / self.sample_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(v: &[f32]) -> f64 {
        v.iter().map(|&x| (x as f64).powi(2)).sum()
    }

    /// JUCE's `processStereo` / `processMono`, sample by sample (the oracle for the blocked,
    /// lane-parallel implementation).
    fn reference(x: &[Vec<f32>], v: [f32; 4], fs: f64) -> Vec<Vec<f32>> {
        let nch = x.len();
        let lines = |c: usize, lens: &[usize]| -> Vec<(Vec<f32>, usize)> {
            lens.iter()
                .map(|&n| (vec![0.0; scaled(n, c, fs)], 0))
                .collect()
        };
        let mut combs: Vec<_> = (0..nch).map(|c| lines(c, &COMBS)).collect();
        let mut last = vec![[0.0f32; 8]; nch];
        let mut aps: Vec<_> = (0..nch).map(|c| lines(c, &ALLPASSES)).collect();
        let (room, damp, width, mix) = (v[0], v[1], v[2], v[3]);
        let (g, d) = (room * 0.28 + 0.7, damp * 0.4);
        let wet = mix * 3.0;
        let (w1, w2) = (0.5 * wet * (1.0 + width), 0.5 * wet * (1.0 - width));
        let dry = (1.0 - mix as f64) as f32 * 2.0;
        let mut y = x.to_vec();
        for n in 0..x[0].len() {
            let input = if nch == 2 {
                (x[0][n] + x[1][n]) * 0.015
            } else {
                x[0][n] * 0.015
            };
            let mut out = vec![0.0f32; nch];
            for c in 0..nch {
                for (k, (buf, i)) in combs[c].iter_mut().enumerate() {
                    let o = buf[*i];
                    let mut s = o * (1.0 - d) + last[c][k] * d;
                    s += 0.1;
                    s -= 0.1;
                    last[c][k] = s;
                    let mut t = input + s * g;
                    t += 0.1;
                    t -= 0.1;
                    buf[*i] = t;
                    *i = (*i + 1) % buf.len();
                    out[c] += o;
                }
                for (buf, i) in aps[c].iter_mut() {
                    let b = buf[*i];
                    let mut t = out[c] + b * 0.5;
                    t += 0.1;
                    t -= 0.1;
                    buf[*i] = t;
                    *i = (*i + 1) % buf.len();
                    out[c] = b - out[c];
                }
            }
            if nch == 2 {
                y[0][n] = out[0] * w1 + out[1] * w2 + x[0][n] * dry;
                y[1][n] = out[1] * w1 + out[0] * w2 + x[1][n] * dry;
            } else {
                y[0][n] = out[0] * w1 + x[0][n] * dry;
            }
        }
        y
    }

    #[test]
    fn blocked_lanes_equal_juce_per_sample_processing_bit_for_bit() {
        for (fs, channels) in [(44100.0, 2usize), (22050.0, 1), (8000.0, 2)] {
            let x = crate::testutil::lcg_noise(11, channels, 6000);
            let v = [0.8f32, 0.3, 0.7, 0.4];
            let want = reference(&x, v, fs);
            let mut r = Reverb::new(fs, channels);
            r.set(&v.map(|p| p as f64));
            let mut y = x.clone();
            let mut a = 0;
            for len in [1usize, 63, 64, 65, 1000, 4807] {
                r.process(&mut y, a..a + len);
                a += len;
            }
            assert_eq!(y, want, "fs {fs}, {channels} channel(s)");
        }
    }

    #[test]
    fn lengths_use_juce_integer_arithmetic() {
        assert_eq!(scaled(1116, 0, 44100.0), 1116);
        assert_eq!(scaled(1116, 1, 44100.0), 1139);
        // 22050·1139/44100 = 569.5 → 569 (truncated), 48000·225/44100 = 244.9 → 244.
        assert_eq!(scaled(1116, 1, 22050.0), 569);
        assert_eq!(scaled(225, 0, 48000.0), 244);
    }

    #[test]
    fn impulse_tail_is_finite_decays_and_ends_within_the_reported_tail() {
        let sr = 22050.0;
        let mut r = Reverb::new(sr, 2);
        let v = [0.8, 0.3, 0.9, 1.0];
        r.set(&v);
        let tail = r.tail_seconds(&v);
        let n = ((tail + 0.5) * sr) as usize;
        let mut ch = vec![vec![0.0f32; n], vec![0.0f32; n]];
        ch[0][0] = 1.0;
        ch[1][0] = 1.0;
        r.process(&mut ch, 0..n);
        assert!(ch.iter().flatten().all(|x| x.is_finite()));
        // Energy in successive 100 ms windows after the build-up keeps falling.
        let w = (0.1 * sr) as usize;
        let energies: Vec<f64> = (1..(n / w))
            .map(|k| energy(&ch[0][k * w..(k + 1) * w]))
            .collect();
        assert!(energies[0] > 0.0);
        for pair in energies.windows(2).skip(1) {
            assert!(pair[1] <= pair[0], "{energies:?}");
        }
        // At the reported tail the level is ≥ 60 dB below the early response.
        let end = (tail * sr) as usize;
        let late = ch[0][end..].iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let early = ch[0][..w * 2].iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!(late < early * 1e-3, "late {late} early {early}");
        // The channels differ (stereo spread) but carry similar energy.
        assert_ne!(ch[0], ch[1]);
        let ratio = energy(&ch[0]) / energy(&ch[1]);
        assert!(ratio > 0.5 && ratio < 2.0, "{ratio}");
    }

    #[test]
    fn zero_mix_doubles_the_dry_signal_and_reset_restores_the_fresh_state() {
        let mut r = Reverb::new(44100.0, 1);
        r.set(&[0.5, 0.5, 0.5, 0.0]);
        let x: Vec<f32> = (0..5000).map(|i| ((i % 50) as f32 / 25.0) - 1.0).collect();
        let mut ch = vec![x.clone()];
        r.process(&mut ch, 0..5000);
        // JUCE's dry gain is 2·dry_level and LLM2Fx-Tools sets dry_level = 1 - mix.
        assert_eq!(ch[0], x.iter().map(|v| v * 2.0).collect::<Vec<_>>());
        r.set(&[0.5, 0.5, 0.5, 0.5]);
        r.reset();
        let mut a = vec![x.clone()];
        r.process(&mut a, 0..5000);
        r.reset();
        let mut b = vec![x.clone()];
        r.process(&mut b, 0..5000);
        assert!(a == b, "re-render after reset differs");
        assert_ne!(a[0], x);
        assert!(r.tail_seconds(&[0.9, 0.0, 0.0, 1.0]) > r.tail_seconds(&[0.1, 0.0, 0.0, 1.0]));
    }
}
