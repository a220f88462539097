//! Interpretable audio descriptors of a (dry, wet) pair, used by the effect detectors
//! ([`crate::estimate::detect`]) and, flattened, as the input of the regression baseline
//! ([`crate::estimate::regression`]). Everything is a deterministic function of the [`Pair`] (dry padded
//! to the target's length; "dry region" = the first `dry_len` samples).
//!
//! Signals: mid `m = (L + R)/2` and side `s = (L − R)/2` (mono: `m` = the channel, no side).
//! STFT of `m`: Hann window, `n_fft = 1024`, hop 512; power `P[t][k] = |X|²`; 24 bands with
//! geometric edges from 50 Hz to `fs/2`, band energy `E[b][t] = Σ_{k∈b} P[t][k]`. Levels are
//! `10·log10(· + 10⁻¹²)` in dB.
//!
//! | descriptor | definition |
//! |---|---|
//! | `band_gain_db[b]` | `dB(Σ_t E_wet[b][t]) − dB(Σ_t E_dry[b][t])` over dry-region frames |
//! | `segment_band_gain_db[q][c]` | the same over 4 time quarters × 6 coarse bands (4 fine bands each) |
//! | `level_{dry,wet}_db` | 10th, 50th, 90th percentile and maximum of the frame level `dB(Σ_k P[t][k])` |
//! | `rms_change_db` | `dB(Σ w²) − dB(Σ d²)` of the mid signals over the dry region |
//! | `crest_{dry,wet}_db` | peak/RMS of the mid signal in dB over the dry region |
//! | `peak_wet_db`, `full_scale_share` | the wet peak `max_c,n |w_c[n]|` over the dry region (dB re full scale), and by how much the share of samples within 0.1 dB of full scale exceeds the dry's (a limiter with make-up drives its output into a clip at 0 dBFS) |
//! | `novelty_db` | share of wet power (time-averaged spectrum) in bins where the dry spectrum is > 50 dB below its maximum, in dB (distortion creates energy there; linear filters cannot) |
//! | `instant_compression_db` | `20·log10(β_mid/β_top)`, `β = Σ w·d / Σ d²` (least-squares slope of wet on dry, sample by sample) over dry-region mid samples whose `|d|` lies between the 20th and 60th percentile (`mid`) or above the 98th (`top`): memoryless saturation and fast gain reduction bend the loud samples; added echoes and reverberation are uncorrelated with `d` at lag 0 and cancel |
//! | `tail_db[j]` | wet energy in the j-th quarter of the part after the dry end, relative to the wet energy in the dry region (−120 dB if there is no tail) |
//! | `scale`, `residual_db` | least-squares gain `g = ⟨w,d⟩/⟨d,d⟩` over the dry region; `dB(‖w − g d‖²/‖w‖²)` |
//! | `lag_corr[j]` | `⟨r[n], d[n−D_j]⟩ / (‖r‖‖d‖)` with `r = w − g d` (whole window), `D_j = 0.05 j` s, `j = 1..14` (echoes of the dry signal in the residual) |
//! | `ild_{dry,wet}_db` | `dB(Σ L²) − dB(Σ R²)` |
//! | `side_mid_{dry,wet}_db` | `dB(Σ s² / Σ m²)` (−120 dB when the channels are identical) |
//! | `corr_{dry,wet}` | Pearson correlation of L and R |
//!
//! [`Descriptors::to_vec`] flattens them (dB values divided by 20, clamped to ±6) into the
//! regression input of [`FEATURE_DIM`] numbers.

use crate::engine::fft::Fft;
use crate::estimate::objective::Pair;

/// STFT size.
const N_FFT: usize = 1024;
/// STFT hop.
const HOP: usize = 512;
/// Number of fine bands.
pub const BANDS: usize = 24;
/// Lowest band edge (Hz).
const LOW_EDGE_HZ: f64 = 50.0;
/// Time quarters × coarse bands of `segment_band_gain_db`.
const SEGMENTS: usize = 4;
const COARSE: usize = 6;
/// Residual-echo lags `0.05·j` s, `j = 1..=LAGS`.
pub const LAGS: usize = 14;
/// Quarters of the tail.
const TAIL_PARTS: usize = 4;
/// Level of silence.
const FLOOR_DB: f64 = -120.0;
/// Length of [`Descriptors::to_vec`].
pub const FEATURE_DIM: usize =
    BANDS + SEGMENTS * COARSE + 8 + 1 + 2 + 2 + TAIL_PARTS + 2 + LAGS + 6 + 1;

