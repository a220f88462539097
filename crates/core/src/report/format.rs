//! Numbers as the results page shows them, formatted by kind: whole numbers (counts, steps)
//! without decimals, everything else to about three significant digits, very large or small
//! values as `m×10ᵉ`, a mean with its standard deviation as `mean ± std` at one precision, and
//! anything not finite as `—`.

/// Below this magnitude (and from [`LARGE`] up) a fractional value is written as `m×10ᵉ`.
const SMALL: f64 = 1e-3;
/// See [`SMALL`].
const LARGE: f64 = 1e6;
/// Whole numbers are written in full up to here; beyond, as `m×10ᵉ`.
const WHOLE_MAX: f64 = 1e12;
/// Numbers shown without decimals are grouped by thousands from here up (SI style: 4-digit
/// numbers are not).
const GROUP_FROM: f64 = 1e4;
/// A thin space, the thousands separator.
const THIN: char = '\u{2009}';
/// How many more decimals a standard deviation may take to show a non-zero digit.
const STD_EXTRA: usize = 4;

/// How a number is laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// `decimals` after the point.
    Fixed(usize),
    /// `mantissa×10^exp`, the mantissa with `decimals` after the point.
    Sci { exp: i32, decimals: usize },
}

/// The decimal exponent of `x` after rounding to three significant digits (so 999.7 → 3).
fn exponent3(x: f64) -> i32 {
    let e = format!("{x:.2e}");
    e.rsplit('e')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// The layout of a finite `x`: whole numbers exact, others as [`layout3`].
fn layout(x: f64) -> Layout {
    if x.fract() == 0.0 && x.abs() < WHOLE_MAX {
        Layout::Fixed(0)
    } else {
        layout3(x)
    }
}

/// The layout of a finite `x` to three significant digits, whole or not (a mean of 1 with a
/// spread of 0.003 reads `1.00`, a measured `1.595e8` reads `1.60×10⁸`).
fn layout3(x: f64) -> Layout {
    let a = x.abs();
    let exp = exponent3(x);
    if a == 0.0 {
        Layout::Fixed(0)
    } else if !(SMALL..LARGE).contains(&a) {
        Layout::Sci { exp, decimals: 2 }
    } else {
        Layout::Fixed((2 - exp).max(0) as usize)
    }
}

/// `x` in `layout`, with a true minus sign; whole numbers grouped by thousands.
fn render(x: f64, layout: Layout) -> String {
    let text = match layout {
        Layout::Fixed(0) if x.abs() >= GROUP_FROM => group(x.abs()),
        Layout::Fixed(d) => format!("{:.d$}", x.abs()),
        // Rust's `e` formatting rounds the exact decimal value, which dividing by 10ᵉ would not.
        Layout::Sci { decimals, .. } => {
            let e = format!("{:.decimals$e}", x.abs());
            let (m, exp) = e.split_once('e').unwrap_or((&e, "0"));
            format!("{m}×10{}", superscript(exp.parse().unwrap_or(0)))
        }
    };
    // "-0" and "-0.00" are zero.
    if x < 0.0 && text.chars().any(|c| ('1'..='9').contains(&c)) {
        format!("−{text}")
    } else {
        text
    }
}

/// A non-negative whole number with thin spaces between groups of three digits.
fn group(x: f64) -> String {
    let digits = format!("{x:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(THIN);
        }
        out.push(c);
    }
    out
}

fn superscript(exp: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let sign = if exp < 0 { "⁻" } else { "" };
    let digits: String = exp
        .unsigned_abs()
        .to_string()
        .bytes()
        .map(|b| DIGITS[usize::from(b - b'0')])
        .collect();
    format!("{sign}{digits}")
}

/// `x` formatted by kind (see the module doc).
pub fn number(x: f64) -> String {
    if x.is_finite() {
        render(x, layout(x))
    } else {
        "—".into()
    }
}

/// `mean ± std` at one precision: the mean's, widened (up to [`STD_EXTRA`] decimals) until a
/// non-zero spread shows a non-zero digit. A mean of zero takes the spread's precision.
/// Scientific layouts share the exponent: `(1.60 ± 0.02)×10⁸`.
pub fn mean_std(mean: f64, std: f64) -> String {
    if !mean.is_finite() {
        return "—".into();
    }
    if !std.is_finite() {
        return number(mean);
    }
    let whole = mean.fract() == 0.0 && std.fract() == 0.0;
    let base = match (whole, mean == 0.0) {
        (true, _) => layout(mean),
        (false, true) => layout3(std),
        (false, false) => layout3(mean),
    };
    let scale = match base {
        Layout::Sci { exp, .. } => 10f64.powi(exp),
        Layout::Fixed(_) => 1.0,
    };
    let decimals = |l: Layout| match l {
        Layout::Fixed(d) | Layout::Sci { decimals: d, .. } => d,
    };
    let shows = |d: usize| std == 0.0 || (std / scale * 10f64.powi(d as i32)).round() != 0.0;
    let d = (decimals(base)..=decimals(base) + STD_EXTRA)
        .find(|d| shows(*d))
        .unwrap_or(decimals(base) + STD_EXTRA);
    match base {
        Layout::Sci { exp, .. } => format!(
            "({} ± {})×10{}",
            render(mean / scale, Layout::Fixed(d)),
            render(std / scale, Layout::Fixed(d)),
            superscript(exp)
        ),
        Layout::Fixed(_) => format!(
            "{} ± {}",
            render(mean, Layout::Fixed(d)),
            render(std, Layout::Fixed(d))
        ),
    }
}

