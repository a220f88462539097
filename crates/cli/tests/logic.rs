//! `genlab logic check|compile|decompile|verify|parse|bench|learn`, and their bad-input
//! behaviour.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Run, genlab, genlab_line, words};

/// A 4-node star (centre 0) where leaves 1 and 2 satisfy p and leaf 3 satisfies q.
const STAR: &str = r#"{"nodes": 4, "props": ["p", "q"], "labels": [[], ["p"], ["p"], ["q"]],
                       "edges": [[0, 1], [0, 2], [0, 3]]}"#;

/// `genlab logic check --graph GRAPH --formula FORMULA --json`, then the words of `extra`.
fn check(dir: &Path, graph: &str, formula: &str, extra: &str) -> Run {
    let mut args = vec![
        "logic",
        "check",
        "--graph",
        graph,
        "--formula",
        formula,
        "--json",
    ];
    args.extend(words(extra));
    genlab(dir, &args)
}

/// `genlab logic verify --net NET --formula FORMULA`, then the words of `extra`.
fn verify(dir: &Path, net: &str, formula: &str, extra: &str) -> Run {
    let mut args = vec!["logic", "verify", "--net", net, "--formula", formula];
    args.extend(words(extra));
    genlab(dir, &args)
}

/// `genlab logic compile --formula FORMULA --out OUT`.
fn compile(dir: &Path, formula: &str, out: &str) -> Run {
    genlab(
        dir,
        &["logic", "compile", "--formula", formula, "--out", out],
    )
}

/// The JSON a successful run printed.
fn json(run: Run) -> serde_json::Value {
    serde_json::from_str(run.ok()).unwrap()
}

#[test]
fn check_reports_every_node_and_subformula() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.json"), STAR).unwrap();
    let v = json(check(dir.path(), "g.json", "◇≥2 p ∧ ¬q", "--subformulas"));
    assert_eq!(v["formula"], "<>=2 p & !q");
    assert_eq!(v["truth"], serde_json::json!([true, false, false, false]));
    assert_eq!(v["true_nodes"], 1);
    let subs = v["subformulas"].as_array().unwrap();
    assert_eq!(subs.len(), 5, "p, ◇≥2 p, q, ¬q, root");
    assert_eq!(subs[0]["formula"], "p");
    assert_eq!(
        subs[0]["truth"],
        serde_json::json!([false, true, true, false])
    );
    // The same graph as an edge list; ◇≥3 is one neighbour too many.
    std::fs::write(
        dir.path().join("g.txt"),
        "nodes 4\nprops p q\n1: p\n2: p\n3: q\n0 1\n0 2\n0 3\n",
    )
    .unwrap();
    let v = json(check(dir.path(), "g.txt", "<>=3 p | <>=3 true", ""));
    assert_eq!(v["truth"], serde_json::json!([true, false, false, false]));
}

#[test]
fn check_reads_fibred_models() {
    let dir = tempfile::tempdir().unwrap();
    // Sort 0: two isolated worlds; sort 1: a path 0 — 1 — 2 with q at 0 and 2. F_{0→1} sends
    // world 0 to the middle of the path and world 1 to an end.
    let model = r#"{"sorts": [
        {"nodes": 2, "props": ["q"], "edges": []},
        {"nodes": 3, "props": ["q"], "labels": [["q"], [], ["q"]], "edges": [[0, 1], [1, 2]]}],
      "maps": [{"from": 0, "to": 1, "map": [1, 0]}, {"from": 1, "to": 0, "map": [0, 0, 1]}]}"#;
    std::fs::write(dir.path().join("m.json"), model).unwrap();
    let v = json(check(dir.path(), "m.json", "<1>=2 q", ""));
    assert_eq!(v["truth"], serde_json::json!([true, false]));
    let v = json(check(dir.path(), "m.json", "<1>=2 q", "--sort 1"));
    assert_eq!(v["truth"], serde_json::json!([false, true, false]));
    check(dir.path(), "m.json", "<2> q", "").fails_saying("modality 2");
}

#[test]
fn compile_decompile_verify_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let formula = "<>=2 (p & !q) | <> <> q";
    compile(dir.path(), formula, "net.json").ok_saying("layers");
    let out = genlab_line(dir.path(), "logic decompile --net net.json");
    assert_eq!(out.ok().trim(), formula);
    assert!(out.stderr.contains("uniform"), "{}", out.stderr);
    verify(dir.path(), "net.json", formula, "--graphs 30").ok_saying(": 0 disagreements");
    // A network for another formula disagrees somewhere, and verify says so with status 1.
    let other = "<>=3 (p & !q) | <> <> q";
    let out = verify(dir.path(), "net.json", other, "--graphs 30");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("first disagreement"), "{}", out.stdout);
    // Fibred formulas compile to fibred networks and verify on random fibred models.
    let fibred = "p & <1>=2 <> q";
    compile(dir.path(), fibred, "fib.json").ok();
    verify(dir.path(), "fib.json", fibred, "--graphs 20").ok_saying(": 0 disagreements");
}

