//! The 8×8 handwritten digits that scikit-learn ships (UCI "Optical Recognition of Handwritten
//! Digits"): 1,797 images of 64 pixels with integer intensities 0–16, labels 0–9.
//!
//! The gzipped CSV (57 KB, 65 integers per line: the pixels row by row, then the label) is
//! embedded in the binary, so it needs no fetch; its source, checksum and licence are in
//! `crates/core/data/README.md`.

use std::io::Read;

use super::points::Points;

static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Pixels per image (8×8).
const PIXELS: usize = 64;

/// All 1,797 digits: 64 pixels on their original 0–16 scale (as f32), with labels 0–9.
pub fn digits() -> Points {
    // The bytes are a compile-time constant that `shipped_digits_are_complete` parses, so a
    // failure here is a broken build, not bad user input.
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .expect("embedded digits.csv.gz is valid gzip");
    let table = super::csv::parse(&text).expect("embedded digits.csv is a numeric table");
    assert_eq!(
        table.d,
        PIXELS + 1,
        "embedded digits.csv has 64 pixels and a label per row"
    );
    let labels = table.rows().map(|row| row[PIXELS] as u32).collect();
    let data = table
        .rows()
        .flat_map(|row| &row[..PIXELS])
        .copied()
        .collect();
    Points {
        d: PIXELS,
        data,
        labels: Some(labels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn shipped_digits_are_complete() {
        let d = digits();
        assert_eq!((d.len(), d.d), (1797, 64));
        let mut counts = [0usize; 10];
        for &l in d.labels.as_ref().unwrap() {
            counts[l as usize] += 1;
        }
        // scikit-learn's per-class counts.
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert_eq!(counts.iter().sum::<usize>(), 1797);
        assert!(
            d.data
                .iter()
                .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
        );
        assert_eq!(d.data.iter().fold(0.0f32, |a, &b| a.max(b)), 16.0);
        // The first image is a zero: its top row is 0 0 5 13 9 1 0 0.
        assert_eq!(&d.row(0)[..8], &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn readme_records_the_shipped_checksum() {
        let sha = format!("{:x}", Sha256::digest(DIGITS_CSV_GZ));
        let readme = include_str!("../../data/README.md");
        assert!(
            readme.contains(&sha),
            "data/README.md does not list sha256 {sha}"
        );
    }
}
