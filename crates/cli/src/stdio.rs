//! Standard output and error for every command, handled once (issue 25). `print!`, `println!`,
//! `eprint!` and `eprintln!` are redefined in `main.rs` to call [`out`] and [`err`] instead of
//! std's versions, which panic when the stream is closed or full:
//!
//! - standard output closed (`genlab list | head -1`): exit quietly with status 0, as `rg` does;
//! - any other write error on standard output (`> /dev/full`: no space left on device): one
//!   line on standard error and exit status 1 — never a silent success, so every write is
//!   flushed at once rather than at exit, where std drops a failed flush;
//! - standard error closed or full: the message is dropped (there is nowhere to report it).

use std::io::{ErrorKind, Write};

/// Writes `args` to standard output and flushes it; a failure ends the process (see the module
/// doc).
pub fn out(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        drop(stdout);
        std::process::exit(failed(&e));
    }
}

/// Writes `args` to standard error, ignoring failure.
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// The exit status for a failed write to standard output, after saying why unless the reader
/// has gone away.
pub fn failed(e: &std::io::Error) -> i32 {
    if e.kind() == ErrorKind::BrokenPipe {
        0
    } else {
        err(format_args!("genlab: writing standard output: {e}\n"));
        1
    }
}

/// The broken pipe or other standard-output failure behind `error`, if that is what it is
/// (e.g. the MCP server's responses written to a closed pipe).
pub fn broken_pipe(error: &anyhow::Error) -> bool {
    let broken = |e: &std::io::Error| e.kind() == ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(broken)
            || matches!(
                cause.downcast_ref::<genlab_core::Error>(),
                Some(genlab_core::Error::Io { cause, .. }) if broken(cause)
            )
    })
}

/// A command-line parse error as one line: clap's message, its list items and tips, without
/// the usage block (`--help` shows that). For example `unexpected argument '--dat' found (tip:
/// a similar argument exists: '--data'); see --help`.
pub fn parse_error_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut line = String::new();
    let mut in_usage = false;
    let mut list_open = false;
    for raw in rendered.lines() {
        let text = raw.trim();
        if text.starts_with("Usage:") {
            in_usage = true;
        }
        if text.is_empty() {
            in_usage = false;
            continue;
        }
        if in_usage || text.starts_with("For more information") {
            continue;
        }
        if let Some(tip) = text.strip_prefix("tip: ") {
            line.push_str(&format!(" (tip: {tip})"));
        } else if line.is_empty() {
            line.push_str(text.strip_prefix("error: ").unwrap_or(text));
            list_open = text.ends_with(':');
        } else if list_open && raw.starts_with(' ') {
            let first_item = line.ends_with(':');
            line.push_str(if first_item { " " } else { ", " });
            line.push_str(text);
        } else {
            line.push_str("; ");
            line.push_str(text);
        }
    }
    format!("{line}; see --help")
}