#[test]
fn non_uniform_networks_need_a_degree_bound() {
    let dir = tempfile::tempdir().unwrap();
    // "More p-neighbours than q-neighbours".
    let net = r#"{"activation": "truncated_relu", "aggregation": "sum", "inputs": ["p", "q"],
                  "layers": [[{"a": [[0, 1], [1, -1]], "b": 0}]], "output": 0}"#;
    std::fs::write(dir.path().join("net.json"), net).unwrap();
    genlab_line(dir.path(), "logic decompile --net net.json").fails_saying("--max-degree");
    let out = genlab_line(dir.path(), "logic decompile --net net.json --max-degree 3");
    let formula = out.ok().trim().to_string();
    assert!(out.stderr.contains("degree ≤ 3"), "{}", out.stderr);
    verify(
        dir.path(),
        "net.json",
        &formula,
        "--graphs 20 --max-degree 3",
    )
    .ok_saying(": 0 disagreements");
}

#[test]
fn bad_inputs_give_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("g.json"), STAR).unwrap();
    let e = check(p, "g.json", "p & (q", "");
    let line = e.one_line_error();
    assert!(
        line.contains("`p & (q` at column 7") && line.contains("expected `)`"),
        "{line}"
    );
    let e = genlab(p, &["logic", "parse", "--formula", "p &\n)"]);
    assert!(
        e.one_line_error().contains("column 5"),
        "a newline in the formula stays on one line: {}",
        e.stderr
    );
    check(p, "g.json", "r", "").fails_saying("`r`");
    std::fs::write(
        p.join("dangling.json"),
        r#"{"nodes": 2, "props": [], "edges": [[0, 2]]}"#,
    )
    .unwrap();
    check(p, "dangling.json", "true", "").fails_saying("dangling");
    std::fs::write(
        p.join("label.json"),
        r#"{"nodes": 1, "props": ["p"], "labels": [["z"]], "edges": []}"#,
    )
    .unwrap();
    check(p, "label.json", "p", "").fails_saying("label `z`");
    std::fs::write(
        p.join("fibred.json"),
        r#"{"sorts": [{"nodes": 1, "props": [], "edges": []},
                      {"nodes": 2, "props": [], "edges": [[0, 9]]}]}"#,
    )
    .unwrap();
    check(p, "fibred.json", "true", "")
        .fails_saying("fibred.json: sort 1: edge 0 (0, 9) is dangling");
    std::fs::write(p.join("float.json"), r#"{"activation": "truncated_relu", "aggregation": "sum", "inputs": ["p"], "layers": [[{"c": [[0, 0.7]]}]], "output": 0}"#).unwrap();
    genlab_line(p, "logic decompile --net float.json").fails_saying("not an integer");
    genlab_line(p, "logic decompile --net missing.json").fails_saying("missing.json");
    compile(p, "<>=0 p", "n.json").fails_saying("grade");
    assert!(!p.join("n.json").exists());
}

#[test]
fn parse_and_bench_print_what_they_measure() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(
        dir.path(),
        &["logic", "parse", "--formula", "dia>=2 (p|q) & ~r"],
    );
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines[0], "<>=2 (p | q) & !r");
    assert_eq!(lines[1], "◇≥2 (p ∨ q) ∧ ¬r");
    assert!(lines[2].contains("size 7, modal depth 1"), "{}", lines[2]);
    let out = genlab_line(
        dir.path(),
        "logic bench --nodes 100,1000 --subformulas 3 --seconds 0",
    );
    let text = out.ok();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .trim_start()
            .starts_with("1000"),
        "{text}"
    );
    genlab_line(dir.path(), "logic check --help").ok_saying("<>=k φ");
}

