//! `genlab embed`: sample SCaR-lite scenes, train a tiny model, query a PNG region against a
//! caption list (box, point, mask), index and search a folder, and bad input → one line.

mod common;

use common::{genlab, genlab_line};

#[test]
fn embed_sample_train_query_index_search() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    genlab_line(d, "embed sample --out s -n 4 --seed 3").ok();
    let tsv = std::fs::read_to_string(d.join("s/queries.tsv")).unwrap();
    let first: Vec<&str> = tsv.lines().next().unwrap().split('\t').collect();
    let bbox = first[1].trim_start_matches("box ").to_string();
    genlab_line(
        d,
        "embed train --out m --queries 32 --seg-steps 2 --general-steps 3 --scar-steps 2 \
         --batch 8 --width 16",
    )
    .ok_saying("trained virtue");
    for f in ["model.json", "seg.bpk", "embedder.bpk", "losses.csv"] {
        assert!(d.join("m").join(f).exists(), "{f}");
    }
    // A second fresh run into the same directory is refused.
    genlab_line(d, "embed train --out m --queries 32 --batch 8 --width 16")
        .fails_saying("already holds");
    // A longer SCaR phase extends the finished run; a longer general phase is refused.
    let resume = "embed train --out m --queries 32 --seg-steps 2 --batch 8 --width 16 --resume";
    genlab_line(d, &format!("{resume} --general-steps 3 --scar-steps 4"))
        .ok_saying("trained virtue");
    genlab_line(d, &format!("{resume} --general-steps 5 --scar-steps 4"))
        .fails_saying("--general-steps 3 → 5");

    let q = format!(
        "embed query --model m --image s/scene000.png --box {bbox} --candidates s/scene000.captions.txt --json"
    );
    let out = genlab_line(d, &q).ok().to_string();
    let ranked: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(ranked.as_array().unwrap().len(), 10);
    let scores: Vec<f64> = ranked
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    genlab_line(
        d,
        "embed query --model m --image s/scene000.png --point 10,12 --candidates s/scene000.captions.txt",
    )
    .ok_saying(" 1. ");
    // A mask PNG of the image's size.
    let n = 32 * 32;
    let mut mask = vec![0f32; 3 * n];
    for y in 4..12 {
        for x in 5..11 {
            for c in 0..3 {
                mask[c * n + y * 32 + x] = 1.0;
            }
        }
    }
    genlab_embed::io::write_png(&d.join("mask.png"), &mask).unwrap();
    genlab_line(
        d,
        "embed query --model m --image s/scene000.png --mask mask.png --candidates s/scene000.captions.txt",
    )
    .ok_saying("10. ");

    genlab_line(d, "embed index --model m --images s --out idx.json").ok();
    let found = genlab(
        d,
        &[
            "embed",
            "search",
            "--index",
            "idx.json",
            "--caption",
            "beach with small red circle",
            "--top",
            "2",
            "--json",
        ],
    )
    .ok()
    .to_string();
    let found: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 2);
}

#[test]
fn embed_bad_input_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    genlab_line(d, "embed sample --out s -n 1").ok();
    genlab_line(
        d,
        "embed train --out m --queries 16 --seg-steps 1 --general-steps 1 --scar-steps 1 --batch 8 --width 16",
    )
    .ok();
    let base = "embed query --model m --image s/scene000.png";
    genlab_line(
        d,
        &format!("{base} --box 0,0,40,40 --candidates s/scene000.captions.txt"),
    )
    .fails_saying("inside");
    genlab_line(
        d,
        &format!("{base} --box 1,2,3 --candidates s/scene000.captions.txt"),
    )
    .fails_saying("--box");
    std::fs::write(d.join("empty.txt"), "\n# nothing\n").unwrap();
    genlab_line(d, &format!("{base} --box 1,1,9,9 --candidates empty.txt"))
        .fails_saying("no candidate");
    std::fs::write(d.join("odd.txt"), "a purple elephant\n").unwrap();
    genlab_line(d, &format!("{base} --box 1,1,9,9 --candidates odd.txt"))
        .fails_saying("unknown word");
    genlab_line(d, "embed train --out big --width 100000000").fails_saying("--width × --width");
    std::fs::write(d.join("notpng.png"), "hello").unwrap();
    genlab_line(
        d,
        "embed query --model m --image notpng.png --point 1,1 --candidates s/scene000.captions.txt",
    )
    .fails_saying("PNG");
    genlab_line(d, "embed train --out m2 --arm nope").fails_saying("--arm");
}
