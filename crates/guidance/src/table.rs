//! A user's probability table: the input of `genlab guidance exact`, read into an
//! [`ExactProblem`] whose exact output distribution [`crate::exact::exact_distribution`] computes.
//!
//! One entry per line — a class, a colon, the clean sequence's tokens, `=`, and a non-negative
//! weight; blank lines and lines starting with `#` are skipped:
//!
//! ```text
//! # p(x | c) ∝ weight; sequences not listed have probability 0
//! vocab: 3           optional: the vocabulary size V (default: the largest token + 1)
//! prior: 1 3         optional: one positive weight π_c per class (default: uniform)
//! 0: 0 1 = 2
//! 0: 1 1 = 1
//! 1: 2 2 = 0.5
//! ```
//!
//! Every sequence has the same length d; tokens are 0 … V−1, classes 0 … C−1, where C is the
//! largest class + 1 (or the number of prior weights, which must cover every class used). Each
//! class's weights are normalised to p(x | c); the unconditional model is p(x) = Σ_c π_c p(x | c).
//! Every class needs a positive total weight and a positive prior: with π_c = 0, p(x) would
//! vanish where p(x | c) does not and the guided ratio p(x | c)^w p(x)^{1−w} (w > 1) would be
//! infinite. A (class, sequence) pair may appear once. The sequence space V^d is at most 65536
//! (the tables are dense) and the dynamic program's cost is bounded ([`ExactProblem::check_cost`]).

use std::collections::HashMap;
use std::path::Path;

use genlab_core::limits::excerpt;
use genlab_core::{Error, Result};

use crate::exact::ExactProblem;

/// The largest sequence space V^d a table may describe.
pub const MAX_SEQUENCES: usize = 1 << 16;

/// Reads a table file in the format above.
pub fn read_table(path: &Path) -> Result<ExactProblem> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_table(&text, path)
}

/// One `CLASS: TOKENS = WEIGHT` line.
struct Entry {
    line: usize,
    class: usize,
    tokens: Vec<u32>,
    weight: f64,
}

/// Parses the format above (`path` names the source in errors).
pub fn parse_table(text: &str, path: &Path) -> Result<ExactProblem> {
    let mut vocab: Option<(usize, usize)> = None;
    let mut prior: Option<(usize, Vec<f64>)> = None;
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |msg: String| Error::parse(path, Some(i + 1), msg);
        let (head, rest) = line
            .split_once(':')
            .ok_or_else(|| at("expected `CLASS: TOKEN TOKEN … = WEIGHT`".into()))?;
        match head.trim() {
            "vocab" => {
                if vocab.is_some() {
                    return Err(at("`vocab:` given twice".into()));
                }
                let v = rest
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|v| (1..=MAX_SEQUENCES).contains(v));
                let v = v.ok_or_else(|| {
                    at(format!(
                        "vocab `{}` is not an integer in 1..={MAX_SEQUENCES}",
                        excerpt(rest.trim())
                    ))
                })?;
                vocab = Some((v, i + 1));
            }
            "prior" => {
                if prior.is_some() {
                    return Err(at("`prior:` given twice".into()));
                }
                let weights = rest
                    .split_whitespace()
                    .map(|w| weight(w).map_err(&at))
                    .collect::<Result<Vec<_>>>()?;
                if weights.is_empty() || weights.iter().any(|&w| w <= 0.0) {
                    return Err(at(
                        "`prior:` needs one positive weight per class (a class of prior 0 \
                         makes p(x) vanish where p(x | c) does not)"
                            .into(),
                    ));
                }
                if !weights.iter().sum::<f64>().is_finite() {
                    return Err(at("the prior weights overflow; scale them down".into()));
                }
                if weights.len() > MAX_SEQUENCES {
                    return Err(at(format!("more than {MAX_SEQUENCES} prior weights")));
                }
                prior = Some((i + 1, weights));
            }
            class => entries.push(entry(class, rest, i + 1).map_err(at)?),
        }
    }
    assemble(entries, vocab, prior, path)
}

