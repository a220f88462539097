//! Tier 1, step 1: which effects are likely present, from the interpretable descriptors of
//! (dry, wet) ([`crate::estimate::features`]). Each detector maps one or two descriptors to a score in
//! `[0, 1]` with a saturating ramp `ramp(x, a, b) = clamp((x − a)/(b − a), 0, 1)`, says why in
//! words, and may guess starting values for the parameter search:
//!
//! | effect | evidence | score |
//! |---|---|---|
//! | gain | overall level change `Δ = rms_change_db` | `ramp(|Δ|, 0.5, 3)`; start `gain_db = Δ` |
//! | distortion | new spectral content `n = novelty − novelty_dry` (dB), sample-level compression `k = instant_compression_db` | `max(ramp(n, 3, 12), ramp(k, 0.5, 4))` |
//! | compressor | dynamic-range drop `r = (p90 − p10)_dry − (p90 − p10)_wet` of frame levels (dB) | `ramp(r, 1, 6)` |
//! | limiter | crest-factor drop `c = crest_dry − crest_wet` (dB); share `f` of wet samples within 0.1 dB of full scale (pedalboard's limiter adds make-up gain `3.75 − threshold` dB and clips at 0 dBFS) | `max(ramp(c, 0.5, 4), ramp(f, 10⁻⁴, 10⁻²))`; start `threshold_db = 3.75 − Δ` |
//! | delay | largest residual echo correlation `ρ* = max_j lag_corr[j]` | `ramp(ρ*, 0.03, 0.2)`; start `delay_seconds = 0.05 j*` |
//! | reverb | tail energy `T = tail_db[0]` (dB), residual level `R` (dB), less the delay evidence | `max(ramp(T, −50, −20), ½·ramp(R, −20, −5))·(1 − ½·delay)` |
//! | equalizer | spread of the per-band gains around their mean over bands where the dry signal has energy (std, dB) | `ramp(std, 0.5, 3)` |
//! | panner | inter-channel level difference change `Δ_ILD` (dB) | `ramp(|Δ_ILD|, 0.5, 3)`; start `pan` from the wet ILD |
//! | stereo_widener | side/mid ratio change `Δ_S` (dB) | `ramp(|Δ_S|, 0.5, 3)`; start `width = 10^(Δ_S/20)` |
//!
//! The scores only rank candidates for the analysis-by-synthesis search ([`crate::estimate::search`]),
//! which decides; several effects move the same descriptors (distortion and limiters both lower
//! the crest factor), so a detector firing is evidence, not a decision. On mono input the
//! stereo-only effects score 0.

use crate::engine::spec::{EFFECTS, EffectSpec};
use crate::estimate::features::Descriptors;

/// A score at or above this counts as "detected" in rationales.
pub const DETECTED: f64 = 0.5;

/// One detector's verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// The effect.
    pub effect: &'static EffectSpec,
    /// Evidence in `[0, 1]`.
    pub score: f64,
    /// The evidence in words, with its numbers.
    pub reason: String,
    /// Starting parameter values for the search (spec order, on the grid).
    pub start: Vec<f64>,
}

/// `clamp((x − a)/(b − a), 0, 1)`.
pub fn ramp(x: f64, a: f64, b: f64) -> f64 {
    if !x.is_finite() {
        return 0.0;
    }
    ((x - a) / (b - a)).clamp(0.0, 1.0)
}

fn spec(name: &str) -> &'static EffectSpec {
    crate::engine::spec::effect(name).expect("effect in the spec table")
}

/// Spec defaults with some parameters replaced (then snapped to the grid).
fn start(effect: &'static EffectSpec, overrides: &[(&str, f64)]) -> Vec<f64> {
    effect
        .params
        .iter()
        .map(|p| {
            let v = overrides
                .iter()
                .find(|(n, _)| *n == p.name)
                .map_or(p.default, |(_, v)| *v);
            p.snap(if v.is_finite() { v } else { p.default })
        })
        .collect()
}

fn detection(name: &str, score: f64, reason: String, overrides: &[(&str, f64)]) -> Detection {
    let effect = spec(name);
    Detection {
        effect,
        score,
        reason,
        start: start(effect, overrides),
    }
}

