//! Test support for every crate's tests: a scratch path in a fresh temporary directory, and the
//! fuzz budget and byte mutator of the in-tree fuzz tests ([`fuzz_cases`], [`mutate`]). Public,
//! not behind `cfg(test)`, because other crates' tests use it; the kill-and-resume support is
//! [`crate::train::testing`].

use std::path::PathBuf;

use tempfile::TempDir;

/// A fresh temporary directory and the path `name` inside it (not created). The directory is
/// deleted when the returned [`TempDir`] drops, so bind it (`let (_dir, path) = …`), never `_`.
pub fn scratch(name: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    (dir, path)
}

/// How many inputs each fuzz test tries: `$GENLAB_FUZZ_CASES` when set (e.g. `10000` for a
/// long run), else `default` (small, so `cargo test` stays fast).
pub fn fuzz_cases(default: u32) -> u32 {
    std::env::var("GENLAB_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// Sizes and numbers that break unchecked parsers: zero, one, sign and width boundaries, and
/// values whose products wrap or exhaust memory.
pub const INTERESTING: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    1 << 32,
    1 << 40,
    1 << 62,
    i64::MAX as u64,
    u64::MAX,
];

const TOKENS: [&str; 12] = [
    "0",
    "-1",
    "NaN",
    "inf",
    "1e309",
    "4294967296",
    "1099511627776",
    "18446744073709551616",
    "-9223372036854775809",
    "0.5",
    "null",
    "\"x\"",
];

/// `seed` changed by `ops`, each `(kind, position, value)` (positions and values are reduced
/// modulo what fits): a bit flip, a byte set, an interesting 4- or 8-byte little-endian
/// integer written, a range deleted or duplicated, a truncation, an interesting number token
/// written over the digits at a position, or a long run of one byte inserted. Fuzz tests draw
/// the ops with proptest and feed the result to a parser seeded with valid files.
pub fn mutate(seed: &[u8], ops: &[(u8, u32, u64)]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for &(kind, pos, value) in ops {
        let at = pos as usize % (b.len() + 1);
        let interesting = INTERESTING[value as usize % INTERESTING.len()];
        match kind % 9 {
            0 if at < b.len() => b[at] ^= 1 << (value % 8),
            1 if at < b.len() => b[at] = value as u8,
            2 => overwrite(&mut b, at, &(interesting as u32).to_le_bytes()),
            3 => overwrite(&mut b, at, &interesting.to_le_bytes()),
            4 => {
                let end = (at + value as usize % 64).min(b.len());
                b.drain(at..end);
            }
            5 => {
                let end = (at + value as usize % 64).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            6 => b.truncate(at),
            7 => {
                let start = b[at..].iter().position(u8::is_ascii_digit).map(|i| at + i);
                if let Some(s) = start {
                    let end = b[s..]
                        .iter()
                        .position(|c| !(c.is_ascii_digit() || *c == b'.'))
                        .map_or(b.len(), |i| s + i);
                    let token = TOKENS[value as usize % TOKENS.len()].as_bytes();
                    b.splice(s..end, token.iter().copied());
                }
            }
            8 => {
                let run = vec![value as u8; 1 + (value >> 8) as usize % 4096];
                b.splice(at..at, run);
            }
            _ => {}
        }
    }
    b
}

fn overwrite(b: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    if at + bytes.len() > b.len() {
        b.resize(at + bytes.len(), 0);
    }
    b[at..at + bytes.len()].copy_from_slice(bytes);
}

/// What a fuzz target did with one input: accepted it (after checking what it produced), or
/// rejected it with an error (checked by [`rejected`]).
pub type Verdict = std::result::Result<bool, String>;

/// A rejection that is acceptable: one line of at most 600 characters (errors quote at most
/// [`crate::limits::EXCERPT_CHARS`] characters of the input).
pub fn rejected(err: impl std::fmt::Display) -> Verdict {
    let msg = err.to_string();
    if msg.contains('\n') || msg.chars().count() > 600 {
        let head: String = msg.chars().take(200).collect();
        return Err(format!(
            "error is not one short line ({} chars): {head}",
            msg.len()
        ));
    }
    Ok(false)
}

/// What a fuzz run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuzzCount {
    /// Inputs tried (seeds included).
    pub inputs: u32,
    /// Inputs the target accepted.
    pub accepted: u32,
    /// The slowest input, in milliseconds.
    pub max_ms: u128,
}

/// The longest one input may take before the run counts it as a hang.
pub const FUZZ_HANG_SECONDS: u64 = 5;

/// Fuzzes the target `check` of `format`: first every seed as is (each must be accepted), then
/// [`fuzz_cases`]`(default_cases)` mutants ([`mutate`] with 1–3 ops drawn by proptest from a
/// fixed seed, so a run is reproducible). Fails on a panic (shrunk to a small case), on an
/// input taking over [`FUZZ_HANG_SECONDS`], and on any `Err` from `check` — an accepted input
/// whose result breaks the format's invariants, or an error that is not one short line.
/// Prints the counts to standard error (see them with `--nocapture`).
pub fn fuzz(
    format: &str,
    seeds: &[Vec<u8>],
    default_cases: u32,
    check: impl Fn(&[u8]) -> Verdict,
) -> FuzzCount {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
    use std::cell::Cell;
    use std::time::Instant;

    let (accepted, max_ms) = (Cell::new(0u32), Cell::new(0u128));
    let run_one = |bytes: &[u8]| -> std::result::Result<(), String> {
        let start = Instant::now();
        let verdict = check(bytes);
        let ms = start.elapsed().as_millis();
        max_ms.set(max_ms.get().max(ms));
        if ms > u128::from(FUZZ_HANG_SECONDS) * 1000 {
            return Err(format!("{format}: one input took {ms} ms (a hang)"));
        }
        if verdict? {
            accepted.set(accepted.get() + 1);
        }
        Ok(())
    };
    for (i, seed) in seeds.iter().enumerate() {
        match check(seed) {
            Ok(true) => {}
            other => panic!("{format}: seed {i} is not accepted: {other:?}"),
        }
    }
    let cases = fuzz_cases(default_cases);
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (
        0..seeds.len(),
        proptest::collection::vec(any::<(u8, u32, u64)>(), 1..4),
    );
    let result = runner.run(&strategy, |(seed, ops)| {
        let input = mutate(&seeds[seed], &ops);
        run_one(&input).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{format}: fuzzing failed: {e}");
    }
    let count = FuzzCount {
        inputs: cases + seeds.len() as u32,
        accepted: accepted.get() + seeds.len() as u32,
        max_ms: max_ms.get(),
    };
    eprintln!(
        "fuzz {format}: {} inputs, {} accepted, slowest {} ms",
        count.inputs, count.accepted, count.max_ms
    );
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_counts_and_catches_panics() {
        let seeds = vec![b"12".to_vec(), b"3,4".to_vec()];
        let parse = |b: &[u8]| match std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<u8>().ok())
        {
            Some(_) => Ok(true),
            None => rejected("not a small number"),
        };
        let count = fuzz("numbers", &seeds[..1], 50, parse);
        assert_eq!(count.inputs, 51);
        assert!(count.accepted >= 1 && count.accepted < 51, "{count:?}");
        let panics = std::panic::catch_unwind(|| {
            fuzz("panicky", &seeds, 50, |b: &[u8]| {
                assert!(b.len() < 3 || b[2] != b'4', "boom");
                Ok(true)
            })
        });
        assert!(panics.is_err(), "a seed that panics fails the run");
        assert!(rejected("x".repeat(700)).is_err());
        assert!(rejected("a\nb").is_err());
    }

    #[test]
    fn mutate_applies_each_kind_and_never_panics() {
        let seed = b"{'shape': (3, 4), }".to_vec();
        assert_eq!(mutate(&seed, &[]), seed);
        assert_eq!(mutate(&seed, &[(6, 5, 0)]), b"{'sha");
        let tok = String::from_utf8(mutate(&seed, &[(7, 0, 5)])).unwrap();
        assert_eq!(tok, "{'shape': (4294967296, 4), }");
        assert_eq!(mutate(&[], &[(3, 9, 13)]), u64::MAX.to_le_bytes());
        for kind in 0..=255u8 {
            for pos in [0, 1, 7, 1000, u32::MAX] {
                mutate(&seed, &[(kind, pos, u64::MAX), (kind, pos, 3)]);
                mutate(&[], &[(kind, pos, 7)]);
            }
        }
    }
}