/// The descriptors of one pair (see the module table).
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptors {
    /// Centre frequency (geometric mean of the edges) of each fine band.
    pub band_centres_hz: Vec<f64>,
    /// Wet − dry level per fine band (dB).
    pub band_gain_db: Vec<f64>,
    /// Wet − dry level per (time quarter, coarse band) (dB), row-major.
    pub segment_band_gain_db: Vec<f64>,
    /// Dry frame-level percentiles: p10, p50, p90, max (dB).
    pub level_dry_db: [f64; 4],
    /// Wet frame-level percentiles: p10, p50, p90, max (dB).
    pub level_wet_db: [f64; 4],
    /// Overall wet − dry level over the dry region (dB).
    pub rms_change_db: f64,
    /// Dry crest factor (dB).
    pub crest_dry_db: f64,
    /// Wet crest factor (dB).
    pub crest_wet_db: f64,
    /// Wet peak over all channels in the dry region (dB re full scale).
    pub peak_wet_db: f64,
    /// Share of wet samples (all channels, dry region) within 0.1 dB of full scale, less the
    /// dry's share (at least 0).
    pub full_scale_share: f64,
    /// Share of wet power where the dry spectrum is silent (dB).
    pub novelty_db: f64,
    /// The same share for the dry signal itself (dB; the reference).
    pub novelty_dry_db: f64,
    /// Slope of wet on dry for mid-level samples over loud samples (dB).
    pub instant_compression_db: f64,
    /// Tail energy per quarter relative to the wet energy in the dry region (dB).
    pub tail_db: [f64; TAIL_PARTS],
    /// Least-squares gain from dry to wet.
    pub scale: f64,
    /// Residual energy after removing the scaled dry signal, relative to the wet (dB).
    pub residual_db: f64,
    /// Normalised correlation of the residual with the dry signal delayed by `0.05·j` s.
    pub lag_corr: Vec<f64>,
    /// Inter-channel level difference, dry (dB).
    pub ild_dry_db: f64,
    /// Inter-channel level difference, wet (dB).
    pub ild_wet_db: f64,
    /// Side/mid energy ratio, dry (dB).
    pub side_mid_dry_db: f64,
    /// Side/mid energy ratio, wet (dB).
    pub side_mid_wet_db: f64,
    /// L/R correlation, dry.
    pub corr_dry: f64,
    /// L/R correlation, wet.
    pub corr_wet: f64,
    /// True for two channels.
    pub stereo: bool,
}

fn db(x: f64) -> f64 {
    (10.0 * (x + 1e-12).log10()).max(FLOOR_DB)
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64 * v as f64).sum()
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Mid and side of a buffer's channels (side empty for mono).
fn mid_side(channels: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    if channels.len() == 2 {
        let (l, r) = (&channels[0], &channels[1]);
        (
            l.iter().zip(r).map(|(a, b)| 0.5 * (a + b)).collect(),
            l.iter().zip(r).map(|(a, b)| 0.5 * (a - b)).collect(),
        )
    } else {
        let n = channels[0].len();
        let mut mid = vec![0.0f32; n];
        for ch in channels {
            for (m, &x) in mid.iter_mut().zip(ch) {
                *m += x / channels.len() as f32;
            }
        }
        (mid, Vec::new())
    }
}

/// Power spectrogram `[frame][bin]` of `x` (frames start at 0, every HOP samples, while they
/// start inside `x`).
fn power_frames(x: &[f32], fft: &Fft, window: &[f64]) -> Vec<Vec<f64>> {
    let frames = x.len().div_ceil(HOP).max(1);
    let (mut re, mut im) = (vec![0.0; N_FFT], vec![0.0; N_FFT]);
    (0..frames)
        .map(|f| {
            for (i, w) in window.iter().enumerate() {
                re[i] = x.get(f * HOP + i).map_or(0.0, |&v| v as f64) * w;
            }
            im.fill(0.0);
            fft.forward(&mut re, &mut im);
            (0..=N_FFT / 2)
                .map(|k| re[k] * re[k] + im[k] * im[k])
                .collect()
        })
        .collect()
}

