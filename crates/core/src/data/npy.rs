//! NumPy `.npy` files (format versions 1–3): little-endian `<f4`, `<f8`, `<i4` or `<i8`, C order,
//! 1-D (one column) or 2-D (rows are points). Everything else is refused with a clear error.

use std::path::Path;

use super::points::Points;
use crate::error::{Error, Result};
use crate::fsx;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Reads a 1-D or 2-D `.npy` array as points.
pub fn read_npy(path: &Path) -> Result<Points> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes).map_err(|msg| Error::parse(path, None, msg))
}

fn parse(bytes: &[u8]) -> std::result::Result<Points, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("truncated header")
        .map(String::from_utf8_lossy)?;
    let field = |key: &str| -> std::result::Result<String, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("header lacks '{key}'"))?;
        let rest = header[at + key.len() + 2..]
            .trim_start()
            .trim_start_matches(':')
            .trim_start();
        let end = if rest.starts_with('(') {
            rest.find(')').map(|i| i + 1)
        } else {
            rest.find([',', '}'])
        }
        .ok_or(format!("malformed '{key}'"))?;
        Ok(rest[..end].trim().to_string())
    };
    if field("fortran_order")? != "False" {
        return Err(
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let descr = field("descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    let shape: Vec<usize> = field("shape")?
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad shape entry `{s}`"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let (n, d) = match shape.as_slice() {
        [n] => (*n, 1),
        [n, d] => (*n, *d),
        s => return Err(format!("expected a 1-D or 2-D array, got shape {s:?}")),
    };
    let body = &bytes[start + header_len..];
    let count = n.checked_mul(d).ok_or("shape overflows")?;
    let width = match descr {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        other => {
            return Err(format!(
                "unsupported dtype `{other}` (use float32/float64/int32/int64)"
            ));
        }
    };
    if body.len() < count * width {
        return Err(format!(
            "truncated data: {} bytes for {count} values of {width}",
            body.len()
        ));
    }
    let data = body[..count * width]
        .chunks_exact(width)
        .map(|c| match descr {
            "<f4" => f32::from_le_bytes(c.try_into().expect("4")),
            "<f8" => f64::from_le_bytes(c.try_into().expect("8")) as f32,
            "<i4" => i32::from_le_bytes(c.try_into().expect("4")) as f32,
            _ => i64::from_le_bytes(c.try_into().expect("8")) as f32,
        })
        .collect();
    Points::new(d, data, None).map_err(|e| e.to_string())
}

/// Writes `points` as a 2-D `<f4` `.npy` (version 1), atomically. Labels are not stored.
pub fn write_npy(path: &Path, points: &Points) -> Result<()> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
        points.len(),
        points.d
    );
    // Pad so the data starts on a 64-byte boundary, ending the header with a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * points.data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    points
        .data
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    fsx::atomic_write(path, &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
        let h = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n",
            if fortran { "True" } else { "False" }
        );
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[1, 0]);
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(h.as_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = Points::new(2, vec![1.5, -2.0, 3.25, 4.0, 0.0, 1e-3], None).unwrap();
        write_npy(&dir.path().join("a.npy"), &p).unwrap();
        assert_eq!(read_npy(&dir.path().join("a.npy")).unwrap(), p);
    }

    #[test]
    fn hand_built_f8_and_1d() {
        let body: Vec<u8> = [1.0f64, 2.0, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = parse(&npy("<f8", false, "(3,)", &body)).unwrap();
        assert_eq!((p.d, p.data.clone()), (1, vec![1.0, 2.0, 3.0]));
        let p = parse(&npy("<f8", false, "(1, 3)", &body)).unwrap();
        assert_eq!((p.d, p.len()), (3, 1));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let body = vec![0u8; 16];
        assert!(
            parse(&npy("<f4", true, "(2, 2)", &body))
                .unwrap_err()
                .contains("Fortran")
        );
        assert!(
            parse(&npy("<f4", false, "(3, 2)", &body))
                .unwrap_err()
                .contains("truncated")
        );
        assert!(
            parse(&npy(">f4", false, "(2, 2)", &body))
                .unwrap_err()
                .contains("dtype")
        );
        assert!(
            parse(&npy("<f4", false, "(2, 2, 1)", &body))
                .unwrap_err()
                .contains("2-D")
        );
        assert!(parse(b"hello").unwrap_err().contains("magic"));
        let nan: Vec<u8> = [f32::NAN, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert!(
            parse(&npy("<f4", false, "(2,)", &nan))
                .unwrap_err()
                .contains("not finite")
        );
    }
}
