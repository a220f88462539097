//! Points as CSV: one point per line, comma-separated numbers.
//!
//! Accepted:
//! - an optional header line: the first line, if none of its fields is a number;
//! - in the header, one column named `label` or `class` (any case): its values are the class
//!   labels and must be non-negative integers (`3` or `3.0`); every other column is a coordinate;
//! - blank lines and lines starting with `#` anywhere (skipped), spaces around fields, CRLF line
//!   ends and a UTF-8 byte-order mark.
//!
//! Rejected, with the 1-based line number: a row whose field count differs from the header's
//! (or the first row's), a field that is not a number, NaN or infinite values, a bad label,
//! and a file with no data rows.
//!
//! [`write_points_csv`] writes a header `x0,x1,…[,label]` and the shortest decimal form of each
//! f32 that reads back to the same value, so writing and reading again is exact.

use std::path::Path;

use super::points::Points;
use crate::error::{Error, Result};
use crate::fsx;
use crate::limits::excerpt;

/// A parse failure before the path is attached: optional 1-based line and message.
type LineError = (Option<usize>, String);

/// Reads a points CSV (format in the module docs).
pub fn read_points_csv(path: &Path) -> Result<Points> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        Error::parse(path, Some(line), "not valid UTF-8 text")
    })?;
    parse(text).map_err(|(line, msg)| Error::parse(path, line, msg))
}

/// Writes `points` as CSV (header `x0,x1,…[,label]`), atomically.
pub fn write_points_csv(path: &Path, points: &Points) -> Result<()> {
    fsx::atomic_write(path, points_to_csv(points).as_bytes())
}

/// The CSV text [`write_points_csv`] writes, for callers that print it instead.
pub fn points_to_csv(points: &Points) -> String {
    let mut out: Vec<String> = (0..points.d).map(|j| format!("x{j}")).collect();
    if points.labels.is_some() {
        out.push("label".into());
    }
    let mut text = out.join(",") + "\n";
    for (i, row) in points.rows().enumerate() {
        let mut fields: Vec<String> = row.iter().map(|&v| shortest_exact(v)).collect();
        if let Some(labels) = &points.labels {
            fields.push(labels[i].to_string());
        }
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

/// The shortest decimal that parses back to exactly `v`; exponent form for very large or
/// small magnitudes, where plain digits would run to dozens of zeros.
fn shortest_exact(v: f32) -> String {
    if v == 0.0 || (1e-4..1e16).contains(&v.abs()) {
        v.to_string()
    } else {
        format!("{v:e}")
    }
}

/// Parses CSV text into points; also used for the embedded digits.
pub(super) fn parse(text: &str) -> std::result::Result<Points, LineError> {
    let mut rows = text
        .trim_start_matches('\u{feff}')
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(no, line)| (no, line.split(',').map(str::trim).collect::<Vec<_>>()))
        .peekable();
    let mut width = None;
    let mut label_col = None;
    // A line mixing names and numbers is read as data (and fails there) rather than taken
    // for a header, so that a typo in the first row never silently drops it.
    if let Some((no, first)) = rows.next_if(|(_, f)| f.iter().all(|s| s.parse::<f64>().is_err())) {
        let mut label_cols = first.iter().enumerate().filter(|(_, name)| {
            name.eq_ignore_ascii_case("label") || name.eq_ignore_ascii_case("class")
        });
        label_col = label_cols.next().map(|(j, _)| j);
        if label_cols.next().is_some() {
            return Err((Some(no), "more than one `label`/`class` column".into()));
        }
        if first.len() == usize::from(label_col.is_some()) {
            return Err((Some(no), "the header names no coordinate column".into()));
        }
        width = Some(first.len());
    }
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (no, fields) in rows {
        let expected = *width.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err((
                Some(no),
                format!("expected {expected} fields, found {}", fields.len()),
            ));
        }
        for (j, field) in fields.iter().enumerate() {
            if Some(j) == label_col {
                labels.push(parse_label(field).ok_or_else(|| {
                    (
                        Some(no),
                        format!("label `{}` is not a non-negative integer", excerpt(field)),
                    )
                })?);
            } else {
                data.push(parse_value(field, j + 1).map_err(|msg| (Some(no), msg))?);
            }
        }
    }
    if data.is_empty() {
        return Err((None, "no data rows".into()));
    }
    let d = width.unwrap_or(0) - usize::from(label_col.is_some());
    let labels = label_col.map(|_| labels);
    Points::new(d, data, labels).map_err(|e| (None, e.to_string()))
}

