//! `genlab flow train` / `genlab flow sample` on user data, and their bad-input behaviour.

mod common;

use common::{entries, genlab, ring_csv};

const SMALL: &[&str] = &[
    "--steps", "40", "--width", "16", "--depth", "3", "--batch", "32",
];

#[test]
fn train_then_sample_a_user_csv() {
    let dir = tempfile::tempdir().unwrap();
    ring_csv(&dir.path().join("points.csv"), 200);
    let mut args = vec!["flow", "train", "--data", "points.csv", "--out", "model"];
    args.extend_from_slice(SMALL);
    let out = genlab(dir.path(), &args);
    assert!(
        out.ok().contains("trained fm on 200 points of dimension 2"),
        "{}",
        out.stdout
    );
    for f in [
        "model.json",
        "weights.bpk",
        "checkpoint.bin",
        "losses.csv",
        "train_config.json",
    ] {
        assert!(dir.path().join("model").join(f).exists(), "missing {f}");
    }
    let out = genlab(
        dir.path(),
        &[
            "flow", "sample", "--model", "model", "-n", "25", "--out", "s.csv",
        ],
    );
    out.ok();
    let text = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert_eq!(text.lines().count(), 26, "header + 25 rows");
    // The same seed gives the same samples; stdout output matches the file.
    let again = genlab(
        dir.path(),
        &["flow", "sample", "--model", "model", "-n", "25"],
    );
    assert_eq!(again.ok(), text);
}

#[test]
fn edm_trains_and_resume_requires_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    ring_csv(&dir.path().join("p.csv"), 100);
    let mut args = vec![
        "flow",
        "train",
        "--data",
        "p.csv",
        "--out",
        "m",
        "--process",
        "edm",
    ];
    args.extend_from_slice(SMALL);
    genlab(dir.path(), &args).ok();
    // A second run into the same directory must not silently overwrite it.
    let err = genlab(dir.path(), &args);
    assert!(err.one_line_error().contains("--resume"), "{}", err.stderr);
    args.push("--resume");
    genlab(dir.path(), &args).ok();
}

#[test]
fn missing_file_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(
        dir.path(),
        &["flow", "train", "--data", "nope.csv", "--out", "m"],
    );
    assert!(out.one_line_error().contains("nope.csv"));
    assert!(!dir.path().join("m").exists());
}

#[test]
fn malformed_csv_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.csv"), "x,y\n1,2\n3\n").unwrap();
    let out = genlab(
        dir.path(),
        &["flow", "train", "--data", "bad.csv", "--out", "m"],
    );
    assert!(out.one_line_error().contains(":3"), "{}", out.stderr);
    assert_eq!(entries(dir.path()), vec!["bad.csv"]);
}

#[test]
fn nan_in_data_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nan.csv"), "1,2\nNaN,4\n").unwrap();
    let out = genlab(
        dir.path(),
        &["flow", "train", "--data", "nan.csv", "--out", "m"],
    );
    assert!(
        out.one_line_error().to_lowercase().contains("nan"),
        "{}",
        out.stderr
    );
    assert_eq!(entries(dir.path()), vec!["nan.csv"]);
}

#[test]
fn sampling_a_non_model_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let out = genlab(dir.path(), &["flow", "sample", "--model", "empty"]);
    assert!(out.one_line_error().contains("not a genlab flow model"));
}
