//! Feedback delay, pedalboard's `Delay` (a JUCE `DelayLine` without interpolation, `pedalboard/plugins/
//! Delay.h`). With delay `D = ⌊f32(delay_seconds)·fs⌋` samples (pedalboard truncates its `float`
//! delay times the rate: 0.35 s at 44.1 kHz is 15434 samples, not 15435; before 2026-12-05
//! genlab rounded), feedback `f` and mix `m`:
//!
//! `d[n] = w[n - D]`, `w[n] = x[n] + f·d[n]`, `y[n] = (1 - m)·x[n] + m·d[n]`,
//!
//! so the impulse response is `(1 - m)·δ[n] + m·Σ_{k≥1} f^{k-1} δ[n - kD]`. The tail lasts until
//! an echo falls below -60 dB: `D·(1 + ⌈ln 10⁻³ / ln f⌉)` samples (`D` for `f = 0`).

use std::ops::Range;

use super::Effect;
use crate::engine::spec;

/// Delay line state.
#[derive(Debug, Clone)]
pub struct Delay {
    sample_rate: f64,
    lines: Vec<Vec<f32>>,
    write: usize,
    delay: usize,
    feedback: f32,
    mix: f32,
}

impl Delay {
    /// A delay for `channels` channels, with room for the longest delay the spec allows.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let max_seconds = spec::effect("delay").map_or(1.0, |e| e.params[0].max);
        let capacity = (max_seconds * sample_rate).round() as usize + 1;
        Delay {
            sample_rate,
            lines: vec![vec![0.0; capacity]; channels],
            write: 0,
            delay: 1,
            feedback: 0.0,
            mix: 0.0,
        }
    }

    /// `⌊f32(seconds)·fs⌋` (pedalboard's `(int)(delaySeconds * sampleRate)` with a `float`
    /// delay), limited to the line.
    fn samples(&self, seconds: f64) -> usize {
        ((seconds as f32 as f64 * self.sample_rate) as usize).clamp(1, self.lines[0].len() - 1)
    }
}

impl Effect for Delay {
    fn set(&mut self, v: &[f64]) {
        self.delay = self.samples(v[0]);
        self.feedback = v[1] as f32;
        self.mix = v[2] as f32;
    }

    /// Runs in segments where neither the read position `w - D` nor the write position `w`
    /// wraps and which are at most `D` long (and at most `cap - D`), so the segment's reads
    /// and writes are disjoint slices and the loop vectorises.
    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let cap = self.lines[0].len();
        let (f, m, delay) = (self.feedback, self.mix, self.delay);
        let dry = 1.0 - m;
        let longest = delay.min(cap - delay);
        for (ch, line) in channels.iter_mut().zip(&mut self.lines) {
            let mut write = self.write;
            let mut a = range.start;
            while a < range.end {
                let read = (write + cap - delay) % cap;
                let n = (range.end - a)
                    .min(cap - write)
                    .min(cap - read)
                    .min(longest);
                let (src, dst) = if read < write {
                    let (lo, hi) = line.split_at_mut(write);
                    (&lo[read..read + n], &mut hi[..n])
                } else {
                    let (lo, hi) = line.split_at_mut(read);
                    (&hi[..n], &mut lo[write..write + n])
                };
                for ((x, &d), w) in ch[a..a + n].iter_mut().zip(src).zip(dst.iter_mut()) {
                    *w = *x + f * d;
                    *x = *x * dry + m * d;
                }
                write = (write + n) % cap;
                a += n;
            }
        }
        self.write = (self.write + range.len()) % cap;
    }

    fn reset(&mut self) {
        for line in &mut self.lines {
            line.fill(0.0);
        }
        self.write = 0;
    }

    fn tail_seconds(&self, v: &[f64]) -> f64 {
        let d = self.samples(v[0]) as f64;
        let echoes = if v[1] <= 0.0 {
            1.0
        } else {
            1.0 + (1e-3f64.ln() / v[1].ln()).ceil()
        };
        d * echoes / self.sample_rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impulse_response_has_echoes_at_multiples_of_the_delay_decaying_by_the_feedback() {
        let sr = 1000.0;
        let mut d = Delay::new(sr, 2);
        let (secs, fb, mix) = (0.1, 0.5, 0.4);
        d.set(&[secs, fb, mix]);
        let n = 600;
        let mut ch = vec![vec![0.0f32; n], vec![0.0f32; n]];
        ch[0][0] = 1.0;
        ch[1][3] = 1.0;
        d.process(&mut ch, 0..n);
        let mut want = vec![0.0f32; n];
        want[0] = 1.0 - mix as f32;
        for k in 1..=5 {
            want[k * 100] = mix as f32 * (fb as f32).powi(k as i32 - 1);
        }
        for (i, (&y, &w)) in ch[0].iter().zip(&want).enumerate() {
            assert!((y - w).abs() < 1e-7, "sample {i}: {y} vs {w}");
        }
        // Channels are independent: channel 1 is channel 0 shifted by 3.
        assert_eq!(&ch[1][3..], &ch[0][..n - 3]);
        // Tail: 0.5^k < 1e-3 first at k = 10 → 11 delay periods.
        assert!((d.tail_seconds(&[secs, fb, mix]) - 1.1).abs() < 1e-12);
        assert!((d.tail_seconds(&[secs, 0.0, mix]) - 0.1).abs() < 1e-12);
    }
}
