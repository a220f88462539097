//! `genlab logic check|compile|decompile|verify|parse|bench`, and their bad-input behaviour.

mod common;

use std::path::Path;

use common::{Run, genlab, genlab_line, words};

/// A 4-node star (centre 0) where leaves 1 and 2 satisfy p and leaf 3 satisfies q.
const STAR: &str = r#"{"nodes": 4, "props": ["p", "q"], "labels": [[], ["p"], ["p"], ["q"]],
                       "edges": [[0, 1], [0, 2], [0, 3]]}"#;

/// `genlab logic check --graph GRAPH --formula FORMULA`, then the words of `extra`.
fn check(dir: &Path, graph: &str, formula: &str, extra: &str) -> Run {
    let mut args = vec!["logic", "check", "--graph", graph, "--formula", formula];
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
