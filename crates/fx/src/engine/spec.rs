//! The one table every other part is derived from: for each effect its name, description and
//! parameters (unit, range, step grid, scale, default). Schemas, the validator, the sampler,
//! normalisation for metrics and the CLI docs all read [`EFFECTS`]; nothing restates a range.
//!
//! Ranges and coarse steps follow the LP-Fx sampling table of LLM2Fx-Tools (method note §2(a)),
//! with degenerate end points moved inside (a 0 Hz shelf, Q = 0, 0 ms attack or a 0 s delay line
//! have no meaning): log-scaled times start at 1 ms, Q at 0.1, shelf cut-off at 20 Hz, delay at
//! 0.05 s. The compressor gained a make-up gain (0…20 dB).
//!
//! **Grids.** A linear parameter's grid is `v_k = min + k·step`, `k = 0..=(max-min)/step`.
//! A log parameter's `step` is in decades: `v_k = min·10^(k·step)` (1, 1.26, 1.58, 2, 2.5, 3.16,
//! 4, 5, 6.31, 7.94, 10, … for step 0.1), rounded to 4 significant digits.
//!
//! **Normalisation** to `[0, 1]` (for parameter MAE): linear `u = (v - min)/(max - min)`,
//! log `u = ln(v/min)/ln(max/min)`.

use serde::Serialize;

/// How a parameter is spaced and normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Equal steps in the value.
    Linear,
    /// Equal steps in `log10` of the value (the step is in decades).
    Log,
}

/// One parameter of an effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParamSpec {
    /// Argument name in tool calls.
    pub name: &'static str,
    /// Unit (`dB`, `ms`, `s`, `Hz`, `ratio`, or empty for dimensionless).
    pub unit: &'static str,
    /// What it does, for schemas and docs.
    pub description: &'static str,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// Grid step (in the value for linear, in decades for log).
    pub step: f64,
    /// Grid spacing and normalisation.
    pub scale: Scale,
    /// Value used when an argument is missing (under the clamp/snap policies).
    pub default: f64,
}

/// One effect (one tool).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EffectSpec {
    /// Tool name.
    pub name: &'static str,
    /// What it does, for schemas and docs.
    pub description: &'static str,
    /// Parameters, in the order effects receive them.
    pub params: &'static [ParamSpec],
}

/// A parameter on a linear grid ([`ParamSpec::log_scale`] puts it on a log grid).
const fn param(
    name: &'static str,
    unit: &'static str,
    description: &'static str,
    (min, max, step): (f64, f64, f64),
    default: f64,
) -> ParamSpec {
    ParamSpec {
        name,
        unit,
        description,
        min,
        max,
        step,
        scale: Scale::Linear,
        default,
    }
}

/// The gain of an equalizer band: ±20 dB in 1 dB steps, flat by default.
const fn band_gain(name: &'static str, description: &'static str) -> ParamSpec {
    param(name, "dB", description, (-20.0, 20.0, 1.0), 0.0)
}

/// The Q of an equalizer band: 0.1 to 6 in steps of 0.1, 0.7 by default.
const fn band_q(name: &'static str, description: &'static str) -> ParamSpec {
    param(name, "", description, (0.1, 6.0, 0.1), 0.7)
}

impl ParamSpec {
    /// The same parameter on a log grid (`step` then counts decades).
    const fn log_scale(self) -> Self {
        ParamSpec {
            scale: Scale::Log,
            ..self
        }
    }
}

