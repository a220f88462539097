//! IDX files (the MNIST / Fashion-MNIST container): a 4-byte magic `0 0 type ndims`, `ndims`
//! big-endian u32 sizes, then the data. Only unsigned bytes (type 0x08) occur in these
//! datasets and only they are accepted. Gzipped files are decompressed transparently.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// Sizes, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// Values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file, gzipped or not.
pub fn read_idx(path: &Path) -> Result<Idx> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| Error::parse(path, None, format!("bad gzip data: {e}")))?;
        out
    } else {
        raw
    };
    parse(&bytes).map_err(|msg| Error::parse(path, None, msg))
}

fn parse(bytes: &[u8]) -> std::result::Result<Idx, String> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err("not an IDX file (bad magic)".into());
    }
    if bytes[2] != 0x08 {
        return Err(format!(
            "IDX element type 0x{:02x} is not supported (only unsigned bytes)",
            bytes[2]
        ));
    }
    let ndims = bytes[3] as usize;
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err("truncated IDX header".into());
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")) as usize)
        .collect();
    let count: usize = dims.iter().product();
    let data = &bytes[header..];
    if data.len() != count {
        return Err(format!(
            "IDX dims {dims:?} need {count} bytes of data, found {}",
            data.len()
        ));
    }
    Ok(Idx {
        dims,
        data: data.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tiny() -> Vec<u8> {
        let mut v = vec![0, 0, 8, 2];
        v.extend_from_slice(&2u32.to_be_bytes());
        v.extend_from_slice(&3u32.to_be_bytes());
        v.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        v
    }

    #[test]
    fn reads_raw_and_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("a.idx");
        std::fs::write(&raw, tiny()).unwrap();
        let gz = dir.path().join("a.idx.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&tiny()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let expected = Idx {
            dims: vec![2, 3],
            data: vec![1, 2, 3, 4, 5, 6],
        };
        assert_eq!(read_idx(&raw).unwrap(), expected);
        assert_eq!(read_idx(&gz).unwrap(), expected);
    }

    #[test]
    fn rejects_bad_files() {
        let mut short = tiny();
        short.pop();
        assert!(parse(&short).unwrap_err().contains("need 6 bytes"));
        let mut wrong_type = tiny();
        wrong_type[2] = 0x0d;
        assert!(parse(&wrong_type).unwrap_err().contains("not supported"));
        assert!(parse(b"PK").is_err());
    }
}
