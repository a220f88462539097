//! IDX files, the container of MNIST and Fashion-MNIST: a 4-byte magic `0x00 0x00 TYPE NDIMS`,
//! NDIMS big-endian u32 sizes (outermost first), then the values in row-major order.
//!
//! Accepted: element type 0x08 (unsigned bytes, magic 0x00000801 for labels, 0x00000803 for
//! images, and any other rank ≥ 1), optionally gzip-compressed (recognised by the gzip magic
//! `1f 8b`, whatever the file name). Refused with a clear message: a bad magic, the other IDX
//! element types (0x09 signed byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double), a truncated
//! header, and data whose length differs from the product of the sizes.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::limits::excerpt;

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// Sizes, outermost first (e.g. `[60000, 28, 28]` for 60,000 images of 28×28).
    pub dims: Vec<usize>,
    /// The values in row-major order; `len` is the product of `dims`.
    pub data: Vec<u8>,
}

/// Reads an unsigned-byte IDX file, decompressing it first if it is gzipped.
pub fn read_idx(path: &Path) -> Result<Idx> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(GZIP_MAGIC) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::parse(path, None, format!("corrupt gzip data: {e}")))?;
        out
    } else {
        raw
    };
    parse(bytes).map_err(|msg| Error::parse(path, None, msg))
}

/// Parses decompressed IDX bytes.
fn parse(mut bytes: Vec<u8>) -> std::result::Result<Idx, String> {
    let [0, 0, kind, ndims, ..] = bytes[..] else {
        return Err("not an IDX file (bad magic: expected 00 00 TYPE NDIMS)".into());
    };
    if kind != 0x08 {
        return Err(format!(
            "IDX element type 0x{kind:02x} is not supported (only 0x08, unsigned bytes)"
        ));
    }
    if ndims == 0 {
        return Err("IDX file declares no dimensions".into());
    }
    let header_len = 4 + 4 * ndims as usize;
    let sizes = bytes.get(4..header_len).ok_or(format!(
        "truncated IDX header: {ndims} dimensions need {header_len} bytes, file has {}",
        bytes.len()
    ))?;
    let dims: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n))
        .ok_or(format!(
            "IDX sizes {} overflow",
            excerpt(&format!("{dims:?}"))
        ))?;
    let found = bytes.len() - header_len;
    if found != expected {
        return Err(format!(
            "IDX sizes {} need {expected} bytes of data, found {found}",
            excerpt(&format!("{dims:?}"))
        ));
    }
    bytes.drain(..header_len);
    Ok(Idx { dims, data: bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scratch;
    use std::io::Write;

    /// A 2×3 unsigned-byte array.
    fn tiny() -> Vec<u8> {
        let mut v = vec![0, 0, 0x08, 2];
        v.extend_from_slice(&2u32.to_be_bytes());
        v.extend_from_slice(&3u32.to_be_bytes());
        v.extend_from_slice(&[1, 2, 3, 4, 5, 255]);
        v
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn reads_raw_and_gzipped_files() {
        let dir = tempfile::tempdir().unwrap();
        let expected = Idx {
            dims: vec![2, 3],
            data: vec![1, 2, 3, 4, 5, 255],
        };
        for (name, bytes) in [("a-idx2-ubyte", tiny()), ("a-idx2-ubyte.gz", gzip(&tiny()))] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(read_idx(&path).unwrap(), expected, "{name}");
        }
    }

    #[test]
    fn rejects_a_length_mismatch() {
        let mut short = tiny();
        short.pop();
        assert_eq!(
            parse(short).unwrap_err(),
            "IDX sizes [2, 3] need 6 bytes of data, found 5"
        );
        let mut long = tiny();
        long.push(0);
        assert!(parse(long).unwrap_err().contains("found 7"));
    }

    #[test]
    fn rejects_other_types_and_broken_headers() {
        let mut float = tiny();
        float[2] = 0x0d;
        assert!(parse(float).unwrap_err().contains("0x0d is not supported"));
        assert!(
            parse(b"PK\x03\x04".to_vec())
                .unwrap_err()
                .contains("bad magic")
        );
        assert!(parse(vec![0, 0, 8]).unwrap_err().contains("bad magic"));
        assert!(
            parse(vec![0, 0, 8, 0])
                .unwrap_err()
                .contains("no dimensions")
        );
        assert!(
            parse(tiny()[..9].to_vec())
                .unwrap_err()
                .contains("truncated IDX header")
        );
    }

    #[test]
    fn corrupt_gzip_names_the_file() {
        let (_dir, path) = scratch("broken.gz");
        let mut bytes = gzip(&tiny());
        bytes.truncate(bytes.len() / 2);
        std::fs::write(&path, bytes).unwrap();
        let err = read_idx(&path).unwrap_err().to_string();
        assert!(
            err.contains("broken.gz") && err.contains("corrupt gzip"),
            "{err}"
        );
    }
}