/// Fine-band bin ranges and centres for sample rate `fs`.
fn bands(fs: f64) -> (Vec<std::ops::Range<usize>>, Vec<f64>) {
    let hi = fs / 2.0;
    let edge = |b: usize| LOW_EDGE_HZ * (hi / LOW_EDGE_HZ).powf(b as f64 / BANDS as f64);
    let bin = |f: f64| ((f / fs * N_FFT as f64).round() as usize).min(N_FFT / 2 + 1);
    let mut ranges = Vec::with_capacity(BANDS);
    let mut centres = Vec::with_capacity(BANDS);
    for b in 0..BANDS {
        let (lo, up) = (bin(edge(b)), bin(edge(b + 1)));
        // Narrow low bands get at least one bin.
        let lo = lo.clamp(1, N_FFT / 2);
        ranges.push(lo..up.max(lo + 1));
        centres.push((edge(b) * edge(b + 1)).sqrt());
    }
    (ranges, centres)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return FLOOR_DB;
    }
    let i = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[i]
}

fn level_stats(levels: &[f64]) -> [f64; 4] {
    let mut s = levels.to_vec();
    s.sort_by(f64::total_cmp);
    [
        percentile(&s, 0.1),
        percentile(&s, 0.5),
        percentile(&s, 0.9),
        percentile(&s, 1.0),
    ]
}

fn crest_db(x: &[f32]) -> f64 {
    let peak = x.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
    db(peak * peak) - db(energy(x) / x.len().max(1) as f64)
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().max(1) as f64;
    let (ma, mb) = (
        a.iter().map(|&v| v as f64).sum::<f64>() / n,
        b.iter().map(|&v| v as f64).sum::<f64>() / n,
    );
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64 - ma, y as f64 - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 1e-12 || bb <= 1e-12 {
        return 1.0;
    }
    ab / (aa * bb).sqrt()
}

