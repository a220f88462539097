//! `genlab contrastive train` / `genlab contrastive embed` on a user CSV and on Fashion-MNIST,
//! resume, and bad input.

mod common;

use common::{genlab_line, genlab_with_fetched_data, words};

const SMALL: &str = "--steps 20 --batch 16 --dim 8";

/// 3 classes of 6-d vectors, 30 rows each, with a `label` column.
fn labelled_csv(path: &std::path::Path) {
    let mut s = String::from("a,b,c,d,e,f,label\n");
    for i in 0..90 {
        let c = i % 3;
        let row: Vec<String> = (0..6)
            .map(|j| {
                let centre = if j % 3 == c { 2.0 } else { 0.0 };
                format!("{}", centre + 0.1 * ((i * 7 + j * 13) % 11) as f32)
            })
            .collect();
        s.push_str(&format!("{},{c}\n", row.join(",")));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn train_embed_and_resume_on_a_labelled_csv() {
    let dir = tempfile::tempdir().unwrap();
    labelled_csv(&dir.path().join("x.csv"));
    let train = format!("contrastive train --data x.csv --out m {SMALL}");
    genlab_line(dir.path(), &train)
        .ok_saying("trained hydra on 90 rows of dimension 6 (3 classes)");
    for f in ["model.json", "weights.bpk", "checkpoint.bin", "losses.csv"] {
        assert!(dir.path().join("m").join(f).exists(), "missing {f}");
    }
    genlab_line(
        dir.path(),
        "contrastive embed --model m --data x.csv --out h.npy",
    )
    .ok_saying("embedded 90 rows into 128 dimensions (representations h)");
    let first = std::fs::read(dir.path().join("h.npy")).unwrap();
    genlab_line(
        dir.path(),
        "contrastive embed --model m --data x.csv --out z.npy --projection",
    )
    .ok_saying("into 8 dimensions (projections z)");
    // Resuming a finished run changes nothing; the embedding is bit-identical.
    genlab_line(dir.path(), &format!("{train} --resume")).ok();
    genlab_line(
        dir.path(),
        "contrastive embed --model m --data x.csv --out h2.npy",
    )
    .ok();
    assert_eq!(first, std::fs::read(dir.path().join("h2.npy")).unwrap());
    for obj in ["supcon", "simclr"] {
        genlab_line(
            dir.path(),
            &format!("contrastive train --data x.csv --out {obj} --objective {obj} {SMALL}"),
        )
        .ok_saying(&format!("trained {obj}"));
    }
    genlab_line(
        dir.path(),
        &format!("contrastive train --data x.csv --out d --pairing distinct --instance 0 {SMALL}"),
    )
    .ok();
}

#[test]
fn fashion_mnist_trains_the_cnn() {
    let dir = tempfile::tempdir().unwrap();
    let line = "contrastive train --fashion-mnist --images 128 --steps 3 --batch 8 --out f";
    genlab_with_fetched_data(dir.path(), &words(line))
        .ok_saying("on 128 rows of dimension 784 (10 classes)");
}

#[test]
fn bad_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    labelled_csv(&dir.path().join("x.csv"));
    genlab_line(
        dir.path(),
        &format!("contrastive train --data x.csv --out m --objective byol {SMALL}"),
    )
    .fails_saying("unknown objective `byol`");
    std::fs::write(dir.path().join("nolabel.csv"), "a,b\n1,2\n3,4\n").unwrap();
    genlab_line(dir.path(), "contrastive train --data nolabel.csv --out m2")
        .fails_saying("no labels");
    std::fs::write(dir.path().join("bad.csv"), "a,b,label\n1,2,0\n3,x,1\n").unwrap();
    genlab_line(dir.path(), "contrastive train --data bad.csv --out m3").fails_saying("bad.csv:3");
    genlab_line(
        dir.path(),
        &format!("contrastive train --data x.csv --out m {SMALL}"),
    )
    .ok();
    std::fs::write(dir.path().join("short.csv"), "a,b\n1,2\n").unwrap();
    genlab_line(
        dir.path(),
        "contrastive embed --model m --data short.csv --out e.npy",
    )
    .fails_saying("6-dimensional");
    genlab_line(
        dir.path(),
        "contrastive embed --model nowhere --data x.csv --out e.npy",
    )
    .fails_saying("not a genlab contrastive model");
    genlab_line(
        dir.path(),
        &format!("contrastive train --data x.csv --out t --tau 0 {SMALL}"),
    )
    .fails_saying("--tau");
    for (flags, says) in [
        ("--dim 0", "--dim"),
        ("--dim 8 --lr nan", "--lr"),
        ("--dim 100000000", "--batch × 2 × --dim"),
    ] {
        let train = format!("contrastive train --data x.csv --out t --steps 20 --batch 16 {flags}");
        genlab_line(dir.path(), &train).fails_saying(says);
    }
}
