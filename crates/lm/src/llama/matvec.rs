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
/// Bytes of one Q8_0 block: f16 d, 32 signed bytes.
const Q8_0_BYTES: usize = 34;

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
    /// Q8_0 blocks, row after row (`cols` is a multiple of 32).
    Q8_0 {
        /// Output rows.
        rows: usize,
        /// Input width.
        cols: usize,
        /// `rows · cols / 32` blocks of 34 bytes.
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
            RowMatrix::Q4_1 { rows, .. }
            | RowMatrix::Q8_0 { rows, .. }
            | RowMatrix::F32 { rows, .. } => *rows,
        }
    }

    /// Input width.
    pub(crate) fn cols(&self) -> usize {
        match self {
            RowMatrix::Q4_1 { cols, .. }
            | RowMatrix::Q8_0 { cols, .. }
            | RowMatrix::F32 { cols, .. } => *cols,
        }
    }

    /// `x [n, cols] · Wᵀ` → `[n, rows]`.
    pub(crate) fn apply(&self, x: &[f32], n: usize) -> Vec<f32> {
        let (rows, cols) = (self.rows(), self.cols());
        debug_assert_eq!(x.len(), n * cols);
        let sums: Vec<f32> = match self {
            RowMatrix::Q4_1 { .. } => x.chunks_exact(BLOCK).map(|b| b.iter().sum()).collect(),
            RowMatrix::Q8_0 { .. } | RowMatrix::F32 { .. } => Vec::new(),
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
                            RowMatrix::Q8_0 { bytes, .. } => {
                                let per_row = cols / BLOCK * Q8_0_BYTES;
                                q8_0_dot(&bytes[o * per_row..(o + 1) * per_row], xr)
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
            return unsafe { x86::q4_1_dot(row, x, sums) };
        }
    }
    q4_1_dot_portable(row, x, sums)
}

/// The same, in plain Rust: 16 partial sums per half-block.
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

/// One Q8_0 row (`x = d · q`, q signed bytes) times `x`.
fn q8_0_dot(row: &[u8], x: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the features the function is compiled for were just detected.
            return unsafe { x86::q8_0_dot(row, x) };
        }
    }
    q8_0_dot_portable(row, x)
}

/// The same, in plain Rust.
fn q8_0_dot_portable(row: &[u8], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (block, xb) in row.chunks_exact(Q8_0_BYTES).zip(x.chunks_exact(BLOCK)) {
        let d = half(u16::from_le_bytes([block[0], block[1]]));
        let mut part = [0.0f32; 8];
        for (j, (&q, &xv)) in block[2..].iter().zip(xb).enumerate() {
            part[j % 8] += q as i8 as f32 * xv;
        }
        for j in 0..8 {
            acc[j] += d * part[j];
        }
    }
    acc.iter().sum()
}