impl Descriptors {
    /// The descriptors of `pair`.
    pub fn of(pair: &Pair) -> Descriptors {
        let fs = pair.dry.sample_rate as f64;
        let n_dry = pair.dry_len.min(pair.dry.len()).max(1);
        let (dm, ds) = mid_side(&pair.dry.channels);
        let (wm, ws) = mid_side(&pair.target.channels);
        let fft = Fft::new(N_FFT).expect("power of two");
        let window: Vec<f64> = (0..N_FFT)
            .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / N_FFT as f64).cos())
            .collect();
        let pd = power_frames(&dm[..n_dry], &fft, &window);
        let pw = power_frames(&wm[..n_dry], &fft, &window);
        let (ranges, centres) = bands(fs);
        let band_energy = |p: &[Vec<f64>]| -> Vec<Vec<f64>> {
            p.iter()
                .map(|frame| {
                    ranges
                        .iter()
                        .map(|r| frame[r.clone()].iter().sum())
                        .collect()
                })
                .collect()
        };
        let (ed, ew) = (band_energy(&pd), band_energy(&pw));
        let frames = ed.len();
        let sum_band =
            |e: &[Vec<f64>], t: std::ops::Range<usize>, b: std::ops::Range<usize>| -> f64 {
                e[t].iter()
                    .map(|row| row[b.clone()].iter().sum::<f64>())
                    .sum()
            };
        let band_gain_db = (0..BANDS)
            .map(|b| {
                db(sum_band(&ew, 0..frames, b..b + 1)) - db(sum_band(&ed, 0..frames, b..b + 1))
            })
            .collect();
        let mut segment_band_gain_db = Vec::with_capacity(SEGMENTS * COARSE);
        for q in 0..SEGMENTS {
            let t = (q * frames / SEGMENTS)
                ..((q + 1) * frames / SEGMENTS)
                    .max(q * frames / SEGMENTS + 1)
                    .min(frames);
            for c in 0..COARSE {
                let b = c * (BANDS / COARSE)..(c + 1) * (BANDS / COARSE);
                segment_band_gain_db.push(
                    db(sum_band(&ew, t.clone(), b.clone())) - db(sum_band(&ed, t.clone(), b)),
                );
            }
        }
        let frame_levels =
            |p: &[Vec<f64>]| -> Vec<f64> { p.iter().map(|f| db(f.iter().sum())).collect() };
        let level_dry_db = level_stats(&frame_levels(&pd));
        let level_wet_db = level_stats(&frame_levels(&pw));

        // Novelty: where the time-averaged dry spectrum is silent.
        let mean_spectrum = |p: &[Vec<f64>]| -> Vec<f64> {
            let mut s = vec![0.0; N_FFT / 2 + 1];
            for f in p {
                for (a, b) in s.iter_mut().zip(f) {
                    *a += b;
                }
            }
            s
        };
        let (sd, sw) = (mean_spectrum(&pd), mean_spectrum(&pw));
        let max_d = sd.iter().copied().fold(0.0, f64::max);
        let silent: Vec<bool> = sd.iter().map(|&v| v < max_d * 1e-5).collect();
        let share = |s: &[f64]| {
            let inside: f64 = s
                .iter()
                .zip(&silent)
                .filter(|(_, m)| **m)
                .map(|(v, _)| v)
                .sum();
            db(inside) - db(s.iter().sum())
        };

        let (d_dry, w_dry) = (&dm[..n_dry], &wm[..n_dry]);
        let rms_change_db = db(energy(w_dry)) - db(energy(d_dry));
        let wet_dry_region = energy(w_dry);
        let tail = &wm[n_dry.min(wm.len())..];
        let mut tail_db = [FLOOR_DB; TAIL_PARTS];
        if tail.len() >= TAIL_PARTS {
            let part = tail.len() / TAIL_PARTS;
            for (j, t) in tail_db.iter_mut().enumerate() {
                *t = db(energy(&tail[j * part..(j + 1) * part])) - db(wet_dry_region);
            }
        }

        let scale = dot(w_dry, d_dry) / energy(d_dry).max(1e-12);
        let residual: Vec<f32> = wm
            .iter()
            .zip(&dm)
            .map(|(&w, &d)| w - (scale as f32) * d)
            .collect();
        let residual_db = db(energy(&residual[..n_dry])) - db(energy(w_dry));
        let norm = (energy(&residual) * energy(&dm)).sqrt().max(1e-12);
        let lag_corr = (1..=LAGS)
            .map(|j| {
                let lag = (0.05 * j as f64 * fs).round() as usize;
                if lag >= residual.len() {
                    return 0.0;
                }
                dot(&residual[lag..], &dm[..dm.len() - lag]) / norm
            })
            .collect();

        let near_full = 10f32.powf(-0.1 / 20.0);
        let peak_and_share = |channels: &[Vec<f32>]| {
            let (mut peak, mut full, mut count) = (0.0f32, 0usize, 0usize);
            for ch in channels {
                for &v in &ch[..n_dry.min(ch.len())] {
                    peak = peak.max(v.abs());
                    full += (v.abs() >= near_full) as usize;
                    count += 1;
                }
            }
            (peak, full as f64 / count.max(1) as f64)
        };
        let (peak, share_wet) = peak_and_share(&pair.target.channels);
        let share_dry = peak_and_share(&pair.dry.channels).1;
        let peak_wet_db = db(peak as f64 * peak as f64);
        let full_scale_share = (share_wet - share_dry).max(0.0);

        let stereo = pair.dry.n_channels() == 2;
        let (ild_dry_db, side_mid_dry_db, corr_dry) =
            ild_side_corr(&pair.dry.channels, &ds, &dm, n_dry);
        let (ild_wet_db, side_mid_wet_db, corr_wet) =
            ild_side_corr(&pair.target.channels, &ws, &wm, n_dry);
        Descriptors {
            band_centres_hz: centres,
            band_gain_db,
            segment_band_gain_db,
            level_dry_db,
            level_wet_db,
            rms_change_db,
            crest_dry_db: crest_db(d_dry),
            crest_wet_db: crest_db(w_dry),
            peak_wet_db,
            full_scale_share,
            novelty_db: share(&sw),
            novelty_dry_db: share(&sd),
            instant_compression_db: instant_compression_db(d_dry, w_dry),
            tail_db,
            scale,
            residual_db,
            lag_corr,
            ild_dry_db,
            ild_wet_db,
            side_mid_dry_db,
            side_mid_wet_db,
            corr_dry,
            corr_wet,
            stereo,
        }
    }

    /// The flat regression input ([`FEATURE_DIM`] values; dB / 20, clamped to ±6).
    pub fn to_vec(&self) -> Vec<f32> {
        let d = |x: f64| (x / 20.0).clamp(-6.0, 6.0) as f32;
        let mut v = Vec::with_capacity(FEATURE_DIM);
        v.extend(self.band_gain_db.iter().map(|&x| d(x)));
        v.extend(self.segment_band_gain_db.iter().map(|&x| d(x)));
        v.extend(
            self.level_dry_db
                .iter()
                .chain(&self.level_wet_db)
                .map(|&x| d(x)),
        );
        v.push(d(self.rms_change_db));
        v.push(d(self.crest_dry_db));
        v.push(d(self.crest_wet_db));
        v.push(d(self.novelty_db - self.novelty_dry_db));
        v.push(d(self.instant_compression_db));
        v.extend(self.tail_db.iter().map(|&x| d(x)));
        v.push(self.scale.clamp(-6.0, 6.0) as f32);
        v.push(d(self.residual_db));
        v.extend(self.lag_corr.iter().map(|&x| x as f32));
        v.push(d(self.ild_dry_db));
        v.push(d(self.ild_wet_db));
        v.push(d(self.side_mid_dry_db));
        v.push(d(self.side_mid_wet_db));
        v.push(self.corr_dry as f32);
        v.push(self.corr_wet as f32);
        v.push(if self.stereo { 1.0 } else { 0.0 });
        debug_assert_eq!(v.len(), FEATURE_DIM);
        v
    }
}

