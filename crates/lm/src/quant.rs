//! ggml storage types and their dequantisation to f32.
//!
//! ```text
//! F32   4 bytes per value
//! F16   2 bytes per value (IEEE binary16)
//! Q4_0  block of 32 = f16 d, 16 bytes of 4-bit q        x = d · (q − 8)           18 bytes
//! Q4_1  block of 32 = f16 d, f16 m, 16 bytes of 4-bit q  x = d · q + m             20 bytes
//! Q8_0  block of 32 = f16 d, 32 × i8 q                   x = d · q                 34 bytes
//! ```
//!
//! Nibble order in the 4-bit blocks: byte j (0 ≤ j < 16) holds element j in its low nibble and
//! element j + 16 in its high nibble (checked against ggml's reference `dequantize_row_q4_0`
//! / `_q4_1`, which write `y[j] = x0·d (+m)` from `qs[j] & 0x0F` and `y[j + qk/2]` from
//! `qs[j] >> 4`). The block scale fields come first, as in ggml's `block_q4_1 { d, m, qs }`.

use rayon::prelude::*;

/// Values per quantisation block.
pub const BLOCK: usize = 32;

/// A ggml tensor storage type this crate can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float (id 0).
    F32,
    /// 16-bit float (id 1).
    F16,
    /// 4-bit, symmetric (id 2).
    Q4_0,
    /// 4-bit with a per-block minimum (id 3).
    Q4_1,
    /// 8-bit, symmetric (id 8).
    Q8_0,
}

impl GgmlType {
    /// The type from its ggml id.
    pub fn from_id(id: u32) -> Result<GgmlType, String> {
        Ok(match id {
            0 => GgmlType::F32,
            1 => GgmlType::F16,
            2 => GgmlType::Q4_0,
            3 => GgmlType::Q4_1,
            8 => GgmlType::Q8_0,
            _ => {
                return Err(format!(
                    "ggml type {id} is not supported (F32, F16, Q4_0, Q4_1, Q8_0)"
                ));
            }
        })
    }

    /// The ggml id.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q8_0 => 8,
        }
    }

    /// (values, bytes) of one storage unit.
    fn unit(self) -> (u64, u64) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 => (1, 2),
            GgmlType::Q4_0 => (BLOCK as u64, 18),
            GgmlType::Q4_1 => (BLOCK as u64, 20),
            GgmlType::Q8_0 => (BLOCK as u64, 34),
        }
    }

    /// Bytes taken by `numel` values (which must fill whole blocks).
    pub fn byte_size(self, numel: u64) -> Result<u64, String> {
        let (values, bytes) = self.unit();
        if !numel.is_multiple_of(values) {
            return Err(format!(
                "{numel} values do not fill whole {self:?} blocks of {values}"
            ));
        }
        (numel / values)
            .checked_mul(bytes)
            .ok_or_else(|| format!("{numel} values are too many"))
    }
}

/// IEEE binary16 → f32 (exact: every half is a float).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1F) as u32;
    let mant = (h & 0x3FF) as u32;
    let bits = match (exp, mant) {
        (0, 0) => sign,
        // Subnormal: mant · 2⁻²⁴, exact in f32.
        (0, m) => {
            let v = m as f32 * f32::powi(2.0, -24);
            return if sign != 0 { -v } else { v };
        }
        (31, 0) => sign | 0x7F80_0000,
        (31, m) => sign | 0x7F80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

fn half(b: &[u8]) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[0], b[1]]))
}

/// Dequantises `numel` values of type `t` from `raw` (exactly `t.byte_size(numel)` bytes).
pub fn dequantize(t: GgmlType, raw: &[u8], numel: usize) -> Result<Vec<f32>, String> {
    let need = t.byte_size(numel as u64)?;
    if raw.len() as u64 != need {
        return Err(format!(
            "{numel} {t:?} values need {need} bytes, got {}",
            raw.len()
        ));
    }
    let (per, bytes) = t.unit();
    let (per, bytes) = (per as usize, bytes as usize);
    let mut out = vec![0.0f32; numel];
    out.par_chunks_mut(per * 1024)
        .zip(raw.par_chunks(bytes * 1024))
        .for_each(|(o, r)| {
            for (y, b) in o.chunks_exact_mut(per).zip(r.chunks_exact(bytes)) {
                decode_unit(t, b, y);
            }
        });
    Ok(out)
}

/// Decodes one storage unit `b` into `y` (1 value, or one block of 32).
fn decode_unit(t: GgmlType, b: &[u8], y: &mut [f32]) {
    match t {
        GgmlType::F32 => y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        GgmlType::F16 => y[0] = half(b),
        GgmlType::Q4_0 => {
            let d = half(&b[0..2]);
            for (j, &q) in b[2..18].iter().enumerate() {
                y[j] = d * ((q & 0x0F) as f32 - 8.0);
                y[j + 16] = d * ((q >> 4) as f32 - 8.0);
            }
        }
        GgmlType::Q4_1 => {
            let (d, m) = (half(&b[0..2]), half(&b[2..4]));
            for (j, &q) in b[4..20].iter().enumerate() {
                y[j] = d * (q & 0x0F) as f32 + m;
                y[j + 16] = d * (q >> 4) as f32 + m;
            }
        }
        GgmlType::Q8_0 => {
            let d = half(&b[0..2]);
            for (j, &q) in b[2..34].iter().enumerate() {
                y[j] = d * (q as i8) as f32;
            }
        }
    }
}