/// AVX2 + FMA kernels (the workspace builds for baseline x86-64; chosen at run time).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{BLOCK, Q4_1_BYTES, Q8_0_BYTES, half};

    /// Eight lanes summed.
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// Eight unsigned bytes (the low 8 of `v`) as floats.
    #[target_feature(enable = "avx2,fma")]
    fn u8x8(v: __m128i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v))
    }

    /// Eight signed bytes (the low 8 of `v`) as floats.
    #[target_feature(enable = "avx2,fma")]
    fn i8x8(v: __m128i) -> __m256 {
        _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))
    }

    /// Per block: nibbles → floats, `Σ q_j x_j` in one 8-lane register, then `d ·` it added to
    /// the row's sum; `m · Σ x` from the precomputed block sums.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn q4_1_dot(row: &[u8], x: &[f32], sums: &[f32]) -> f32 {
        let mask = _mm_set1_epi8(0x0F);
        let mut acc = _mm256_setzero_ps();
        let mut acc_m = 0.0f32;
        for ((block, xb), &s) in row
            .chunks_exact(Q4_1_BYTES)
            .zip(x.chunks_exact(BLOCK))
            .zip(sums)
        {
            let d = half(u16::from_le_bytes([block[0], block[1]]));
            let m = half(u16::from_le_bytes([block[2], block[3]]));
            let qs: &[u8; 16] = block[4..20].try_into().unwrap();
            let xb: &[f32; 32] = xb.try_into().unwrap();
            // SAFETY: unaligned loads of exactly the 16 bytes and 4 × 8 floats borrowed above.
            let (qs, x0, x1, x2, x3) = unsafe {
                (
                    _mm_loadu_si128(qs.as_ptr().cast()),
                    _mm256_loadu_ps(xb.as_ptr()),
                    _mm256_loadu_ps(xb.as_ptr().add(8)),
                    _mm256_loadu_ps(xb.as_ptr().add(16)),
                    _mm256_loadu_ps(xb.as_ptr().add(24)),
                )
            };
            let lo = _mm_and_si128(qs, mask);
            let hi = _mm_and_si128(_mm_srli_epi16(qs, 4), mask);
            let mut b = _mm256_mul_ps(u8x8(lo), x0);
            b = _mm256_fmadd_ps(u8x8(_mm_srli_si128(lo, 8)), x1, b);
            b = _mm256_fmadd_ps(u8x8(hi), x2, b);
            b = _mm256_fmadd_ps(u8x8(_mm_srli_si128(hi, 8)), x3, b);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), b, acc);
            acc_m += m * s;
        }
        hsum(acc) + acc_m
    }

    /// Per block: bytes → floats, `Σ q_j x_j` in one register, `d ·` it added to the sum.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn q8_0_dot(row: &[u8], x: &[f32]) -> f32 {
        let mut acc = _mm256_setzero_ps();
        for (block, xb) in row.chunks_exact(Q8_0_BYTES).zip(x.chunks_exact(BLOCK)) {
            let d = half(u16::from_le_bytes([block[0], block[1]]));
            let qs: &[u8; 32] = block[2..34].try_into().unwrap();
            let xb: &[f32; 32] = xb.try_into().unwrap();
            // SAFETY: unaligned loads of exactly the 32 bytes and 4 × 8 floats borrowed above.
            let (q0, q1, x0, x1, x2, x3) = unsafe {
                (
                    _mm_loadu_si128(qs.as_ptr().cast()),
                    _mm_loadu_si128(qs.as_ptr().add(16).cast()),
                    _mm256_loadu_ps(xb.as_ptr()),
                    _mm256_loadu_ps(xb.as_ptr().add(8)),
                    _mm256_loadu_ps(xb.as_ptr().add(16)),
                    _mm256_loadu_ps(xb.as_ptr().add(24)),
                )
            };
            let mut b = _mm256_mul_ps(i8x8(q0), x0);
            b = _mm256_fmadd_ps(i8x8(_mm_srli_si128(q0, 8)), x1, b);
            b = _mm256_fmadd_ps(i8x8(q1), x2, b);
            b = _mm256_fmadd_ps(i8x8(_mm_srli_si128(q1, 8)), x3, b);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d), b, acc);
        }
        hsum(acc)
    }
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

    /// Random blocks of `t` (20 or 34 bytes) with small finite f16 scales.
    fn random_blocks(t: GgmlType, rows: usize, cols: usize, seed: u64) -> Vec<u8> {
        let size = if t == GgmlType::Q4_1 {
            Q4_1_BYTES
        } else {
            Q8_0_BYTES
        };
        let mut rng = SeededRng::new(seed);
        let u = rng.uniform_vec(rows * cols / BLOCK * size);
        let mut bytes: Vec<u8> = u.iter().map(|v| (v * 256.0) as u8).collect();
        for b in bytes.chunks_exact_mut(size) {
            // d ≈ +2⁻⁷ and (Q4_1) m ≈ −2⁻⁷: f16 high bytes 0x20.. and 0xA0...
            b[1] = 0x20 | (b[1] & 0x07);
            if t == GgmlType::Q4_1 {
                b[3] = 0xA0 | (b[3] & 0x07);
            }
        }
        bytes
    }

    #[test]
    fn quantised_rows_match_the_dequantised_product() {
        let (rows, cols) = (37, 96);
        let mut rng = SeededRng::new(2);
        for t in [GgmlType::Q4_1, GgmlType::Q8_0] {
            let bytes = random_blocks(t, rows, cols, 1);
            let w = dequantize(t, &bytes, rows * cols).unwrap();
            let q = match t {
                GgmlType::Q4_1 => RowMatrix::Q4_1 {
                    rows,
                    cols,
                    bytes: bytes.clone(),
                },
                _ => RowMatrix::Q8_0 {
                    rows,
                    cols,
                    bytes: bytes.clone(),
                },
            };
            let f = RowMatrix::F32 {
                rows,
                cols,
                values: w.clone(),
            };
            for n in [1, 3] {
                let x = rng.normal_vec(n * cols);
                let (yq, yf) = (q.apply(&x, n), f.apply(&x, n));
                for r in 0..n {
                    let xr = &x[r * cols..(r + 1) * cols];
                    let sums: Vec<f32> = xr.chunks(BLOCK).map(|b| b.iter().sum()).collect();
                    for o in 0..rows {
                        let wo = &w[o * cols..(o + 1) * cols];
                        let want: f64 = wo.iter().zip(xr).map(|(a, b)| *a as f64 * *b as f64).sum();
                        let scale: f64 = wo
                            .iter()
                            .zip(xr)
                            .map(|(a, b)| (*a as f64 * *b as f64).abs())
                            .sum();
                        let per_row = if t == GgmlType::Q4_1 {
                            Q4_1_BYTES
                        } else {
                            Q8_0_BYTES
                        } * cols
                            / BLOCK;
                        let row = &bytes[o * per_row..(o + 1) * per_row];
                        let portable = match t {
                            GgmlType::Q4_1 => q4_1_dot_portable(row, xr, &sums),
                            _ => q8_0_dot_portable(row, xr),
                        };
                        for y in [yq[r * rows + o], yf[r * rows + o], portable] {
                            assert!(
                                (y as f64 - want).abs() <= 1e-5 * scale.max(1.0),
                                "{t:?} row {r} out {o}: {y} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
