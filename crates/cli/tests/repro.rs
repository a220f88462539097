//! `genlab repro`: an unknown name fails cleanly; every experiment's `--quick` run (with the
//! fetched data where the environment has it, as in CI) writes a report whose verdict is
//! computed from its arms, its figures, and an index page that shows them all.

mod common;

use std::path::Path;

use common::{entries, genlab, genlab_with_fetched_data};
use serde_json::Value;

#[test]
fn unknown_experiment_is_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(dir.path(), &["repro", "nosuch", "--out", "o"]);
    let line = out.one_line_error();
    assert!(
        line.contains("unknown experiment `nosuch`") && line.contains("flow"),
        "{line}"
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// The experiment names `genlab list --json` registers.
fn registered_experiments(dir: &Path) -> Vec<String> {
    let list: Value = serde_json::from_str(genlab(dir, &["list", "--json"]).ok()).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["experiments"].as_array().unwrap().clone())
        .map(|e| e["name"].as_str().unwrap().to_string())
        .collect()
}

/// What every report must hold, whatever the experiment.
fn check_report(dir: &Path, name: &str) -> Value {
    let path = dir.join(name).join("report.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    for key in [
        "name",
        "paper",
        "claim",
        "paper_effect",
        "seed",
        "seeds",
        "quick",
        "config",
        "arms",
        "verdict",
        "figures",
        "tables",
        "notes",
        "wall_seconds",
        "version",
    ] {
        assert!(
            report.get(key).is_some(),
            "{name}: report.json lacks `{key}`"
        );
    }
    assert_eq!(
        (report["name"].as_str(), report["quick"].as_bool()),
        (Some(name), Some(true))
    );
    let arms = report["arms"].as_object().unwrap();
    assert!(!arms.is_empty(), "{name}: no arms");
    for (arm, metrics) in arms {
        for (metric, value) in metrics.as_object().unwrap() {
            assert!(
                value.is_number() || value.is_null(),
                "{name}: {arm}.{metric} = {value}"
            );
        }
    }
    let v = &report["verdict"];
    assert!(v["holds"].is_boolean(), "{name}: verdict without `holds`");
    for key in ["metric", "detail", "effect"] {
        assert!(
            !v[key].as_str().unwrap_or("").is_empty(),
            "{name}: verdict.{key} empty"
        );
    }
    // A computed verdict names an arm it measured (or is the exact-agreement kind).
    let method = v["method_arm"].as_str().unwrap();
    assert!(
        arms.contains_key(method) || method.is_empty(),
        "{name}: verdict names arm `{method}`, which the report does not have"
    );
    let figures = report["figures"].as_array().unwrap();
    assert!(!figures.is_empty(), "{name}: no figures");
    for fig in figures {
        let file = fig["file"].as_str().unwrap();
        let size = std::fs::metadata(dir.join(name).join(file))
            .unwrap_or_else(|_| panic!("{name}: figure {file} missing"))
            .len();
        assert!(size > 200, "{name}: figure {file} is nearly empty");
    }
    report
}

#[test]
fn every_quick_experiment_writes_a_computed_report_and_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let names = registered_experiments(dir.path());
    // Every experiment the registry knows runs below; these must be among them.
    for expected in [
        "flow",
        "cmt",
        "cmt-digits",
        "guidance",
        "sae",
        "logic",
        "fx",
        "attribution",
        "attribution-lds",
        "gan",
        "slots",
        "contrastive",
        "weights",
        "weights-cnn",
        "embed",
        "scene",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not registered: {names:?}"
        );
    }
    let out = genlab_with_fetched_data(
        dir.path(),
        &[
            "--quiet", "repro", "all", "--quick", "--seed", "3", "--out", "o",
        ],
    );
    out.ok();
    let o = dir.path().join("o");
    let index = std::fs::read_to_string(o.join("index.html")).unwrap();
    for name in &names {
        let report = check_report(&o, name);
        assert_eq!(report["seed"], 3, "{name}");
        assert!(index.contains(name.as_str()), "index.html lacks {name}");
        for fig in report["figures"].as_array().unwrap() {
            let file = fig["file"].as_str().unwrap();
            assert!(
                index.contains(&format!("{name}/{file}")),
                "index lacks {name}/{file}"
            );
        }
    }
    // The flow verdict, recomputed from its arms: every model within 1.5× of its floor.
    let flow = check_report(&o, "flow");
    let arms = &flow["arms"];
    let holds = ["fm", "edm"].iter().all(|p| {
        ["8gaussians", "digits"].iter().all(|d| {
            arms[format!("{p}/{d}")]["energy"].as_f64().unwrap()
                <= 1.5 * arms[format!("floor/{d}")]["energy"].as_f64().unwrap()
        })
    });
    assert_eq!(flow["verdict"]["holds"].as_bool().unwrap(), holds);
}

#[test]
fn old_experiment_names_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(
        dir.path(),
        &["--quiet", "repro", "fibring", "--quick", "--out", "o"],
    );
    out.ok();
    assert!(dir.path().join("o/logic/report.json").exists());
}
