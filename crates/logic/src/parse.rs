//! The formula parser: ASCII or Unicode, with errors that give the column and what was expected.
//!
//! ```text
//! or      := and   (("|" | "∨") and)*            left-associative, binds loosest
//! and     := unary (("&" | "∧") unary)*          left-associative
//! unary   := ("!" | "~" | "¬") unary | DIAMOND unary | primary
//! primary := ATOM | "true" | "⊤" | "false" | "⊥" | "(" or ")"
//! DIAMOND := "<" [i] ">" ["=" k]                 "<>=2 p" is ◇≥2 p, "<1>=2 p" is ◇₁≥2 p
//!          | "dia" ["_" i] [">=" k]              "dia>=2 p", "dia_1>=2 p"
//!          | "◇" ["_" i] [("≥" | ">=") k]       "◇≥2 p", "◇_1≥2 p"
//! ATOM    := [A-Za-z_][A-Za-z0-9_]*  other than true, false, dia, dia_<digits>
//! ```
//!
//! The grade `k ≥ 1` defaults to 1 and the modality `i` to 0. Nesting is limited to
//! [`MAX_NESTING`] levels and length to [`MAX_TOKENS`] tokens so that no input can exhaust
//! the stack (while parsing, checking, or dropping the tree).

use crate::formula::Formula;
use genlab_core::limits::excerpt;

/// The deepest nesting of prefix operators and parentheses the parser accepts.
pub const MAX_NESTING: usize = 500;

/// The most tokens (propositions, operators, parentheses) a formula may have: 2^24, about a
/// 40 MB formula (`genlab logic check --formula-file` reads decompiled formulas of millions of
/// nodes). Depth stays bounded: chains of more than [`LEFT_CHAIN`] `&` or `|` operands are
/// built as balanced trees (depth log₂ of their length), so a tree is at most about
/// [`MAX_NESTING`] × 2·25 levels deep whatever the length.
pub const MAX_TOKENS: usize = 1 << 24;

/// Chains of at most this many operands nest to the left, as written (`p & q & r` is
/// `(p & q) & r`, so printing and parsing round-trip exactly); longer ones are balanced, which
/// is the same formula up to associativity.
pub const LEFT_CHAIN: usize = 16;

/// Where and why a formula failed to parse. Its message is one line naming the column;
/// [`ParseError::caret`] draws it under the input. Converts into [`genlab_core::Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse formula `{}` at column {column}: expected {expected}, found {}", self.shown(), excerpt(&escape_controls(found)))]
pub struct ParseError {
    /// The text that was parsed.
    pub input: String,
    /// 1-based column (in characters) of the offending token; one past the end for a formula
    /// that stops too early.
    pub column: usize,
    /// What the parser expected there.
    pub expected: String,
    /// What it found.
    pub found: String,
}

/// `text` with control characters (a newline in the found token) escaped, so the message
/// stays on one line.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

impl ParseError {
    /// The input as the message quotes it: whole when short, else at most
    /// [`genlab_core::limits::EXCERPT_CHARS`] characters around the column, marked with `…`.
    fn shown(&self) -> String {
        let n = self.input.chars().count();
        let width = genlab_core::limits::EXCERPT_CHARS;
        // Escaping can grow a character eightfold (`\u{10}`): cut what is shown once more.
        let bounded = |s: String| -> String { s.chars().take(2 * width).collect() };
        if n <= width {
            return bounded(self.input.escape_debug().to_string());
        }
        let start = self.column.saturating_sub(width / 2 + 1).min(n - width);
        let window: String = self.input.chars().skip(start).take(width).collect();
        let before = if start > 0 { "…" } else { "" };
        let after = if start + width < n { "…" } else { "" };
        format!(
            "{before}{}{after}",
            bounded(window.escape_debug().to_string())
        )
    }

    /// The input on one line and a caret under the offending column on the next.
    pub fn caret(&self) -> String {
        let line: String = self
            .input
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("{line}\n{}^", " ".repeat(self.column - 1))
    }
}

impl From<ParseError> for genlab_core::Error {
    fn from(e: ParseError) -> Self {
        genlab_core::Error::family(e)
    }
}

/// Parses a formula.
pub fn parse(text: &str) -> Result<Formula, ParseError> {
    parse_tokens(text).map_err(|e| ParseError {
        input: text.into(),
        ..e
    })
}

