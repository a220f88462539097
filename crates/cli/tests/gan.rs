//! `genlab gan train` / `genlab gan sample` on a user's labelled CSV, resume, and bad input.

mod common;

use common::{entries, genlab_line};

const SMALL: &str = "--steps 30 --width 16 --batch 32";

/// Three labelled clusters in 2-D, with a `class` header column.
fn labelled_csv(path: &std::path::Path, n: usize) {
    let mut s = String::from("x,y,class\n");
    for i in 0..n {
        let c = i % 3;
        let jitter = 0.01 * (i % 7) as f32;
        s.push_str(&format!(
            "{},{},{c}\n",
            c as f32 * 2.0 + jitter,
            1.0 - jitter
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn train_then_sample_one_class() {
    let dir = tempfile::tempdir().unwrap();
    labelled_csv(&dir.path().join("pts.csv"), 150);
    for head in ["sona", "projection", "acgan", "san"] {
        let out = genlab_line(
            dir.path(),
            &format!("gan train --data pts.csv --head {head} --out m_{head} {SMALL}"),
        );
        out.ok_saying(&format!(
            "trained a {head} conditional GAN on 150 points of dimension 2 in 3 classes"
        ));
    }
    for f in [
        "model.json",
        "weights.bpk",
        "checkpoint.bin",
        "losses.csv",
        "train_config.json",
    ] {
        assert!(dir.path().join("m_sona").join(f).exists(), "missing {f}");
    }
    let losses = std::fs::read_to_string(dir.path().join("m_sona/losses.csv")).unwrap();
    assert!(losses.starts_with("step,d_loss,g_loss\n"), "{losses}");
    genlab_line(
        dir.path(),
        "gan sample --model m_sona --class 2 -n 12 --out s.csv",
    )
    .ok();
    let text = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert_eq!(text.lines().count(), 13, "header + 12 rows");
    assert!(
        text.starts_with("x0,x1,label\n") && text.lines().skip(1).all(|l| l.ends_with(",2")),
        "{text}"
    );
    // Same seed, same samples; stdout matches the file.
    assert_eq!(
        genlab_line(dir.path(), "gan sample --model m_sona --class 2 -n 12").ok(),
        text
    );
}

#[test]
fn resume_continues_extends_and_is_required_to_reuse_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    labelled_csv(&dir.path().join("p.csv"), 60);
    let train = format!("gan train --data p.csv --out m {SMALL}");
    genlab_line(dir.path(), &train).ok();
    genlab_line(dir.path(), &train).fails_saying("--resume");
    genlab_line(dir.path(), &format!("{train} --resume")).ok();
    // More steps extend the finished run; a different network is refused.
    let longer = "gan train --data p.csv --out m --steps 60 --width 16 --batch 32 --resume";
    assert!(
        genlab_line(dir.path(), longer)
            .ok()
            .contains("for 60 steps")
    );
    genlab_line(
        dir.path(),
        "gan train --data p.csv --out m --steps 90 --width 24 --batch 32 --resume",
    )
    .fails_saying("different configuration");
}

#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nolabel.csv"), "x,y\n1,2\n3,4\n").unwrap();
    genlab_line(dir.path(), "gan train --data nolabel.csv --out m").fails_saying("no class labels");
    genlab_line(dir.path(), "gan train --data missing.csv --out m").fails_saying("missing.csv");
    labelled_csv(&dir.path().join("p.csv"), 30);
    genlab_line(dir.path(), "gan train --data p.csv --out m --head pd")
        .fails_saying("unknown head `pd`");
    genlab_line(dir.path(), "gan train --data p.csv --out m --lr 0").fails_saying("--lr");
    genlab_line(
        dir.path(),
        "gan train --data p.csv --out m --width 100000000",
    )
    .fails_saying("--width × --width");
    genlab_line(
        dir.path(),
        "gan train --data p.csv --out m --batch 100000000",
    )
    .fails_saying("--batch × --width");
    assert_eq!(entries(dir.path()), vec!["nolabel.csv", "p.csv"]);
    genlab_line(dir.path(), "gan sample --model nowhere --class 0")
        .fails_saying("not a genlab gan model");
    genlab_line(
        dir.path(),
        &format!("gan train --data p.csv --out m {SMALL}"),
    )
    .ok();
    genlab_line(dir.path(), "gan sample --model m --class 7")
        .fails_saying("class 7 is out of range");
    genlab_line(dir.path(), "gan sample --model m --class 0 -n 0").fails_saying("-n");
}
