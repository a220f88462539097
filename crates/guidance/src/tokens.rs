//! Class-labelled token sequences: the training data of the learned mode.
//!
//! On disk (`genlab guidance train --data FILE`), one sequence per line: the class, a colon,
//! then the tokens, all non-negative integers separated by spaces; blank lines and lines
//! starting with `#` are skipped:
//!
//! ```text
//! # class: tokens
//! 3: 0 0 5 13 9 1 0 0
//! 7: 0 2 16 16 11 0 0 0
//! ```
//!
//! Every sequence must have the same length. The vocabulary is 0 … max token (or a larger
//! size given by the caller); classes are 0 … max class.

use std::path::Path;

use genlab_core::data::Points;
use genlab_core::{Error, Result};

/// Fixed-length token sequences with a class each.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenData {
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Number of distinct tokens (ids 0..vocab).
    pub vocab: usize,
    /// Number of classes (ids 0..classes).
    pub classes: usize,
    /// n × seq_len, row-major.
    pub tokens: Vec<u32>,
    /// The class of each sequence.
    pub labels: Vec<u32>,
}

impl TokenData {
    /// Number of sequences.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Sequence `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.tokens[i * self.seq_len..(i + 1) * self.seq_len]
    }

    /// The 8×8 digits as 64 tokens of 17 grey levels (the pixel values 0–16), classes 0–9.
    pub fn from_digits(digits: &Points) -> Result<TokenData> {
        let labels = digits
            .labels
            .clone()
            .ok_or_else(|| Error::InvalidInput("digits need labels".into()))?;
        let tokens = digits
            .data
            .iter()
            .map(|&x| {
                if (0.0..=16.0).contains(&x) && x.fract() == 0.0 {
                    Ok(x as u32)
                } else {
                    Err(Error::InvalidInput(format!(
                        "digit pixel {x} is not an integer in 0–16"
                    )))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TokenData {
            seq_len: digits.d,
            vocab: 17,
            classes: 10,
            tokens,
            labels,
        })
    }

    /// The sequences as points (token values as coordinates), e.g. to score digit samples.
    pub fn to_points(&self) -> Points {
        let data = self.tokens.iter().map(|&t| t as f32).collect();
        Points::new(self.seq_len, data, Some(self.labels.clone()))
            .expect("rows have seq_len tokens")
    }

    /// The text format above (what [`TokenData::parse`] reads back).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, c) in self.labels.iter().enumerate() {
            let row: Vec<String> = self.row(i).iter().map(u32::to_string).collect();
            out.push_str(&format!("{c}: {}\n", row.join(" ")));
        }
        out
    }

    /// Reads a file in the text format above.
    pub fn read(path: &Path) -> Result<TokenData> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Parses the text format above (`path` names the source in errors).
    pub fn parse(text: &str, path: &Path) -> Result<TokenData> {
        let mut tokens = Vec::new();
        let mut labels = Vec::new();
        let mut seq_len = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |msg: String| Error::parse(path, Some(i + 1), msg);
            let (class, rest) = line
                .split_once(':')
                .ok_or_else(|| at("expected `CLASS: TOKEN TOKEN …`".into()))?;
            let class: u32 = class.trim().parse().map_err(|_| {
                at(format!(
                    "class `{}` is not a non-negative integer",
                    genlab_core::limits::excerpt(class.trim())
                ))
            })?;
            let row = rest
                .split_whitespace()
                .map(|t| {
                    t.parse::<u32>().map_err(|_| {
                        at(format!(
                            "token `{}` is not a non-negative integer",
                            genlab_core::limits::excerpt(t)
                        ))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if row.is_empty() {
                return Err(at("no tokens after the class".into()));
            }
            match seq_len {
                None => seq_len = Some(row.len()),
                Some(n) if n != row.len() => {
                    return Err(at(format!(
                        "{} tokens, but earlier lines have {n}",
                        row.len()
                    )));
                }
                _ => {}
            }
            tokens.extend(row);
            labels.push(class);
        }
        let seq_len =
            seq_len.ok_or_else(|| Error::parse(path, None, "no sequences in the file"))?;
        let vocab = *tokens.iter().max().expect("non-empty") as usize + 1;
        let classes = *labels.iter().max().expect("non-empty") as usize + 1;
        if vocab > 1 << 16 || classes > 1 << 16 {
            return Err(Error::InvalidInput(format!(
                "vocabulary {vocab} or class count {classes} is too large (limit 65536)"
            )));
        }
        Ok(TokenData {
            seq_len,
            vocab,
            classes,
            tokens,
            labels,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn parses_the_documented_example() {
        let d = TokenData::parse("# c: t\n3: 0 0 5\n\n7: 1 2 16\n", Path::new("t.txt")).unwrap();
        assert_eq!((d.seq_len, d.vocab, d.classes), (3, 17, 8));
        assert_eq!(d.labels, vec![3, 7]);
        assert_eq!(d.row(1), &[1, 2, 16]);
    }

    #[test]
    fn text_round_trips() {
        let d = TokenData::from_digits(&genlab_core::data::digits()).unwrap();
        let back = TokenData::parse(&d.to_text(), Path::new("rt")).unwrap();
        assert_eq!((back.tokens, back.labels), (d.tokens, d.labels));
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        for (text, needle) in [
            ("1: 0 1\n2: 0\n", "t.txt:2"),
            ("x: 0 1\n", "class `x`"),
            ("1 0 1\n", "CLASS: TOKEN"),
            ("1: 0 -1\n", "token `-1`"),
            ("1:\n", "no tokens"),
            ("# only\n", "no sequences"),
        ] {
            let err = TokenData::parse(text, Path::new("t.txt"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet: Vec<char> = "0123456789: -#\n\tx9999999999".chars().collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        for _ in 0..20_000 {
            let len = rng.random_range(0..40);
            let s: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let _ = TokenData::parse(&s, Path::new("fuzz"));
        }
    }

    #[test]
    fn digits_become_17_level_tokens() {
        let d = TokenData::from_digits(&genlab_core::data::digits()).unwrap();
        assert_eq!((d.seq_len, d.vocab, d.classes, d.len()), (64, 17, 10, 1797));
        assert_eq!(&d.row(0)[..8], &[0, 0, 5, 13, 9, 1, 0, 0]);
        assert_eq!(d.to_points().row(0)[2], 5.0);
    }
}
