//! Feedback delay. With delay `D = round(delay_seconds·fs)` samples, feedback `f` and mix `m`:
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

    fn samples(&self, seconds: f64) -> usize {
        ((seconds * self.sample_rate).round() as usize).clamp(1, self.lines[0].len() - 1)
    }
}

impl Effect for Delay {
    fn set(&mut self, v: &[f64]) {
        self.delay = self.samples(v[0]);
        self.feedback = v[1] as f32;
        self.mix = v[2] as f32;
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let cap = self.lines[0].len();
        let (f, m) = (self.feedback, self.mix);
        let mut write = self.write;
        for (ch, line) in channels.iter_mut().zip(&mut self.lines) {
            write = self.write;
            for x in &mut ch[range.clone()] {
                let d = line[(write + cap - self.delay) % cap];
                line[write] = *x + f * d;
                *x = (1.0 - m) * *x + m * d;
                write = (write + 1) % cap;
            }
        }
        self.write = write;
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