/// `20·log10(β_mid/β_top)` (see the module table); 0 when either slope is not positive.
fn instant_compression_db(d: &[f32], w: &[f32]) -> f64 {
    let mut order: Vec<usize> = (0..d.len()).collect();
    order.sort_by(|&a, &b| d[a].abs().total_cmp(&d[b].abs()));
    let n = order.len();
    let slope = |range: std::ops::Range<usize>| {
        let (mut wd, mut dd) = (0.0, 0.0);
        for &i in &order[range] {
            wd += w[i] as f64 * d[i] as f64;
            dd += d[i] as f64 * d[i] as f64;
        }
        if dd > 1e-12 { wd / dd } else { 0.0 }
    };
    let (mid, top) = (slope(n / 5..3 * n / 5), slope(n * 49 / 50..n));
    if mid > 0.0 && top > 0.0 {
        20.0 * (mid / top).log10()
    } else {
        0.0
    }
}

/// Inter-channel level difference, side/mid ratio and L/R correlation over the first `n`
/// samples (mono: 0 dB, silence, 1).
fn ild_side_corr(channels: &[Vec<f32>], side: &[f32], mid: &[f32], n: usize) -> (f64, f64, f64) {
    if channels.len() != 2 {
        return (0.0, FLOOR_DB, 1.0);
    }
    let n = n.min(mid.len());
    (
        db(energy(&channels[0][..n])) - db(energy(&channels[1][..n])),
        db(energy(&side[..n]) / energy(&mid[..n]).max(1e-12)),
        correlation(&channels[0][..n], &channels[1][..n]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::chain::{Chain, Stage};
    use crate::engine::spec::effect;
    use crate::estimate::objective::tests::wet;
    use crate::sources::procedural::source;

    fn of(name: &str, stages: &[(&str, &[f64])]) -> Descriptors {
        let dry = source(name, 16000, 1.0, 2).unwrap();
        let chain = Chain {
            stages: stages
                .iter()
                .map(|(n, v)| Stage::constant(effect(n).unwrap(), v))
                .collect(),
        };
        Descriptors::of(&Pair::new(&dry, &wet(&dry, &chain), Some(0.5)).unwrap())
    }

    #[test]
    fn identity_has_no_change_and_is_deterministic() {
        let d = of("pluck", &[]);
        assert_eq!(d, of("pluck", &[]));
        assert_eq!(d.to_vec().len(), FEATURE_DIM);
        assert!(d.band_gain_db.iter().all(|g| g.abs() < 1e-9));
        assert!(d.rms_change_db.abs() < 1e-9 && (d.scale - 1.0).abs() < 1e-9);
        assert_eq!(d.tail_db, [FLOOR_DB; 4]);
        assert_eq!(d.level_dry_db, d.level_wet_db);
    }

    #[test]
    fn a_gain_shifts_every_level_by_its_decibels() {
        let d = of("pad", &[("gain", &[6.0])]);
        let want = 20.0 * 10f64.powf(6.0 / 20.0).log10();
        assert!((d.rms_change_db - want).abs() < 1e-3, "{}", d.rms_change_db);
        assert!((d.scale - 10f64.powf(0.3)).abs() < 1e-4);
        assert!(d.residual_db < -60.0);
        assert!(d.instant_compression_db.abs() < 1e-3);
        for (g, c) in d.band_gain_db.iter().zip(&d.band_centres_hz) {
            assert!((g - want).abs() < 1e-3, "band {c} Hz: {g}");
        }
    }

    #[test]
    fn a_panner_sets_the_level_difference_of_a_centred_source() {
        // Sweep channels are identical; pan 0.5: θ = 3π/8, L/R = cot θ.
        let d = of("sweep", &[("panner", &[0.5])]);
        let want = 20.0 * (1.0 / (3.0 * std::f64::consts::PI / 8.0).tan()).log10();
        assert!(d.ild_dry_db.abs() < 1e-9);
        assert!(
            (d.ild_wet_db - want).abs() < 1e-3,
            "{} vs {want}",
            d.ild_wet_db
        );
    }
}
