//! NumPy `.npy` files: the magic `\x93NUMPY`, a format version (1.0, 2.0 or 3.0), the header
//! length (u16 for version 1, u32 after), a Python-dict header such as
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (100, 2), }`, then the raw array.
//!
//! Accepted: little-endian `<f4` and `<f8`, and `<i4` / `<i8` (converted to f32, exact up to
//! 2²⁴), C order, shape `(n,)` (one column) or `(n, d)` (rows are points), n ≥ 1. Refused with a
//! clear message: bad magic, unknown version, a malformed header, Fortran order, any other
//! dtype, other ranks, a truncated file, trailing bytes and non-finite values.
//!
//! [`write_npy`] writes version 1.0, `<f4`, shape `(n, d)`; labels are not stored.

use std::path::Path;

use super::points::Points;
use crate::error::{Error, Result};
use crate::fsx;
use crate::limits::excerpt;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a 1-D or 2-D `.npy` array as points (without labels).
pub fn read_npy(path: &Path) -> Result<Points> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes).map_err(|msg| Error::parse(path, None, msg))
}

/// Writes `points` as a version-1.0 `<f4` array of shape `(n, d)`, atomically. Labels are not
/// stored.
pub fn write_npy(path: &Path, points: &Points) -> Result<()> {
    let dict = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        points.len(),
        points.d
    );
    // NumPy pads the header with spaces and a final newline so the data starts 64-byte aligned.
    let unpadded = MAGIC.len() + 4 + dict.len() + 1;
    let header = format!(
        "{dict}{}\n",
        " ".repeat(unpadded.next_multiple_of(64) - unpadded)
    );
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + 4 * points.data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // The dict is under 100 bytes and the padding under 64, so the length fits in a u16.
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &points.data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fsx::atomic_write(path, &out)
}

/// The element types that can be read, with their byte widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F4,
    F8,
    I4,
    I8,
}

impl Dtype {
    fn from_descr(descr: &str) -> std::result::Result<Self, String> {
        match descr {
            "<f4" => Ok(Dtype::F4),
            "<f8" => Ok(Dtype::F8),
            "<i4" => Ok(Dtype::I4),
            "<i8" => Ok(Dtype::I8),
            other => Err(format!(
                "unsupported dtype `{other}`: expected little-endian <f4, <f8, <i4 or <i8"
            )),
        }
    }

    fn width(self) -> usize {
        match self {
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::F8 | Dtype::I8 => 8,
        }
    }

    /// One element from exactly `width()` little-endian bytes.
    fn decode(self, b: &[u8]) -> f32 {
        let four = || <[u8; 4]>::try_from(b).expect("chunk of width 4");
        let eight = || <[u8; 8]>::try_from(b).expect("chunk of width 8");
        match self {
            Dtype::F4 => f32::from_le_bytes(four()),
            Dtype::F8 => f64::from_le_bytes(eight()) as f32,
            Dtype::I4 => i32::from_le_bytes(four()) as f32,
            Dtype::I8 => i64::from_le_bytes(eight()) as f32,
        }
    }
}

/// Parses a whole `.npy` file.
fn parse(bytes: &[u8]) -> std::result::Result<Points, String> {
    if !bytes.starts_with(MAGIC) {
        return Err("not a .npy file (bad magic: expected \\x93NUMPY)".into());
    }
    let (len_bytes, header_start) = match bytes.get(6) {
        None => return Err("truncated file: no format version".into()),
        Some(1) => (2, 10),
        Some(2 | 3) => (4, 12),
        Some(v) => {
            return Err(format!(
                "unsupported .npy format version {v} (expected 1, 2 or 3)"
            ));
        }
    };
    let len_field = bytes
        .get(8..8 + len_bytes)
        .ok_or("truncated file: no header length")?;
    let header_len = len_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| acc << 8 | b as usize);
    let header = bytes
        .get(header_start..header_start + header_len)
        .ok_or(format!(
            "truncated file: header of {header_len} bytes is cut short"
        ))?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text".to_string())?;
    let Header {
        dtype,
        fortran_order,
        shape,
    } = Header::parse(header)?;
    if fortran_order {
        return Err(
            "Fortran-ordered arrays are not supported; save a C-ordered copy \
             (np.ascontiguousarray)"
                .into(),
        );
    }
    let (n, d) = match shape[..] {
        [n] => (n, 1),
        [n, d] => (n, d),
        _ => {
            return Err(format!(
                "expected a 1-D or 2-D array, found shape {shape:?}"
            ));
        }
    };
    if n == 0 || d == 0 {
        return Err(format!("the array is empty (shape {shape:?})"));
    }
    let expected = n
        .checked_mul(d)
        .and_then(|c| c.checked_mul(dtype.width()))
        .ok_or(format!("shape {shape:?} is too large"))?;
    let body = &bytes[header_start + header_len..];
    if body.len() < expected {
        return Err(format!(
            "truncated file: shape {shape:?} needs {expected} bytes of data, found {}",
            body.len()
        ));
    }
    if body.len() > expected {
        return Err(format!(
            "{} unexpected bytes after the {expected} bytes of data",
            body.len() - expected
        ));
    }
    let data = body
        .chunks_exact(dtype.width())
        .map(|c| dtype.decode(c))
        .collect();
    Points::new(d, data, None).map_err(|e| e.to_string())
}

/// The three fields of a `.npy` header.
#[derive(Debug)]
struct Header {
    dtype: Dtype,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    /// Parses the header dict: exactly the keys `descr`, `fortran_order` and `shape`, each
    /// once, in any order; a trailing comma and surrounding spaces are allowed.
    fn parse(text: &str) -> std::result::Result<Self, String> {
        let bad = |what: String| {
            format!(
                "bad .npy header {}: {what}",
                excerpt(&format!("{:?}", text.trim_end()))
            )
        };
        let mut cur = Cursor(text);
        cur.expect('{').map_err(bad)?;
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        while !cur.eat('}') {
            let key = cur.string().map_err(bad)?;
            cur.expect(':').map_err(bad)?;
            let slot_taken = match key.as_str() {
                "descr" => descr.replace(cur.string().map_err(bad)?).is_some(),
                "fortran_order" => fortran_order.replace(cur.boolean().map_err(bad)?).is_some(),
                "shape" => shape.replace(cur.tuple().map_err(bad)?).is_some(),
                other => {
                    return Err(bad(format!(
                        "unexpected key {}",
                        excerpt(&format!("{other:?}"))
                    )));
                }
            };
            if slot_taken {
                return Err(bad(format!(
                    "key {} appears twice",
                    excerpt(&format!("{key:?}"))
                )));
            }
            if !cur.eat(',') {
                cur.expect('}').map_err(bad)?;
                break;
            }
        }
        if !cur.0.trim().is_empty() {
            return Err(bad("text after the closing `}`".into()));
        }
        let missing = |key: &str| bad(format!("missing '{key}'"));
        Ok(Header {
            dtype: Dtype::from_descr(&descr.ok_or_else(|| missing("descr"))?)?,
            fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }
}

/// The unparsed rest of a header, consumed token by token.
struct Cursor<'a>(&'a str);

impl Cursor<'_> {
    /// Skips spaces and consumes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.0 = self.0.trim_start();
        self.0.strip_prefix(c).map(|rest| self.0 = rest).is_some()
    }

    fn expect(&mut self, c: char) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` at {:?}", self.peek()))
        }
    }

    /// Up to 12 characters of what comes next, for messages.
    fn peek(&self) -> String {
        self.0.chars().take(12).collect()
    }

    /// A single- or double-quoted string without escapes.
    fn string(&mut self) -> std::result::Result<String, String> {
        self.0 = self.0.trim_start();
        let quote = self.0.chars().next().filter(|c| matches!(c, '\'' | '"'));
        let quote =
            quote.ok_or_else(|| format!("expected a quoted string at {:?}", self.peek()))?;
        let end = self.0[1..].find(quote).ok_or("unterminated string")?;
        let s = self.0[1..1 + end].to_string();
        self.0 = &self.0[end + 2..];
        Ok(s)
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        self.0 = self.0.trim_start();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.0.strip_prefix(word) {
                self.0 = rest;
                return Ok(value);
            }
        }
        Err(format!("expected True or False at {:?}", self.peek()))
    }

    /// A tuple of non-negative integers: `()`, `(3,)`, `(3, 2)`.
    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect('(')?;
        let mut items = Vec::new();
        while !self.eat(')') {
            let digits = self
                .0
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(self.0.len());
            let item = self.0[..digits]
                .parse()
                .map_err(|_| format!("expected a size at {:?}", self.peek()))?;
            items.push(item);
            self.0 = &self.0[digits..];
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    /// A version-1 file with the given header dict and body.
    fn npy(dict: &str, body: &[u8]) -> Vec<u8> {
        let header = format!("{dict}\n");
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&(header.len() as u16).to_le_bytes());
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(body);
        v
    }

    fn dict(descr: &str, fortran: &str, shape: &str) -> String {
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}")
    }

    fn le<const N: usize>(values: impl IntoIterator<Item = [u8; N]>) -> Vec<u8> {
        values.into_iter().flatten().collect()
    }

    #[test]
    fn write_then_read_round_trips() {
        let (_dir, path) = scratch("a.npy");
        let p = Points::new(
            2,
            vec![1.5, -2.0, 3.25, 4.0, 0.0, 1e-30],
            Some(vec![0, 1, 2]),
        )
        .unwrap();
        write_npy(&path, &p).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((bytes.len() - 4 * 6) % 64, 0, "data is not 64-byte aligned");
        let back = read_npy(&path).unwrap();
        assert_eq!((back.d, &back.data, back.labels), (2, &p.data, None));
    }

    #[test]
    fn reads_hand_built_f8_in_one_and_two_dimensions() {
        let body = le([1.0f64, 2.5, -3.0].map(f64::to_le_bytes));
        let p = parse(&npy(&dict("<f8", "False", "(3,)"), &body)).unwrap();
        assert_eq!((p.d, p.data), (1, vec![1.0, 2.5, -3.0]));
        let p = parse(&npy(
            "{'shape': (1, 3), 'fortran_order': False, 'descr': \"<f8\"}",
            &body,
        ))
        .unwrap();
        assert_eq!((p.d, p.len()), (3, 1));
    }

    #[test]
    fn converts_integers_and_reads_version_2() {
        let p = parse(&npy(
            &dict("<i8", "False", "(2,)"),
            &le([-4i64, 7].map(i64::to_le_bytes)),
        ));
        assert_eq!(p.unwrap().data, vec![-4.0, 7.0]);
        let body = le([1i32, 2, 3, 4].map(i32::to_le_bytes));
        let mut v2 = npy(&dict("<i4", "False", "(2, 2)"), &body);
        v2[6] = 2;
        let len = u16::from_le_bytes([v2[8], v2[9]]) as u32;
        v2.splice(8..10, len.to_le_bytes());
        assert_eq!(parse(&v2).unwrap().data, vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn fortran_order_is_rejected() {
        let err = parse(&npy(&dict("<f4", "True", "(2, 2)"), &[0; 16])).unwrap_err();
        assert!(err.contains("Fortran-ordered"), "{err}");
    }

    #[test]
    fn truncated_files_are_rejected() {
        let full = npy(&dict("<f4", "False", "(3, 2)"), &[0; 24]);
        for cut in [7, 9, 20, full.len() - 1] {
            let err = parse(&full[..cut]).unwrap_err();
            assert!(err.starts_with("truncated file"), "cut at {cut}: {err}");
        }
        assert!(parse(&full).is_ok());
        let mut long = full.clone();
        long.push(0);
        assert!(parse(&long).unwrap_err().contains("1 unexpected bytes"));
    }

    #[test]
    fn other_malformed_files_are_rejected_clearly() {
        let cases = [
            (b"hello world".to_vec(), "bad magic"),
            (
                npy(&dict(">f4", "False", "(2,)"), &[0; 8]),
                "unsupported dtype `>f4`",
            ),
            (
                npy(&dict("|u1", "False", "(2,)"), &[0; 2]),
                "unsupported dtype",
            ),
            (
                npy(&dict("<f4", "False", "(2, 2, 1)"), &[0; 16]),
                "1-D or 2-D",
            ),
            (npy(&dict("<f4", "False", "()"), &[0; 4]), "1-D or 2-D"),
            (npy(&dict("<f4", "False", "(0, 2)"), &[]), "empty"),
            (
                npy(&dict("<f4", "Maybe", "(2,)"), &[0; 8]),
                "expected True or False",
            ),
            (
                npy("{'descr': '<f4', 'shape': (2,)}", &[0; 8]),
                "missing 'fortran_order'",
            ),
            (
                npy(
                    &dict("<f4", "False", "(2,)").replace("descr", "kind"),
                    &[0; 8],
                ),
                "'kind'",
            ),
            (
                npy(
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,",
                    &[0; 8],
                ),
                "expected",
            ),
            (
                npy(
                    &dict("<f4", "False", "(2,)"),
                    &le([f32::NAN, 1.0].map(f32::to_le_bytes)),
                ),
                "NaN",
            ),
        ];
        for (bytes, expected) in cases {
            let err = parse(&bytes).unwrap_err();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        }
        let mut v9 = npy(&dict("<f4", "False", "(1,)"), &[0; 4]);
        v9[6] = 9;
        assert!(parse(&v9).unwrap_err().contains("version 9"));
    }

    #[test]
    fn read_npy_attaches_the_path() {
        let (_dir, path) = scratch("bad.npy");
        std::fs::write(&path, b"nope").unwrap();
        let err = read_npy(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.npy") && err.contains("bad magic"),
            "{err}"
        );
    }
}