/// Every effect the engine implements, in the canonical order used by fixed-order baselines.
pub static EFFECTS: &[EffectSpec] = &[
    EffectSpec {
        name: "gain",
        description: "Changes the level by a fixed number of decibels.",
        params: &[param(
            "gain_db",
            "dB",
            "Gain in decibels.",
            (-20.0, 20.0, 2.0),
            0.0,
        )],
    },
    EffectSpec {
        name: "distortion",
        description: "Soft-clipping distortion: y = tanh(x * 10^(drive_db/20)). Adds harmonics and loudness.",
        params: &[param(
            "drive_db",
            "dB",
            "Drive into the tanh waveshaper.",
            (0.0, 20.0, 2.0),
            10.0,
        )],
    },
    EffectSpec {
        name: "compressor",
        description: "Dynamic range compressor as pedalboard's Compressor (JUCE): a peak envelope per channel with attack/release ballistics, hard knee; above the threshold the level is reduced by the ratio. Optional make-up gain (genlab's addition, 0 dB = pedalboard's).",
        params: &[
            param(
                "threshold_db",
                "dB",
                "Level above which gain is reduced.",
                (-40.0, -5.0, 5.0),
                -20.0,
            ),
            param(
                "ratio",
                "ratio",
                "Input/output slope above the threshold (1 = no compression).",
                (1.0, 20.0, 1.0),
                4.0,
            ),
            param(
                "attack_ms",
                "ms",
                "Attack time of the level envelope (JUCE ballistics: coefficient exp(-2*pi*1000/(fs*attack_ms))).",
                (1.0, 1000.0, 0.1),
                10.0,
            )
            .log_scale(),
            param(
                "release_ms",
                "ms",
                "Release time of the level envelope (same law as the attack).",
                (1.0, 1000.0, 0.1),
                100.0,
            )
            .log_scale(),
            param(
                "makeup_db",
                "dB",
                "Gain added after compression.",
                (0.0, 20.0, 1.0),
                0.0,
            ),
        ],
    },
    EffectSpec {
        name: "limiter",
        description: "Limiter as pedalboard's Limiter (JUCE): a -10 dB 4:1 compressor, then a 1000:1 compressor at the threshold, then make-up gain (3.75 dB minus the threshold) and a hard clip at 0 dBFS. Loud input is pushed towards full scale.",
        params: &[
            param(
                "threshold_db",
                "dB",
                "Threshold of the 1000:1 stage; the make-up gain then raises it to about full scale.",
                (-20.0, -1.0, 1.0),
                -1.0,
            ),
            param(
                "release_ms",
                "ms",
                "Release time of the 1000:1 stage's level envelope.",
                (1.0, 1000.0, 0.1),
                100.0,
            )
            .log_scale(),
        ],
    },
    EffectSpec {
        name: "delay",
        description: "Feedback delay (echo), as pedalboard's Delay: y = (1-mix)*x + mix*d, d[n] = x[n-D] + feedback*d[n-D], D = floor(delay_seconds*fs).",
        params: &[
            param(
                "delay_seconds",
                "s",
                "Time between echoes.",
                (0.05, 0.7, 0.05),
                0.25,
            ),
            param(
                "feedback",
                "",
                "Fraction of each echo fed back into the delay line.",
                (0.0, 0.6, 0.05),
                0.3,
            ),
            param(
                "mix",
                "",
                "Wet fraction (0 = dry only, 1 = echoes only).",
                (0.0, 1.0, 0.1),
                0.3,
            ),
        ],
    },
    EffectSpec {
        name: "reverb",
        description: "Freeverb reverb as pedalboard's Reverb (JUCE: 8 damped comb filters + 4 allpasses per channel) with wet_level = mix, dry_level = 1 - mix (LLM2Fx-Tools' mapping): y = 2*(1-mix)*x + 3*mix*reverb.",
        params: &[
            param(
                "room_size",
                "",
                "Size of the room (longer decay).",
                (0.0, 0.9, 0.1),
                0.5,
            ),
            param(
                "damping",
                "",
                "High-frequency absorption.",
                (0.0, 0.9, 0.1),
                0.5,
            ),
            param(
                "width",
                "",
                "Stereo width of the reverberation.",
                (0.0, 0.9, 0.1),
                0.9,
            ),
            param(
                "mix",
                "",
                "Wet level; the dry level is 1 - mix, which JUCE doubles (mix 0 = the dry signal at +6 dB, 0.5 = dry at unity).",
                (0.0, 1.0, 0.1),
                0.3,
            ),
        ],
    },
    EffectSpec {
        name: "equalizer",
        description: "Three-band equalizer: low shelf, peaking mid band, high shelf (RBJ biquads in that order, as pedalboard's LowShelfFilter, PeakFilter, HighShelfFilter).",
        params: &[
            band_gain("low_gain_db", "Low-shelf gain."),
            param(
                "low_cutoff_hz",
                "Hz",
                "Low-shelf corner frequency.",
                (20.0, 400.0, 20.0),
                100.0,
            ),
            band_q("low_q", "Low-shelf Q."),
            band_gain("mid_gain_db", "Peaking-band gain."),
            param(
                "mid_center_hz",
                "Hz",
                "Peaking-band centre frequency.",
                (250.0, 6000.0, 250.0),
                1000.0,
            ),
            band_q("mid_q", "Peaking-band Q (higher = narrower)."),
            band_gain("high_gain_db", "High-shelf gain."),
            param(
                "high_cutoff_hz",
                "Hz",
                "High-shelf corner frequency (limited to sample rate/2 - 100 Hz, as pedalboard).",
                (4000.0, 20000.0, 1000.0),
                8000.0,
            ),
            band_q("high_q", "High-shelf Q."),
        ],
    },
    EffectSpec {
        name: "panner",
        description: "Constant-power stereo panner: theta = (pan+1)*pi/4, L *= cos(theta), R *= sin(theta). Needs stereo (mono is up-mixed).",
        params: &[param(
            "pan",
            "",
            "-1 = left, 0 = centre, 1 = right.",
            (-1.0, 1.0, 0.1),
            0.0,
        )],
    },
    EffectSpec {
        name: "stereo_widener",
        description: "Mid/side stereo widener: side *= width (0 = mono, 1 = unchanged). Needs stereo (mono is up-mixed).",
        params: &[param(
            "width",
            "",
            "Side-signal gain.",
            (0.0, 1.5, 0.1),
            1.0,
        )],
    },
];