/// [`parse`], with errors that do not name the input yet.
fn parse_tokens(text: &str) -> Result<Formula, ParseError> {
    let tokens = lex(text)?;
    // The tree can be as deep as the formula is long (`p & p & …` nests to the left), and
    // checking and dropping it recurse: a 1 MB chain overflowed the stack (issue 25).
    if tokens.len() > MAX_TOKENS + 1 {
        return Err(err(
            1,
            &format!("a formula of at most {MAX_TOKENS} tokens"),
            format!("{} tokens", tokens.len() - 1),
        ));
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        nesting: 0,
    };
    let f = p.or()?;
    match p.peek() {
        (Tok::End, _) => Ok(f),
        (t, col) => Err(err(col, "`&`, `|` or end of input", t.describe())),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Atom(String),
    Top,
    Bot,
    Not,
    And,
    Or,
    Dia { modality: usize, grade: u32 },
    Open,
    Close,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Atom(p) => format!("proposition `{p}`"),
            Tok::Top => "`true`".into(),
            Tok::Bot => "`false`".into(),
            Tok::Not => "`!`".into(),
            Tok::And => "`&`".into(),
            Tok::Or => "`|`".into(),
            Tok::Dia { .. } => "a diamond".into(),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::End => "end of input".into(),
        }
    }
}

/// An error at `column`; [`parse`] fills in the input.
fn err(column: usize, expected: &str, found: String) -> ParseError {
    ParseError {
        input: String::new(),
        column,
        expected: expected.into(),
        found,
    }
}

fn found_char(c: Option<&(usize, char)>) -> String {
    match c {
        Some((_, c)) => format!("`{c}`"),
        None => "end of input".into(),
    }
}

/// Reads a decimal number starting at `chars[*i]` (at least one digit).
fn number(
    chars: &[(usize, char)],
    i: &mut usize,
    what: &str,
    end_col: usize,
) -> Result<u64, ParseError> {
    let start = *i;
    let mut v: u64 = 0;
    while let Some(&(_, c)) = chars.get(*i) {
        let Some(d) = c.to_digit(10) else { break };
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(d as u64))
            .filter(|&v| v <= 1_000_000_000)
            .ok_or_else(|| {
                err(
                    chars[start].0 + 1,
                    &format!("{what} of at most 10^9"),
                    "a larger number".into(),
                )
            })?;
        *i += 1;
    }
    if *i == start {
        let col = chars.get(*i).map_or(end_col, |c| c.0 + 1);
        return Err(err(col, what, found_char(chars.get(*i))));
    }
    Ok(v)
}

fn grade(chars: &[(usize, char)], i: &mut usize, end_col: usize) -> Result<u32, ParseError> {
    let col = chars.get(*i).map_or(end_col, |c| c.0 + 1);
    let k = number(chars, i, "a grade (a whole number ≥ 1)", end_col)?;
    if k == 0 {
        return Err(err(col, "a grade ≥ 1 (◇≥0 φ is just true)", "0".into()));
    }
    Ok(k as u32)
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ParseError> {
    let chars: Vec<(usize, char)> = text.chars().enumerate().collect();
    let end_col = chars.len() + 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let col = pos + 1;
        let next = chars.get(i + 1).map(|c| c.1);
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Tok::Open,
            ')' => Tok::Close,
            '!' | '~' | '¬' => Tok::Not,
            '&' | '∧' => Tok::And,
            '|' | '∨' => Tok::Or,
            '⊤' => Tok::Top,
            '⊥' => Tok::Bot,
            '<' => {
                i += 1;
                let modality = if chars.get(i).is_some_and(|c| c.1.is_ascii_digit()) {
                    number(&chars, &mut i, "a modality index", end_col)? as usize
                } else {
                    0
                };
                if chars.get(i).map(|c| c.1) != Some('>') {
                    let col = chars.get(i).map_or(end_col, |c| c.0 + 1);
                    return Err(err(
                        col,
                        "`>` closing the diamond `<…>` (e.g. `<>=2 p`)",
                        found_char(chars.get(i)),
                    ));
                }
                i += 1;
                let grade = if chars.get(i).map(|c| c.1) == Some('=') {
                    i += 1;
                    grade(&chars, &mut i, end_col)?
                } else {
                    1
                };
                out.push((Tok::Dia { modality, grade }, col));
                continue;
            }
            '◇' => {
                i += 1;
                let (modality, grade) = dia_suffix(&chars, &mut i, end_col, true)?;
                out.push((Tok::Dia { modality, grade }, col));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.1.is_ascii_alphanumeric() || c.1 == '_')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().map(|c| c.1).collect();
                let tok = match word.as_str() {
                    "true" => Tok::Top,
                    "false" => Tok::Bot,
                    "dia" => {
                        let (modality, grade) = dia_suffix(&chars, &mut i, end_col, false)?;
                        Tok::Dia { modality, grade }
                    }
                    w if w.starts_with("dia_") => {
                        let digits = &w[4..];
                        let modality = digits.parse::<usize>().ok().filter(|_| {
                            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
                        });
                        let Some(modality) = modality else {
                            return Err(err(
                                col + 4,
                                "a modality index after `dia_` (e.g. `dia_1>=2 p`)",
                                format!("`{digits}`"),
                            ));
                        };
                        let (_, grade) = dia_suffix(&chars, &mut i, end_col, false)?;
                        Tok::Dia { modality, grade }
                    }
                    _ => Tok::Atom(word),
                };
                out.push((tok, col));
                continue;
            }
            '>' if next == Some('=') => {
                return Err(err(
                    col,
                    "a formula (`>=k` only follows `dia` or `◇`)",
                    "`>=`".into(),
                ));
            }
            other => {
                return Err(err(
                    col,
                    "a proposition, `true`, `false`, `!`, `&`, `|`, a diamond (`<>=k`, `dia>=k`, `◇≥k`) or a parenthesis",
                    format!("`{other}`"),
                ));
            }
        };
        out.push((tok, col));
        i += 1;
    }
    out.push((Tok::End, end_col));
    Ok(out)
}

