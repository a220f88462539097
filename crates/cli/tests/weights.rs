//! `genlab weights zoo | rebasin | train-flow | generate` on files the user owns, and their
//! bad-input behaviour.

mod common;

use common::genlab_line;

/// A 4-network zoo of small digit MLPs (64-16-16-10), trained in about a second.
fn small_zoo(dir: &std::path::Path) {
    genlab_line(
        dir,
        "weights zoo --nets 4 --hidden 16,16 --epochs 2 --out zoo",
    )
    .ok_saying("trained 4 MLPs [64, 16, 16, 10]");
    for f in [
        "net-000.safetensors",
        "net-003.safetensors",
        "zoo.json",
        "checkpoint.bin",
    ] {
        assert!(dir.join("zoo").join(f).exists(), "missing {f}");
    }
}

#[test]
fn zoo_then_rebasin_two_genlab_networks() {
    let dir = tempfile::tempdir().unwrap();
    small_zoo(dir.path());
    // More epochs extend the finished zoo; other widths are refused.
    let more = "weights zoo --nets 4 --hidden 16,16 --epochs 3 --out zoo --resume";
    genlab_line(dir.path(), more).ok_saying("trained 4 MLPs");
    genlab_line(
        dir.path(),
        "weights zoo --nets 4 --hidden 16,8 --epochs 3 --out zoo --resume",
    )
    .fails_saying("different configuration");
    let out = genlab_line(
        dir.path(),
        "weights rebasin zoo/net-000.safetensors zoo/net-001.safetensors --out b.safetensors --plot barrier.svg",
    );
    let text = out.ok_saying("loss barrier");
    assert!(text.contains("distance"), "{text}");
    assert!(dir.path().join("b.safetensors").exists());
    assert!(
        std::fs::read_to_string(dir.path().join("barrier.svg"))
            .unwrap()
            .contains("<svg")
    );
    // JSON: matching never lowers the objective nor raises the barrier it measured.
    let json = genlab_line(
        dir.path(),
        "weights rebasin zoo/net-000.safetensors zoo/net-001.safetensors --out b2.safetensors --json",
    );
    let v: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    let objective: Vec<f64> = serde_json::from_value(v["objective"].clone()).unwrap();
    assert!(objective.windows(2).all(|w| w[1] >= w[0]), "{objective:?}");
    assert!(v["distance_after"].as_f64().unwrap() <= v["distance_before"].as_f64().unwrap());
    // Aligning the aligned network again changes nothing.
    let again = genlab_line(
        dir.path(),
        // (through the top-level shortcut, which is the same command)
        "rebasin zoo/net-000.safetensors b.safetensors --out b3.safetensors --json",
    );
    let v3: serde_json::Value = serde_json::from_str(again.ok()).unwrap();
    assert_eq!(v3["distance_before"], v3["distance_after"]);
}

#[test]
fn train_flow_then_generate_networks() {
    let dir = tempfile::tempdir().unwrap();
    small_zoo(dir.path());
    genlab_line(
        dir.path(),
        "weights train-flow --zoo zoo --hidden 16 --steps 40 --out flow",
    )
    .ok_saying("trained a weight-space flow");
    for f in ["model.json", "weights.bpk", "pca.safetensors", "losses.csv"] {
        assert!(dir.path().join("flow").join(f).exists(), "missing {f}");
    }
    let out = genlab_line(
        dir.path(),
        "weights generate --model flow -n 3 --steps 5 --out gen --json",
    );
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["networks"], 3);
    assert_eq!(v["digits_test_accuracy"].as_array().unwrap().len(), 3);
    assert!(dir.path().join("gen/gen-002.safetensors").exists());
    // A generated network is a network of the zoo's spec: rebasin accepts it.
    genlab_line(
        dir.path(),
        "weights rebasin zoo/net-000.safetensors gen/gen-000.safetensors --out g.safetensors",
    )
    .ok();
    // No --resume into an existing run.
    genlab_line(
        dir.path(),
        "weights train-flow --zoo zoo --hidden 16 --steps 40 --out flow",
    )
    .fails_saying("--resume");
}

#[test]
fn bad_inputs_fail_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    genlab_line(
        dir.path(),
        "weights zoo --nets 1 --hidden 8 --epochs 1 --out a",
    )
    .ok();
    genlab_line(
        dir.path(),
        "weights zoo --nets 1 --hidden 9 --epochs 1 --out b",
    )
    .ok();
    genlab_line(
        dir.path(),
        "weights rebasin a/net-000.safetensors b/net-000.safetensors --out x.safetensors",
    )
    .fails_saying("do not share one spec");
    std::fs::write(dir.path().join("junk.safetensors"), b"nope").unwrap();
    genlab_line(
        dir.path(),
        "weights rebasin junk.safetensors a/net-000.safetensors --out x.safetensors",
    )
    .fails_saying("not a safetensors file");
    genlab_line(dir.path(), "weights train-flow --zoo a --out f").fails_saying("at least 2");
    genlab_line(dir.path(), "weights generate --model nowhere --out g")
        .fails_saying("not a genlab weights model");
    assert!(!dir.path().join("x.safetensors").exists());
}

#[test]
fn cnn_zoo_then_rebasin_two_genlab_cnns() {
    let dir = tempfile::tempdir().unwrap();
    genlab_line(
        dir.path(),
        "weights zoo --cnn --channels 4,8 --nets 2 --epochs 2 --lr 0.01 --out cz",
    )
    .ok_saying("trained 2 CNNs");
    // The spec is inferred from the 4-D kernels; the barrier is BN-recalibrated.
    let json = genlab_line(
        dir.path(),
        "rebasin cz/net-000.safetensors cz/net-001.safetensors --out b.safetensors --plot b.svg --json",
    );
    let v: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(v["permutation_sizes"], serde_json::json!([4, 8]));
    let objective: Vec<f64> = serde_json::from_value(v["objective"].clone()).unwrap();
    assert!(objective.windows(2).all(|w| w[1] >= w[0]), "{objective:?}");
    assert!(v["barrier_before"].as_f64().is_some() && v["barrier_after"].as_f64().is_some());
    assert!(dir.path().join("b.svg").exists());
    // Aligning the aligned CNN again changes nothing.
    let again = genlab_line(
        dir.path(),
        "weights rebasin cz/net-000.safetensors b.safetensors --spec cnn --out b2.safetensors --json",
    );
    let v2: serde_json::Value = serde_json::from_str(again.ok()).unwrap();
    assert_eq!(v2["distance_before"], v2["distance_after"]);
    // Bad declarations fail in one line.
    genlab_line(
        dir.path(),
        "rebasin cz/net-000.safetensors cz/net-001.safetensors --out x.safetensors --layers layers.0,layers.1",
    )
    .fails_saying("not in the layer order");
    genlab_line(
        dir.path(),
        "rebasin cz/net-000.safetensors cz/net-001.safetensors --out x.safetensors --method activation",
    )
    .fails_saying("activation matching is for MLPs");
    assert!(!dir.path().join("x.safetensors").exists());
}
