//! `genlab sae train` / `genlab sae eval` on activation files, and their bad-input behaviour.

mod common;

use common::{entries, genlab, genlab_line, words};
use std::path::Path;

/// `n` vectors of width 8, each one of 6 fixed directions scaled by a varying magnitude (a
/// 1-sparse dictionary), as little-endian f32 rows.
fn sparse_rows(n: usize) -> Vec<f32> {
    let mut x = vec![0.0f32; n * 8];
    for b in 0..n {
        let atom = (b * 7 + b / 3) % 6;
        x[b * 8 + atom] = 1.0 + ((b * 37) % 11) as f32 / 11.0;
        x[b * 8 + (atom + 1) % 8] = 0.3 * x[b * 8 + atom];
    }
    x
}

fn write_npy(path: &Path, rows: &[f32], d: usize) {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {d}), }}",
        rows.len() / d
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(rows.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

fn write_safetensors(path: &Path, rows: &[f32], d: usize) {
    let data: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
    let header = format!(
        "{{\"acts\":{{\"dtype\":\"F32\",\"shape\":[{},{d}],\"data_offsets\":[0,{}]}}}}",
        rows.len() / d,
        data.len()
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

fn value(stdout: &str, key: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {stdout}"))
        .trim()
        .parse()
        .unwrap()
}

const SMALL: &str = "--width 16 --k 1 --steps 150 --batch 64 --lr 0.01 --chunk 8 --chunk-rows 100";

#[test]
fn train_then_eval_an_ortsae_on_npy_and_safetensors_shards() {
    let dir = tempfile::tempdir().unwrap();
    let rows = sparse_rows(600);
    write_npy(&dir.path().join("acts.npy"), &rows, 8);
    genlab_line(
        dir.path(),
        &format!("sae train --acts acts.npy --arch ortsae --out sae {SMALL}"),
    )
    .ok_saying("trained ortsae (d = 8, width 16, k 1) on 600 vectors");
    assert_eq!(
        entries(&dir.path().join("sae")),
        vec![
            "cfg.json",
            "checkpoint.bin",
            "history.csv",
            "sae_weights.safetensors"
        ]
    );
    let cfg = std::fs::read_to_string(dir.path().join("sae/cfg.json")).unwrap();
    assert!(
        cfg.contains("\"architecture\": \"jumprelu\"")
            || cfg.contains("\"architecture\":\"jumprelu\""),
        "{cfg}"
    );

    // The same vectors as two safetensors shards in a directory.
    std::fs::create_dir(dir.path().join("shards")).unwrap();
    write_safetensors(
        &dir.path().join("shards/a.safetensors"),
        &rows[..300 * 8],
        8,
    );
    write_safetensors(
        &dir.path().join("shards/b.safetensors"),
        &rows[300 * 8..],
        8,
    );
    let eval = |extra: &str| genlab_line(dir.path(), &format!("sae eval --sae sae {extra}"));
    let from_npy = eval("--acts acts.npy");
    let from_shards = eval("--acts shards --chunk-rows 77");
    assert_eq!(
        from_npy.ok(),
        from_shards.ok(),
        "chunking and sharding must not change the metrics"
    );
    let text = from_npy.ok();
    assert_eq!(value(text, "vectors"), 600.0);
    assert!(value(text, "explained_variance") > 0.8, "{text}");
    assert!(value(text, "l0") > 0.5 && value(text, "l0") < 3.0, "{text}");

    let out = eval("--acts acts.npy --max-rows 100");
    assert_eq!(value(out.ok(), "vectors"), 100.0);

    // --json prints the same metrics as one object.
    let json = eval("--acts acts.npy --json");
    let parsed: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(parsed["vectors"], 600);
    for key in [
        "explained_variance",
        "fvu",
        "mse",
        "l0",
        "dead_fraction",
        "mean_max_cos",
    ] {
        let printed = value(text, key);
        let exact = parsed[key].as_f64().unwrap();
        assert!(
            (printed - exact).abs() < 1e-4,
            "{key}: {printed} vs {exact}"
        );
    }
}

#[test]
fn every_architecture_trains() {
    let dir = tempfile::tempdir().unwrap();
    write_npy(&dir.path().join("acts.npy"), &sparse_rows(300), 8);
    for arch in ["batchtopk", "topk", "relu", "matryoshka"] {
        let train = format!("sae train --acts acts.npy --arch {arch} --out {arch} {SMALL}");
        genlab_line(dir.path(), &train).ok();
        let out = genlab_line(
            dir.path(),
            &format!("sae eval --sae {arch} --acts acts.npy"),
        );
        assert!(value(out.ok(), "explained_variance").is_finite(), "{arch}");
    }
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    write_npy(&dir.path().join("acts.npy"), &sparse_rows(100), 8);
    write_npy(&dir.path().join("wide.npy"), &[1.0; 40], 10);
    std::fs::write(dir.path().join("acts.csv"), "1,2\n").unwrap();

    let error = |line: &str| genlab_line(dir.path(), line).one_line_error().to_string();
    let train_small = format!("sae train --acts acts.npy --out sae {SMALL}");
    genlab_line(dir.path(), &train_small).ok();
    for (line, needles) in [
        ("sae train --acts missing.npy --out o", &["missing.npy"][..]),
        (
            "sae train --acts acts.csv --out o",
            &[".npy or .safetensors"],
        ),
        ("sae train --acts acts.npy --k 0 --out o", &["k = 0"]),
        (train_small.as_str(), &["already holds an SAE"]),
        (
            "sae eval --sae sae --acts wide.npy",
            &["width 10", "expects 8"],
        ),
        ("sae eval --sae nowhere --acts acts.npy", &["nowhere"]),
    ] {
        let e = error(line);
        assert!(needles.iter().all(|x| e.contains(x)), "{line}: {e}");
    }
}

/// A tiny random Llama GGUF (genlab-lm's synthetic model) and a text file, in `dir`.
fn tiny_model_and_text(dir: &Path) {
    let spec = genlab_lm::llama::SyntheticSpec::default();
    std::fs::write(
        dir.join("tiny.gguf"),
        genlab_lm::llama::synthetic_gguf(spec, 3),
    )
    .unwrap();
    let text =
        "And the earth was without form, and void; and darkness was upon the face of the deep.\n";
    std::fs::write(dir.join("text.txt"), text.repeat(40)).unwrap();
}

/// `sae train` of a TopK SAE on `acts` (`"width k steps batch lr"`), then `sae ce` of it on
/// the `lm` arguments: the printed text and its clean, SAE and zero-ablated CE.
fn train_topk_then_ce(dir: &Path, lm: &[&str], sizes: &str) -> (String, [f64; 3]) {
    let s: Vec<&str> = sizes.split_whitespace().collect();
    let train = format!(
        "sae train --acts acts --arch topk --out sae --width {} --k {} --steps {} --batch {} --lr {}",
        s[0], s[1], s[2], s[3], s[4]
    );
    genlab_line(dir, &train).ok();
    let mut ce = words("sae ce --sae sae --sequences 4");
    ce.extend_from_slice(lm);
    let text = genlab(dir, &ce).ok().to_string();
    let ce = ["ce_clean", "ce_sae", "ce_zero_ablation"].map(|k| value(&text, k));
    (text, ce)
}

#[test]
fn acts_train_and_ce_on_a_tiny_synthetic_model() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model_and_text(dir.path());
    let lm = words("--model tiny.gguf --layer 1 --corpus text.txt --ctx 16 --batch 4");
    let mut acts = words("sae acts --tokens 300 --shard-rows 128 --out acts");
    acts.extend_from_slice(&lm);
    genlab(dir.path(), &acts)
        .ok_saying("wrote 300 vectors (d = 32) of layer 1 from 20 sequences of 16 tokens");
    assert_eq!(
        entries(&dir.path().join("acts")),
        vec![
            "acts-00000.done",
            "acts-00000.safetensors",
            "acts-00001.done",
            "acts-00001.safetensors",
            "acts-00002.done",
            "acts-00002.safetensors",
            "manifest.json",
            "store.json"
        ]
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("acts/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            manifest["layer"].as_u64(),
            manifest["tokens"].as_u64(),
            manifest["seed"].as_u64()
        ),
        (Some(1), Some(300), Some(0))
    );
    // The same extraction again has nothing to do; another one in the same place is refused.
    genlab(dir.path(), &acts).ok_saying("wrote 300 vectors");
    let mut other = acts.clone();
    other.extend(words("--seed 1"));
    let e = genlab(dir.path(), &other).one_line_error().to_string();
    assert!(e.contains("another configuration"), "{e}");

    let (text, [clean, sae, zero]) = train_topk_then_ce(dir.path(), &lm, "64 4 60 64 0.01");
    assert_eq!(value(&text, "predictions"), 4.0 * 14.0);
    // A random model need not beat zero ablation; check the printed score is the ratio.
    let score = value(&text, "ce_loss_recovered");
    assert!(
        (score - (zero - sae) / (zero - clean)).abs() < 1e-3 * (1.0 + score.abs()),
        "{text}"
    );
}

#[test]
fn lm_commands_fail_with_one_line_on_missing_inputs() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model_and_text(dir.path());
    std::fs::write(dir.path().join("broken.gguf"), b"GGUF\x03\x00\x00\x00\x01").unwrap();
    let error = |line: &str| genlab_line(dir.path(), line).one_line_error().to_string();
    for (args, expected) in [
        (
            "acts --layer 6 --corpus kjv",
            &["genlab data fetch smollm2-135m"][..],
        ),
        (
            "acts --model nowhere.gguf --layer 6 --corpus text.txt",
            &["nowhere.gguf"],
        ),
        (
            "acts --model tiny.gguf --layer 1 --corpus kjv",
            &["genlab data fetch kjv"],
        ),
        (
            "acts --model tiny.gguf --layer 7 --corpus text.txt",
            &["layers 0..=2"],
        ),
        (
            "acts --model tiny.gguf --layer 1 --corpus text.txt --ctx 300",
            &["context of 256"],
        ),
        (
            "acts --model broken.gguf --layer 1 --corpus text.txt",
            &["broken.gguf", "truncated"],
        ),
        (
            "ce --sae nosae --model tiny.gguf --layer 1 --corpus text.txt",
            &["nosae"],
        ),
    ] {
        let out = if args.starts_with("acts") {
            " --out a"
        } else {
            ""
        };
        let e = error(&format!("sae {args}{out}"));
        assert!(expected.iter().all(|x| e.contains(x)), "{args}: {e}");
    }
}

/// The real SmolLM2 (only when it is in the user's data cache): layer-6 activations, a small
/// SAE, and its CE-loss-recovered.
#[test]
fn smollm2_acts_and_ce_recovered() {
    let Some(model) = genlab_lm::cache::cached_smollm2(&genlab_core::data::Cache::from_env())
    else {
        eprintln!(
            "skipped: smollm2-135m is not in the data cache (run `genlab data fetch smollm2-135m`)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let verse = "In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness was upon the face of the deep.\n";
    std::fs::write(dir.path().join("text.txt"), verse.repeat(100)).unwrap();
    let model = model.to_str().unwrap();
    let mut lm = vec!["--model", model];
    lm.extend(words("--layer 6 --corpus text.txt --ctx 64 --batch 8"));
    let mut args = words("sae acts --tokens 2016 --out acts");
    args.extend_from_slice(&lm);
    genlab(dir.path(), &args)
        .ok_saying("wrote 2016 vectors (d = 576) of layer 6 from 32 sequences");
    let (text, [clean, sae, zero]) = train_topk_then_ce(dir.path(), &lm, "256 16 150 256 0.002");
    assert!(zero > clean + 1.0 && sae < zero, "{text}");
    assert!(value(&text, "ce_loss_recovered") > 0.5, "{text}");
    eprintln!("smollm2 layer 6, tiny SAE: {text}");
}

/// `genlab sae train` stopped by Ctrl-C saves OUT/checkpoint.bin; a run into the same
/// directory needs --resume; the resumed run ends with the same weights as an uninterrupted
/// one, byte for byte.
#[test]
fn ctrl_c_saves_and_resume_finishes_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    write_npy(&dir.path().join("acts.npy"), &sparse_rows(4000), 8);
    let args = |out: &'static str| {
        let mut a = vec!["sae", "train", "--acts", "acts.npy", "--out", out];
        a.extend(words(
            "--arch ortsae --width 512 --k 4 --steps 2500 --batch 1024 --chunk 64 \
             --chunk-rows 1000 --checkpoint-every 0",
        ));
        a
    };
    genlab(dir.path(), &args("straight")).ok();

    let child = std::process::Command::new(env!("CARGO_BIN_EXE_genlab"))
        .args(args("stopped"))
        .current_dir(dir.path())
        .env("GENLAB_DATA", dir.path().join("cache"))
        .env("GENLAB_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let checkpoint = dir.path().join("stopped/checkpoint.bin");
    // Interrupt once training has started (the first checkpoint-less moments are loading).
    std::thread::sleep(std::time::Duration::from_millis(400));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "finished before the interrupt: {stderr}"
    );
    assert!(
        stderr.contains("interrupted at step") && stderr.contains("--resume"),
        "{stderr}"
    );
    assert!(checkpoint.exists() && !dir.path().join("stopped/cfg.json").exists());

    let e = genlab(dir.path(), &args("stopped"))
        .one_line_error()
        .to_string();
    assert!(e.contains("--resume"), "{e}");
    let mut resume = args("stopped");
    resume.push("--resume");
    genlab(dir.path(), &resume).ok();
    let weights =
        |run: &str| std::fs::read(dir.path().join(run).join("sae_weights.safetensors")).unwrap();
    assert!(
        weights("straight") == weights("stopped"),
        "resumed weights differ"
    );
    let history =
        |run: &str| std::fs::read_to_string(dir.path().join(run).join("history.csv")).unwrap();
    assert_eq!(history("straight"), history("stopped"));
}

/// The one JSON object a `--json` command prints.
fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = genlab(dir, args).ok().to_string();
    assert_eq!(out.trim().lines().count(), 1, "one line of JSON: {out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn every_sae_command_speaks_json_and_inspect_writes_a_page() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model_and_text(dir.path());
    let lm = "--model tiny.gguf --layer 1 --corpus text.txt --ctx 16 --batch 4";
    let acts = json(
        dir.path(),
        &words(&format!("sae acts --tokens 300 --out acts --json {lm}")),
    );
    assert_eq!(
        (acts["tokens"].as_u64(), acts["d"].as_u64()),
        (Some(300), Some(32))
    );
    let train = json(
        dir.path(),
        &words(
            "sae train --acts acts --out sae --width 24 --k 2 --steps 40 --batch 32 --json \
             --saelens-defaults --lr 0.01 --warmup 5 --lr-decay-steps 10",
        ),
    );
    let c = &train["train_config"];
    assert_eq!(c["lr_schedule"], "constant", "{train}");
    assert_eq!(
        (c["warmup"].as_u64(), c["lr_decay_steps"].as_u64()),
        (Some(5), Some(10))
    );
    assert_eq!(
        (c["aux_alpha"].as_f64(), c["bias_init"].as_str()),
        (Some(1.0), Some("zero"))
    );
    assert_eq!(
        c["dead_after_tokens"].as_u64(),
        Some(1000 * 32),
        "SAELens window in steps"
    );
    assert_eq!(
        train["peak_lr"].as_f64(),
        Some(0.01),
        "an explicit flag beats the preset"
    );
    let eval = json(dir.path(), &words("sae eval --sae sae --acts acts --json"));
    assert!(eval["fvu"].as_f64().unwrap().is_finite());
    let ce = json(
        dir.path(),
        &words(&format!("sae ce --sae sae --sequences 2 --json {lm}")),
    );
    assert!(ce["ce_loss_recovered"].as_f64().is_some(), "{ce}");
    let page = json(
        dir.path(),
        &words(&format!(
            "sae inspect --sae sae --latents 0..6 --sequences 8 --out dash --json {lm}"
        )),
    );
    let latents = page["latents"].as_array().unwrap();
    assert_eq!(latents.len(), 6);
    let densities: Vec<f64> = latents
        .iter()
        .map(|l| l["density"].as_f64().unwrap())
        .collect();
    assert!(densities.windows(2).all(|w| w[0] >= w[1]), "{densities:?}");
    let html = std::fs::read_to_string(dir.path().join("dash/index.html")).unwrap();
    assert!(html.contains("Index (by density)") && html.contains("Promoted tokens"));
    let enc = json(
        dir.path(),
        &words("sae encode --sae sae --model tiny.gguf --layer 1 --text earth --top 3 --json"),
    );
    assert!(!enc["tokens"].as_array().unwrap().is_empty(), "{enc}");
    let human = genlab_line(
        dir.path(),
        "sae encode --sae sae --model tiny.gguf --layer 1 --text earth --top 3",
    )
    .ok()
    .to_string();
    assert!(human.contains('#') || human.lines().count() >= 1, "{human}");
    for (line, needle) in [
        (
            "sae inspect --sae sae --latents 5..2 --out x --model tiny.gguf --layer 1 --corpus text.txt --ctx 16",
            "expected a range",
        ),
        (
            "sae inspect --sae sae --latents 0..99 --out x --model tiny.gguf --layer 1 --corpus text.txt --ctx 16",
            "latent 24 does not exist",
        ),
        (
            "sae train --acts acts --out bad --width 24 --k 2 --steps 10 --warmup 6 --lr-decay-steps 6 --lr-schedule constant",
            "exceed the 10 training steps",
        ),
        (
            "sae train --acts acts --out bad --width 24 --k 2 --steps 10 --lr-decay-steps 6",
            "needs the constant schedule",
        ),
    ] {
        let e = genlab_line(dir.path(), line).one_line_error().to_string();
        assert!(e.contains(needle), "{line}: {e}");
    }
}

/// `sae acts --shard i/3` parts then `sae gather` write the same shard files as one process;
/// training refuses the store until it is gathered.
#[test]
fn acts_in_three_parts_then_gather_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model_and_text(dir.path());
    let lm = "--model tiny.gguf --layer 1 --corpus text.txt --ctx 16 --batch 4 --tokens 300 --shard-rows 60";
    genlab(dir.path(), &words(&format!("sae acts --out one {lm}"))).ok();
    for i in [0, 2] {
        let part = json(
            dir.path(),
            &words(&format!("sae acts --out parts --shard {i}/3 --json {lm}")),
        );
        assert_eq!(part["of"].as_u64(), Some(5), "{part}");
    }
    let e = genlab_line(
        dir.path(),
        "sae train --acts parts --out s --width 8 --k 1 --steps 2",
    )
    .one_line_error()
    .to_string();
    assert!(e.contains("sae gather"), "{e}");
    let e = genlab_line(dir.path(), "sae gather parts")
        .one_line_error()
        .to_string();
    assert!(e.contains("2 of 5 store shards are not done"), "{e}");
    genlab(
        dir.path(),
        &words(&format!("sae acts --out parts --shard 1/3 {lm}")),
    )
    .ok_saying("part 1/3");
    let gathered = json(dir.path(), &words("sae gather parts --json"));
    assert_eq!(gathered["tokens"].as_u64(), Some(300));
    for j in 0..5 {
        let name = format!("acts-{j:05}.safetensors");
        let a = std::fs::read(dir.path().join("one").join(&name)).unwrap();
        let b = std::fs::read(dir.path().join("parts").join(&name)).unwrap();
        assert!(a == b, "{name} differs");
    }
    let e = genlab_line(
        dir.path(),
        "sae acts --out x --shard 3/3 --model tiny.gguf --layer 1 --corpus text.txt",
    )
    .one_line_error()
    .to_string();
    assert!(e.contains("--shard"), "{e}");
}

/// `--width a,b --k c,d` trains every pair from one pass over the data, each SAE the same as
/// when trained alone.
#[test]
fn one_stream_sweep_equals_separate_runs() {
    let dir = tempfile::tempdir().unwrap();
    write_npy(&dir.path().join("acts.npy"), &sparse_rows(600), 8);
    let common = "--steps 30 --batch 64 --lr 0.01 --chunk-rows 100 --arch batchtopk";
    let sweep = json(
        dir.path(),
        &words(&format!(
            "sae train --acts acts.npy --out sweep --width 12,16 --k 1,2 --json {common}"
        )),
    );
    assert_eq!(sweep["saes"].as_array().unwrap().len(), 4, "{sweep}");
    genlab_line(
        dir.path(),
        &format!("sae train --acts acts.npy --out alone --width 16 --k 2 {common}"),
    )
    .ok();
    let weights =
        |p: &str| std::fs::read(dir.path().join(p).join("sae_weights.safetensors")).unwrap();
    assert!(weights("sweep/width16-k2") == weights("alone"));
    assert!(weights("sweep/width12-k1") != weights("alone"));
}