/// After `◇` or `dia`: an optional `_i` (for `◇`; `dia_i` is one word) and an optional `>=k`
/// or `≥k`.
fn dia_suffix(
    chars: &[(usize, char)],
    i: &mut usize,
    end_col: usize,
    allow_index: bool,
) -> Result<(usize, u32), ParseError> {
    let mut modality = 0;
    if allow_index && chars.get(*i).map(|c| c.1) == Some('_') {
        *i += 1;
        modality = number(chars, i, "a modality index after `_`", end_col)? as usize;
    }
    let c0 = chars.get(*i).map(|c| c.1);
    let c1 = chars.get(*i + 1).map(|c| c.1);
    let grade = if c0 == Some('≥') {
        *i += 1;
        grade(chars, i, end_col)?
    } else if c0 == Some('>') && c1 == Some('=') {
        *i += 2;
        grade(chars, i, end_col)?
    } else {
        1
    };
    Ok((modality, grade))
}

/// Joins the operands of one `&` or `|` chain: nested to the left when there are at most
/// [`LEFT_CHAIN`] of them, else as a balanced tree (see [`MAX_TOKENS`]).
fn chain(mut operands: Vec<Formula>, join: fn(Formula, Formula) -> Formula) -> Formula {
    if operands.len() <= LEFT_CHAIN {
        let mut it = operands.into_iter();
        let first = it.next().expect("a chain has an operand");
        return it.fold(first, join);
    }
    let right = operands.split_off(operands.len() / 2);
    join(chain(operands, join), chain(right, join))
}

struct Parser {
    tokens: Vec<(Tok, usize)>,
    pos: usize,
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> (Tok, usize) {
        self.tokens[self.pos].clone()
    }

    fn or(&mut self) -> Result<Formula, ParseError> {
        let mut operands = vec![self.and()?];
        while self.peek().0 == Tok::Or {
            self.pos += 1;
            operands.push(self.and()?);
        }
        Ok(chain(operands, Formula::or))
    }

    fn and(&mut self) -> Result<Formula, ParseError> {
        let mut operands = vec![self.unary()?];
        while self.peek().0 == Tok::And {
            self.pos += 1;
            operands.push(self.unary()?);
        }
        Ok(chain(operands, Formula::and))
    }

