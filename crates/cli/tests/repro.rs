//! `genlab repro`: an unknown name fails cleanly; a quick run writes a computed report and the
//! index page.

mod common;

use common::{entries, genlab};

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

#[test]
fn quick_flow_writes_report_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = genlab(
        dir.path(),
        &["repro", "flow", "--quick", "--seed", "3", "--out", "o"],
    );
    out.ok();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("o/flow/report.json")).unwrap(),
    )
    .unwrap();
    for key in [
        "name",
        "paper",
        "claim",
        "seed",
        "quick",
        "config",
        "arms",
        "verdict",
        "wall_seconds",
        "version",
    ] {
        assert!(report.get(key).is_some(), "report.json lacks `{key}`");
    }
    assert_eq!(report["seed"], 3);
    assert_eq!(report["quick"], true);
    // The verdict is derived from the arms it names: recompute it here.
    let v = &report["verdict"];
    let arms = &report["arms"];
    for process in ["fm", "edm"] {
        for data in ["8gaussians", "digits"] {
            let e = arms[format!("{process}/{data}")]["energy"]
                .as_f64()
                .unwrap();
            assert!(e.is_finite() && e > 0.0);
        }
    }
    let holds = ["fm", "edm"].iter().all(|p| {
        ["8gaussians", "digits"].iter().all(|d| {
            arms[format!("{p}/{d}")]["energy"].as_f64().unwrap()
                <= 1.5 * arms[format!("floor/{d}")]["energy"].as_f64().unwrap()
        })
    });
    assert_eq!(v["holds"].as_bool().unwrap(), holds);
    let index = std::fs::read_to_string(dir.path().join("o/index.html")).unwrap();
    assert!(index.contains("flow") && index.contains("<img"));
    for fig in report["figures"].as_array().unwrap() {
        let f = fig["file"].as_str().unwrap();
        assert!(
            dir.path().join("o/flow").join(f).exists(),
            "figure {f} missing"
        );
    }
}
