//! Real-time factor of the effects engine for `genlab bench fx` (issue 6); the peer is
//! `bench/pedalboard_fx.py` (Spotify's pedalboard, JUCE effects in C++, with the same rows).
//!
//! ```text
//! input:   30 s of 44.1 kHz stereo test signal (below), f32
//! rows:    every effect alone at the values in ROWS, and the 5-effect chain
//!          gain → compressor → equalizer → delay → reverb; and `chain5+wav`, the chain as a
//!          command runs it: read a float WAV, render in blocks of 512, write a float WAV
//!          (the issue-21 goal "incl. WAV I/O"; the twin uses pedalboard's `AudioFile`)
//! blocks:  512 samples, and the whole buffer as one block
//! timed:   one crate::engine::chain::render call (pad_tail off, so the output keeps the input's length
//!          as pedalboard's does): build the processor, copy the input, process
//! report:  RTF = seconds of audio / seconds of wall time, at the mean render time and at the
//!          10th-percentile (fast-end) render time
//! ```
//!
//! The engine is single-threaded: a render never uses more than one core, whatever `--threads`.
//!
//! **Test signal** (the Python twin computes the same from the same formula), for sample `n`,
//! `t = n/fs`, channel `c ∈ {0, 1}`:
//!
//! ```text
//! e(t)    = 0.25 + 0.75·exp(−(t mod 0.5)/0.06)                 a beat every 0.5 s
//! h(k)    = k·0x9E3779B1 mod 2³²; h ^= h >> 15; h = h·0x85EBCA77 mod 2³²; h ^= h >> 13
//! u_c[n]  = 2·h(n + 1000003·c)/2³² − 1                          white noise in [−1, 1)
//! x_c[n]  = e(t)·(0.3·sin(2π f_c t) + 0.2·u_c[n]) + 0.15·sin(2π·1000·t),   f = (110, 165) Hz
//! ```
//!
//! so the dynamics processors see transients, the filters see broadband noise, and the channels
//! differ (the panner and widener have something to do). Peak ≤ 0.65.

use genlab_core::bench::StepTimes;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::{Error, Result};

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{Chain, RenderOptions, Stage, render};
use crate::engine::spec;

/// The benchmark's sample rate.
pub const SAMPLE_RATE: u32 = 44100;
/// Seconds of audio per render.
pub const SECONDS: f64 = 30.0;
/// The fixed block size; the other mode processes the whole buffer as one block.
pub const BLOCK: usize = 512;

/// One benchmarked chain: a name and its stages (effect name, values in spec order).
#[derive(Debug, Clone, Copy)]
pub struct Row {
    /// Row name (the effect's, or `chain5`).
    pub name: &'static str,
    /// Stages in order.
    pub stages: &'static [(&'static str, &'static [f64])],
}

const EQ: &[f64] = &[3.0, 100.0, 0.7, -4.0, 1000.0, 0.7, 2.0, 8000.0, 0.7];
const COMPRESSOR: &[f64] = &[-20.0, 4.0, 10.0, 100.0, 0.0];
const DELAY: &[f64] = &[0.25, 0.3, 0.3];
const REVERB: &[f64] = &[0.5, 0.5, 0.9, 0.3];

/// The rows, each effect alone then the 5-effect chain (values on the spec's step grid).
pub const ROWS: &[Row] = &[
    Row::alone(&[("gain", &[6.0])]),
    Row::alone(&[("distortion", &[12.0])]),
    Row::alone(&[("compressor", COMPRESSOR)]),
    Row::alone(&[("limiter", &[-6.0, 100.0])]),
    Row::alone(&[("delay", DELAY)]),
    Row::alone(&[("reverb", REVERB)]),
    Row::alone(&[("equalizer", EQ)]),
    Row::alone(&[("panner", &[0.5])]),
    Row::alone(&[("stereo_widener", &[1.4])]),
    Row {
        name: "chain5",
        stages: &[
            ("gain", &[4.0]),
            ("compressor", COMPRESSOR),
            ("equalizer", EQ),
            ("delay", DELAY),
            ("reverb", REVERB),
        ],
    },
];

impl Row {
    /// The row of one effect alone, named after it.
    const fn alone(stage: &'static [(&'static str, &'static [f64]); 1]) -> Row {
        Row {
            name: stage[0].0,
            stages: stage,
        }
    }

    /// The row as a chain.
    pub fn chain(&self) -> Result<Chain> {
        let stages = self
            .stages
            .iter()
            .map(|(name, values)| {
                let e = spec::effect(name)
                    .ok_or_else(|| Error::InvalidInput(format!("no effect called `{name}`")))?;
                if values.len() != e.params.len() {
                    return Err(Error::InvalidInput(format!(
                        "{name} takes {} values, got {}",
                        e.params.len(),
                        values.len()
                    )));
                }
                Ok(Stage::constant(e, values))
            })
            .collect::<Result<_>>()?;
        Ok(Chain { stages })
    }
}

