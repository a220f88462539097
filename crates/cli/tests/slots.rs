//! `genlab slots train` and `genlab slots segment` on a folder of PNG images: files out, resume
//! refusal, metrics against mask PNGs, and one-line errors on bad input.

mod common;

use std::path::Path;

use common::{genlab, genlab_line};
use genlab_core::train::SeededRng;
use genlab_slots::picture::{Rgb, save_label_png};
use genlab_slots::scene::{SceneConfig, generate};

/// Writes `n` generated scenes as 64×64 PNGs (scene pixels doubled) into `dir/imgs`, and their
/// instance masks into `dir/masks`.
fn write_scenes(dir: &Path, n: usize) {
    let scenes = generate(&SceneConfig::DEFAULT, n, &mut SeededRng::new(1));
    for sub in ["imgs", "masks"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    for i in 0..n {
        let name = format!("scene{i:02}.png");
        let img = Rgb {
            width: 32,
            height: 32,
            data: scenes.image(i).to_vec(),
        };
        img.scaled(2)
            .save_png(&dir.join("imgs").join(&name))
            .unwrap();
        let mask = scenes.mask(i).unwrap();
        let big: Vec<usize> = (0..64 * 64)
            .map(|p| mask[(p / 64 / 2) * 32 + (p % 64) / 2] as usize)
            .collect();
        save_label_png(&big, 64, 64, &dir.join("masks").join(&name)).unwrap();
    }
}

#[test]
fn train_then_segment_a_png_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_scenes(dir, 6);
    let train = "slots train --images imgs --out model --steps 4 --batch 4 --decoder-steps 10 \
                 --cl-warmup 2";
    genlab_line(dir, train).ok_saying("learned 6 slots (coda) on 6 images");
    for f in ["model.json", "weights.bpk", "losses.csv", "checkpoint.bin"] {
        assert!(dir.join("model").join(f).exists(), "missing {f}");
    }
    // A second fresh run into the same directory is refused; --resume continues (and is done).
    genlab_line(dir, train).fails_saying("--resume");
    genlab_line(dir, &format!("{train} --resume")).ok_saying("learned");

    let seg = genlab_line(
        dir,
        "slots segment --model model --images imgs --masks masks --out seg --json",
    );
    let v: serde_json::Value = serde_json::from_str(seg.ok()).unwrap();
    assert_eq!(v["images"], 6);
    for m in ["fg_ari", "mbo", "miou"] {
        let x = v[m].as_f64().unwrap();
        assert!((-1.0..=1.0).contains(&x), "{m} = {x}");
    }
    assert!(dir.join("seg/index.html").exists());
    let mask = genlab_slots::picture::load_png(&dir.join("seg/masks/scene03.png")).unwrap();
    assert_eq!(
        (mask.rgb.width, mask.rgb.height),
        (64, 64),
        "masks at the image's size"
    );
    assert!(mask.first.iter().all(|&l| l < 6));
    assert!(dir.join("seg/overlays/scene05.png").exists());
}

#[test]
fn bad_input_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    genlab_line(dir, "slots train --images empty --out m").fails_saying("no .png images");
    std::fs::create_dir_all(dir.join("mixed")).unwrap();
    Rgb::filled(8, 8, [0.5; 3])
        .save_png(&dir.join("mixed/a.png"))
        .unwrap();
    Rgb::filled(8, 6, [0.5; 3])
        .save_png(&dir.join("mixed/b.png"))
        .unwrap();
    genlab_line(dir, "slots train --images mixed --out m").fails_saying("8×6");
    genlab_line(dir, "slots train --images mixed --out m --arm nope").fails_saying("unknown arm");
    genlab(
        dir,
        &[
            "slots", "segment", "--model", "mixed", "--images", "mixed", "--out", "s",
        ],
    )
    .fails_saying("not a genlab slots model");
    genlab_line(dir, "slots train --images missing --out m").one_line_error();
}
