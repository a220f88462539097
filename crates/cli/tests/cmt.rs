//! `genlab cmt distill`, `post-train` and `meanflow` on a model trained by `genlab flow train`,
//! sampled with `genlab flow sample`, and their bad-input behaviour.

mod common;

use std::path::Path;

use common::{entries, genlab_line, ring_csv};

/// Trains a tiny model of `process` on a ring into `dir/out`.
fn tiny_model(dir: &Path, process: &str, out: &str) {
    if !dir.join("p.csv").exists() {
        ring_csv(&dir.join("p.csv"), 200);
    }
    genlab_line(
        dir,
        &format!(
            "flow train --data p.csv --out {out} --process {process} \
             --steps 40 --width 16 --depth 3 --batch 32"
        ),
    )
    .ok();
}

fn distill(dir: &Path, teacher: &str, out: &str, extra: &str) -> common::Run {
    genlab_line(
        dir,
        &format!("cmt distill --teacher {teacher} --out {out} {extra}"),
    )
}

#[test]
fn distils_an_edm_model_into_a_one_and_two_step_student() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), "edm", "teacher");
    distill(dir.path(), "teacher", "student", "--steps 20").ok_saying("1–2-step student");
    for f in [
        "model.json",
        "weights.bpk",
        "losses.csv",
        "distill_config.json",
    ] {
        assert!(dir.path().join("student").join(f).exists(), "missing {f}");
    }
    let losses = std::fs::read_to_string(dir.path().join("student/losses.csv")).unwrap();
    assert_eq!(
        losses.lines().count(),
        1 + 2,
        "header + a row every 10 of 20 steps"
    );
    for steps in ["1", "2"] {
        let sample = |seed: &str| {
            let args = format!("flow sample --model student -n 7 --steps {steps} --seed {seed}");
            genlab_line(dir.path(), &args).ok().to_string()
        };
        let text = sample("3");
        assert_eq!(text.lines().count(), 8, "header + 7 samples:\n{text}");
        let values: Vec<f64> = (text.lines().skip(1))
            .flat_map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()))
            .collect();
        assert!(values.iter().all(|v| v.is_finite()), "{text}");
        assert_eq!(sample("3"), text, "the same seed gives the same samples");
    }
}

#[test]
fn a_flow_matching_teacher_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), "fm", "fm");
    distill(dir.path(), "fm", "student", "").fails_saying("EDM teacher");
    assert!(!dir.path().join("student").exists());
}

#[test]
fn bad_input_gives_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    distill(dir.path(), "nope", "student", "").fails_saying("nope");
    assert_eq!(entries(dir.path()), Vec::<String>::new());

    tiny_model(dir.path(), "edm", "teacher");
    distill(dir.path(), "teacher", "student", "--steps 0").fails_saying("steps");
    assert!(!dir.path().join("student").exists());

    // A student is not a teacher, and an existing model is never overwritten.
    distill(dir.path(), "teacher", "student", "--steps 10").ok();
    distill(dir.path(), "student", "again", "").fails_saying("already a consistency student");
    distill(dir.path(), "teacher", "student", "").fails_saying("already holds");
}

/// Each command continues a run with --resume: a finished one is extended by a larger --steps,
/// and an existing run is never restarted without it.
#[test]
fn resume_extends_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), "edm", "teacher");
    tiny_model(dir.path(), "fm", "fm");
    let losses = |out: &str| {
        let text = std::fs::read_to_string(dir.path().join(out).join("losses.csv")).unwrap();
        text.lines().count() - 1
    };
    distill(dir.path(), "teacher", "student", "--steps 10").ok();
    distill(dir.path(), "teacher", "student", "--steps 20").fails_saying("--resume");
    distill(dir.path(), "teacher", "student", "--steps 20 --resume").ok();
    assert_eq!(losses("student"), 2, "a row every 10 of 20 steps");

    let post = |args: &str| {
        let base = "cmt post-train --student student --data p.csv --batch 32 --out ect";
        genlab_line(dir.path(), &format!("{base} {args}"))
    };
    post("--steps 10").ok();
    post("--steps 20 --resume").ok_saying("for 20 steps");
    assert_eq!(losses("ect"), 2);

    let meanflow = |args: &str| {
        let base = "cmt meanflow --teacher fm --data p.csv --batch 32 --out mf --mid-steps 10";
        genlab_line(dir.path(), &format!("{base} {args}"))
    };
    meanflow("--post-steps 10").ok();
    meanflow("--post-steps 20 --resume").ok();
    assert_eq!(
        losses("mf"),
        3,
        "10 mid-training steps, then 20 post-training steps"
    );
}

