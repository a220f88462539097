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
//!
//! Speed (this is the per-sample hot loop): below the threshold `r[n] = 0` is known from the
//! linear peak without a `log10`; while `ρ = 0` the gain is the constant make-up gain; and a
//! released reduction under 10⁻⁶ dB (a gain error below f32 resolution) is flushed to 0 so the
//! fast path resumes instead of decaying towards 0 forever. The level and the gain are computed
//! in f32 (`log10`, `exp`; relative gain error ~1e-7, below the f32 signal's own resolution);
//! the ballistics state stays f64.

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
    /// `10^(T/20)`: peaks at or below it need no gain reduction.
    threshold_amplitude: f64,
    /// `10^(M/20)`.
    makeup_amplitude: f32,
}

/// `ln(10)/20`: `10^(x/20) = exp(x · ln(10)/20)`.
const DB_TO_NEPER: f32 = std::f32::consts::LN_10 / 20.0;

/// A gain reduction (dB) this small is treated as none.
const NEGLIGIBLE_DB: f64 = 1e-6;

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
            threshold_amplitude: 1.0,
            makeup_amplitude: 1.0,
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
        self.threshold_amplitude = db_to_amplitude(self.threshold_db);
        self.makeup_amplitude = db_to_amplitude(self.makeup_db) as f32;
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        for n in range {
            let peak = channels.iter().fold(0.0f32, |m, c| m.max(c[n].abs())) as f64;
            let target = if peak > self.threshold_amplitude {
                (self.slope * (20.0 * (peak as f32).log10() as f64 - self.threshold_db)).max(0.0)
            } else {
                0.0
            };
            if target == 0.0 && self.reduction_db == 0.0 {
                for c in channels.iter_mut() {
                    c[n] *= self.makeup_amplitude;
                }
                continue;
            }
            let alpha = if target > self.reduction_db {
                self.attack
            } else {
                self.release
            };
            self.reduction_db = alpha * self.reduction_db + (1.0 - alpha) * target;
            if self.reduction_db < NEGLIGIBLE_DB {
                self.reduction_db = 0.0;
            }
            let g = ((self.makeup_db - self.reduction_db) as f32 * DB_TO_NEPER).exp();
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

    /// The fast paths agree with the plain per-sample formula (log level, ballistics, powf
    /// gain) on a signal that crosses the threshold both ways and falls silent.
    #[test]
    fn fast_paths_match_the_plain_formula() {
        let v = [-18.0, 4.0, 2.0, 30.0, 3.0];
        let n = 8000;
        let signal: Vec<f32> = (0..n)
            .map(|i| {
                let env = if (2000..5000).contains(&i) { 0.9 } else { 0.02 };
                env * (i as f32 * 0.07).sin()
            })
            .collect();
        let mut fast = Compressor::new(8000.0);
        fast.set(&v);
        let mut ch = vec![signal.clone(), signal.iter().map(|x| -0.5 * x).collect()];
        fast.process(&mut ch, 0..n);
        let (slope, attack, release) = (
            1.0 - 1.0 / v[1],
            one_pole(v[2], 8000.0),
            one_pole(v[3], 8000.0),
        );
        let mut rho = 0.0f64;
        for i in 0..n {
            let peak = signal[i].abs().max((0.5 * signal[i]).abs()) as f64;
            let target = (slope * (20.0 * peak.max(1e-10).log10() - v[0])).max(0.0);
            let alpha = if target > rho { attack } else { release };
            rho = alpha * rho + (1.0 - alpha) * target;
            let g = db_to_amplitude(v[4] - rho) as f32;
            let want = signal[i] * g;
            assert!(
                (ch[0][i] - want).abs() <= 1e-6 * (1.0 + want.abs()),
                "sample {i}: {} vs {want}",
                ch[0][i]
            );
        }
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