/// The effect called `name`, if any.
pub fn effect(name: &str) -> Option<&'static EffectSpec> {
    EFFECTS.iter().find(|e| e.name == name)
}

/// Rounds to the precision a grid point is written with.
fn tidy(v: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Linear => (v * 1e9).round() / 1e9,
        Scale::Log => {
            if v == 0.0 {
                return 0.0;
            }
            // Divide by an exact power of ten so the result is the double nearest the decimal.
            let e = v.abs().log10().floor() as i32 - 3;
            if e < 0 {
                let inv = 10f64.powi(-e);
                (v * inv).round() / inv
            } else {
                let mag = 10f64.powi(e);
                (v / mag).round() * mag
            }
        }
    }
}

impl EffectSpec {
    /// Index of the parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Default values, in parameter order.
    pub fn defaults(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.default).collect()
    }
}

impl ParamSpec {
    /// Number of grid intervals between `min` and `max`.
    pub fn intervals(&self) -> usize {
        let span = match self.scale {
            Scale::Linear => self.max - self.min,
            Scale::Log => (self.max / self.min).log10(),
        };
        (span / self.step).round() as usize
    }

    /// The `k`-th grid point.
    pub fn grid_point(&self, k: usize) -> f64 {
        let v = match self.scale {
            Scale::Linear => self.min + k as f64 * self.step,
            Scale::Log => self.min * 10f64.powf(k as f64 * self.step),
        };
        tidy(v, self.scale)
    }

    /// Every grid point, ascending.
    pub fn grid(&self) -> Vec<f64> {
        (0..=self.intervals()).map(|k| self.grid_point(k)).collect()
    }