#[test]
fn post_trains_a_distilled_student_with_ect_and_ecd() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), "edm", "teacher");
    distill(dir.path(), "teacher", "student", "--steps 10 --solver heun").ok();
    let post = |extra: &str| {
        genlab_line(
            dir.path(),
            &format!("cmt post-train --student student --data p.csv --steps 20 --batch 32 {extra}"),
        )
    };
    post("--out ect").ok_saying("post-trained student for 20 steps");
    post("--out ecd --objective ecd --teacher teacher --anneal").ok();
    for out in ["ect", "ecd"] {
        let config = std::fs::read_to_string(dir.path().join(out).join("post_train_config.json"));
        assert!(config.unwrap().contains(out), "{out}");
        let losses = std::fs::read_to_string(dir.path().join(out).join("losses.csv")).unwrap();
        assert_eq!(
            losses.lines().count(),
            1 + 2,
            "header + a row every 10 of 20 steps"
        );
        let text = genlab_line(
            dir.path(),
            &format!("flow sample --model {out} -n 5 --steps 2"),
        );
        assert_eq!(text.ok().lines().count(), 6);
    }
    // Straight from the EDM teacher's weights (ECT from the teacher) works too.
    post("--out from_teacher").ok();
}

#[test]
fn post_train_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), "edm", "teacher");
    tiny_model(dir.path(), "fm", "fm");
    let post = |args: &str| genlab_line(dir.path(), &format!("cmt post-train --steps 5 {args}"));
    post("--student teacher --data p.csv --out o --objective ecd").fails_saying("--teacher");
    post("--student fm --data p.csv --out o").fails_saying("EDM");
    std::fs::write(dir.path().join("three.csv"), "1,2,3\n4,5,6\n").unwrap();
    post("--student teacher --data three.csv --out o").fails_saying("dimension 3");
    post("--student teacher --data p.csv --out o --lr 0").fails_saying("learning rate");
    post("--student teacher --data p.csv --out o --q 0.5").fails_saying("q must");
    post("--student nope --data p.csv --out o").fails_saying("nope");
    assert!(!dir.path().join("o").exists());
}

#[test]
fn meanflow_distils_a_flow_matching_model_into_a_one_and_two_step_student() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path(), "fm", "fm");
    let mf = |extra: &str| {
        genlab_line(
            dir.path(),
            &format!("cmt meanflow --teacher fm --batch 36 {extra}"),
        )
    };
    mf("--out mf --mid-steps 10 --post-steps 10 --data p.csv").ok_saying("MeanFlow student");
    let losses = std::fs::read_to_string(dir.path().join("mf/losses.csv")).unwrap();
    assert_eq!(
        losses.lines().count(),
        1 + 2,
        "header + a row every 10 of 10 + 10 steps"
    );
    for steps in ["1", "2"] {
        let args = format!("flow sample --model mf -n 6 --steps {steps} --seed 2");
        let text = genlab_line(dir.path(), &args).ok().to_string();
        assert_eq!(text.lines().count(), 7, "{text}");
        let values: Vec<f64> = (text.lines().skip(1))
            .flat_map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()))
            .collect();
        assert!(values.iter().all(|v| v.is_finite()), "{text}");
        assert_eq!(
            genlab_line(dir.path(), &args).ok(),
            text,
            "same seed, same samples"
        );
    }
    // Bad input: an EDM teacher, post-training without data, an existing output, a bad t_mid.
    tiny_model(dir.path(), "edm", "edm");
    genlab_line(dir.path(), "cmt meanflow --teacher edm --out a")
        .fails_saying("flow-matching teacher");
    mf("--out b --post-steps 5").fails_saying("--data");
    mf("--out mf").fails_saying("already holds");
    mf("--out c --mid-steps 5 --t-mid 1.5").fails_saying("t_mid");
    for out in ["a", "b", "c"] {
        assert!(!dir.path().join(out).exists(), "{out}");
    }
}
