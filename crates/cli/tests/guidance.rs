//! `genlab guidance train` / `sample` / `eval` / `exact` on user files, training longer with
//! `--resume --steps`, and bad input.

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

/// Issue 24: a finished run trains longer with `--resume --steps`, continuing its history; a
/// changed model setting or a budget below the steps done is still refused, in one line.
#[test]
fn resume_with_more_steps_trains_longer() {
    let dir = tempfile::tempdir().unwrap();
    toy_tokens(&dir.path().join("toks.txt"));
    let train = |steps: u64, width: u64| {
        format!("guidance train --data toks.txt --out m --steps {steps} --width {width} --batch 32")
    };
    genlab_line(dir.path(), &train(20, 32)).ok_saying("for 20 steps");
    let losses = || std::fs::read_to_string(dir.path().join("m/losses.csv")).unwrap();
    assert_eq!(
        losses().lines().last().unwrap().split(',').next(),
        Some("20")
    );
    let before = std::fs::read(dir.path().join("m/weights.bpk")).unwrap();
    let longer = genlab_line(dir.path(), &format!("{} --resume", train(40, 32)));
    longer.ok_saying("for 40 steps");
    assert!(
        longer.stderr.contains("resumed from step 20") && longer.stderr.contains("20 → 40"),
        "{}",
        longer.stderr
    );
    let rows: Vec<String> = losses()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(rows, ["20", "40"], "the history runs on");
    assert_ne!(
        std::fs::read(dir.path().join("m/weights.bpk")).unwrap(),
        before
    );
    genlab_line(dir.path(), &format!("{} --resume", train(60, 64)))
        .fails_saying("different configuration (`width`: 32 → 64)");
    genlab_line(dir.path(), &format!("{} --resume", train(30, 32)))
        .fails_saying("pass at least --steps 40");
    let help = genlab_line(dir.path(), "guidance train --help");
    assert!(help.ok().contains("schedule recomputed over the new total"));
}

#[test]
fn eval_scores_token_models_against_held_out_data() {
    let dir = tempfile::tempdir().unwrap();
    toy_tokens(&dir.path().join("toks.txt"));
    genlab_line(
        dir.path(),
        &format!("guidance train --data toks.txt --out m {SMALL}"),
    )
    .ok();
    let text = genlab_line(dir.path(), "guidance eval --model m -n 8 --data toks.txt");
    let text = text.ok_saying("16 samples (8 per class; normalized rule, w = 2");
    assert!(
        text.contains("against toks.txt") && !text.contains("FD-digits"),
        "{text}"
    );
    let out = genlab_line(
        dir.path(),
        "guidance eval --model m -n 8 --data toks.txt --json",
    );
    let json: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    let classes = json["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 2);
    for c in classes {
        assert_eq!(c["samples"], 8);
        let r = &c["reference"];
        assert_eq!(r["sequences"], 40);
        for key in ["marginal_tv", "marginal_tv_floor", "unigram_tv", "copied"] {
            let x = r[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&x), "{key} = {x}");
        }
    }
    assert!(json["digits"].is_null());
    // Without --data: the samples' own statistics only.
    let own = genlab_line(dir.path(), "guidance eval --model m -n 4");
    assert!(own.ok().contains("no --data to compare with"));
    std::fs::write(
        dir.path().join("long.txt"),
        "0: 1 1 1 1 1
",
    )
    .unwrap();
    for (extra, needle) in [
        ("-n 0", "at least 1"),
        ("--data long.txt", "5 tokens, the model's 4"),
        ("--rule simple --sampler tau-leaping", "ancestral"),
        ("--data missing.txt", "missing.txt"),
    ] {
        genlab_line(dir.path(), &format!("guidance eval --model m {extra}")).fails_saying(needle);
    }
    genlab_line(dir.path(), "guidance eval --model nowhere")
        .fails_saying("not a genlab guidance model");
}

/// The documented table format, the exact distribution (in one position the normalized rule
/// gives the tilted target exactly), and one-line errors.
#[test]
fn exact_distribution_of_a_user_table() {
    let dir = tempfile::tempdir().unwrap();
    let table = "# p(x | c) ∝ weight\nprior: 1 3\n0: 0 = 1\n0: 1 = 3\n1: 1 = 1\n1: 2 = 1\n";
    std::fs::write(dir.path().join("t.txt"), table).unwrap();
    let out = genlab_line(
        dir.path(),
        "guidance exact --table t.txt --class 0 --w 3 --steps 8",
    );
    let text = out.ok_saying("exact output distribution of class 0");
    assert!(text.contains("over 3^1 sequences"), "{text}");
    let json = genlab_line(
        dir.path(),
        "guidance exact --table t.txt --class 0 --w 3 --steps 8 --json",
    );
    let json: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert!(json["tv_target"].as_f64().unwrap() < 1e-12, "{json}");
    assert!(json["tv_conditional"].as_f64().unwrap() > 0.05, "{json}");
    let rows = json["distribution"].as_array().unwrap();
    let total: f64 = rows.iter().map(|r| r["p"].as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-12);
    // p(x) = ¼(¼, ¾, 0) + ¾(0, ½, ½); the tilted target ∝ p(x|0)³ p(x)^−2 puts most mass on 0.
    assert_eq!(rows[0]["tokens"], serde_json::json!([0]));
    // Two positions, τ-leaping, a schedule: still a distribution.
    std::fs::write(
        dir.path().join("t2.txt"),
        "0: 0 1 = 1\n0: 1 1 = 2\n1: 1 0 = 1\n",
    )
    .unwrap();
    let json = genlab_line(
        dir.path(),
        "guidance exact --table t2.txt --class 1 --sampler tau-leaping --schedule ramp-up --json",
    );
    let json: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    let total: f64 = json["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["p"].as_f64().unwrap())
        .sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");

    std::fs::write(dir.path().join("bad.txt"), "0: 0 1 = 1\n0: 1 = 2\n").unwrap();
    std::fs::write(dir.path().join("big.txt"), "0: 15 15 15 15 = 1\n").unwrap();
    for (args, needle) in [
        ("--table bad.txt --class 0", "bad.txt:2"),
        ("--table t.txt --class 2", "out of range"),
        ("--table big.txt --class 0", "limit 2e9"),
        (
            "--table t.txt --class 0 --rule simple --sampler tau-leaping",
            "ancestral",
        ),
        (
            "--table t.txt --class 0 --schedule zigzag",
            "unknown schedule",
        ),
        ("--table missing.txt --class 0", "missing.txt"),
    ] {
        genlab_line(dir.path(), &format!("guidance exact {args}")).fails_saying(needle);
    }
    let help = genlab_line(dir.path(), "guidance exact --help");
    assert!(help.ok().contains("CLASS: TOKEN TOKEN … = WEIGHT"));
}

#[test]
fn digits_sample_as_an_image_grid() {
    let dir = tempfile::tempdir().unwrap();
    genlab_line(
        dir.path(),
        "guidance train --digits --out d --steps 20 --width 32",
    )
    .ok();
    // A digit-shaped model is scored with FD-digits and the classifier, beside the real floor.
    let out = genlab_line(dir.path(), "guidance eval --model d -n 3 --steps 8 --json");
    let json: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    let digits = &json["digits"];
    assert!(digits["scores"]["fd"].as_f64().unwrap() > digits["fd_floor"].as_f64().unwrap());
    assert_eq!(digits["class_accuracy"].as_array().unwrap().len(), 10);
    assert!(digits["classifier_accuracy"].as_f64().unwrap() > 0.9);
    assert_eq!(json["reference"], "the built-in digits");
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