/// A table cell that a family wrote as a number (`"0.4649"`, `"1.595e8"`, `"NaN"`) or as
/// `"mean ± std"`, reformatted by kind; `None` for any other text. A cell already rounded to
/// three significant digits or fewer keeps its digits (`"0.0002"` does not become
/// `"2.00×10⁻⁴"`): reformatting never adds precision the family did not measure.
pub fn cell(text: &str) -> Option<String> {
    let parse = |s: &str| {
        let s = s.trim();
        let numeric = s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
        let word = matches!(s, "NaN" | "nan" | "inf" | "-inf");
        (numeric || word).then(|| s.parse::<f64>().ok()).flatten()
    };
    let (m, s) = match text.split_once('±') {
        Some((m, s)) => (m, Some(parse(s)?)),
        None => (text, None),
    };
    let mean = parse(m)?;
    let exponent = text.contains(['e', 'E']);
    if mean.is_finite() && !exponent && significant_digits(m) <= 3 {
        let kept = text.trim();
        let kept = if mean == 0.0 && s.is_none() {
            kept.trim_start_matches('-')
        } else {
            kept
        };
        return Some(kept.replace('-', "−"));
    }
    Some(match s {
        Some(std) => mean_std(mean, std),
        // Exponent notation marks a measurement, never a count.
        None if exponent && mean.is_finite() => render(mean, layout3(mean)),
        None => number(mean),
    })
}

/// Significant digits written in a plain decimal number (`"0.0240"` → 3, `"26218"` → 5).
fn significant_digits(text: &str) -> usize {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').len()
}

/// A wall-clock duration: `26.8 s`, `4 min 12 s`, `1 h 05 min`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() {
        return "—".into();
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let s = seconds.round() as u64;
    if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_by_kind() {
        let cases = [
            (2100.0, "2100"),
            (18.0, "18"),
            (0.0, "0"),
            (-0.0, "0"),
            (202800.0, "202\u{2009}800"),
            (1.0, "1"),
            (226.6666, "227"),
            (30.69387, "30.7"),
            (0.0382764, "0.0383"),
            (0.9998, "1.00"),
            (0.00663998, "0.00664"),
            (-0.3464146, "−0.346"),
            (-0.000157, "−1.57×10⁻⁴"),
            (2.2576e-10, "2.26×10⁻¹⁰"),
            (159544377.72, "1.60×10⁸"),
            (3e12, "3.00×10¹²"),
            (f64::NAN, "—"),
            (f64::INFINITY, "—"),
        ];
        for (x, want) in cases {
            assert_eq!(number(x), want, "{x}");
        }
    }

    #[test]
    fn mean_with_spread() {
        let cases = [
            ((2100.0, 173.2051), "2100 ± 173"),
            ((200.0, 0.0), "200 ± 0"),
            ((226.6667, 23.094), "227 ± 23"),
            ((0.0382764, 0.0063784), "0.0383 ± 0.0064"),
            ((0.5267654, 0.0038306), "0.527 ± 0.004"),
            ((1.0, 0.0031), "1.000 ± 0.003"),
            ((0.0, 0.0184), "0.0000 ± 0.0184"),
            ((202800.0, 0.0), "202\u{2009}800 ± 0"),
            ((0.0, 0.0), "0 ± 0"),
            ((159544377.72, 2345678.9), "(1.60 ± 0.02)×10⁸"),
            ((f64::NAN, 1.0), "—"),
            ((0.25, f64::NAN), "0.250"),
        ];
        for ((m, s), want) in cases {
            assert_eq!(mean_std(m, s), want, "{m} ± {s}");
        }
    }

    #[test]
    fn cells_and_durations() {
        assert_eq!(cell("0.4649").as_deref(), Some("0.465"));
        assert_eq!(cell("1.595e8").as_deref(), Some("1.60×10⁸"));
        assert_eq!(cell("320").as_deref(), Some("320"));
        assert_eq!(cell("NaN").as_deref(), Some("—"));
        // Already rounded by the family: kept, with a true minus sign.
        assert_eq!(cell("0.0066 ± 0.0042").as_deref(), Some("0.0066 ± 0.0042"));
        assert_eq!(cell("-0.0002").as_deref(), Some("−0.0002"));
        assert_eq!(cell("-0.0000").as_deref(), Some("0.0000"));
        assert_eq!(cell("0.52677 ± 0.0038").as_deref(), Some("0.527 ± 0.004"));
        assert_eq!(cell("26218").as_deref(), Some("26\u{2009}218"));
        assert_eq!(cell("1.0000").as_deref(), Some("1"));
        for text in [
            "5898/12000",
            "1.0000/1.0000",
            "[4]",
            "holds",
            "e",
            "inf loop",
        ] {
            assert_eq!(cell(text), None, "{text}");
        }
        assert_eq!(duration(26.81), "26.8 s");
        assert_eq!(duration(252.0), "4 min 12 s");
        assert_eq!(duration(3900.0), "1 h 05 min");
    }
}
