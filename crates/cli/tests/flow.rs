//! `genlab flow train` / `genlab flow sample` on user data, and their bad-input behaviour.

mod common;

use common::{entries, genlab_line, ring_csv};

const SMALL: &str = "--steps 40 --width 16 --depth 3 --batch 32";

#[test]
fn train_then_sample_a_user_csv() {
    let dir = tempfile::tempdir().unwrap();
    ring_csv(&dir.path().join("points.csv"), 200);
    let out = genlab_line(
        dir.path(),
        &format!("flow train --data points.csv --out model {SMALL}"),
    );
    out.ok_saying("trained fm on 200 points of dimension 2");
    for f in [
        "model.json",
        "weights.bpk",
        "checkpoint.bin",
        "losses.csv",
        "train_config.json",
    ] {
        assert!(dir.path().join("model").join(f).exists(), "missing {f}");
    }
    genlab_line(dir.path(), "flow sample --model model -n 25 --out s.csv").ok();
    let text = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert_eq!(text.lines().count(), 26, "header + 25 rows");
    // The same seed gives the same samples; stdout output matches the file.
    let again = genlab_line(dir.path(), "flow sample --model model -n 25");
    assert_eq!(again.ok(), text);
}

#[test]
fn edm_trains_and_resume_requires_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    ring_csv(&dir.path().join("p.csv"), 100);
    let train = format!("flow train --data p.csv --out m --process edm {SMALL}");
    genlab_line(dir.path(), &train).ok();
    // A second run into the same directory must not silently overwrite it.
    genlab_line(dir.path(), &train).fails_saying("--resume");
    genlab_line(dir.path(), &format!("{train} --resume")).ok();
}

/// `flow train` on `file` holding `text` fails with one line containing `needle` and leaves
/// nothing behind.
fn refused_in_one_line(file: &str, text: Option<&str>, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(text) = text {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let out = genlab_line(dir.path(), &format!("flow train --data {file} --out m"));
    assert!(
        out.one_line_error().to_lowercase().contains(needle),
        "{}",
        out.stderr
    );
    let written: Vec<&str> = if text.is_some() { vec![file] } else { vec![] };
    assert_eq!(entries(dir.path()), written);
}

#[test]
fn missing_file_is_one_line_and_writes_nothing() {
    refused_in_one_line("nope.csv", None, "nope.csv");
}

#[test]
fn malformed_csv_names_the_line() {
    refused_in_one_line("bad.csv", Some("x,y\n1,2\n3\n"), ":3");
}

#[test]
fn nan_in_data_is_rejected() {
    refused_in_one_line("nan.csv", Some("1,2\nNaN,4\n"), "nan");
}

#[test]
fn sampling_a_non_model_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    genlab_line(dir.path(), "flow sample --model empty").fails_saying("not a genlab flow model");
}
