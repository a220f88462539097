//! `genlab guidance train` / `genlab guidance sample` on a user token file, and bad input.

mod common;

use common::genlab_line;

const SMALL: &str = "--steps 60 --width 32 --batch 32";

/// Two classes of length-4 sequences over tokens 0–2.
fn toy_tokens(path: &std::path::Path) {
    let mut text = String::from("# class: tokens\n");
    for i in 0..40 {
        text.push_str(&format!("0: {0} {0} {0} {0}\n", i % 2));
        text.push_str("1: 2 2 2 2\n");
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn train_then_sample_a_user_token_file() {
    let dir = tempfile::tempdir().unwrap();
    toy_tokens(&dir.path().join("toks.txt"));
    let train = format!("guidance train --data toks.txt --out m {SMALL}");
    let out = genlab_line(dir.path(), &train);
    out.ok_saying("trained on 80 sequences of 4 tokens (vocabulary 3, 2 classes)");
    for f in ["model.json", "weights.bpk", "checkpoint.bin", "losses.csv"] {
        assert!(dir.path().join("m").join(f).exists(), "missing {f}");
    }
    let sample = "guidance sample --model m --class 1 -n 5 --w 2.5 --schedule ramp-up";
    let first = genlab_line(dir.path(), sample);
    let lines: Vec<&str> = first.ok().lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("1: ") && l.split_whitespace().count() == 5),
        "{lines:?}"
    );
    // Same seed, same sequences; the output is a valid training file.
    assert_eq!(genlab_line(dir.path(), sample).ok(), first.stdout);
    // Resuming a finished run continues from its checkpoint and changes nothing.
    genlab_line(dir.path(), &format!("{train} --resume")).ok();
    assert_eq!(genlab_line(dir.path(), sample).ok(), first.stdout);
    genlab_line(
        dir.path(),
        &format!("{sample} --rule unlocking --sampler tau-leaping --out s.txt"),
    )
    .ok();
    genlab_line(
        dir.path(),
        &format!("guidance train --data s.txt --out m2 {SMALL}"),
    )
    .ok();
}

#[test]
fn digits_sample_as_an_image_grid() {
    let dir = tempfile::tempdir().unwrap();
    genlab_line(
        dir.path(),
        "guidance train --digits --out d --steps 20 --width 32",
    )
    .ok();
    genlab_line(
        dir.path(),
        "guidance sample --model d --class 3 -n 8 --svg g.svg --out g.txt",
    )
    .ok();
    let svg = std::fs::read_to_string(dir.path().join("g.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("class 3, normalized rule"));
}

#[test]
fn bad_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.txt"), "0: 1 2\n1: 1\n").unwrap();
    genlab_line(dir.path(), "guidance train --data bad.txt --out m").fails_saying("bad.txt:2");

    toy_tokens(&dir.path().join("toks.txt"));
    let train = format!("guidance train --data toks.txt --out m {SMALL}");
    genlab_line(dir.path(), &train).ok();
    genlab_line(dir.path(), &train).fails_saying("--resume");
    for (extra, needle) in [
        ("--class 5", "out of range"),
        ("--class 0 --schedule zigzag", "unknown schedule"),
        ("--class 0 --rule simple --sampler tau-leaping", "ancestral"),
        ("--class 0 --steps 0", "at least one step"),
    ] {
        let e = genlab_line(dir.path(), &format!("guidance sample --model m {extra}"));
        assert!(e.one_line_error().contains(needle), "{extra}: {}", e.stderr);
    }
    genlab_line(dir.path(), "guidance sample --model nowhere --class 0")
        .fails_saying("not a genlab guidance model");
}
