//! Freeverb-style reverb (Jezar's public-domain design, from its published description): per
//! channel 8 parallel damped comb filters feeding 4 series allpasses.
//!
//! - input `u[n] = 0.03 · mean_c x_c[n]` (Freeverb's 0.015 on the L+R sum)
//! - comb (length `N_k`): `o = buf[i]`; `s = (1 - d)·o + d·s`; `buf[i] = u + g·s`, with
//!   feedback `g = 0.7 + 0.28·room_size` and damping `d = 0.4·damping` (one-pole low-pass in
//!   the loop)
//! - allpass (length `M_k`): `b = buf[i]`; `o = b - v`; `buf[i] = v + 0.5·b`
//! - lengths: combs 1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617 and allpasses 556, 441, 341,
//!   225 samples at 44.1 kHz, scaled by `fs/44100`; channel `c` adds a spread of `23·c`
//! - output, with wet gains `w₁ = 3·mix·(1 + width)/2`, `w₂ = 3·mix·(1 - width)/2`:
//!   `y_c = (1 - mix)·x_c + w₁·r_c + w₂·mean_{j≠c} r_j` (stereo: exactly Freeverb's cross mix;
//!   mono: `y = (1 - mix)·x + (w₁ + w₂)·r`).
//!
//! Deviation from JUCE/pedalboard: their dry gain is `2·dry_level`; here `mix = 0` is the dry
//! signal exactly. Tail: the comb loop gain at DC is `g`, so the longest comb decays by 60 dB in
//! `N_max·ln 10⁻³/ln g` samples, plus the allpass chain.

use std::ops::Range;

use super::Effect;

const COMBS: [usize; 8] = [1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617];
const ALLPASSES: [usize; 4] = [556, 441, 341, 225];
const SPREAD: usize = 23;
const INPUT_GAIN: f32 = 0.03;
const WET_SCALE: f32 = 3.0;

#[derive(Debug, Clone)]
struct Comb {
    buf: Vec<f32>,
    i: usize,
    store: f32,
}

impl Comb {
    fn tick(&mut self, u: f32, g: f32, d: f32) -> f32 {
        let o = self.buf[self.i];
        self.store = o * (1.0 - d) + self.store * d;
        // Flush tiny values so a long silent tail does not run on denormals.
        if self.store.abs() < 1e-30 {
            self.store = 0.0;
        }
        self.buf[self.i] = u + self.store * g;
        self.i += 1;
        if self.i == self.buf.len() {
            self.i = 0;
        }
        o
    }
}

#[derive(Debug, Clone)]
struct Allpass {
    buf: Vec<f32>,
    i: usize,
}

impl Allpass {
    fn tick(&mut self, v: f32) -> f32 {
        let b = self.buf[self.i];
        let w = v + 0.5 * b;
        self.buf[self.i] = if w.abs() < 1e-30 { 0.0 } else { w };
        self.i += 1;
        if self.i == self.buf.len() {
            self.i = 0;
        }
        b - v
    }
}

#[derive(Debug, Clone)]
struct Tank {
    combs: Vec<Comb>,
    allpasses: Vec<Allpass>,
}

/// Reverb state.
#[derive(Debug, Clone)]
pub struct Reverb {
    sample_rate: f64,
    tanks: Vec<Tank>,
    wet: Vec<f32>,
    feedback: f32,
    damp: f32,
    w1: f32,
    w2: f32,
    dry: f32,
}

fn scaled(len: usize, c: usize, sample_rate: f64) -> usize {
    (((len + SPREAD * c) as f64 * sample_rate / 44100.0).round() as usize).max(1)
}

impl Reverb {
    /// A reverb for `channels` channels.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        let tanks = (0..channels)
            .map(|c| Tank {
                combs: COMBS
                    .iter()
                    .map(|&n| Comb {
                        buf: vec![0.0; scaled(n, c, sample_rate)],
                        i: 0,
                        store: 0.0,
                    })
                    .collect(),
                allpasses: ALLPASSES
                    .iter()
                    .map(|&n| Allpass {
                        buf: vec![0.0; scaled(n, c, sample_rate)],
                        i: 0,
                    })
                    .collect(),
            })
            .collect();
        Reverb {
            sample_rate,
            tanks,
            wet: vec![0.0; channels],
            feedback: 0.0,
            damp: 0.0,
            w1: 0.0,
            w2: 0.0,
            dry: 1.0,
        }
    }
}

impl Effect for Reverb {
    fn set(&mut self, v: &[f64]) {
        let (room, damping, width, mix) = (v[0] as f32, v[1] as f32, v[2] as f32, v[3] as f32);
        self.feedback = 0.7 + 0.28 * room;
        self.damp = 0.4 * damping;
        self.w1 = WET_SCALE * mix * (1.0 + width) / 2.0;
        self.w2 = WET_SCALE * mix * (1.0 - width) / 2.0;
        self.dry = 1.0 - mix;
    }

    fn process(&mut self, channels: &mut [Vec<f32>], range: Range<usize>) {
        let nch = channels.len();
        let (g, d) = (self.feedback, self.damp);
        for n in range {
            let mean = channels.iter().map(|c| c[n]).sum::<f32>() / nch as f32;
            let u = INPUT_GAIN * mean;
            for (tank, wet) in self.tanks.iter_mut().zip(&mut self.wet) {
                let mut v = 0.0;
                for comb in &mut tank.combs {
                    v += comb.tick(u, g, d);
                }
                for ap in &mut tank.allpasses {
                    v = ap.tick(v);
                }
                *wet = v;
            }
            let total: f32 = self.wet.iter().sum();
            for (c, ch) in channels.iter_mut().enumerate() {
                let own = self.wet[c];
                let others = if nch > 1 {
                    (total - own) / (nch - 1) as f32
                } else {
                    own
                };
                ch[n] = self.dry * ch[n] + self.w1 * own + self.w2 * others;
            }
        }
    }

    fn reset(&mut self) {
        for tank in &mut self.tanks {
            for comb in &mut tank.combs {
                comb.buf.fill(0.0);
                comb.i = 0;
                comb.store = 0.0;
            }
            for ap in &mut tank.allpasses {
                ap.buf.fill(0.0);
                ap.i = 0;
            }
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
            assert!(pair[1] < pair[0], "{energies:?}");
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
    fn zero_mix_is_dry_and_reset_restores_the_fresh_state() {
        let mut r = Reverb::new(44100.0, 1);
        r.set(&[0.5, 0.5, 0.5, 0.0]);
        let x: Vec<f32> = (0..5000).map(|i| ((i % 50) as f32 / 25.0) - 1.0).collect();
        let mut ch = vec![x.clone()];
        r.process(&mut ch, 0..5000);
        assert_eq!(ch[0], x);
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
