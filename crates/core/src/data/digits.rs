//! The 8×8 UCI digits that scikit-learn ships (1,797 images, values 0–16, labels 0–9),
//! embedded in the binary (57 KB; provenance and licence in `crates/core/data/README.md`).

use std::io::Read;

use super::points::Points;

static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// All 1,797 digits, 64 pixels on the 0–16 scale, with labels.
pub fn digits() -> Points {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .expect("the embedded digits file is valid gzip (checked by a test)");
    let mut data = Vec::with_capacity(1797 * 64);
    let mut labels = Vec::with_capacity(1797);
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields: Vec<f32> = line
            .split(',')
            .map(|f| f.trim().parse().expect("embedded digits are numeric"))
            .collect();
        data.extend_from_slice(&fields[..64]);
        labels.push(fields[64] as u32);
    }
    Points {
        d: 64,
        data,
        labels: Some(labels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_digits_are_complete() {
        let d = digits();
        assert_eq!((d.len(), d.d), (1797, 64));
        let labels = d.labels.as_ref().unwrap();
        let mut counts = [0usize; 10];
        labels.iter().for_each(|&l| counts[l as usize] += 1);
        // sklearn's documented per-class counts.
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert!(
            d.data
                .iter()
                .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
        );
    }
}