/// `h(k)` of the module doc: a 32-bit integer hash.
fn hash32(k: u64) -> u64 {
    const MASK: u64 = 0xFFFF_FFFF;
    let mut h = (k.wrapping_mul(0x9E37_79B1)) & MASK;
    h ^= h >> 15;
    h = (h * 0x85EB_CA77) & MASK;
    h ^ (h >> 13)
}

/// The module doc's stereo test signal, `seconds` long at `sample_rate`.
pub fn test_signal(sample_rate: u32, seconds: f64) -> AudioBuffer {
    use std::f64::consts::TAU;
    let n = (seconds * sample_rate as f64).round() as usize;
    let fs = sample_rate as f64;
    let channels = [110.0, 165.0]
        .iter()
        .enumerate()
        .map(|(c, &f)| {
            (0..n)
                .map(|i| {
                    let t = i as f64 / fs;
                    let beat = 0.25 + 0.75 * (-(t % 0.5) / 0.06).exp();
                    let noise = 2.0 * hash32(i as u64 + 1_000_003 * c as u64) as f64
                        / 4_294_967_296.0
                        - 1.0;
                    let x = beat * (0.3 * (TAU * f * t).sin() + 0.2 * noise)
                        + 0.15 * (TAU * 1000.0 * t).sin();
                    x as f32
                })
                .collect()
        })
        .collect();
    AudioBuffer {
        sample_rate,
        channels,
    }
}

/// Timings of one row in one block mode.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Row name.
    pub row: String,
    /// Block size, `None` for the whole buffer at once.
    pub block: Option<usize>,
    /// Seconds of audio per render.
    pub audio_seconds: f64,
    /// Wall seconds of each timed render.
    pub times: StepTimes,
}

impl Timing {
    /// `"512"` or `"whole"`.
    pub fn block_label(&self) -> String {
        self.block.map_or("whole".into(), |b| b.to_string())
    }

    /// Real-time factor at the mean render time.
    pub fn rtf(&self) -> f64 {
        self.audio_seconds * self.times.steps_per_second()
    }

    /// Real-time factor at the 10th-percentile (fast-end) render time.
    pub fn p10_rtf(&self) -> f64 {
        self.audio_seconds * self.times.p10_steps_per_second()
    }
}

/// Renders `row` over `input` `warmup + reps` times in blocks of `block` (`None`: one block),
/// timing the last `reps`; returns the timings and the last output. `reps ≥ 1`.
pub fn time_row(
    row: &Row,
    input: &AudioBuffer,
    block: Option<usize>,
    warmup: usize,
    reps: usize,
) -> Result<(Timing, AudioBuffer)> {
    if reps == 0 {
        return Err(Error::InvalidInput(
            "a benchmark needs at least one timed render".into(),
        ));
    }
    let chain = row.chain()?;
    let options = RenderOptions {
        block_size: block.unwrap_or(input.len()).max(1),
        pad_tail: false,
    };
    let mut seconds = Vec::with_capacity(reps);
    let mut output = None;
    for i in 0..warmup + reps {
        let start = std::time::Instant::now();
        let rendered = render(&chain, input, options)?;
        let elapsed = start.elapsed().as_secs_f64();
        if i >= warmup {
            seconds.push(elapsed);
        }
        output = Some(rendered.audio);
    }
    let output = output.unwrap_or_else(|| input.clone());
    let timing = Timing {
        row: row.name.to_string(),
        block,
        audio_seconds: input.duration_seconds(),
        times: StepTimes {
            name: row.name.to_string(),
            flops_per_step: 0.0,
            seconds,
        },
    };
    Ok((timing, output))
}

/// The name of the row that times [`time_wav_row`].
pub const WAV_ROW: &str = "chain5+wav";