/// f32 values as little-endian F32 bytes.
pub fn encode_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_by_hand() {
        let cases = [
            (0x3C00u16, 1.0f32),
            (0xC000, -2.0),
            (0x3800, 0.5),
            (0x3555, 0.333_251_95),
            (0x7BFF, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x8001, -5.960_464_5e-8),
            (0x03FF, 1023.0 * 5.960_464_5e-8),
            (0x0400, 6.103_515_6e-5),
            (0x0000, 0.0),
        ];
        for (h, v) in cases {
            assert_eq!(f16_to_f32(h), v, "{h:#06x}");
        }
        assert!(f16_to_f32(0x8000).is_sign_negative() && f16_to_f32(0x8000) == 0.0);
        assert_eq!(f16_to_f32(0x7C00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xFC00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7E00).is_nan());
    }

    /// A block of 32 values laid out as `q` 0..16 in the low nibbles, 16..32 in the high ones.
    fn nibbles(q: &[u8; 32]) -> Vec<u8> {
        (0..16).map(|j| q[j] | (q[j + 16] << 4)).collect()
    }

    fn codes() -> [u8; 32] {
        std::array::from_fn(|i| ((i * 7 + 3) % 16) as u8)
    }

    #[test]
    fn q4_0_block_by_hand() {
        // d = 0.5 (0x3800): x = 0.5 · (q − 8).
        let mut b = vec![0x00, 0x38];
        b.extend(nibbles(&codes()));
        let x = dequantize(GgmlType::Q4_0, &b, 32).unwrap();
        for (i, q) in codes().iter().enumerate() {
            assert_eq!(x[i], 0.5 * (*q as f32 - 8.0), "element {i}");
        }
    }

    #[test]
    fn q4_1_block_by_hand() {
        // d = 2 (0x4000), m = −1 (0xBC00): x = 2q − 1.
        let mut b = vec![0x00, 0x40, 0x00, 0xBC];
        b.extend(nibbles(&codes()));
        let x = dequantize(GgmlType::Q4_1, &b, 32).unwrap();
        for (i, q) in codes().iter().enumerate() {
            assert_eq!(x[i], 2.0 * *q as f32 - 1.0, "element {i}");
        }
        // Byte 0 = 0x21: element 0 is 1, element 16 is 2.
        let mut one = vec![0x00, 0x3C, 0x00, 0x00, 0x21];
        one.extend([0u8; 15]);
        let y = dequantize(GgmlType::Q4_1, &one, 32).unwrap();
        assert_eq!((y[0], y[16], y[1]), (1.0, 2.0, 0.0));
    }

    #[test]
    fn q8_0_and_float_blocks_by_hand() {
        // d = 0.25 (0x3400), q = −16..16.
        let mut b = vec![0x00, 0x34];
        b.extend((0..32).map(|i| (i as i8 - 16) as u8));
        let x = dequantize(GgmlType::Q8_0, &b, 32).unwrap();
        assert_eq!(
            x,
            (0..32)
                .map(|i| 0.25 * (i as f32 - 16.0))
                .collect::<Vec<_>>()
        );
        let f = dequantize(GgmlType::F16, &[0x00, 0x3C, 0x00, 0xC0], 2).unwrap();
        assert_eq!(f, vec![1.0, -2.0]);
        let g = dequantize(GgmlType::F32, &encode_f32(&[3.5, -0.0]), 2).unwrap();
        assert_eq!(g, vec![3.5, -0.0]);
    }

    #[test]
    fn many_blocks_decode_independently_and_sizes_are_checked() {
        // 2000 Q8_0 blocks (crosses the parallel chunk boundary): block i has d = 1, q = i mod 100.
        let n = 2000;
        let mut raw = Vec::new();
        for i in 0..n {
            raw.extend([0x00, 0x3C]);
            raw.extend([(i % 100) as u8; 32]);
        }
        let x = dequantize(GgmlType::Q8_0, &raw, n * 32).unwrap();
        for i in 0..n {
            assert!(
                x[i * 32..(i + 1) * 32]
                    .iter()
                    .all(|&v| v == (i % 100) as f32)
            );
        }
        assert!(dequantize(GgmlType::Q8_0, &raw[..raw.len() - 1], n * 32).is_err());
        assert!(GgmlType::Q4_1.byte_size(33).unwrap_err().contains("whole"));
        assert!(GgmlType::from_id(12).unwrap_err().contains("not supported"));
        assert_eq!(GgmlType::Q4_1.byte_size(64), Ok(40));
    }
}
