//! Bounds on sizes that come from a file or a flag, checked before anything is allocated, and
//! the excerpt rule for quoting the user's input in an error.
//!
//! A size read from a header (`shape`, `nodes`, a channel count) or given on the command line
//! (`--batch`, `--width`, `-n`) is untrusted: multiplied out unchecked it wraps, or asks the
//! allocator for terabytes and aborts the process. Every such size goes through [`elements`]
//! (or [`at_most`]) first, so the user gets one line naming the flag or field and the limit.
//!
//! | limit | value | why |
//! |---|---|---|
//! | [`MAX_ELEMENTS`] | 2²⁸ values | one buffer of at most 1 GiB of f32: beyond a laptop's budget |
//! | [`EXCERPT_CHARS`] | 80 characters | how much of an offending input an error quotes |

use crate::error::{Error, Result};

/// The most values one buffer (a tensor, a batch, a file's array, a weight matrix) may hold:
/// 2²⁸ = 268,435,456, i.e. 1 GiB of f32.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// How many characters of an offending input an error message quotes.
pub const EXCERPT_CHARS: usize = 80;

/// The product of `dims` when it is at most [`MAX_ELEMENTS`]; otherwise an error naming `what`
/// (the flag or field the sizes came from, e.g. "--batch × --width").
pub fn elements(what: &str, dims: &[usize]) -> Result<usize> {
    let product = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS);
    product.ok_or_else(|| {
        let shown: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
        Error::InvalidInput(format!(
            "{what}: {} values exceed the limit of {MAX_ELEMENTS} (2^28) per buffer",
            shown.join(" × ")
        ))
    })
}

/// `value` when it is at most `limit`; otherwise an error naming `what` and the limit.
pub fn at_most<T: PartialOrd + std::fmt::Display + Copy>(
    what: &str,
    value: T,
    limit: T,
) -> Result<T> {
    if value <= limit {
        Ok(value)
    } else {
        Err(Error::InvalidInput(format!(
            "{what} = {value} exceeds the limit of {limit}"
        )))
    }
}

/// `text` as an error quotes it: whole when it has at most [`EXCERPT_CHARS`] characters,
/// otherwise its first [`EXCERPT_CHARS`] followed by `… (N bytes)`.
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// A message built around user input (a JSON parser's "unknown field `…`") cut to at most
/// ~250 characters: its start and its end (which names the position) are kept.
pub fn shorten(message: &str) -> String {
    let n = message.chars().count();
    if n <= 250 {
        return message.to_string();
    }
    let head: String = message.chars().take(160).collect();
    let tail: String = message.chars().skip(n - 80).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_checks_the_product_without_wrapping() {
        assert_eq!(elements("x", &[3, 4]).unwrap(), 12);
        assert_eq!(elements("x", &[]).unwrap(), 1);
        assert_eq!(elements("x", &[MAX_ELEMENTS]).unwrap(), MAX_ELEMENTS);
        let err = elements("--batch × --width", &[1 << 20, 1 << 20]).unwrap_err();
        assert!(err.to_string().contains("--batch × --width"), "{err}");
        assert!(err.to_string().contains("2^28"), "{err}");
        // 2^32 · 2^32 wraps to 0 in unchecked usize arithmetic.
        assert!(elements("shape", &[1 << 32, 1 << 32]).is_err());
        assert!(elements("shape", &[usize::MAX, 0]).is_ok());
    }

    #[test]
    fn at_most_names_the_flag_and_the_limit() {
        assert_eq!(at_most("--depth", 3, 64).unwrap(), 3);
        let err = at_most("--depth", 1_000_000, 64).unwrap_err().to_string();
        assert!(
            err.contains("--depth = 1000000") && err.contains("64"),
            "{err}"
        );
    }

    #[test]
    fn shorten_keeps_the_start_and_the_position() {
        assert_eq!(shorten("short"), "short");
        let long = format!("unknown field `{}` at line 1 column 9000", "#".repeat(9000));
        let s = shorten(&long);
        assert!(
            s.starts_with("unknown field `#") && s.ends_with("at line 1 column 9000"),
            "{s}"
        );
        assert!(s.chars().count() <= 241);
    }

    #[test]
    fn excerpt_cuts_long_inputs_at_a_char_boundary() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(10_000);
        let e = excerpt(&long);
        assert!(
            e.starts_with(&"é".repeat(80)) && e.ends_with("(20000 bytes)"),
            "{e}"
        );
        assert!(e.chars().count() < 110);
    }
}