/// Renders `row` as a user's command would, `warmup + reps` times, timing the last `reps`:
/// read a float WAV of `input` from disk, render in blocks of [`BLOCK`] (no tail), write the
/// result as a float WAV. The input file is written (untimed) to `dir`, or to a fresh
/// directory under the system's temporary directory that is removed afterwards. The twin
/// times pedalboard's `AudioFile` read, `board(…)` and `AudioFile` write the same way.
pub fn time_wav_row(
    row: &Row,
    input: &AudioBuffer,
    dir: Option<&std::path::Path>,
    warmup: usize,
    reps: usize,
) -> Result<Timing> {
    use crate::engine::wav::{self, SampleFormat};
    if reps == 0 {
        return Err(Error::InvalidInput(
            "a benchmark needs at least one timed render".into(),
        ));
    }
    let scratch = std::env::temp_dir().join(format!("genlab-bench-fx-{}", std::process::id()));
    let dir = dir.unwrap_or(&scratch);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (src, dst) = (
        dir.join("wav-row-input.wav"),
        dir.join("wav-row-output.wav"),
    );
    wav::write(&src, input, SampleFormat::Float32)?;
    let chain = row.chain()?;
    let options = RenderOptions {
        block_size: BLOCK,
        pad_tail: false,
    };
    let mut seconds = Vec::with_capacity(reps);
    for i in 0..warmup + reps {
        let start = std::time::Instant::now();
        let audio = wav::read(&src)?;
        let rendered = render(&chain, &audio, options)?;
        wav::write(&dst, &rendered.audio, SampleFormat::Float32)?;
        if i >= warmup {
            seconds.push(start.elapsed().as_secs_f64());
        }
    }
    for path in [&src, &dst] {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    if dir == scratch {
        let _ = std::fs::remove_dir(&scratch);
    }
    Ok(Timing {
        row: WAV_ROW.to_string(),
        block: Some(BLOCK),
        audio_seconds: input.duration_seconds(),
        times: StepTimes {
            name: WAV_ROW.to_string(),
            flops_per_step: 0.0,
            seconds,
        },
    })
}

/// One timing as a table row and a JSON object.
fn push_row(table: &mut BenchTable, t: &Timing, threads: usize) {
    let ms = 1e3 / t.times.steps_per_second();
    table.rows.push(vec![
        t.row.clone(),
        t.block_label(),
        format!("{:.1}", t.rtf()),
        format!("{:.1}", t.p10_rtf()),
        format!("{ms:.2}"),
    ]);
    table.json.push(serde_json::json!({
        "name": t.row, "block": t.block_label(), "threads": threads,
        "sample_rate": SAMPLE_RATE, "audio_seconds": t.audio_seconds,
        "renders": t.times.seconds.len(), "rtf": t.rtf(), "p10_rtf": t.p10_rtf(),
        "ms_per_render": ms,
    }));
}

/// `genlab bench fx`: the real-time factor of every row, in blocks of [`BLOCK`] and as one
/// buffer, on `opts.seconds` (default [`SECONDS`]) of stereo. With `opts.write`, the input and
/// each row's whole-buffer render are written there as float WAVs for
/// `bench/pedalboard_fx.py`'s sample comparison.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    use crate::engine::wav::{self, SampleFormat};
    let seconds = opts.seconds.unwrap_or(SECONDS);
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        return Err(Error::InvalidInput(format!(
            "--seconds must be in (0, 3600], got {seconds}"
        )));
    }
    let input = test_signal(SAMPLE_RATE, seconds);
    if let Some(dir) = &opts.write {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        wav::write(&dir.join("input.wav"), &input, SampleFormat::Float32)?;
    }
    let mut table = BenchTable {
        notes: vec![format!(
            "fx: {seconds} s of {SAMPLE_RATE} Hz stereo per render, {} timed render(s) after {} \
             warm-up; effects run on one thread",
            opts.steps, opts.warmup
        )],
        columns: ["row", "block", "RTF", "p10 RTF", "ms/render"]
            .map(String::from)
            .to_vec(),
        ..BenchTable::default()
    };
    for row in ROWS {
        for block in [Some(BLOCK), None] {
            let (t, output) = time_row(row, &input, block, opts.warmup, opts.steps)?;
            if let (Some(dir), None) = (&opts.write, block) {
                let path = dir.join(format!("{}.wav", row.name));
                wav::write(&path, &output, SampleFormat::Float32)?;
            }
            push_row(&mut table, &t, opts.threads);
        }
    }
    let chain5 = ROWS.iter().find(|r| r.name == "chain5").unwrap_or(&ROWS[0]);
    let t = time_wav_row(
        chain5,
        &input,
        opts.write.as_deref(),
        opts.warmup,
        opts.steps,
    )?;
    push_row(&mut table, &t, opts.threads);
    if let Some(dir) = &opts.write {
        table.notes.push(format!(
            "wrote input.wav and one whole-buffer render per row to {}",
            dir.display()
        ));
    }
    Ok(table)
}