/// Parses `CLASS` and `TOKENS = WEIGHT`.
fn entry(class: &str, rest: &str, line: usize) -> std::result::Result<Entry, String> {
    let class = class
        .parse::<u32>()
        .map_err(|_| format!("class `{}` is not a non-negative integer", excerpt(class)))?;
    let (tokens, w) = rest
        .split_once('=')
        .ok_or("expected `= WEIGHT` after the tokens")?;
    let tokens = tokens
        .split_whitespace()
        .map(|t| {
            t.parse::<u32>()
                .map_err(|_| format!("token `{}` is not a non-negative integer", excerpt(t)))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if tokens.is_empty() {
        return Err("no tokens before `=`".into());
    }
    if tokens.len() > 16 {
        return Err(format!(
            "{} tokens: exact mode enumerates V^d sequences, so d ≤ 16",
            tokens.len()
        ));
    }
    Ok(Entry {
        line,
        class: class as usize,
        tokens,
        weight: weight(w)?,
    })
}

/// A finite, non-negative weight.
fn weight(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(w) if w.is_finite() && w >= 0.0 => Ok(w),
        _ => Err(format!(
            "weight `{}` is not a finite non-negative number",
            excerpt(text.trim())
        )),
    }
}

/// Checks the entries against each other and builds the dense tables.
fn assemble(
    entries: Vec<Entry>,
    vocab: Option<(usize, usize)>,
    prior: Option<(usize, Vec<f64>)>,
    path: &Path,
) -> Result<ExactProblem> {
    let first = entries
        .first()
        .ok_or_else(|| Error::parse(path, None, "no `CLASS: TOKENS = WEIGHT` entries"))?;
    let d = first.tokens.len();
    let at = |line: usize, msg: String| Error::parse(path, Some(line), msg);
    let mut max_token = 0;
    let mut max_class = 0;
    for e in &entries {
        if e.tokens.len() != d {
            return Err(at(
                e.line,
                format!("{} tokens, but earlier entries have {d}", e.tokens.len()),
            ));
        }
        max_token = max_token.max(*e.tokens.iter().max().expect("non-empty"));
        max_class = max_class.max(e.class);
    }
    let v = match vocab {
        Some((v, line)) if (max_token as usize) >= v => {
            return Err(at(
                line,
                format!("vocab {v}, but a token is {max_token} (tokens are 0 … vocab − 1)"),
            ));
        }
        Some((v, _)) => v,
        None => max_token as usize + 1,
    };
    let size = v
        .checked_pow(d as u32)
        .filter(|&s| s <= MAX_SEQUENCES)
        .ok_or_else(|| {
            Error::parse(
                path,
                None,
                format!("V^d = {v}^{d} sequences; exact mode allows at most {MAX_SEQUENCES}"),
            )
        })?;
    let prior = match prior {
        Some((line, p)) if p.len() <= max_class => {
            return Err(at(
                line,
                format!("{} prior weights, but class {max_class} appears", p.len()),
            ));
        }
        Some((_, p)) => p,
        None => vec![1.0; max_class + 1],
    };
    let mut tables = vec![vec![0.0; size]; prior.len()];
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    for e in &entries {
        let index = e.tokens.iter().fold(0, |acc, &t| acc * v + t as usize);
        if let Some(earlier) = seen.insert((e.class, index), e.line) {
            return Err(at(
                e.line,
                format!(
                    "class {} lists this sequence twice (also line {earlier})",
                    e.class
                ),
            ));
        }
        tables[e.class][index] = e.weight;
    }
    for (c, t) in tables.iter().enumerate() {
        let total: f64 = t.iter().sum();
        if !(total > 0.0 && total.is_finite()) {
            return Err(Error::parse(
                path,
                None,
                format!("class {c} has no positive weight (or its weights overflow)"),
            ));
        }
    }
    let problem = ExactProblem::new(d, v, prior, tables)?;
    let vanishing = problem.tables.iter().any(|t| {
        t.iter()
            .zip(&problem.marginal)
            .any(|(c, m)| *c > 0.0 && *m <= 0.0)
    });
    if vanishing {
        return Err(Error::parse(
            path,
            None,
            "weights or prior so small that p(x) underflows to 0 where p(x | c) > 0; \
             rescale them",
        ));
    }
    Ok(problem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::testing::{fuzz, rejected};

    const EXAMPLE: &str =
        "# p(x | c) ∝ weight\nvocab: 3\nprior: 1 3\n0: 0 1 = 2\n0: 1 1 = 1\n1: 2 2 = 0.5\n";

    #[test]
    fn parses_the_documented_example() {
        let p = parse_table(EXAMPLE, Path::new("t.txt")).unwrap();
        assert_eq!((p.seq_len, p.vocab, p.classes()), (2, 3, 2));
        assert_eq!(p.prior, vec![0.25, 0.75]);
        let x = |s: &[u32]| p.index(s);
        assert!((p.tables[0][x(&[0, 1])] - 2.0 / 3.0).abs() < 1e-15);
        assert!((p.tables[0][x(&[1, 1])] - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(p.tables[1][x(&[2, 2])], 1.0);
        assert!((p.marginal[x(&[0, 1])] - 0.25 * 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(p.tables[0].iter().filter(|&&q| q > 0.0).count(), 2);
        // Without the optional lines: V = largest token + 1, uniform prior.
        let q = parse_table("1: 0 2 = 1\n0: 1 1 = 3\n", Path::new("t")).unwrap();
        assert_eq!(
            (q.vocab, q.classes(), q.prior.clone()),
            (3, 2, vec![0.5, 0.5])
        );
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        for (text, needle) in [
            ("0: 0 1 = 1\n0: 1 = 1\n", "t.txt:2"),
            ("x: 0 = 1\n", "class `x`"),
            ("0 0 1 = 1\n", "CLASS: TOKEN"),
            ("0: 0 1\n", "`= WEIGHT`"),
            ("0: = 1\n", "no tokens"),
            ("0: 0 -1 = 1\n", "token `-1`"),
            ("0: 0 = -1\n", "weight `-1`"),
            ("0: 0 = NaN\n", "weight `NaN`"),
            ("0: 0 = 1e309\n", "weight `1e309`"),
            ("0: 0 = 0\n", "class 0 has no positive weight"),
            ("1: 0 = 1\n", "class 0 has no positive weight"),
            ("0: 0 = 1\n0: 0 = 2\n", "twice (also line 1)"),
            ("vocab: 2\n0: 2 = 1\n", "t.txt:1: vocab 2, but a token is 2"),
            ("vocab: 0\n0: 0 = 1\n", "vocab `0`"),
            ("vocab: 2\nvocab: 2\n", "given twice"),
            ("prior: 1 0\n0: 0 = 1\n", "positive weight per class"),
            ("prior: 1\n1: 0 = 1\n", "1 prior weights, but class 1"),
            ("0: 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 = 1\n", "d ≤ 16"),
            ("0: 9 9 9 9 9 = 1\n", "10^5 sequences"),
            ("# nothing\n", "no `CLASS: TOKENS = WEIGHT` entries"),
        ] {
            let err = parse_table(text, Path::new("t.txt"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    /// Mutants of valid tables never panic or hang; an accepted table is a valid problem
    /// (normalised, positive prior, p(x) > 0 wherever some p(x | c) > 0); a rejection is one line.
    #[test]
    fn fuzzed_tables_parse_to_valid_problems_or_one_line_errors() {
        let seeds = vec![
            EXAMPLE.as_bytes().to_vec(),
            b"1: 0 2 = 1\n0: 1 1 = 3e-3\n0: 0 0 = 0.25\n".to_vec(),
            b"vocab: 4\n0: 3 = 1\n1: 0 = 1\n2: 1 = 1\n".to_vec(),
        ];
        let check = |bytes: &[u8]| {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Ok(false);
            };
            match parse_table(text, Path::new("fuzz")) {
                Err(e) => rejected(e),
                Ok(p) => {
                    let norm = |t: &[f64]| (t.iter().sum::<f64>() - 1.0).abs() < 1e-9;
                    let ok = p
                        .tables
                        .iter()
                        .all(|t| norm(t) && t.len() == p.marginal.len())
                        && norm(&p.prior)
                        && p.prior.iter().all(|&q| q > 0.0)
                        && norm(&p.marginal)
                        && p.tables.iter().all(|t| {
                            t.iter()
                                .zip(&p.marginal)
                                .all(|(c, m)| *c == 0.0 || *m > 0.0)
                        });
                    if ok {
                        Ok(true)
                    } else {
                        Err(format!("invalid problem from {text:?}"))
                    }
                }
            }
        };
        let count = fuzz("guidance table", &seeds, 400, check);
        assert!(count.accepted > 3, "{count:?}");
    }
}