    /// `v` limited to `[min, max]`.
    pub fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.min, self.max)
    }

    /// The grid point nearest to `v` (nearest in log space for log parameters), after clamping.
    pub fn snap(&self, v: f64) -> f64 {
        let u = self.normalise(v) * self.intervals() as f64;
        self.grid_point(u.round() as usize)
    }

    /// `v` mapped to `[0, 1]` (clamped first).
    pub fn normalise(&self, v: f64) -> f64 {
        let v = self.clamp(v);
        match self.scale {
            Scale::Linear => (v - self.min) / (self.max - self.min),
            Scale::Log => (v / self.min).ln() / (self.max / self.min).ln(),
        }
    }

    /// Inverse of [`ParamSpec::normalise`] for `u` in `[0, 1]`.
    pub fn denormalise(&self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        match self.scale {
            Scale::Linear => self.min + u * (self.max - self.min),
            Scale::Log => self.min * (self.max / self.min).powf(u),
        }
    }

    /// `true` if `v` is (to rounding) a grid point.
    pub fn on_grid(&self, v: f64) -> bool {
        (self.snap(v) - v).abs() <= 1e-9 * v.abs().max(1.0)
    }

    /// Human-readable range and grid, e.g. `"-20 to 20 dB, step 2"`.
    pub fn range_text(&self) -> String {
        let unit = if self.unit.is_empty() || self.unit == "ratio" {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        match self.scale {
            Scale::Linear => format!("{} to {}{unit}, step {}", self.min, self.max, self.step),
            Scale::Log => format!(
                "{} to {}{unit}, log scale, step {} decade",
                self.min, self.max, self.step
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_is_consistent() {
        let mut names = std::collections::HashSet::new();
        for e in EFFECTS {
            assert!(names.insert(e.name), "duplicate effect {}", e.name);
            let mut params = std::collections::HashSet::new();
            for p in e.params {
                assert!(params.insert(p.name), "{}: duplicate {}", e.name, p.name);
                assert!(p.min < p.max && p.step > 0.0, "{}.{}", e.name, p.name);
                if p.scale == Scale::Log {
                    assert!(p.min > 0.0);
                }
                // max lies on the grid, and so does the default.
                let span = match p.scale {
                    Scale::Linear => p.max - p.min,
                    Scale::Log => (p.max / p.min).log10(),
                };
                assert!(
                    (span / p.step - p.intervals() as f64).abs() < 1e-9,
                    "{}.{}",
                    e.name,
                    p.name
                );
                let grid = p.grid();
                assert_eq!(grid[0], p.min);
                assert!((grid[grid.len() - 1] - p.max).abs() < 1e-9);
                assert!(
                    p.on_grid(p.default),
                    "{}.{} default off grid",
                    e.name,
                    p.name
                );
                assert!(grid.windows(2).all(|w| w[0] < w[1]));
            }
        }
        assert_eq!(EFFECTS.len(), 9);
    }

    #[test]
    fn log_grid_is_the_r10_series() {
        let p = effect("compressor").unwrap().params[2];
        let grid = p.grid();
        assert_eq!(grid.len(), 31);
        assert_eq!(&grid[..6], &[1.0, 1.259, 1.585, 1.995, 2.512, 3.162]);
        assert_eq!(grid[10], 10.0);
        assert_eq!(p.snap(11.0), 10.0);
        assert_eq!(p.snap(0.01), 1.0);
        assert_eq!(p.snap(5e6), 1000.0);
    }

    #[test]
    fn snap_clamp_and_normalise() {
        let g = effect("gain").unwrap().params[0];
        assert_eq!(g.snap(3.1), 4.0);
        assert_eq!(g.snap(2.9), 2.0);
        assert_eq!(g.snap(-99.0), -20.0);
        assert_eq!(g.clamp(25.0), 20.0);
        assert_eq!(g.normalise(0.0), 0.5);
        let q = effect("equalizer").unwrap().params[2];
        assert_eq!(q.snap(0.73), 0.7);
        for p in EFFECTS.iter().flat_map(|e| e.params) {
            for u in [0.0, 0.25, 0.5, 1.0] {
                assert!((p.normalise(p.denormalise(u)) - u).abs() < 1e-12);
            }
        }
    }
}
