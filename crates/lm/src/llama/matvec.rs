//! Linear maps for a few rows at a time (decode), straight from the file's storage.
//!
//! ```text
//! y_o = Σ_i W[o, i] x_i                               W stored row-major [out, in], rows = outputs
//! Q4_1 block b of row o:  W[o, 32b + j] = d_b q_j + m_b
//!   ⇒ Σ_j W[o, 32b + j] x_{32b+j} = d_b (Σ_j q_j x_{32b+j}) + m_b (Σ_j x_{32b+j})
//! ```
//!
//! One token of decode reads every weight once, so its speed is the memory traffic: a Q4_1
//! weight is 0.625 bytes against 4 for the dequantised f32 copy the batched forward pass uses.
//! The block sums `Σ_j x_{32b+j}` are made once per input row; each output row is one task-free
//! loop (rows are split over threads in contiguous chunks), so the sum order of a row never
//! depends on the thread count. Weights of any other type are kept as f32 rows.

use rayon::prelude::*;

use crate::quant::BLOCK;

/// Bytes of one Q4_1 block: f16 d, f16 m, 16 bytes of nibbles.
const Q4_1_BYTES: usize = 20;

/// A `[rows, cols]` matrix (rows = outputs) in the storage a few-row product reads fastest.
#[derive(Debug, Clone)]
pub(crate) enum RowMatrix {
    /// Q4_1 blocks, row after row (`cols` is a multiple of 32).
    Q4_1 {
        /// Output rows.
        rows: usize,
        /// Input width.
        cols: usize,
        /// `rows · cols / 32` blocks of 20 bytes.
        bytes: Vec<u8>,
    },
    /// Plain f32 rows.
    F32 {
        /// Output rows.
        rows: usize,
        /// Input width.
        cols: usize,
        /// `rows · cols` values.
        values: Vec<f32>,
    },
}

impl RowMatrix {
    /// Output rows.
    pub(crate) fn rows(&self) -> usize {
        match self {
            RowMatrix::Q4_1 { rows, .. } | RowMatrix::F32 { rows, .. } => *rows,
        }
    }

    /// Input width.
    pub(crate) fn cols(&self) -> usize {
        match self {
            RowMatrix::Q4_1 { cols, .. } | RowMatrix::F32 { cols, .. } => *cols,
        }
    }

    /// `x [n, cols] · Wᵀ` → `[n, rows]`.
    pub(crate) fn apply(&self, x: &[f32], n: usize) -> Vec<f32> {
        let (rows, cols) = (self.rows(), self.cols());
        debug_assert_eq!(x.len(), n * cols);
        let sums: Vec<f32> = match self {
            RowMatrix::Q4_1 { .. } => x.chunks_exact(BLOCK).map(|b| b.iter().sum()).collect(),
            RowMatrix::F32 { .. } => Vec::new(),
        };
        // Output-major: `yt[o · n + r]`, so that each task owns whole outputs of every row.
        let mut yt = vec![0.0f32; rows * n];
        let chunk = rows.div_ceil(4 * rayon::current_num_threads()).max(16);
        yt.par_chunks_mut(chunk * n)
            .enumerate()
            .for_each(|(c, out)| {
                let first = c * chunk;
                for (i, y) in out.chunks_exact_mut(n).enumerate() {
                    let o = first + i;
                    for (r, y) in y.iter_mut().enumerate() {
                        let xr = &x[r * cols..(r + 1) * cols];
                        *y = match self {
                            RowMatrix::Q4_1 { bytes, .. } => {
                                let per_row = cols / BLOCK * Q4_1_BYTES;
                                let sr = &sums[r * cols / BLOCK..(r + 1) * cols / BLOCK];
                                q4_1_dot(&bytes[o * per_row..(o + 1) * per_row], xr, sr)
                            }
                            RowMatrix::F32 { values, .. } => {
                                super::kernels::dot(&values[o * cols..(o + 1) * cols], xr)
                            }
                        };
                    }
                }
            });
        if n == 1 {
            return yt;
        }
        let mut y = vec![0.0f32; n * rows];
        for (o, col) in yt.chunks_exact(n).enumerate() {
            for (r, v) in col.iter().enumerate() {
                y[r * rows + o] = *v;
            }
        }
        y
    }
}

