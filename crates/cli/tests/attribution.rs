//! `genlab attribution featurize|gather|score|lds` on a model trained with `genlab flow train`:
//! 3 shard processes + gather == 1 process bit for bit, resume after a lost chunk, scores and
//! LDS files, and one-line errors on bad input.

mod common;

use common::{genlab_line, ring_csv};

const FEAT: &str = "attribution featurize --model model --k 32 --draws 3 --chunk 8";

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ring_csv(&dir.path().join("train.csv"), 40);
    ring_csv(&dir.path().join("query.csv"), 3);
    genlab_line(
        dir.path(),
        "flow train --data train.csv --out model --steps 30 --width 16 --depth 3 --batch 16",
    )
    .ok();
    dir
}

#[test]
fn three_shard_processes_gather_to_the_single_process_features() {
    let dir = setup();
    let d = dir.path();
    genlab_line(d, &format!("{FEAT} --data train.csv --out one")).ok_saying("rows 0..40 of 40");
    for i in 0..3 {
        genlab_line(
            d,
            &format!("{FEAT} --data train.csv --out three --shard {i}/3"),
        )
        .ok();
    }
    genlab_line(d, "attribution gather one").ok_saying("gathered 40 rows × k = 32");
    genlab_line(d, "attribution gather three").ok();
    let read = |s: &str| std::fs::read(d.join(s).join("features.safetensors")).unwrap();
    assert_eq!(
        read("one"),
        read("three"),
        "3 shards + gather == 1 process, bit for bit"
    );
    // Rerunning a finished shard does nothing; a lost chunk is redone alone.
    genlab_line(d, &format!("{FEAT} --data train.csv --out one"))
        .ok_saying("0 computed now, 40 already done");
    std::fs::remove_file(d.join("one/rows-000000008-000000016.done")).unwrap();
    genlab_line(d, "attribution gather one").fails_saying("rows 8..16 are missing");
    genlab_line(d, &format!("{FEAT} --data train.csv --out one"))
        .ok_saying("8 computed now, 32 already done");
    genlab_line(d, "attribution gather one").ok();
    assert_eq!(read("one"), read("three"));
}

#[test]
fn scores_top_k_and_lds_from_user_files() {
    let dir = setup();
    let d = dir.path();
    genlab_line(d, &format!("{FEAT} --data train.csv --out tr")).ok();
    genlab_line(d, &format!("{FEAT} --data query.csv --out q")).ok();
    let out = genlab_line(
        d,
        "attribution score --train tr --query q --out s.safetensors --top-k 4 --json --train-data train.csv",
    );
    let json: Vec<&str> = out
        .ok()
        .lines()
        .skip_while(|l| !l.starts_with('['))
        .collect();
    let top: serde_json::Value = serde_json::from_str(&json.join("\n")).unwrap();
    assert_eq!(top.as_array().unwrap().len(), 3);
    assert_eq!(top[0]["top"].as_array().unwrap().len(), 4);
    assert!(d.join("s.safetensors").exists() && d.join("s.topk.svg").exists());
    // LDS from the user's subset masks and measured outputs (12 subsets × 3 queries).
    let masks: Vec<String> = (0..12)
        .map(|j| {
            (0..40)
                .map(|i| ((i * 7 + j * 3) % 5 < 2) as u8)
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    std::fs::write(d.join("masks.csv"), masks.join("\n")).unwrap();
    std::fs::write(d.join("outputs.csv"), "1,2,3\n2,3,4\n").unwrap();
    genlab_line(
        d,
        "attribution lds --scores s.safetensors --masks masks.csv --outputs outputs.csv",
    )
    .fails_saying("one row per subset");
    let outputs: Vec<String> = (0..12)
        .map(|j| format!("{},{},{}", j % 5, (j * 7) % 3, j))
        .collect();
    std::fs::write(d.join("outputs.csv"), outputs.join("\n")).unwrap();
    genlab_line(
        d,
        "attribution lds --scores s.safetensors --masks masks.csv --outputs outputs.csv",
    )
    .ok_saying("(s.e. over 3 queries, 12 subsets)");
}

#[test]
fn bad_input_is_one_line() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("three.csv"), "a,b,c\n1,2,3\n4,5,6\n").unwrap();
    genlab_line(d, &format!("{FEAT} --data three.csv --out x"))
        .fails_saying("3 columns but the model");
    genlab_line(d, &format!("{FEAT} --data train.csv --out x --shard 3/3"))
        .fails_saying("expected i/n");
    genlab_line(d, &format!("{FEAT} --data train.csv --out x --proj dense")).fails_saying("--proj");
    let featurize = "attribution featurize --model model --data train.csv --out x --chunk 8";
    genlab_line(d, &format!("{featurize} --k 100000000")).fails_saying("--k = 100000000 exceeds");
    genlab_line(d, &format!("{featurize} --k 32 --draws 100000000"))
        .fails_saying("--draws = 100000000 exceeds");
    genlab_line(d, &format!("{FEAT} --data train.csv --out x")).ok();
    genlab_line(d, &format!("{FEAT} --data train.csv --out x --seed 5"))
        .fails_saying("another configuration");
    genlab_line(d, "attribution gather nowhere").fails_saying("not a feature store");
    genlab_line(d, &format!("{FEAT} --data query.csv --out q --seed 9")).ok();
    genlab_line(
        d,
        "attribution score --train x --query q --out s.safetensors",
    )
    .fails_saying("differ in `projector`");
    genlab_line(
        d,
        "attribution score --train x --query x --out s.safetensors --lambda nan",
    )
    .fails_saying("--lambda must be a finite number");
}
