//! Look-ahead peak limiter. The output is the input delayed by `L` samples (`L` = 1.5 ms, the
//! reported latency) times a gain that is never above what keeps the delayed sample under the
//! ceiling `c = 10^(threshold_dB/20)`:
//!
//! - per-frame target `t[n] = min(1, c / max_c |x_c[n]|)` (linked channels)
//! - hold `h[n] = min(t[n-L..=n])` (sliding minimum over the look-ahead window, monotone deque)
//! - gain `g[n] = min(h[n], α_R g[n-1] + (1 - α_R))` (instant attack, one-pole release to 1)
//! - `y_c[n] = clamp(g[n]·x_c[n-L], -c, c)`.
//!
//! Because the window contains `t[n-L]`, `g[n] ≤ t[n-L]` and `|y| ≤ c`; the final clamp only
//! absorbs float rounding. The gain drops `L` samples before a peak arrives, so peaks are caught
//! without clipping distortion.

use std::collections::VecDeque;
use std::ops::Range;

use super::{Effect, db_to_amplitude, one_pole};

/// Look-ahead time.
pub const LOOKAHEAD_SECONDS: f64 = 0.0015;

/// Limiter state.
#[derive(Debug, Clone)]
pub struct Limiter {
    sample_rate: f64,
    lookahead: usize,
    ceiling: f32,
    release: f64,
    /// Per-channel ring of the last `L` input samples.
    lines: Vec<Vec<f32>>,
    pos: usize,
    /// `(frame index, target)` with increasing targets: the front is the window minimum.
    targets: VecDeque<(u64, f64)>,
    frame: u64,
    gain: f64,
}

impl Limiter {
    /// A limiter for `channels` channels.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let lookahead = (LOOKAHEAD_SECONDS * sample_rate).round() as usize;
        Limiter {
            sample_rate,
            lookahead,
            ceiling: 1.0,
            release: 0.0,
            lines: vec![vec![0.0; lookahead.max(1)]; channels],
            pos: 0,
            targets: VecDeque::with_capacity(lookahead + 2),
            frame: 0,
            gain: 1.0,
        }
    }
}

impl Effect for Limiter {
    fn set(&mut self, v: &[f64]) {
        self.ceiling = db_to_amplitude(v[0]) as f32;
        self.release = one_pole(v[1], self.sample_rate);
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let c = self.ceiling as f64;
        for n in range {
            let peak = channels.iter().fold(0.0f32, |m, ch| m.max(ch[n].abs())) as f64;
            let target = if peak > c { c / peak } else { 1.0 };
            while self.targets.back().is_some_and(|&(_, t)| t >= target) {
                self.targets.pop_back();
            }
            self.targets.push_back((self.frame, target));
            while self
                .targets
                .front()
                .is_some_and(|&(i, _)| i + (self.lookahead as u64) < self.frame)
            {
                self.targets.pop_front();
            }
            let hold = self.targets.front().map_or(1.0, |&(_, t)| t);
            self.gain = hold.min(self.release * self.gain + (1.0 - self.release));
            let g = self.gain;
            for (ch, line) in channels.iter_mut().zip(&mut self.lines) {
                let delayed = if self.lookahead == 0 {
                    ch[n]
                } else {
                    std::mem::replace(&mut line[self.pos], ch[n])
                };
                ch[n] = ((delayed as f64 * g) as f32).clamp(-self.ceiling, self.ceiling);
            }
            if self.lookahead > 0 {
                self.pos = (self.pos + 1) % self.lookahead;
            }
            self.frame += 1;
        }
    }

    fn reset(&mut self) {
        for line in &mut self.lines {
            line.fill(0.0);
        }
        self.pos = 0;
        self.targets.clear();
        self.frame = 0;
        self.gain = 1.0;
    }

    fn latency(&self) -> usize {
        self.lookahead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_never_exceeds_the_ceiling_and_quiet_input_passes_delayed() {
        let sr = 44100.0;
        let mut lim = Limiter::new(sr, 2);
        lim.set(&[-6.0, 50.0]);
        let ceiling = db_to_amplitude(-6.0) as f32;
        let n = 20000;
        // Loud bursts with random-ish spikes up to 4.0 on a quiet bed.
        let x: Vec<Vec<f32>> = (0..2)
            .map(|c| {
                (0..n)
                    .map(|i| {
                        let bed = 0.1 * ((i as f32) * 0.05 + c as f32).sin();
                        let spike = if i > 1000 && (i * 7 + c * 3) % 997 < 5 {
                            4.0
                        } else {
                            0.0
                        };
                        bed + if i % 2 == 0 { spike } else { -spike }
                    })
                    .collect()
            })
            .collect();
        let mut y = x.clone();
        lim.process(&mut y, 0..n);
        assert!(y.iter().flatten().all(|v| v.abs() <= ceiling));
        assert!(y.iter().flatten().any(|v| v.abs() > 0.99 * ceiling));
        // Before the first spike the output is the input delayed by the latency.
        let l = lim.latency();
        assert_eq!(l, 66);
        for i in l..300 {
            assert_eq!(y[0][i], x[0][i - l]);
        }
        // Reset returns to the fresh state.
        lim.reset();
        let mut z = x.clone();
        lim.process(&mut z, 0..n);
        assert_eq!(y, z);
    }

    #[test]
    fn deque_minimum_matches_a_naive_window_minimum() {
        // Oracle: recompute the gain law with a naive window minimum.
        let sr = 8000.0;
        let mut lim = Limiter::new(sr, 1);
        lim.set(&[-10.0, 5.0]);
        let c = db_to_amplitude(-10.0) as f32 as f64;
        let x: Vec<f32> = (0..3000)
            .map(|i| ((i * 7919 % 211) as f32 / 70.0) - 1.5)
            .collect();
        let mut y = vec![x.clone()];
        lim.process(&mut y, 0..3000);
        let l = lim.latency();
        let alpha = one_pole(5.0, sr);
        let t: Vec<f64> = x
            .iter()
            .map(|&v| {
                if v.abs() as f64 > c {
                    c / v.abs() as f64
                } else {
                    1.0
                }
            })
            .collect();
        let mut g = 1.0f64;
        for n in 0..3000usize {
            let hold = t[n.saturating_sub(l)..=n]
                .iter()
                .cloned()
                .fold(1.0, f64::min);
            g = hold.min(alpha * g + 1.0 - alpha);
            let delayed = if n >= l { x[n - l] } else { 0.0 };
            let want = ((delayed as f64 * g) as f32).clamp(-c as f32, c as f32);
            assert_eq!(y[0][n], want, "n = {n}");
        }
    }
}