/// The fx family's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "fx",
    options: &["seconds", "write"],
    summary: "real-time factor of every effect and a 5-effect chain on 30 s of 44.1 kHz stereo, \
              blocks of 512 and whole-buffer, and the chain with WAV read and write \
              (`--steps 10 --warmup 2` is plenty); twin: bench/pedalboard_fx.py",
    run,
}];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_signal_is_fixed_bounded_and_has_distinct_channels() {
        let a = test_signal(8000, 1.0);
        assert_eq!(a, test_signal(8000, 1.0));
        assert_eq!((a.n_channels(), a.len()), (2, 8000));
        assert!(a.peak() <= 0.65 && a.peak() > 0.4, "{}", a.peak());
        assert_ne!(a.channels[0], a.channels[1]);
        // The hash's first values, computed by hand from the formula: h(0) = 0; h(1):
        // 0x9E3779B1 → ^>>15 → ·0x85EBCA77 → ^>>13.
        assert_eq!(hash32(0), 0);
        let mut h: u64 = 0x9E37_79B1;
        h ^= h >> 15;
        h = (h * 0x85EB_CA77) % (1 << 32);
        assert_eq!(hash32(1), h ^ (h >> 13));
        // Uniform noise: the mean of u over 10⁵ samples is near 0 and its variance near 1/3.
        let u: Vec<f64> = (0..100_000u64)
            .map(|k| 2.0 * hash32(k) as f64 / 4_294_967_296.0 - 1.0)
            .collect();
        let mean = u.iter().sum::<f64>() / u.len() as f64;
        let var = u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / u.len() as f64;
        assert!(
            mean.abs() < 0.01 && (var - 1.0 / 3.0).abs() < 0.01,
            "{mean} {var}"
        );
    }

    #[test]
    fn every_row_builds_and_the_chain_has_five_stages() {
        for row in ROWS {
            let chain = row.chain().unwrap();
            for (stage, (name, values)) in chain.stages.iter().zip(row.stages) {
                assert_eq!(stage.spec.name, *name);
                // Every value is a point of its parameter's grid.
                for (p, v) in stage.spec.params.iter().zip(*values) {
                    assert!(p.on_grid(*v), "{}.{} = {v}", name, p.name);
                }
            }
        }
        let five = ROWS.iter().find(|r| r.name == "chain5").unwrap();
        assert_eq!(five.chain().unwrap().stages.len(), 5);
        let bad = Row {
            name: "bad",
            stages: &[("gain", &[1.0, 2.0])],
        };
        assert!(bad.chain().is_err());
    }

    #[test]
    fn time_row_measures_the_render_and_returns_its_output() {
        // Not a timing assertion: the measurement has the right shape and the output is the
        // render's.
        let input = test_signal(8000, 0.05);
        for row in ROWS {
            for block in [Some(BLOCK), None] {
                let (t, out) = time_row(row, &input, block, 1, 3).unwrap();
                assert_eq!(t.times.seconds.len(), 3);
                assert!(t.times.seconds.iter().all(|s| s.is_finite() && *s > 0.0));
                assert!((t.audio_seconds - 0.05).abs() < 1e-12);
                let rtf = 0.05 * 3.0 / t.times.seconds.iter().sum::<f64>();
                assert!((t.rtf() - rtf).abs() < 1e-9 * rtf);
                // With 3 renders the p10 time is the fastest, never slower than the mean.
                assert!(t.p10_rtf() >= t.rtf() * (1.0 - 1e-12));
                let want = render(
                    &row.chain().unwrap(),
                    &input,
                    RenderOptions {
                        block_size: 7,
                        pad_tail: false,
                    },
                )
                .unwrap()
                .audio;
                assert_eq!(out, want, "{} {:?}", row.name, block);
            }
        }
        let (t, _) = time_row(&ROWS[0], &input, None, 0, 1).unwrap();
        assert_eq!(t.block_label(), "whole");
        assert!(time_row(&ROWS[0], &input, None, 0, 0).is_err());
    }

    #[test]
    fn wav_row_times_read_render_write_and_cleans_up() {
        let input = test_signal(8000, 0.05);
        let (_keep, dir) = genlab_core::testing::scratch("fx-bench-wav-row");
        let t = time_wav_row(&ROWS[9], &input, Some(&dir), 1, 2).unwrap();
        assert_eq!((t.row.as_str(), t.times.seconds.len()), (WAV_ROW, 2));
        assert!(t.times.seconds.iter().all(|s| s.is_finite() && *s > 0.0));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        assert!(time_wav_row(&ROWS[9], &input, Some(&dir), 0, 0).is_err());
    }

    #[test]
    fn gain_row_is_exactly_the_gain_in_db() {
        let input = test_signal(8000, 0.1);
        let (_, out) = time_row(&ROWS[0], &input, Some(BLOCK), 0, 1).unwrap();
        let g = 10f32.powf(std::hint::black_box(6.0f32) * 0.05);
        let expected: Vec<f32> = input.channels.concat().iter().map(|x| x * g).collect();
        assert_eq!(out.channels.concat(), expected);
    }
}
