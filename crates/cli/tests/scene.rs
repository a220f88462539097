//! `genlab scene render / train / generate` on rendered and user-edited sequences, and bad
//! input (a camera file of the wrong length, mismatched frame sizes) → one line.

mod common;

use common::genlab_line;

const SMALL: &str = "--worlds 2 --frames 12 --chunk 3 --size 32 --steps 6 --batch 2 --base 4";

#[test]
fn render_train_generate_and_reuse_the_cached_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    genlab_line(
        d,
        "scene render --world 5 --path revisit --frames 12 --chunk 3 --size 32 --out r",
    )
    .ok_saying("12 input + 3 target frames at 32×32");
    for f in [
        "frames.npy",
        "depth.npy",
        "dynamic.npy",
        "instance.npy",
        "cameras.json",
        "frames.png",
        "video.png",
    ] {
        assert!(d.join("r/input").join(f).exists(), "missing input/{f}");
    }
    let json = genlab_line(
        d,
        "scene render --world 5 --path orbit --size 32 --out o --json",
    );
    let v: serde_json::Value = serde_json::from_str(json.ok()).unwrap();
    assert_eq!(v["input_frames"], 32);
    genlab_line(d, &format!("scene train {SMALL} --out m"))
        .ok_saying("trained the memory generator");
    for f in ["model.json", "weights.bpk", "checkpoint.bin", "losses.csv"] {
        assert!(d.join("m").join(f).exists(), "missing {f}");
    }
    let generate =
        "scene generate --model m --input r/input --cameras r/target/cameras.json --out g --json";
    let first = genlab_line(d, generate);
    let v: serde_json::Value = serde_json::from_str(first.ok()).unwrap();
    assert_eq!(
        (v["frames"].as_u64(), v["size"].as_u64()),
        (Some(3), Some(16))
    );
    assert!(
        first.stderr.contains("estimating the dynamic mask"),
        "{}",
        first.stderr
    );
    let frames = std::fs::read(d.join("g/frames.npy")).unwrap();
    // Second run: the memory comes from the cache and the frames are identical.
    let second = genlab_line(d, generate);
    second.ok();
    assert!(
        second.stderr.contains("reusing the cached dynamic mask"),
        "{}",
        second.stderr
    );
    assert_eq!(std::fs::read(d.join("g/frames.npy")).unwrap(), frames);
    // A user sequence without masks or instance ids (only frames, depth, cameras) works too.
    for f in ["dynamic.npy", "instance.npy"] {
        std::fs::remove_file(d.join("r/input").join(f)).unwrap();
    }
    genlab_line(
        d,
        "scene generate --model m --input r/input --cameras r/target/cameras.json --out g2",
    )
    .ok_saying("generated 3 frames at 16×16");
}

#[test]
fn bad_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    genlab_line(
        d,
        "scene render --world 1 --frames 6 --chunk 2 --size 32 --out r",
    )
    .ok();
    genlab_line(
        d,
        "scene render --world 1 --frames 6 --chunk 2 --size 16 --out small",
    )
    .ok();
    genlab_line(d, &format!("scene train {SMALL} --out m")).ok();
    // A camera file of the wrong length for the input frames.
    let cams = std::fs::read_to_string(d.join("r/input/cameras.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&cams).unwrap();
    v["cameras"].as_array_mut().unwrap().pop();
    v["times"] = serde_json::json!([]);
    std::fs::write(d.join("r/input/cameras.json"), v.to_string()).unwrap();
    genlab_line(
        d,
        "scene generate --model m --input r/input --cameras r/target/cameras.json --out g",
    )
    .fails_saying("5 cameras for 6 frames");
    std::fs::write(d.join("r/input/cameras.json"), cams).unwrap();
    // Target cameras for another frame size than the input.
    genlab_line(
        d,
        "scene generate --model m --input r/input --cameras small/target/cameras.json --out g",
    )
    .fails_saying("cameras are for 16×16 images but the input frames are 32×32");
    // Frames of another size than the model takes.
    genlab_line(
        d,
        "scene generate --model m --input small/input --cameras small/target/cameras.json --out g",
    )
    .fails_saying("the model takes 32×32 inputs");
    // Frames whose size does not match their own cameras.
    std::fs::copy(
        d.join("small/input/frames.npy"),
        d.join("r/input/frames.npy"),
    )
    .unwrap();
    genlab_line(
        d,
        "scene generate --model m --input r/input --cameras r/target/cameras.json --out g",
    )
    .fails_saying("values per frame");
    let spiral = genlab_line(d, "scene render --world 1 --path spiral --out x");
    assert!(spiral.code != 0 && spiral.stderr.contains("unknown path `spiral`"));
    genlab_line(d, "scene render --world 1 --size 30 --out x").fails_saying("--size");
    genlab_line(d, "scene train --worlds 1 --base 100000 --out t").fails_saying("(4·--base)²");
    genlab_line(
        d,
        "scene generate --model nowhere --input r/input --cameras r/target/cameras.json --out g",
    )
    .fails_saying("not a genlab scene model");
}