/// A finite coordinate; `number` is the 1-based field position for the message.
fn parse_value(field: &str, number: usize) -> std::result::Result<f32, String> {
    if field.is_empty() {
        return Err(format!("field {number} is empty"));
    }
    let v: f32 = field
        .parse()
        .map_err(|_| format!("field {number} (`{}`) is not a number", excerpt(field)))?;
    if v.is_finite() {
        Ok(v)
    } else if v.is_nan() || field.to_ascii_lowercase().contains("inf") {
        Err(format!(
            "field {number} is {v}: non-finite values are not allowed"
        ))
    } else {
        Err(format!(
            "field {number} (`{}`) is outside the f32 range",
            excerpt(field)
        ))
    }
}

/// A label: a non-negative integer, also accepted in float form (`3.0`) as NumPy writes it.
fn parse_label(field: &str) -> Option<u32> {
    field.parse::<u32>().ok().or_else(|| {
        let v: f64 = field.parse().ok()?;
        (v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&v)).then_some(v as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let (dir, path) = scratch("points.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn read(text: &str) -> Result<Points> {
        let (_dir, path) = write(text);
        read_points_csv(&path)
    }

    /// The line and message of the parse error `text` must produce.
    fn error(text: &str) -> (Option<usize>, String) {
        match read(text) {
            Err(Error::Parse { line, msg, .. }) => (line, msg),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn reads_without_header() {
        let p = read("1,2\n3,4.5\n").unwrap();
        assert_eq!(
            (p.d, p.data.clone(), p.labels),
            (2, vec![1.0, 2.0, 3.0, 4.5], None)
        );
    }

    #[test]
    fn reads_header_label_column_and_skips_comments() {
        let text = "\u{feff}# made by hand\r\nx, Label ,y\r\n1,0,2\n\n# middle\n3,4.0,-5.5e1\n";
        let p = read(text).unwrap();
        assert_eq!(p.d, 2);
        assert_eq!(p.data, vec![1.0, 2.0, 3.0, -55.0]);
        assert_eq!(p.labels, Some(vec![0, 4]));
        let p = read("a,b,CLASS\n0.5,1,7\n").unwrap();
        assert_eq!((p.data, p.labels), (vec![0.5, 1.0], Some(vec![7])));
        let p = read("x,y\n1,2\n").unwrap();
        assert_eq!(p.labels, None);
    }

    #[test]
    fn errors_name_line_and_problem() {
        for (text, line, problem) in [
            ("1,2,3\n\n4,5\n", 3, "expected 3 fields, found 2"),
            ("x,y\n1,2\n3,abc\n", 3, "field 2 (`abc`) is not a number"),
            (
                "# c\n1,2\n3,NaN\n",
                3,
                "field 2 is NaN: non-finite values are not allowed",
            ),
            (
                "1,2\n-inf,4\n",
                2,
                "field 1 is -inf: non-finite values are not allowed",
            ),
            ("1,2\n3,\n", 2, "field 2 is empty"),
            ("1,2x\n3,4\n", 1, "field 2 (`2x`) is not a number"),
            (
                "1,2\n1e39,4\n",
                2,
                "field 1 (`1e39`) is outside the f32 range",
            ),
            (
                "label,x\n1,2\n-1,2\n",
                3,
                "label `-1` is not a non-negative integer",
            ),
        ] {
            assert_eq!(error(text), (Some(line), problem.into()), "{text:?}");
        }
        assert_eq!(error("x,label\n1,2.5\n").0, Some(2));
        assert_eq!(error("\n# only\nlabel\n1\n").0, Some(3));
        assert_eq!(error("label,x,class\n1,2,3\n").0, Some(1));
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let (_dir, path) = write("");
        std::fs::write(&path, b"x\n1\n\xff2\n").unwrap();
        let err = read_points_csv(&path).unwrap_err();
        assert!(matches!(err, Error::Parse { line: Some(3), .. }), "{err}");
    }

    #[test]
    fn files_without_rows_are_errors() {
        for text in ["", "\n\n", "# nothing\n", "x,y\n"] {
            assert_eq!(error(text), (None, "no data rows".into()), "{text:?}");
        }
    }

    #[test]
    fn round_trip_is_exact() {
        let values = vec![
            0.1,
            -2.5e-7,
            3.0,
            1e10,
            0.333_333_34,
            -0.0,
            f32::MAX,
            f32::MIN_POSITIVE,
        ];
        for labels in [None, Some(vec![1, 0, 2, 3])] {
            let p = Points::new(2, values.clone(), labels).unwrap();
            let (dir, _) = write("");
            let path = dir.path().join("sub/p.csv");
            write_points_csv(&path, &p).unwrap();
            let back = read_points_csv(&path).unwrap();
            assert_eq!(back, p);
            let bits = |q: &Points| q.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&p));
        }
        let text = points_to_csv(&Points::new(1, vec![1.5], Some(vec![2])).unwrap());
        assert_eq!(text, "x0,label\n1.5,2\n");
    }
}