/// One Q4_1 row times `x`, given the block sums of `x`.
fn q4_1_dot(row: &[u8], x: &[f32], sums: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for were just detected.
            return unsafe { q4_1_dot_avx2(row, x, sums) };
        }
    }
    q4_1_dot_portable(row, x, sums)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn q4_1_dot_avx2(row: &[u8], x: &[f32], sums: &[f32]) -> f32 {
    q4_1_dot_portable(row, x, sums)
}

/// Sixteen independent partial sums per half-block, so that the loop vectorises.
#[inline(always)]
fn q4_1_dot_portable(row: &[u8], x: &[f32], sums: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    for ((block, xb), &s) in row
        .chunks_exact(Q4_1_BYTES)
        .zip(x.chunks_exact(BLOCK))
        .zip(sums)
    {
        let d = half(u16::from_le_bytes([block[0], block[1]]));
        let m = half(u16::from_le_bytes([block[2], block[3]]));
        let qs = &block[4..20];
        let (lo, hi) = xb.split_at(16);
        let mut part = [0.0f32; 16];
        for j in 0..16 {
            part[j] = (qs[j] & 0x0F) as f32 * lo[j] + (qs[j] >> 4) as f32 * hi[j];
        }
        for j in 0..16 {
            acc[j] += d * part[j];
        }
        acc[0] += m * s;
    }
    acc.iter().sum()
}

/// IEEE binary16 → f32 without branches, exact for every finite half (zero and subnormals
/// included): the magnitude bits moved into an f32's place and scaled by 2¹¹². (Infinities and
/// NaNs come out finite; weights are checked finite at load.)
#[inline(always)]
fn half(h: u16) -> f32 {
    let magnitude = f32::from_bits(((h & 0x7FFF) as u32) << 13) * f32::from_bits(0x7780_0000);
    f32::from_bits(magnitude.to_bits() | (((h & 0x8000) as u32) << 16))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::{GgmlType, dequantize};
    use genlab_core::train::SeededRng;

    /// Random Q4_1 bytes with finite f16 scales.
    fn random_q4_1(rows: usize, cols: usize, seed: u64) -> Vec<u8> {
        let mut rng = SeededRng::new(seed);
        let u = rng.uniform_vec(rows * cols / BLOCK * Q4_1_BYTES);
        let mut bytes: Vec<u8> = u.iter().map(|v| (v * 256.0) as u8).collect();
        for b in bytes.chunks_exact_mut(Q4_1_BYTES) {
            // d ∈ small positive, m ∈ small negative: f16 0x2000-ish and 0xA000-ish.
            b[1] = 0x20 | (b[1] & 0x07);
            b[3] = 0xA0 | (b[3] & 0x07);
        }
        bytes
    }

    #[test]
    fn half_conversion_is_exact_for_every_finite_half() {
        for h in 0..=u16::MAX {
            let want = crate::quant::f16_to_f32(h);
            if want.is_finite() {
                assert_eq!(half(h).to_bits(), want.to_bits(), "{h:#06x}");
            }
        }
    }

    #[test]
    fn q4_1_rows_match_the_dequantised_product() {
        let (rows, cols) = (37, 96);
        let bytes = random_q4_1(rows, cols, 1);
        let w = dequantize(GgmlType::Q4_1, &bytes, rows * cols).unwrap();
        let mut rng = SeededRng::new(2);
        for n in [1, 3] {
            let x = rng.normal_vec(n * cols);
            let q = RowMatrix::Q4_1 {
                rows,
                cols,
                bytes: bytes.clone(),
            };
            let f = RowMatrix::F32 {
                rows,
                cols,
                values: w.clone(),
            };
            let (yq, yf) = (q.apply(&x, n), f.apply(&x, n));
            for r in 0..n {
                for o in 0..rows {
                    let want: f64 = (0..cols)
                        .map(|i| w[o * cols + i] as f64 * x[r * cols + i] as f64)
                        .sum();
                    let scale: f64 = (0..cols)
                        .map(|i| (w[o * cols + i] as f64 * x[r * cols + i] as f64).abs())
                        .sum();
                    for y in [yq[r * rows + o], yf[r * rows + o]] {
                        assert!(
                            (y as f64 - want).abs() <= 1e-5 * scale.max(1.0),
                            "row {r} out {o}: {y} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
