//! Issue 25, end to end: closed and full standard output, and one regression per class of
//! input that panicked, aborted or was silently accepted, each now one line and a non-zero
//! exit (or, for a closed pipe, a quiet exit).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{Run, genlab, genlab_line};

/// `genlab ARGS` with standard output connected to `stdout`.
fn genlab_into(dir: &Path, args: &[&str], stdout: Stdio) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_genlab"))
        .args(args)
        .current_dir(dir)
        .env("GENLAB_THREADS", "1")
        .stdout(stdout)
        .output()
        .expect("the genlab binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `genlab list | head -1` style: the reader is gone before genlab writes. It exits 0 and says
/// nothing (it panicked with "failed printing to stdout: Broken pipe", exit 101).
#[test]
fn printing_into_a_closed_reader_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["list"][..], &["list", "--json"], &["fx", "tools"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let run = genlab_into(dir.path(), args, writer.into());
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}");
    }
}

/// `genlab list > /dev/full`: one line naming the error, exit 1 (never a silent success).
#[test]
fn a_full_device_is_one_line() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let dir = tempfile::tempdir().unwrap();
    let run = genlab_into(dir.path(), &["list"], full.into());
    run.fails_saying("No space left on device");
}

#[test]
fn huge_thread_counts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    genlab_line(dir.path(), "--threads 100000 list").fails_saying("limit of 1024");
    genlab_line(dir.path(), "--threads 0 list").fails_saying("at least 1");
}

/// Flags that panicked inside burn or aborted on allocation.
#[test]
fn zero_and_huge_sizes_in_flags_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("guidance train --digits --width 0 --out g", "width = 0"),
        (
            "guidance train --digits --width 1099511627776 --out g",
            "exceed the limit",
        ),
        (
            "guidance train --digits --depth 1000000 --out g",
            "depth = 1000000",
        ),
        (
            "guidance train --digits --batch 1099511627776 --out g",
            "--batch × input width",
        ),
        ("guidance train --digits --lr NaN --out g", "learning rate"),
    ];
    for (line, needle) in cases {
        genlab_line(dir.path(), line).fails_saying(needle);
        assert!(!dir.path().join("g").join("model.json").exists(), "{line}");
    }
    common::ring_csv(&dir.path().join("ring.csv"), 50);
    let flow = [
        ("--width 1099511627776", "width × width"),
        ("--depth 1000000", "depth = 1000000"),
        ("--batch 1099511627776", "batch × width"),
    ];
    for (flag, needle) in flow {
        let line = format!("flow train --data ring.csv --out f {flag}");
        genlab_line(dir.path(), &line).fails_saying(needle);
    }
}

/// A saved flow model whose spec is `edit`ed after saving.
fn flow_model(dir: &Path, name: &str, edit: impl Fn(&mut serde_json::Value)) {
    let device = genlab_core::device::device();
    let model = genlab_flow::FlowModel {
        spec: genlab_flow::ModelSpec {
            process: genlab_flow::Process::Edm(genlab_flow::Edm::default()),
            net: genlab_flow::TimeMlpConfig::new(2)
                .with_width(8)
                .with_depth(2)
                .with_n_freqs(2),
            norm: genlab_flow::Normalizer {
                mean: vec![0.0, 0.0],
                factor: 1.0,
            },
            solver: genlab_flow::Solver::Heun,
            steps: 4,
            consistency: None,
        },
        net: genlab_flow::testutil::tiny_net(2, &device),
    };
    let path = dir.join(name);
    model.save(&path).unwrap();
    let spec_path = path.join("model.json");
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&spec_path).unwrap()).unwrap();
    edit(&mut spec);
    std::fs::write(&spec_path, spec.to_string()).unwrap();
}

/// model.json values that sampled garbage ("wrote 5 samples" into a header-only file) or
/// aborted, and a distillation that wrote an unloadable student.
#[test]
fn corrupt_model_specs_and_nan_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    flow_model(dir.path(), "ok", |_| {});
    genlab_line(dir.path(), "flow sample --model ok -n 5").ok_saying("x0,x1");
    let cases: [(&str, fn(&mut serde_json::Value), &str); 3] = [
        (
            "empty-mean",
            |s| s["norm"]["mean"] = serde_json::json!([]),
            "norm.mean",
        ),
        (
            "freqs",
            |s| s["net"]["n_freqs"] = serde_json::json!(1u64 << 40),
            "n_freqs",
        ),
        (
            "steps",
            |s| s["steps"] = serde_json::json!(1_000_000_000),
            "steps",
        ),
    ];
    for (name, edit, needle) in cases {
        flow_model(dir.path(), name, edit);
        let line = format!("flow sample --model {name} -n 5 --out s.csv");
        genlab_line(dir.path(), &line).fails_saying(needle);
        let line = format!("cmt distill --teacher {name} --out st-{name} --steps 1");
        genlab_line(dir.path(), &line).fails_saying(needle);
        assert!(!dir.path().join("s.csv").exists());
    }
    genlab_line(dir.path(), "flow sample --model ok -n 1099511627776")
        .fails_saying("-n × the model's dimension");
    let line = "cmt distill --teacher ok --out st --steps 1 --t-mid NaN";
    genlab_line(dir.path(), line).fails_saying("t_mid");
    assert!(!dir.path().join("st").join("model.json").exists());
}

