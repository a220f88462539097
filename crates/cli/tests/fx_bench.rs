//! `genlab bench fx`: the table, the JSON, the written renders, and bad options.

mod common;

use common::genlab;
use genlab_fx::bench::ROWS;
use genlab_fx::engine::wav;
use serde_json::Value;

const TINY: &[&str] = &[
    "bench",
    "fx",
    "--steps",
    "2",
    "--warmup",
    "0",
    "--seconds",
    "0.05",
];

#[test]
fn table_has_every_row_in_both_block_modes() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(dir.path(), TINY).ok().to_string();
    assert!(out.contains("0.05 s of 44100 Hz stereo"), "{out}");
    for row in ROWS {
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.split_whitespace().next() == Some(row.name))
            .collect();
        assert_eq!(lines.len(), 2, "{}: {out}", row.name);
        assert!(lines[0].contains(" 512 ") && lines[1].contains("whole"));
    }
}

#[test]
fn json_rows_carry_positive_real_time_factors() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = TINY.to_vec();
    args.push("--json");
    let rows: Value = serde_json::from_str(genlab(dir.path(), &args).ok()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(
        rows.len(),
        2 * ROWS.len() + 1,
        "two blocks per row, and chain5+wav"
    );
    for r in rows {
        assert_eq!(r["renders"], 2);
        assert_eq!(r["sample_rate"], 44100);
        let rtf = r["rtf"].as_f64().unwrap();
        assert!(rtf.is_finite() && rtf > 0.0, "{r}");
        // RTF and ms/render are the same measurement: rtf = seconds / (ms/1000).
        let ms = r["ms_per_render"].as_f64().unwrap();
        let seconds = r["audio_seconds"].as_f64().unwrap();
        assert!(
            (rtf * ms / 1e3 - seconds).abs() < 1e-9 * seconds.max(1.0),
            "{r}"
        );
    }
}

#[test]
fn written_renders_are_the_rows_applied_to_the_written_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = TINY.to_vec();
    args.extend(["--write", "renders"]);
    genlab(dir.path(), &args).ok();
    let renders = dir.path().join("renders");
    let input = wav::read(&renders.join("input.wav")).unwrap();
    assert_eq!(
        (input.sample_rate, input.n_channels(), input.len()),
        (44100, 2, 2205)
    );
    for row in ROWS {
        let out = wav::read(&renders.join(format!("{}.wav", row.name))).unwrap();
        assert_eq!(out.len(), input.len(), "{}", row.name);
    }
    // The gain row is +6 dB, sample for sample (the factor in f32, as JUCE computes it).
    let gain = wav::read(&renders.join("gain.wav")).unwrap();
    let g = 10f32.powf(std::hint::black_box(6.0f32) * 0.05);
    let expected: Vec<f32> = input.channels.concat().iter().map(|x| x * g).collect();
    assert_eq!(gain.channels.concat(), expected);
}

#[test]
fn fx_only_options_and_bad_lengths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = genlab(dir.path(), &["bench", "flow", "--seconds", "1"])
        .one_line_error()
        .to_string();
    assert!(err.contains("--seconds does not apply"), "{err}");
    for bad in [
        "--seconds=0",
        "--seconds=-1",
        "--seconds=nan",
        "--seconds=7200",
    ] {
        let err = genlab(dir.path(), &["bench", "fx", bad])
            .one_line_error()
            .to_string();
        assert!(err.contains("--seconds"), "{bad}: {err}");
    }
}
