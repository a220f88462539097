//! In-tree fuzzing of logic's readers (issue 25): graph JSON, edge lists, fibred-model JSON,
//! and formulas model-checked on what was read. Budget: `GENLAB_FUZZ_CASES` (default 300).

use std::path::Path;

use genlab_core::testing::{fuzz, rejected};
use genlab_logic::check::truth;
use genlab_logic::graph::Graph;
use genlab_logic::learn::data::parse_labels;
use genlab_logic::model::Model;
use genlab_logic::parse::parse;

const CASES: u32 = 300;

fn seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// A graph that was accepted must be usable: check `◇≥1 p | !q` on it when it has p and q.
fn usable(g: Graph) -> genlab_core::testing::Verdict {
    let model = Model::single(g);
    match truth(&model, &parse("<> p | !q").unwrap(), 0) {
        Ok(values) if values.len() == model.graph(0).nodes() => Ok(true),
        Ok(values) => Err(format!(
            "{} truth values for {} nodes",
            values.len(),
            model.graph(0).nodes()
        )),
        Err(e) => rejected(e).map(|_| true),
    }
}

#[test]
fn fuzz_graph_json() {
    let s = seeds(&[
        r#"{"nodes": 3, "props": ["p", "q"], "labels": [["p"], [], ["p", "q"]], "edges": [[0, 1], [1, 2]], "directed": false}"#,
        r#"{"nodes": 2, "props": ["p"], "edges": [[0, 1]], "directed": true}"#,
    ]);
    fuzz("graph json", &s, CASES, |b| {
        match Graph::parse_json(&String::from_utf8_lossy(b), Path::new("g.json")) {
            Ok(g) => usable(g),
            Err(e) => rejected(e),
        }
    });
}

#[test]
fn fuzz_edge_list() {
    let s = seeds(&[
        "nodes 3\nprops p q\n0: p\n2: p q\n0 1\n1 2\n",
        "nodes 4\ndirected\nprops p q\n3 : q\n0 3 # edge\n",
    ]);
    fuzz("edge list", &s, CASES, |b| {
        match Graph::parse_edge_list(&String::from_utf8_lossy(b), Path::new("g.txt")) {
            Ok(g) => usable(g),
            Err(e) => rejected(e),
        }
    });
}

#[test]
fn fuzz_fibred_model_json() {
    let g = r#"{"nodes": 2, "props": ["p", "q"], "labels": [["p"], ["q"]], "edges": [[0, 1]]}"#;
    let text = format!(
        r#"{{"sorts": [{g}, {g}], "maps": [{{"from": 0, "to": 1, "map": [1, 0]}}, {{"from": 1, "to": 0, "map": [0, 0]}}]}}"#
    );
    fuzz(
        "fibred model json",
        &seeds(&[&text]),
        CASES,
        |b| match Model::parse(&String::from_utf8_lossy(b), Path::new("m.json")) {
            Ok(m) => match truth(&m, &parse("<1> p & <> q").unwrap(), 0) {
                Ok(_) => Ok(true),
                Err(e) => rejected(e).map(|_| true),
            },
            Err(e) => rejected(e),
        },
    );
}

#[test]
fn fuzz_formulas() {
    let s = seeds(&[
        "<>=2 (p & !q) | dia_1>=3 true",
        "◇≥2 (p ∧ ¬q) ∨ ⊥",
        "!!!(p | (q & <> p))",
    ]);
    let g = Graph::parse_edge_list(
        "nodes 3\nprops p q\n0: p\n1: q\n0 1\n1 2\n2 0\n",
        Path::new("g"),
    )
    .unwrap();
    let model = Model::single(g);
    fuzz("formula", &s, CASES, |b| {
        match parse(&String::from_utf8_lossy(b)) {
            Ok(f) => match truth(&model, &f, 0) {
                Ok(v) if v.len() == 3 => Ok(true),
                Ok(v) => Err(format!("{} values", v.len())),
                Err(e) => rejected(e).map(|_| true),
            },
            Err(e) => rejected(e),
        }
    });
}

/// The labels file of `genlab logic learn`: accepted files have non-empty, distinct names.
#[test]
fn fuzz_labels() {
    let s = seeds(&[
        "# labels\na.json: 1 0 1\nb.txt: true,false # c\n",
        "g: 0\n\nh:1 1 1 0\n",
    ]);
    fuzz("labels", &s, CASES, |b| {
        match parse_labels(&String::from_utf8_lossy(b), Path::new("labels.txt")) {
            Ok(l) => {
                let mut names: Vec<&str> = l.iter().map(|x| x.0.as_str()).collect();
                names.sort();
                names.dedup();
                if names.len() != l.len() || names.iter().any(|n| n.is_empty() || n.contains(':')) {
                    return Err(format!("bad names: {names:?}"));
                }
                Ok(true)
            }
            Err(e) => rejected(e),
        }
    });
}