/// Every effect's detection, in spec-table order.
pub fn detect(d: &Descriptors) -> Vec<Detection> {
    let level = d.rms_change_db;
    let novelty = d.novelty_db - d.novelty_dry_db;
    let crest_drop = d.crest_dry_db - d.crest_wet_db;
    let range = |l: &[f64; 4]| l[2] - l[0];
    let range_drop = range(&d.level_dry_db) - range(&d.level_wet_db);
    let (best_lag, best_corr) =
        d.lag_corr
            .iter()
            .enumerate()
            .fold(
                (0, f64::NEG_INFINITY),
                |b, (j, &c)| if c > b.1 { (j, c) } else { b },
            );
    let echo_seconds = 0.05 * (best_lag + 1) as f64;
    let delay_score = ramp(best_corr, 0.03, 0.2);
    let tail = d.tail_db[0];
    let reverb_score = ramp(tail, -50.0, -20.0).max(0.5 * ramp(d.residual_db, -20.0, -5.0))
        * (1.0 - 0.5 * delay_score);
    let spread = band_spread(d);
    let ild_change = d.ild_wet_db - d.ild_dry_db;
    let side_change = d.side_mid_wet_db - d.side_mid_dry_db;
    // θ = (pan + 1)π/4 and L/R = cot θ for a centred source.
    let theta = (10f64.powf(-d.ild_wet_db / 20.0)).atan();
    let pan = 4.0 * theta / std::f64::consts::PI - 1.0;
    let mut out = vec![
        detection(
            "gain",
            ramp(level.abs(), 0.5, 3.0),
            format!("overall level changed by {level:+.1} dB"),
            &[("gain_db", level)],
        ),
        detection(
            "distortion",
            ramp(novelty, 3.0, 12.0).max(ramp(d.instant_compression_db, 0.5, 4.0)),
            format!(
                "energy where the dry spectrum is silent rose by {novelty:+.1} dB; loud samples are {:.1} dB flatter than quiet ones",
                d.instant_compression_db
            ),
            &[],
        ),
        detection(
            "compressor",
            ramp(range_drop, 1.0, 6.0),
            format!(
                "dynamic range (90th − 10th percentile frame level) fell by {range_drop:.1} dB"
            ),
            &[],
        ),
        detection(
            "limiter",
            ramp(crest_drop, 0.5, 4.0).max(ramp(d.full_scale_share, 1e-4, 1e-2)),
            format!(
                "crest factor fell by {crest_drop:.1} dB; the wet peaks at {:.1} dBFS with {:.2}% of samples at full scale",
                d.peak_wet_db,
                100.0 * d.full_scale_share
            ),
            &[("threshold_db", 3.75 - level)],
        ),
        detection(
            "delay",
            delay_score,
            format!(
                "the residual correlates {best_corr:.2} with the dry signal {echo_seconds:.2} s earlier"
            ),
            &[("delay_seconds", echo_seconds), ("mix", 0.5)],
        ),
        detection(
            "reverb",
            reverb_score,
            format!(
                "energy after the dry end at {tail:.0} dB, residual {:.0} dB, no single echo lag",
                d.residual_db
            ),
            &[],
        ),
        detection(
            "equalizer",
            ramp(spread, 0.5, 3.0),
            format!("per-band level changes spread by {spread:.1} dB (std across bands)"),
            &eq_guess(d),
        ),
        detection(
            "panner",
            ramp(ild_change.abs(), 0.5, 3.0),
            format!("left/right level difference changed by {ild_change:+.1} dB"),
            &[("pan", pan)],
        ),
        detection(
            "stereo_widener",
            ramp(side_change.abs(), 0.5, 3.0),
            format!("side/mid ratio changed by {side_change:+.1} dB"),
            &[("width", 10f64.powf(side_change / 20.0))],
        ),
    ];
    if !d.stereo {
        for det in out
            .iter_mut()
            .filter(|x| matches!(x.effect.name, "panner" | "stereo_widener"))
        {
            det.score = 0.0;
            det.reason = "mono input".into();
        }
    }
    debug_assert!(
        out.iter()
            .zip(EFFECTS)
            .all(|(a, b)| a.effect.name == b.name)
    );
    out
}

/// Starting EQ from the per-band gains relative to their median `m`: low-shelf gain = mean
/// over bands centred below 150 Hz, high-shelf gain = mean over bands above 4.5 kHz (cut-off
/// 4 kHz), peaking band at the 250 Hz – 6 kHz band with the largest deviation.
fn eq_guess(d: &Descriptors) -> Vec<(&'static str, f64)> {
    let valid: Vec<(f64, f64)> = d
        .band_centres_hz
        .iter()
        .zip(&d.band_gain_db)
        .filter(|(_, g)| g.is_finite() && g.abs() < 60.0)
        .map(|(&f, &g)| (f, g))
        .collect();
    if valid.is_empty() {
        return vec![];
    }
    let mut sorted: Vec<f64> = valid.iter().map(|v| v.1).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let mean_where = |keep: &dyn Fn(f64) -> bool| {
        let sel: Vec<f64> = valid
            .iter()
            .filter(|v| keep(v.0))
            .map(|v| v.1 - median)
            .collect();
        if sel.is_empty() {
            0.0
        } else {
            sel.iter().sum::<f64>() / sel.len() as f64
        }
    };
    let low = mean_where(&|f| f < 150.0);
    let high = mean_where(&|f| f > 4500.0);
    let (centre, mid) = valid
        .iter()
        .filter(|v| (250.0..=6000.0).contains(&v.0))
        .map(|v| (v.0, v.1 - median))
        .fold((1000.0f64, 0.0f64), |b, v| {
            if v.1.abs() > b.1.abs() { v } else { b }
        });
    vec![
        ("low_gain_db", low),
        ("high_gain_db", high),
        ("high_cutoff_hz", 4000.0),
        ("mid_gain_db", mid),
        ("mid_center_hz", centre),
    ]
}