/// `genlab ARGS` with `stdin` piped to its standard input.
fn genlab_stdin(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_genlab"))
        .args(args)
        .current_dir(dir)
        .env("GENLAB_DATA", dir.join("cache"))
        .env("GENLAB_THREADS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn check_reads_formulas_from_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("g.json"), STAR).unwrap();
    // Text output by default: the nodes where the formula holds.
    let out = genlab(
        p,
        &["logic", "check", "--graph", "g.json", "--formula", "<>=2 p"],
    );
    let lines: Vec<&str> = out.ok().lines().collect();
    assert!(lines[0].contains("holds at 1 of 4 nodes"), "{}", lines[0]);
    assert_eq!(lines[1], "0");
    // A formula over several lines in a file, and the same on standard input.
    std::fs::write(p.join("f.txt"), "<>=2 p\n  & !q\n").unwrap();
    let args = [
        "logic",
        "check",
        "--graph",
        "g.json",
        "--json",
        "--formula-file",
        "f.txt",
    ];
    let v = json(genlab(p, &args));
    assert_eq!(v["truth"], serde_json::json!([true, false, false, false]));
    let args = [
        "logic",
        "check",
        "--graph",
        "g.json",
        "--json",
        "--formula",
        "-",
    ];
    let v: serde_json::Value =
        serde_json::from_str(genlab_stdin(p, &args, b"<>=3 true | q").ok()).unwrap();
    assert_eq!(v["truth"], serde_json::json!([true, false, false, true]));
    // A 2.7 MB formula (far beyond an argument's 128 KiB): 300,001 alternatives, true only at
    // the centre through the last one.
    let mut big: Vec<String> = (0..300_000)
        .map(|i| format!("<>={} q", 2 + i % 7))
        .collect();
    big.push("<>=3 !q".into());
    let text = big.join(" |\n");
    assert!(text.len() > 1_000_000);
    std::fs::write(p.join("big.txt"), &text).unwrap();
    let args = [
        "logic",
        "check",
        "--graph",
        "g.json",
        "--json",
        "--formula-file",
        "big.txt",
    ];
    let v = json(genlab(p, &args));
    assert_eq!(v["truth"], serde_json::json!([false, false, false, false]));
    let args = [
        "logic",
        "check",
        "--graph",
        "g.json",
        "--json",
        "--formula",
        "-",
    ];
    let v: serde_json::Value = serde_json::from_str(
        genlab_stdin(p, &args, text.replace("<>=3 !q", "<>=3 true").as_bytes()).ok(),
    )
    .unwrap();
    assert_eq!(v["truth"], serde_json::json!([true, false, false, false]));
    assert!(
        v["formula"].as_str().unwrap().ends_with('…'),
        "long formulas are shortened"
    );
    assert_eq!(v["size"], 900_002);
    // Errors in a file name its line and column.
    std::fs::write(p.join("bad.txt"), "p &\n  (q").unwrap();
    let args = [
        "logic",
        "check",
        "--graph",
        "g.json",
        "--formula-file",
        "bad.txt",
    ];
    genlab(p, &args).fails_saying("bad.txt:2:5: cannot parse formula");
    let args = ["logic", "parse", "--formula", "-"];
    genlab_stdin(p, &args, b"p |\n\n  | q").fails_saying("<stdin>:3:3:");
    genlab_stdin(p, &args, &[b'p', 0xff]).fails_saying("not UTF-8");
    let args = [
        "logic",
        "check",
        "--graph",
        "g.json",
        "--formula-file",
        "nope.txt",
    ];
    genlab(p, &args).fails_saying("nope.txt");
    // Exactly one of the two.
    let both = [
        "logic",
        "parse",
        "--formula",
        "p",
        "--formula-file",
        "f.txt",
    ];
    assert_ne!(genlab(p, &both).code, 0);
    assert_ne!(genlab(p, &["logic", "parse"]).code, 0);
    genlab_line(p, "logic check --help").ok_saying("--formula-file");
}

/// An edge-list graph of `n` nodes (a ring plus pseudo-random chords, degree ≤ 4) with atoms
/// drawn by a small LCG from `seed`.
fn random_graph(n: usize, seed: u64) -> String {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as usize
    };
    let mut text = format!("nodes {n}\nprops p q\n");
    for v in 0..n {
        let labels: Vec<&str> = [("p", next() % 2 == 0), ("q", next() % 3 == 0)]
            .iter()
            .filter(|l| l.1)
            .map(|l| l.0)
            .collect();
        text += &format!("{v}: {}\n", labels.join(" "));
        text += &format!("{v} {}\n", (v + 1) % n);
        if v % 2 == 0 {
            text += &format!("{v} {}\n", (v + 2 + next() % (n - 3)) % n);
        }
    }
    text
}

