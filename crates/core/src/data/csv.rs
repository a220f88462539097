//! Points as CSV: comma-separated numbers, one point per line.
//!
//! Accepted: an optional header line (recognised by a non-numeric field); a column named
//! `label` or `class` (case-insensitive, non-negative integers) becomes the labels; blank lines
//! and lines starting with `#` are skipped. Rejected, with the line number: a wrong field
//! count, a field that is not a number, and NaN or infinite values.

use std::path::Path;

use super::points::Points;
use crate::error::{Error, Result};
use crate::fsx;

/// Reads a points CSV.
pub fn read_points_csv(path: &Path) -> Result<Points> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&text).map_err(|(line, msg)| Error::parse(path, line, msg))
}

/// Parses CSV text; errors carry the 1-based line number.
fn parse(text: &str) -> std::result::Result<Points, (Option<usize>, String)> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    let mut label_col = None;
    let mut width = None;
    if let Some(&(_, first)) = lines.peek() {
        let fields: Vec<&str> = first.split(',').map(str::trim).collect();
        if fields.iter().any(|f| f.parse::<f64>().is_err()) {
            label_col = fields.iter().position(|f| {
                let f = f.to_ascii_lowercase();
                f == "label" || f == "class"
            });
            width = Some(fields.len());
            lines.next();
        }
    }
    let mut data = Vec::new();
    let mut labels = Vec::new();
    for (no, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let expected = *width.get_or_insert(fields.len());
        if fields.len() != expected {
            return Err((Some(no), format!("expected {expected} fields, found {}", fields.len())));
        }
        for (j, f) in fields.iter().enumerate() {
            if Some(j) == label_col {
                let l: u32 = f.parse().map_err(|_| {
                    (Some(no), format!("label `{f}` is not a non-negative integer"))
                })?;
                labels.push(l);
                continue;
            }
            let v: f32 = f
                .parse()
                .map_err(|_| (Some(no), format!("field {} (`{f}`) is not a number", j + 1)))?;
            if !v.is_finite() {
                return Err((
                    Some(no),
                    format!("field {} is {v}: non-finite values are not allowed", j + 1),
                ));
            }
            data.push(v);
        }
    }
    let d = width.unwrap_or(0) - usize::from(label_col.is_some());
    if data.is_empty() || d == 0 {
        return Err((None, "no data rows".to_string()));
    }
    let labels = label_col.map(|_| labels);
    Points::new(d, data, labels).map_err(|e| (None, e.to_string()))
}

/// The CSV text of `points` (header `x0,x1,…[,label]`; shortest round-tripping f32 digits).
pub fn points_to_csv(points: &Points) -> String {
    let mut s: Vec<String> = (0..points.d).map(|j| format!("x{j}")).collect();
    if points.labels.is_some() {
        s.push("label".into());
    }
    let mut out = s.join(",");
    out.push('\n');
    for (i, row) in points.rows().enumerate() {
        let mut fields: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        if let Some(l) = &points.labels {
            fields.push(l[i].to_string());
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Writes `points` as CSV, atomically.
pub fn write_points_csv(path: &Path, points: &Points) -> Result<()> {
    fsx::atomic_write(path, points_to_csv(points).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_line(text: &str) -> Option<usize> {
        parse(text).unwrap_err().0
    }

    #[test]
    fn header_labels_and_comments() {
        let p = parse("# made by hand\nx,Label,y\n1,0,2\n\n3,4,5.5\n").unwrap();
        assert_eq!(p.d, 2);
        assert_eq!(p.data, vec![1.0, 2.0, 3.0, 5.5]);
        assert_eq!(p.labels, Some(vec![0, 4]));
        let q = parse("1,2\n3,4\n").unwrap();
        assert_eq!((q.d, q.len(), q.labels), (2, 2, None));
    }

    #[test]
    fn errors_name_their_line() {
        assert_eq!(err_line("1,2\n3\n"), Some(2));
        assert_eq!(err_line("a,b\n1,2\n3,x\n"), Some(3));
        assert_eq!(err_line("1,2\nNaN,4\n"), Some(2));
        assert_eq!(err_line("1,2\n3,inf\n"), Some(2));
        assert_eq!(err_line("label,x\n-1,2\n"), Some(2));
        assert!(parse("").is_err());
        assert!(parse("x,y\n").is_err());
        let msg = parse("1,2\nNaN,4\n").unwrap_err().1;
        assert!(msg.contains("NaN"), "{msg}");
    }

    #[test]
    fn round_trip_is_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = Points::new(3, vec![0.1, -2.5e-7, 3.0, 1e10, 0.333_333_34, -0.0], Some(vec![1, 2]))
            .unwrap();
        let path = dir.path().join("p.csv");
        write_points_csv(&path, &p).unwrap();
        assert_eq!(read_points_csv(&path).unwrap(), p);
    }
}
