//! `genlab list`, `genlab report`, `genlab data`, `genlab bench`, and global flags.

mod common;

use common::{genlab, genlab_line};

#[test]
fn list_names_every_experiment_with_a_claim() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(dir.path(), &["list"]);
    let text = out.ok();
    assert!(text.lines().any(|l| l.starts_with("flow — ")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("flow ") && l.contains("floor")),
        "{text}"
    );
}

#[test]
fn report_needs_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        genlab(dir.path(), &["report", "missing"])
            .one_line_error()
            .contains("missing")
    );
    std::fs::create_dir(dir.path().join("o")).unwrap();
    genlab(dir.path(), &["report", "o"]).ok();
    assert!(dir.path().join("o/index.html").exists());
}

#[test]
fn data_list_and_unknown_fetch() {
    let dir = tempfile::tempdir().unwrap();
    genlab(dir.path(), &["data", "list"]).ok_saying("fashion-mnist");
    genlab(dir.path(), &["data", "fetch", "no-such-data"]).fails_saying("fashion-mnist");
}

#[test]
fn bench_prints_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab_line(dir.path(), "bench flow --steps 2 --warmup 0");
    let text = out.ok();
    assert!(
        text.contains("flow2d") && text.contains("GFLOP/s"),
        "{text}"
    );
    assert!(
        genlab(dir.path(), &["bench", "nope"])
            .one_line_error()
            .contains("unknown benchmark")
    );
}

#[test]
fn bad_thread_setting_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        genlab(dir.path(), &["--threads", "0", "list"])
            .one_line_error()
            .contains("at least 1")
    );
}

#[test]
fn parse_errors_are_one_line_with_clap_tips_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["gan", "train", "--dat", "x"],
            "unexpected argument '--dat' found (tip: a similar argument exists: '--data'); see --help",
        ),
        (
            &["gan", "train"],
            "the following required arguments were not provided: --data <DATA>, --out <OUT>; see --help",
        ),
        (&["repro", "gan", "--seeds", "0"], "0 is not in 1..=64"),
        (&["nosuch"], "unrecognized subcommand 'nosuch'"),
    ];
    for (args, says) in cases {
        let run = genlab(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(
            run.one_line_error().contains(says),
            "{args:?}: {}",
            run.stderr
        );
    }
    // A command without its subcommand still shows its help.
    assert!(
        genlab(dir.path(), &["gan"])
            .stderr
            .contains("Usage: genlab gan")
    );
}