#[test]
fn learn_extracts_a_formula_that_matches_its_reported_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir(p.join("graphs")).unwrap();
    let target = "<>=2 p & !q";
    let mut labels = String::from("# target: <>=2 p & !q\n");
    let mut truths = Vec::new();
    for (i, n) in [60, 80, 70].into_iter().enumerate() {
        let name = format!("g{i}.txt");
        std::fs::write(p.join("graphs").join(&name), random_graph(n, i as u64)).unwrap();
        let v = json(check(p, &format!("graphs/{name}"), target, ""));
        let t: Vec<bool> = v["truth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect();
        let bits: Vec<&str> = t.iter().map(|&b| if b { "1" } else { "0" }).collect();
        labels += &format!("{name}: {}\n", bits.join(" "));
        truths.push((name, t));
    }
    std::fs::write(p.join("labels.txt"), &labels).unwrap();
    let out = genlab_line(
        p,
        "logic learn --graphs graphs --labels labels.txt --out net.json",
    );
    let formula = out.ok().trim().to_string();
    assert!(
        out.stderr.contains("accuracy on the labels"),
        "{}",
        out.stderr
    );
    let v = json(genlab_line(
        p,
        "logic learn --graphs graphs --labels labels.txt --json",
    ));
    assert_eq!(v["formula"], formula.as_str(), "same seed, same formula");
    assert_eq!(v["nodes"], 210);
    assert_eq!(v["settings"]["seed"], 0);
    let acc = v["accuracy"]["formula"].as_f64().unwrap();
    assert!(acc >= 0.9, "{v}");
    assert_eq!(acc, v["accuracy"]["quantised"].as_f64().unwrap());
    // The printed formula, checked on each graph, agrees with the labels as often as reported.
    let mut hits = 0;
    for (name, t) in &truths {
        let w = json(check(p, &format!("graphs/{name}"), &formula, ""));
        let got = w["truth"].as_array().unwrap();
        hits += got
            .iter()
            .zip(t)
            .filter(|(a, b)| a.as_bool().unwrap() == **b)
            .count();
    }
    assert_eq!(hits as f64 / 210.0, acc);
    // The saved network computes the formula (on graphs of degree ≤ the bound).
    let bound = v["degree_bound"]
        .as_u64()
        .map_or(String::new(), |b| format!("--max-degree {b}"));
    verify(p, "net.json", &formula, &format!("--graphs 20 {bound}")).ok_saying(": 0 disagreements");
    genlab_line(p, "logic learn --help").ok_saying("Labels file");
}

#[test]
fn learn_refuses_bad_input_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let learn =
        |labels: &str| genlab_line(p, &format!("logic learn --graphs graphs --labels {labels}"));
    std::fs::create_dir(p.join("graphs")).unwrap();
    std::fs::write(p.join("labels.txt"), "a.json: 1 0\n").unwrap();
    learn("labels.txt").fails_saying("holds no graph files");
    std::fs::write(
        p.join("graphs/a.json"),
        r#"{"nodes": 2, "props": ["p"], "edges": [[0, 1]]}"#,
    )
    .unwrap();
    learn("missing.txt").fails_saying("missing.txt");
    std::fs::write(p.join("labels.txt"), "a.json: 1 0 1\n").unwrap();
    learn("labels.txt").fails_saying("`a.json` has 3 labels but the graph has 2 nodes");
    std::fs::write(p.join("labels.txt"), "a.json: 1 2\n").unwrap();
    learn("labels.txt").fails_saying("labels.txt:1: labels are 0 or 1");
    std::fs::write(p.join("labels.txt"), "a.json: 1 0\n").unwrap();
    std::fs::write(
        p.join("graphs/b.json"),
        r#"{"nodes": 2, "props": ["p"], "edges": [[0, 7]]}"#,
    )
    .unwrap();
    learn("labels.txt").fails_saying("b.json: edge 0 (0, 7) is dangling");
    std::fs::write(
        p.join("graphs/b.json"),
        r#"{"nodes": 2, "props": ["p"], "edges": [[0, 1]"#,
    )
    .unwrap();
    learn("labels.txt").fails_saying("b.json");
    std::fs::write(
        p.join("graphs/b.json"),
        r#"{"nodes": 1, "props": ["p"], "edges": []}"#,
    )
    .unwrap();
    learn("labels.txt").fails_saying("no labels for `b.json`");
    std::fs::write(p.join("labels.txt"), "a.json: 1 0\nb.json: 1\n").unwrap();
    genlab_line(
        p,
        "logic learn --graphs graphs --labels labels.txt --steps 0",
    )
    .fails_saying("at least one step");
}
