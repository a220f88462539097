//! Runs the real `genlab` binary in a temporary directory with its own data cache.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Result of one CLI run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "genlab failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts success with `needle` in stdout, and returns stdout.
    pub fn ok_saying(&self, needle: &str) -> &str {
        let stdout = self.ok();
        assert!(stdout.contains(needle), "no `{needle}` in: {stdout}");
        stdout
    }

    /// Asserts a non-zero exit with a one-line `genlab: …` error, and returns that line.
    pub fn one_line_error(&self) -> &str {
        assert_ne!(
            self.code, 0,
            "expected failure, got success: {}",
            self.stdout
        );
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got: {:?}",
            self.stderr
        );
        assert!(lines[0].starts_with("genlab: "), "{}", lines[0]);
        lines[0]
    }

    /// Asserts a one-line error (as [`Run::one_line_error`]) containing `needle`, and returns it.
    pub fn fails_saying(&self, needle: &str) -> &str {
        let line = self.one_line_error();
        assert!(line.contains(needle), "no `{needle}` in: {line}");
        line
    }
}

/// `genlab ARGS` run inside `dir`, with GENLAB_DATA pointing into `dir` and one thread.
pub fn genlab(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genlab"));
    cmd.env("GENLAB_DATA", dir.join("cache"))
        .env("GENLAB_THREADS", "1");
    run(cmd, dir, args)
}

/// `genlab` with a command line written as one string, split at white space (so for arguments
/// without spaces), run as [`genlab`] runs it.
pub fn genlab_line(dir: &Path, line: &str) -> Run {
    genlab(dir, &words(line))
}

/// The white-space-separated words of `line`, as arguments.
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// `genlab ARGS` run inside `dir` with the environment's data cache (where `genlab data fetch`
/// put the registry datasets, as CI does first) and every core.
pub fn genlab_with_fetched_data(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genlab"));
    cmd.env_remove("GENLAB_THREADS");
    run(cmd, dir, args)
}

fn run(mut cmd: Command, dir: &Path, args: &[&str]) -> Run {
    let out: Output = cmd
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the genlab binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes a CSV of `n` points on a noisy ring, with a header.
pub fn ring_csv(path: &Path, n: usize) {
    let mut s = String::from("x,y\n");
    for i in 0..n {
        let a = i as f32 * 0.37;
        s.push_str(&format!(
            "{},{}\n",
            2.0 * a.cos() + 0.01 * (i % 7) as f32,
            2.0 * a.sin()
        ));
    }
    std::fs::write(path, s).unwrap();
}

/// Names of the entries of `dir` (sorted), to check nothing was left behind.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
