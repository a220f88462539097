//! `genlab flow train` / `sample` / `eval` on user data, and their bad-input behaviour.

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

/// A tiny model trained on a ring in `dir/model`, and a held-out ring in `dir/held.csv`.
fn trained(dir: &std::path::Path) {
    ring_csv(&dir.join("points.csv"), 200);
    ring_csv(&dir.join("held.csv"), 120);
    let train = format!("flow train --data points.csv --out model {SMALL}");
    genlab_line(dir, &train).ok();
}

#[test]
fn sample_writes_every_solver_step_and_ends_at_the_samples() {
    let dir = tempfile::tempdir().unwrap();
    trained(dir.path());
    let args = "flow sample --model model -n 3 --steps 4 --solver dpm++2m --trajectory traj.csv";
    let samples = genlab_line(dir.path(), args).ok().to_string();
    let traj = std::fs::read_to_string(dir.path().join("traj.csv")).unwrap();
    let rows: Vec<&str> = traj.lines().collect();
    assert_eq!(rows[0], "sample,step,t,x1,x2");
    assert_eq!(rows.len(), 1 + 3 * 5, "3 samples × (4 steps + the noise)");
    // Flow matching runs t from 1 (noise) to 0 (data).
    assert!(
        rows[1].starts_with("0,0,1,") && rows[5].starts_with("0,4,0,"),
        "{traj}"
    );
    let last: Vec<String> = (rows.iter().skip(1))
        .filter(|r| r.split(',').nth(1) == Some("4"))
        .map(|r| r.splitn(4, ',').nth(3).unwrap().to_string())
        .collect();
    let printed: Vec<String> = samples.lines().skip(1).map(String::from).collect();
    assert_eq!(last.len(), 3);
    for (a, b) in last.iter().zip(&printed) {
        let parse = |s: &str| -> Vec<f64> { s.split(',').map(|v| v.parse().unwrap()).collect() };
        for (x, y) in parse(a).iter().zip(parse(b)) {
            assert!((x - y).abs() < 1e-4, "trajectory end {a} vs sample {b}");
        }
    }
}

#[test]
fn eval_reports_the_three_distances_beside_the_data_floor() {
    let dir = tempfile::tempdir().unwrap();
    trained(dir.path());
    let text = genlab_line(
        dir.path(),
        "flow eval --model model --data held.csv --steps 8",
    )
    .ok()
    .to_string();
    for needle in [
        "energy distance",
        "MMD²",
        "sliced W2²",
        "data floor",
        "60 held-out",
    ] {
        assert!(text.contains(needle), "no `{needle}` in {text}");
    }
    let json = genlab_line(
        dir.path(),
        "flow eval --model model --data held.csv --steps 8 --json",
    );
    let v: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    for key in ["energy", "mmd", "sliced_w2"] {
        assert!(v["model"][key].as_f64().unwrap().is_finite(), "{v}");
        assert!(v["floor"][key].as_f64().unwrap().is_finite(), "{v}");
    }
    assert_eq!(v["samples"], 60);
    // 40 training steps of a tiny network are far from the data: above the floor.
    assert!(v["energy_over_floor"].as_f64().unwrap() > 1.0, "{v}");
}

#[test]
fn eval_refuses_bad_held_out_data_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    trained(dir.path());
    std::fs::write(dir.path().join("three.csv"), "1,2,3\n4,5,6\n7,8,9\n1,1,1\n").unwrap();
    let eval = |data: &str| {
        genlab_line(
            dir.path(),
            &format!("flow eval --model model --data {data}"),
        )
    };
    eval("three.csv").fails_saying("dimension 3");
    eval("missing.csv").fails_saying("missing.csv");
    std::fs::write(dir.path().join("few.csv"), "1,2\n3,4\n").unwrap();
    eval("few.csv").fails_saying("at least 4");
    genlab_line(dir.path(), "flow eval --model nope --data held.csv").fails_saying("nope");
}