/// Standard deviation of the per-band gains, skipping bands whose gain is beyond ±60 dB (a band
/// without dry energy gives a meaningless ratio and carries no filter information).
fn band_spread(d: &Descriptors) -> f64 {
    let gains: Vec<f64> = d
        .band_gain_db
        .iter()
        .copied()
        .filter(|g| g.is_finite() && g.abs() < 60.0)
        .collect();
    if gains.len() < 2 {
        return 0.0;
    }
    let mean = gains.iter().sum::<f64>() / gains.len() as f64;
    (gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gains.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::chain::{Chain, Stage};
    use crate::estimate::objective::Pair;
    use crate::estimate::objective::tests::wet;
    use crate::sources::procedural::source;

    fn scores(
        dry: &crate::engine::buffer::AudioBuffer,
        stages: &[(&str, &[f64])],
    ) -> Vec<Detection> {
        let chain = Chain {
            stages: stages
                .iter()
                .map(|(n, v)| Stage::constant(spec(n), v))
                .collect(),
        };
        let w = wet(dry, &chain);
        detect(&Descriptors::of(&Pair::new(dry, &w, Some(0.5)).unwrap()))
    }

    fn score(dets: &[Detection], name: &str) -> f64 {
        dets.iter().find(|d| d.effect.name == name).unwrap().score
    }

    fn dry(name: &str) -> crate::engine::buffer::AudioBuffer {
        source(name, 16000, 1.0, 5).unwrap()
    }

    #[test]
    fn nothing_fires_on_an_identity() {
        for name in ["pluck", "pad", "drum", "sweep"] {
            let dets = scores(&dry(name), &[]);
            for d in &dets {
                assert!(
                    d.score < 0.1,
                    "{name}: {} scored {} ({})",
                    d.effect.name,
                    d.score,
                    d.reason
                );
            }
        }
    }

    #[test]
    fn each_detector_fires_on_its_clear_effect() {
        let cases: [(&str, &str, &[f64]); 9] = [
            ("gain", "pluck", &[-8.0]),
            ("distortion", "pad", &[20.0]),
            ("compressor", "drum", &[-35.0, 10.0, 1.0, 100.0, 0.0]),
            ("limiter", "drum", &[-15.0, 50.0]),
            ("delay", "drum", &[0.3, 0.3, 0.5]),
            ("reverb", "drum", &[0.8, 0.3, 0.9, 0.5]),
            (
                "equalizer",
                "pad",
                &[12.0, 200.0, 0.7, -12.0, 1000.0, 1.0, 8.0, 5000.0, 0.7],
            ),
            ("panner", "sweep", &[-0.8]),
            ("stereo_widener", "pad", &[0.0]),
        ];
        for (effect, src, values) in cases {
            let dets = scores(&dry(src), &[(effect, values)]);
            let s = score(&dets, effect);
            assert!(
                s >= DETECTED,
                "{effect} on {src}: score {s} ({:?})",
                dets.iter()
                    .map(|d| (d.effect.name, d.score))
                    .collect::<Vec<_>>()
            );
        }
        // Starting guesses that the descriptors determine.
        let g = scores(&dry("pluck"), &[("gain", &[-8.0])]);
        assert_eq!(g[0].start, vec![-8.0]);
        let p = scores(&dry("sweep"), &[("panner", &[-0.8])]);
        assert_eq!(p[7].start, vec![-0.8]);
        let e = scores(&dry("drum"), &[("delay", &[0.3, 0.3, 0.5])]);
        assert_eq!(e[4].start[0], 0.3);
    }

    #[test]
    fn mono_input_rules_out_stereo_effects() {
        let mono = crate::estimate::objective::tests::noise(1, 8000);
        let dets = scores(&mono, &[("gain", &[6.0])]);
        assert_eq!(score(&dets, "panner"), 0.0);
        assert_eq!(score(&dets, "stereo_widener"), 0.0);
        assert!(score(&dets, "gain") >= DETECTED);
    }
}