/// `sae eval --max-rows 0` reported explained variance 1.0 on nothing; a `k = 0` config was
/// evaluated; `d_sae = 0` panicked.
#[test]
fn degenerate_sae_evaluations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<f32> = (0..40).map(|i| (i % 5) as f32).collect();
    genlab_sae::acts::write_npy_rows(&dir.path().join("a.npy"), &rows, 4).unwrap();
    let sae = |k: usize, m: usize| genlab_sae::Sae {
        d: 4,
        m,
        w_enc: vec![0.5; 4 * m],
        b_enc: vec![0.0; m],
        w_dec: vec![0.5; 4 * m],
        b_dec: vec![0.0; 4],
        activation: genlab_sae::sae::Activation::TopK { k },
    };
    let save = |name: &str, s: genlab_sae::Sae| {
        genlab_sae::saelens::save(&s, &dir.path().join(name), serde_json::Value::Null).unwrap();
    };
    save("ok", sae(2, 6));
    save("k0", sae(0, 6));
    save("m0", sae(1, 0));
    genlab_line(dir.path(), "sae eval --sae ok --acts a.npy").ok_saying("explained_variance");
    genlab_line(dir.path(), "sae eval --sae ok --acts a.npy --max-rows 0")
        .fails_saying("no rows evaluated");
    genlab_line(dir.path(), "sae eval --sae k0 --acts a.npy").fails_saying("k = 0");
    genlab_line(dir.path(), "sae eval --sae m0 --acts a.npy").fails_saying("d_sae = 0");
}

/// `--policy reject` dropped a malformed call and rendered the rest, exit 0.
#[test]
fn reject_policy_fails_the_whole_call() {
    let dir = tempfile::tempdir().unwrap();
    let tone: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    let audio = genlab_fx::AudioBuffer::new(16000, vec![tone]).unwrap();
    let wav = dir.path().join("in.wav");
    genlab_fx::engine::wav::write(&wav, &audio, genlab_fx::engine::wav::SampleFormat::Pcm16)
        .unwrap();
    let chain =
        r#"[{"name": "gain", "arguments": {"gain_db": 3}}, {"name": "reverb", "arguments": 5}]"#;
    std::fs::write(dir.path().join("chain.json"), chain).unwrap();
    let args = [
        "fx",
        "apply",
        "--in",
        "in.wav",
        "--chain",
        "chain.json",
        "--out",
        "o.wav",
    ];
    genlab(dir.path(), &[&args[..], &["--policy", "reject"]].concat())
        .fails_saying("`reverb` has no arguments");
    assert!(!dir.path().join("o.wav").exists());
    genlab(dir.path(), &[&args[..], &["--policy", "clamp"]].concat()).ok();
}

/// `--resume` without a checkpoint started from step 0 without saying so.
#[test]
fn resume_without_a_checkpoint_says_so() {
    let dir = tempfile::tempdir().unwrap();
    common::ring_csv(&dir.path().join("ring.csv"), 50);
    let line = "flow train --data ring.csv --out f --steps 3 --width 8 --batch 16 --resume";
    let run = genlab_line(dir.path(), line);
    run.ok();
    assert!(run.stderr.contains("no checkpoint at"), "{}", run.stderr);
}

/// Errors quote at most ~80 characters of the offending input (a 10 MB field became a 10 MB
/// stderr line).
#[test]
fn errors_quote_a_short_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let field = "9".repeat(1_000_000) + "x";
    std::fs::write(dir.path().join("big.csv"), format!("x,y\n1,{field}\n")).unwrap();
    let line = genlab_line(dir.path(), "flow train --data big.csv --out f")
        .one_line_error()
        .to_string();
    assert!(line.len() < 400, "{} bytes", line.len());
    let formula = "p & ".repeat(25_000) + "&"; // 100 KB: one argument may hold 128 KB
    let run = genlab(
        dir.path(),
        &[
            "logic",
            "check",
            "--formula",
            &formula,
            "--graph",
            "nowhere",
        ],
    );
    assert!(
        run.code != 0 && run.stderr.len() < 600,
        "{}",
        run.stderr.len()
    );
}
