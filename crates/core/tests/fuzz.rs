//! In-tree fuzzing of core's parsers and loaders (issue 25): CSV points, NPY, IDX, checkpoints
//! and report.json (rendered into the index page). Each target starts from valid files and
//! tries `GENLAB_FUZZ_CASES` mutants (default 300): no panic, no input over 5 s, an accepted
//! file must satisfy its format's invariants, and a rejection must be one short line.
//! A long run: `GENLAB_FUZZ_CASES=10000 cargo test --release -p genlab-core --test fuzz -- --nocapture`.

use std::path::Path;

use genlab_core::data::{Points, read_idx, read_npy, read_points_csv, write_npy};
use genlab_core::report::{Report, Verdict, write_index};
use genlab_core::testing::{Verdict as Outcome, fuzz, rejected, scratch};
use genlab_core::train::{Checkpoint, RngState, SeededRng};

const CASES: u32 = 300;

/// Points read back must be non-empty, rectangular and finite.
fn valid_points(p: Points) -> Outcome {
    let labels_ok = p.labels.as_ref().is_none_or(|l| l.len() == p.len());
    if p.d == 0 || p.data.is_empty() || !p.data.len().is_multiple_of(p.d) || !labels_ok {
        return Err(format!(
            "accepted malformed points: d {} len {}",
            p.d,
            p.data.len()
        ));
    }
    if p.data.iter().any(|v| !v.is_finite()) {
        return Err("accepted non-finite values".into());
    }
    Ok(true)
}

fn on_file<T>(
    name: &str,
    read: impl Fn(&Path) -> genlab_core::Result<T>,
    ok: impl Fn(T) -> Outcome,
) -> impl Fn(&[u8]) -> Outcome {
    let (dir, path) = scratch(name);
    move |bytes: &[u8]| {
        let _keep = &dir;
        std::fs::write(&path, bytes).unwrap();
        match read(&path) {
            Ok(v) => ok(v),
            Err(e) => rejected(e),
        }
    }
}

#[test]
fn fuzz_csv_points() {
    let seeds = vec![
        b"x0,x1\n1.5,-2\n3,4e-3\n".to_vec(),
        b"x,y,label\n0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,2\n".to_vec(),
        b"1,2,3\n4,5,6\n".to_vec(),
    ];
    fuzz(
        "csv",
        &seeds,
        CASES,
        on_file("p.csv", read_points_csv, valid_points),
    );
}

#[test]
fn fuzz_npy() {
    let (_dir, path) = scratch("seed.npy");
    let mut seeds = Vec::new();
    for (d, n) in [(2, 3), (1, 4), (5, 2)] {
        let data = (0..n * d).map(|i| i as f32 * 0.5 - 1.0).collect();
        write_npy(&path, &Points::new(d, data, None).unwrap()).unwrap();
        seeds.push(std::fs::read(&path).unwrap());
    }
    // The regression cases: a shape whose product wraps, and a huge one.
    let wrap = String::from_utf8_lossy(&seeds[0]).replace("(3, 2)", "(4294967296, 4294967296)");
    assert!(read_npy_bytes(wrap.as_bytes()).is_err());
    fuzz(
        "npy",
        &seeds,
        CASES,
        on_file("p.npy", read_npy, valid_points),
    );
}

fn read_npy_bytes(bytes: &[u8]) -> genlab_core::Result<Points> {
    let (_dir, path) = scratch("x.npy");
    std::fs::write(&path, bytes).unwrap();
    read_npy(&path)
}

#[test]
fn fuzz_idx() {
    let mut seed = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3];
    seed.extend(0..18u8);
    let check = |idx: genlab_core::data::Idx| {
        if idx.dims.iter().product::<usize>() != idx.data.len() {
            return Err(format!("dims {:?} with {} bytes", idx.dims, idx.data.len()));
        }
        Ok(true)
    };
    fuzz("idx", &[seed], CASES, on_file("p.idx", read_idx, check));
}

#[test]
fn fuzz_checkpoint() {
    let (_dir, path) = scratch("seed.bin");
    let mut ck = Checkpoint {
        step: 7,
        rng: SeededRng::new(3).state(),
        history: Default::default(),
        meta: serde_json::json!({"lr": 0.1}),
        blobs: Default::default(),
    };
    ck.blobs.put_f32s("w", &[1.0, 2.0, 3.0]).unwrap();
    ck.blobs.put("opt", vec![9; 10]).unwrap();
    ck.save(&path).unwrap();
    let seed = std::fs::read(&path).unwrap();
    let check = |c: Checkpoint| {
        let _: RngState = c.rng;
        Ok(c.blobs.names().count() <= 1 << 20)
    };
    fuzz(
        "checkpoint",
        &[seed],
        CASES,
        on_file("c.bin", Checkpoint::load, check),
    );
}

#[test]
fn fuzz_report_json_and_index() {
    let (dir, _) = scratch("x");
    let mut report = Report::new(
        "exp",
        "Paper (2025)",
        "A beats B",
        0,
        Verdict::on("fd", "a", "b"),
    );
    report
        .arms
        .entry("a".into())
        .or_default()
        .insert("fd".into(), 1.5);
    report.notes.push("a note".into());
    report.save(dir.path()).unwrap();
    let seed = std::fs::read(dir.path().join("report.json")).unwrap();
    let (out, _) = scratch("x");
    std::fs::create_dir_all(out.path().join("exp")).unwrap();
    let target = |bytes: &[u8]| {
        std::fs::write(out.path().join("exp/report.json"), bytes).unwrap();
        let loaded = Report::load(&out.path().join("exp/report.json"));
        match write_index(out.path()) {
            Ok(index) if index.exists() => Ok(loaded.is_ok()),
            Ok(_) => Err("index not written".into()),
            Err(e) => rejected(e),
        }
    };
    // Accepted means the report loaded; the index must be written either way.
    let count = fuzz("report.json", &[seed], CASES, target);
    assert!(count.accepted >= 1);
}