    fn enter(&mut self, col: usize) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(err(
                col,
                &format!("at most {MAX_NESTING} nested operators"),
                "deeper nesting".into(),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Formula, ParseError> {
        let (tok, col) = self.peek();
        match tok {
            Tok::Not => {
                self.pos += 1;
                self.enter(col)?;
                let f = !(self.unary()?);
                self.nesting -= 1;
                Ok(f)
            }
            Tok::Dia { modality, grade } => {
                self.pos += 1;
                self.enter(col)?;
                let f = Formula::dia(modality, grade, self.unary()?);
                self.nesting -= 1;
                Ok(f)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Formula, ParseError> {
        let (tok, col) = self.peek();
        self.pos += 1;
        match tok {
            Tok::Atom(p) => Ok(Formula::Atom(p)),
            Tok::Top => Ok(Formula::Top),
            Tok::Bot => Ok(Formula::Bot),
            Tok::Open => {
                self.enter(col)?;
                let f = self.or()?;
                self.nesting -= 1;
                let (close, ccol) = self.peek();
                if close != Tok::Close {
                    return Err(err(
                        ccol,
                        &format!("`)` closing the `(` at column {col}"),
                        close.describe(),
                    ));
                }
                self.pos += 1;
                Ok(f)
            }
            other => {
                self.pos -= 1;
                Err(err(
                    col,
                    "a formula (a proposition, `true`, `false`, `!`, a diamond or `(`)",
                    other.describe(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::Dag;
    use crate::random::random_formula;
    use genlab_core::train::SeededRng;
    use proptest::prelude::*;

    fn p() -> Formula {
        Formula::atom("p")
    }

    #[test]
    fn ascii_and_unicode_spellings_agree() {
        let expect = Formula::or(
            Formula::and(!(p()), Formula::dia(0, 2, Formula::atom("q"))),
            Formula::dia(1, 1, Formula::Top),
        );
        for s in [
            "!p & <>=2 q | <1> true",
            "~p & dia>=2 q | dia_1 true",
            "¬p ∧ ◇≥2 q ∨ ◇_1 ⊤",
            "((!p) & (<>=2 (q))) | (◇_1>=1 true)",
        ] {
            assert_eq!(parse(s).unwrap(), expect, "{s}");
        }
        assert_eq!(parse("p & q & r").unwrap().to_string(), "p & q & r");
        assert_eq!(
            parse("p | q & r").unwrap(),
            Formula::or(p(), Formula::and(Formula::atom("q"), Formula::atom("r")))
        );
        assert_eq!(parse("<>=2 p & q").unwrap().to_string(), "<>=2 p & q");
    }

    #[test]
    fn errors_name_the_column_and_the_expectation() {
        let e = parse("p & ").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (5, "end of input"));
        assert!(e.expected.starts_with("a formula"));
        let e = parse("(p | q").unwrap_err();
        assert_eq!(e.column, 7);
        assert!(e.expected.contains("column 1"), "{e}");
        let e = parse("p q").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (3, "proposition `q`"));
        let e = parse("<>=0 p").unwrap_err();
        assert_eq!(e.column, 4);
        assert!(e.expected.contains("≥ 1"));
        let e = parse("<2 p").unwrap_err();
        assert!(e.expected.contains("`>`"), "{e}");
        let e = parse("p # q").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (3, "`#`"));
        let e = parse("dia_x p").unwrap_err();
        assert!(e.expected.contains("modality"), "{e}");
        assert!(parse("").is_err());
        let deep = format!("{}p", "!".repeat(MAX_NESTING + 1));
        assert!(parse(&deep).unwrap_err().expected.contains("nested"));
        assert!(parse(&format!("{}p", "!".repeat(MAX_NESTING))).is_ok());
    }

    #[test]
    fn the_error_is_one_line_with_the_column_and_converts() {
        let e = parse("p &\n(").unwrap_err();
        assert_eq!((e.input.as_str(), e.column), ("p &\n(", 6));
        let msg = e.to_string();
        assert!(
            msg.contains("column 6") && !msg.contains('\n'),
            "one line: {msg}"
        );
        let e = parse("p & (q").unwrap_err();
        assert_eq!(e.caret(), "p & (q\n      ^");
        let core: genlab_core::Error = e.clone().into();
        assert_eq!(core.to_string(), e.to_string());
        assert_eq!(
            core.downcast_ref::<ParseError>(),
            Some(&e),
            "the kind survives"
        );
    }

    /// Chains longer than LEFT_CHAIN are balanced: the same formula up to associativity, so
    /// the same truth values as the left-nested fold at every node.
    #[test]
    fn long_chains_are_balanced_and_mean_the_same() {
        let g = crate::graph::Graph::new(
            vec!["p".into(), "q".into()],
            4,
            &[vec![0], vec![1], vec![0, 1], vec![]],
            &[(0, 1), (1, 2), (2, 3)],
            false,
        )
        .unwrap();
        let model = crate::model::Model::single(g);
        let parts = ["p", "!q", "<> p", "<>=2 q", "q | p", "!<> !p"];
        for (n, op) in [(17, " & "), (40, " | "), (101, " & "), (16, " | ")] {
            let items: Vec<String> = (0..n)
                .map(|i| format!("({})", parts[(i * 7) % 6]))
                .collect();
            let f = parse(&items.join(op)).unwrap();
            let fold = items
                .iter()
                .map(|t| parse(t).unwrap())
                .reduce(|a, b| {
                    if op == " & " {
                        Formula::and(a, b)
                    } else {
                        Formula::or(a, b)
                    }
                })
                .unwrap();
            assert_eq!(
                f == fold,
                n <= LEFT_CHAIN,
                "{n}: left-nested exactly up to LEFT_CHAIN"
            );
            let t = |f: &Formula| crate::check::truth(&model, f, 0).unwrap();
            assert_eq!(t(&f), t(&fold), "{n}{op}");
            assert!(tree_depth(&f) <= LEFT_CHAIN + n.ilog2() as usize + 3, "{n}");
            assert!(
                n < 100 || (tree_depth(&f) < 30 && tree_depth(&fold) > 100),
                "{n}"
            );
        }
    }

    fn tree_depth(f: &Formula) -> usize {
        match f {
            Formula::Top | Formula::Bot | Formula::Atom(_) => 0,
            Formula::Not(a) | Formula::Dia { body: a, .. } => 1 + tree_depth(a),
            Formula::And(a, b) | Formula::Or(a, b) => 1 + tree_depth(a).max(tree_depth(b)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// parse(print(φ)) == φ in both notations, and printing is stable.
        #[test]
        fn round_trip(seed in any::<u64>(), depth in 0usize..5, modalities in 1usize..3) {
            let mut rng = SeededRng::new(seed);
            let f = random_formula(rng.rng(), &["p", "q", "r_1"], depth, 3, modalities);
            let ascii = f.to_string();
            prop_assert_eq!(&parse(&ascii).unwrap(), &f, "{}", ascii);
            prop_assert_eq!(&parse(&f.unicode()).unwrap(), &f);
            prop_assert_eq!(parse(&ascii).unwrap().to_string(), ascii);
        }

        /// Arbitrary input (control characters included) never panics; it parses, or it names a
        /// column inside the input + 1, carries the input, and prints on one line.
        #[test]
        fn never_panics(s in "\\PC{0,40}|[\\x00-\\x7f]{0,20}") {
            match parse(&s) {
                Ok(f) => prop_assert_eq!(parse(&f.to_string()).unwrap(), f),
                Err(e) => {
                    prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1);
                    prop_assert_eq!(&e.input, &s);
                    prop_assert!(!e.to_string().contains('\n'));
                    prop_assert_eq!(e.caret().lines().count(), 2);
                }
            }
        }

        /// Inputs made of the grammar's own characters reach deeper into the parser.
        #[test]
        fn never_panics_on_near_formulas(s in "[pq!&|()<>=0-9 _◇≥¬∧∨⊤⊥dia~]{0,40}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.column >= 1 && e.column <= s.chars().count() + 1);
            }
        }
    }

    /// Issue 25: errors quoted the whole input (a 10 MB formula, a 10 MB stderr line). Now at
    /// most 80 characters around the column.
    #[test]
    fn long_inputs_are_quoted_around_the_column() {
        let text = format!("{} & & q", "p & ".repeat(2_000));
        let e = parse(&text).unwrap_err();
        let msg = e.to_string();
        assert!(msg.len() < 300, "{} bytes", msg.len());
        assert!(msg.contains("`…") && msg.contains("& & q`"), "{msg}");
        // A 1 MB chain overflowed the stack when its tree was dropped (issue 25); long chains
        // are now balanced, so a 4 MB one parses, checks and drops.
        let f = parse(&format!("{}p", "p & ".repeat(1_000_000))).unwrap();
        assert!(
            f.size() == 2_000_001 && Dag::new(&f).len() < 50,
            "shared halves"
        );
        let g =
            crate::graph::Graph::new(vec!["p".into()], 2, &[vec![0]], &[(0, 1)], false).unwrap();
        let model = crate::model::Model::single(g);
        assert_eq!(
            crate::check::truth(&model, &f, 0).unwrap(),
            vec![true, false]
        );
        assert!(
            parse(&format!("{}p", "p&".repeat(MAX_TOKENS / 2)))
                .unwrap_err()
                .to_string()
                .contains("tokens")
        );
        let digits = format!("[{}]p", "9".repeat(100_000));
        assert!(parse(&digits).unwrap_err().to_string().len() < 400);
        assert_eq!(
            parse("p & (q")
                .unwrap_err()
                .to_string()
                .matches("p & (q")
                .count(),
            1
        );
    }
}
