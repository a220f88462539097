//! Feed-forward compressor with a hard knee and linked channels, after Giannoulis, Massberg &
//! Reiss, "Digital Dynamic Range Compressor Design — A Tutorial and Analysis" (JAES 2012):
//! gain computer on the instantaneous level, then smoothing of the gain reduction.
//!
//! - level (linked): `L[n] = 20·log10 max_c |x_c[n]|` dB
//! - static curve (hard knee): `r[n] = max(0, (1 - 1/R)·(L[n] - T))` dB of gain reduction,
//!   i.e. above the threshold the output level is `T + (L - T)/R`
//! - branching one-pole ballistics: `ρ[n] = α_A ρ[n-1] + (1-α_A) r[n]` if `r[n] > ρ[n-1]`
//!   (attack) else `α_R ρ[n-1] + (1-α_R) r[n]` (release), `α = exp(-1/(τ·fs))`
//! - output `y_c[n] = x_c[n] · 10^((M - ρ[n])/20)` with make-up gain `M` dB.

use std::ops::Range;

use super::{Effect, db_to_amplitude, one_pole};

/// Compressor state and coefficients.
#[derive(Debug, Clone)]
pub struct Compressor {
    sample_rate: f64,
    threshold_db: f64,
    slope: f64,
    attack: f64,
    release: f64,
    makeup_db: f64,
    reduction_db: f64,
}

impl Compressor {
    /// A compressor at rest (call `set` before use).
    pub fn new(sample_rate: f64) -> Self {
        Compressor {
            sample_rate,
            threshold_db: 0.0,
            slope: 0.0,
            attack: 0.0,
            release: 0.0,
            makeup_db: 0.0,
            reduction_db: 0.0,
        }
    }
}

impl Effect for Compressor {
    fn set(&mut self, v: &[f64]) {
        self.threshold_db = v[0];
        self.slope = 1.0 - 1.0 / v[1];
        self.attack = one_pole(v[2], self.sample_rate);
        self.release = one_pole(v[3], self.sample_rate);
        self.makeup_db = v[4];
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        for n in range {
            let peak = channels.iter().fold(0.0f32, |m, c| m.max(c[n].abs())) as f64;
            let level_db = 20.0 * peak.max(1e-10).log10();
            let target = (self.slope * (level_db - self.threshold_db)).max(0.0);
            let alpha = if target > self.reduction_db {
                self.attack
            } else {
                self.release
            };
            self.reduction_db = alpha * self.reduction_db + (1.0 - alpha) * target;
            let g = db_to_amplitude(self.makeup_db - self.reduction_db) as f32;
            for c in channels.iter_mut() {
                c[n] *= g;
            }
        }
    }

    fn reset(&mut self) {
        self.reduction_db = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settle(level: f32, v: &[f64]) -> f32 {
        let mut c = Compressor::new(44100.0);
        c.set(v);
        let mut ch = vec![vec![level; 44100], vec![-level; 44100]];
        c.process(&mut ch, 0..44100);
        ch[0][44099]
    }

    #[test]
    fn static_curve_above_threshold_follows_the_ratio() {
        for (thr, ratio, makeup) in [(-20.0, 4.0, 0.0), (-30.0, 2.0, 6.0), (-10.0, 20.0, 3.0)] {
            for in_db in [-8.0f64, -3.0, 0.0] {
                if in_db <= thr {
                    continue;
                }
                let out = settle(
                    db_to_amplitude(in_db) as f32,
                    &[thr, ratio, 5.0, 50.0, makeup],
                );
                let out_db = 20.0 * (out as f64).log10();
                let want = thr + (in_db - thr) / ratio + makeup;
                assert!(
                    (out_db - want).abs() < 1e-3,
                    "in {in_db}: {out_db} vs {want}"
                );
            }
        }
        // Below the threshold only the make-up gain applies.
        let out = settle(0.01, &[-20.0, 4.0, 5.0, 50.0, 6.0]);
        assert!((20.0 * (out as f64 / 0.01).log10() - 6.0).abs() < 1e-4);
    }

    #[test]
    fn attack_time_constant_sets_the_step_response() {
        // A step from silence to 0 dB: after one attack time constant the reduction has reached
        // 1 - 1/e of its final value.
        let (thr, ratio, attack_ms) = (-20.0, 4.0, 10.0);
        let mut c = Compressor::new(10000.0);
        c.set(&[thr, ratio, attack_ms, 100.0, 0.0]);
        let mut ch = vec![vec![1.0f32; 1000]];
        c.process(&mut ch, 0..1000);
        let final_red = (1.0 - 1.0 / ratio) * (0.0 - thr);
        let red_at_tau = -20.0 * (ch[0][99] as f64).log10();
        let expected = final_red * (1.0 - (-1.0f64).exp());
        assert!(
            (red_at_tau - expected).abs() < 0.1,
            "{red_at_tau} vs {expected}"
        );
    }
}
