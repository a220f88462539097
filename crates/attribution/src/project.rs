//! Random projections φ = Pᵀ g, P ∈ R^{p×k}, that never materialise more of P than one block
//! of rows at a time (or all of it when it is small enough to cache).
//!
//! ```text
//! Gaussian     P_rj ~ N(0, 1) / √k
//! Rademacher   P_rj = ±1 / √k
//! SJLT         row r has c non-zeros ±1/√c in columns h_1(r) … h_c(r) (distinct, uniform)
//! E ‖Pᵀg‖² = ‖g‖²  for all three;  JL: P(|‖Pᵀ(g−g')‖² / ‖g−g'‖² − 1| > ε) ≤ 2 exp(−k ε²/8)
//! ```
//!
//! The 1/√k scaling is a choice of ours (TRAK's `BasicProjector` has none): it makes
//! projected distances estimate true ones, and it cancels in every score this crate computes
//! (TRAK's λ is set relative to the kernel's spectrum).
//!
//! **Determinism.** Row r of P comes from its own ChaCha8 stream (seed, stream r), so P does
//! not depend on how rows are grouped into blocks or threads; each example's output is summed
//! over rows in a fixed order (blocks in order; within a block, `matrixmultiply`'s fixed
//! inner blocking, whatever the split of examples or columns between threads), so results are
//! bit-identical at any thread count. Train and query features
//! must share P: a [`Projector`] is fully named by (kind, p, k, seed), which the feature store
//! records in its configuration hash.
//!
//! TRAK's CPU fallback regenerates every block on every call; here a dense P of at most
//! [`CACHE_FLOATS`] entries is generated once per projector and kept, and larger ones are
//! generated block by block once per call (callers batch many examples per call).
//!
//! Measured (`genlab bench attribution` vs `bench/trak_attribution.py`, p = 68 362, k = 1024,
//! 512 examples; idle sitting of 2026-12-05 16:30, before the column split): a regenerated
//! dense P ran at traker's speed (Gaussian 423 vs 440 examples/s at 1 thread, 586 vs 655 at 2;
//! Rademacher 435 vs 280). Where the time went (perf, 1 thread): the GEMM kernel 49%, packing
//! P once per 32-example chunk 22%, generating P 18% (ChaCha8 + ziggurat), page zeroing 6%.
//! One GEMM per block over all examples (split by output columns) removes most of the packing:
//! the dense projection rows ran 1.1–1.25× faster and the whole bench took 15–20% less CPU
//! time (back to back, under load). The SJLT does ≈ 6 000 examples/s at 1 thread, ≈ 14×
//! traker's Gaussian projector: it is the CPU fast path and the default of the CLI.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, check_len};

/// Dense projection matrices up to this many entries (128 MB) are generated once and cached.
pub const CACHE_FLOATS: usize = 32 << 20;
/// Rows of P generated per block.
const BLOCK: usize = 1024;

/// The distribution of P.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind")]
pub enum ProjKind {
    /// i.i.d. normal entries.
    Gaussian,
    /// i.i.d. ±1 entries.
    Rademacher,
    /// Sparse JL transform with `c` non-zeros per row of P.
    Sjlt {
        /// Non-zeros per input coordinate.
        c: usize,
    },
}

impl ProjKind {
    /// Parses `gaussian`, `rademacher`, `sjlt` (c = 4) or `sjlt:C`.
    pub fn parse(s: &str) -> Option<ProjKind> {
        match s {
            "gaussian" => Some(ProjKind::Gaussian),
            "rademacher" => Some(ProjKind::Rademacher),
            "sjlt" => Some(ProjKind::Sjlt { c: 4 }),
            _ => s
                .strip_prefix("sjlt:")
                .and_then(|c| c.parse().ok())
                .filter(|c| *c >= 1)
                .map(|c| ProjKind::Sjlt { c }),
        }
    }
}

/// A seeded projection from R^p to R^k.
#[derive(Debug, Serialize, Deserialize)]
pub struct Projector {
    /// The distribution of P.
    pub kind: ProjKind,
    /// Input dimension p.
    pub p: usize,
    /// Output dimension k.
    pub k: usize,
    /// Seed of P.
    pub seed: u64,
    #[serde(skip)]
    cache: OnceLock<Vec<f32>>,
}

impl Clone for Projector {
    fn clone(&self) -> Self {
        Projector::new(self.kind, self.p, self.k, self.seed)
    }
}

impl PartialEq for Projector {
    fn eq(&self, o: &Self) -> bool {
        (self.kind, self.p, self.k, self.seed) == (o.kind, o.p, o.k, o.seed)
    }
}

impl Projector {
    /// The projector (kind, p, k, seed); for SJLT, c is capped at k.
    pub fn new(kind: ProjKind, p: usize, k: usize, seed: u64) -> Projector {
        let kind = match kind {
            ProjKind::Sjlt { c } => ProjKind::Sjlt {
                c: c.clamp(1, k.max(1)),
            },
            other => other,
        };
        Projector {
            kind,
            p,
            k,
            seed,
            cache: OnceLock::new(),
        }
    }

    fn row_rng(&self, r: usize) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(r as u64);
        rng
    }

    /// Writes rows `start..start + out.len()/k` of a dense P into `out`.
    fn dense_rows(&self, start: usize, out: &mut [f32]) {
        let k = self.k;
        let scale = 1.0 / (k as f32).sqrt();
        out.par_chunks_mut(k).enumerate().for_each(|(j, row)| {
            let mut rng = self.row_rng(start + j);
            match self.kind {
                ProjKind::Gaussian => {
                    for v in row.iter_mut() {
                        let z: f32 = StandardNormal.sample(&mut rng);
                        *v = z * scale;
                    }
                }
                _ => {
                    let mut bits = 0u64;
                    for (t, v) in row.iter_mut().enumerate() {
                        if t % 64 == 0 {
                            bits = rng.random();
                        }
                        *v = if bits >> (t % 64) & 1 == 1 {
                            scale
                        } else {
                            -scale
                        };
                    }
                }
            }
        });
    }

    /// The SJLT's (column, sign) pairs of row r.
    fn sjlt_row(&self, r: usize, c: usize) -> Vec<(usize, f32)> {
        let mut rng = self.row_rng(r);
        let s = 1.0 / (c as f32).sqrt();
        let mut cols: Vec<(usize, f32)> = Vec::with_capacity(c);
        while cols.len() < c {
            let j = rng.random_range(0..self.k);
            if cols.iter().all(|(q, _)| *q != j) {
                let sign = if rng.random::<bool>() { s } else { -s };
                cols.push((j, sign));
            }
        }
        cols
    }

    /// Projects `n` rows of length p (`rows`, row-major) to `n × k`.
    pub fn project(&self, rows: &[f32]) -> Result<Vec<f32>> {
        let (p, k) = (self.p, self.k);
        if p == 0 {
            return Ok(Vec::new());
        }
        check_len("gradient rows (a multiple of p)", 0, rows.len() % p)?;
        let n = rows.len() / p;
        let mut out = vec![0.0f32; n * k];
        match self.kind {
            ProjKind::Sjlt { c } => self.project_sjlt(rows, c, &mut out),
            _ if p * k <= CACHE_FLOATS => {
                let full = self.cache.get_or_init(|| {
                    let mut m = vec![0.0; p * k];
                    self.dense_rows(0, &mut m);
                    m
                });
                gemm_block(rows, p, 0, p, full, k, &mut out);
            }
            _ => {
                let mut block = vec![0.0; BLOCK.min(p) * k];
                for start in (0..p).step_by(BLOCK) {
                    let len = BLOCK.min(p - start);
                    let b = &mut block[..len * k];
                    self.dense_rows(start, b);
                    gemm_block(rows, p, start, len, b, k, &mut out);
                }
            }
        }
        Ok(out)
    }

    fn project_sjlt(&self, rows: &[f32], c: usize, out: &mut [f32]) {
        let (p, k) = (self.p, self.k);
        let table: Vec<(usize, f32)> = (0..p)
            .into_par_iter()
            .flat_map_iter(|r| self.sjlt_row(r, c))
            .collect();
        out.par_chunks_mut(k).enumerate().for_each(|(i, o)| {
            let g = &rows[i * p..(i + 1) * p];
            for (r, &gr) in g.iter().enumerate() {
                if gr != 0.0 {
                    for &(j, s) in &table[r * c..(r + 1) * c] {
                        o[j] += gr * s;
                    }
                }
            }
        });
    }
}

/// Output columns per GEMM task: every thread gets a column range of the output, so the
/// packed block of P is shared by all examples (packing it per chunk of examples cost a
/// quarter of the time). The split leaves each output's sum unchanged (see
/// [`gemm_block`]).
const MIN_COLS: usize = 64;

/// `out[n × k] += rows[:, start..start+len] · block[len × k]`, all `n` examples in one GEMM per
/// range of output columns.
///
/// `matrixmultiply` sums each output over the inner dimension in fixed blocks of its own (the
/// same for any m, n and any column offset), so splitting the columns between threads — or the
/// rows into chunks, as an earlier version did — gives bit-identical results at any thread
/// count (tested against the chunked order).
fn gemm_block(
    rows: &[f32],
    p: usize,
    start: usize,
    len: usize,
    block: &[f32],
    k: usize,
    out: &mut [f32],
) {
    let n = out.len() / k;
    if n == 0 || len == 0 {
        return;
    }
    let tasks = rayon::current_num_threads().clamp(1, k.div_ceil(MIN_COLS).max(1));
    let width = k.div_ceil(tasks);
    let out_ptr = SendPtr(out.as_mut_ptr());
    (0..k.div_ceil(width)).into_par_iter().for_each(|t| {
        let c0 = t * width;
        let cols = width.min(k - c0);
        let o = out_ptr;
        // SAFETY: a = rows[:, start..start+len] is n × len with row stride p; b = the column
        // range c0..c0+cols of block (len × k, row stride k); c = the same column range of out
        // (n × k, row stride k). All in bounds, and the tasks write disjoint column ranges.
        unsafe {
            matrixmultiply::sgemm(
                n,
                len,
                cols,
                1.0,
                rows.as_ptr().add(start),
                p as isize,
                1,
                block.as_ptr().add(c0),
                k as isize,
                1,
                1.0,
                o.0.add(c0),
                k as isize,
                1,
            );
        }
    });
}

/// A raw output pointer the column tasks of [`gemm_block`] share (they write disjoint columns).
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: only used for the disjoint column writes of `gemm_block`.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

/// The earlier order: fixed chunks of examples, one GEMM each (the oracle of the column split).
#[cfg(test)]
fn gemm_block_chunked(
    rows: &[f32],
    p: usize,
    start: usize,
    len: usize,
    block: &[f32],
    k: usize,
    out: &mut [f32],
) {
    const CHUNK: usize = 32;
    out.chunks_mut(CHUNK * k).enumerate().for_each(|(ci, o)| {
        let m = o.len() / k;
        let a = &rows[ci * CHUNK * p + start..];
        // SAFETY: a is m × len with row stride p; block is len × k; o is m × k.
        unsafe {
            matrixmultiply::sgemm(
                m,
                len,
                k,
                1.0,
                a.as_ptr(),
                p as isize,
                1,
                block.as_ptr(),
                k as isize,
                1,
                1.0,
                o.as_mut_ptr(),
                k as isize,
                1,
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    fn dist2(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum()
    }

    /// Pairwise squared distances among 12 points in R^3000 are kept within the JL bound:
    /// with k = 1024 and ε = 0.25 each pair fails with probability ≤ 2 exp(−k ε²/8) ≈ 7e−4,
    /// so all 66 pairs hold unless the projector is wrong.
    #[test]
    fn pairwise_distances_are_preserved_within_the_jl_bound() {
        let (n, p, k, eps) = (12, 3000, 1024, 0.25);
        let mut rng = SeededRng::new(9);
        let x: Vec<f32> = rng.normal_vec(n * p);
        for kind in [
            ProjKind::Gaussian,
            ProjKind::Rademacher,
            ProjKind::Sjlt { c: 4 },
        ] {
            let proj = Projector::new(kind, p, k, 5).project(&x).unwrap();
            for i in 0..n {
                for j in 0..i {
                    let d = dist2(&x[i * p..(i + 1) * p], &x[j * p..(j + 1) * p]);
                    let e = dist2(&proj[i * k..(i + 1) * k], &proj[j * k..(j + 1) * k]);
                    assert!(
                        (e / d - 1.0).abs() < eps,
                        "{kind:?} pair ({i},{j}): {}",
                        e / d
                    );
                }
            }
        }
    }

    #[test]
    fn bit_identical_across_thread_counts_blocks_and_cache() {
        let (n, p, k) = (70, 2500, 64);
        let x = SeededRng::new(1).normal_vec(n * p);
        for kind in [
            ProjKind::Gaussian,
            ProjKind::Rademacher,
            ProjKind::Sjlt { c: 2 },
        ] {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                pool.install(|| Projector::new(kind, p, k, 3).project(&x).unwrap())
            };
            let one = run(1);
            assert_eq!(one, run(3), "{kind:?}");
            // The same P generated block by block (uncached) gives the same numbers.
            let proj = Projector::new(kind, p, k, 3);
            if kind != (ProjKind::Sjlt { c: 2 }) {
                let mut out = vec![0.0; n * k];
                let mut block = vec![0.0; BLOCK * k];
                for start in (0..p).step_by(BLOCK) {
                    let len = BLOCK.min(p - start);
                    proj.dense_rows(start, &mut block[..len * k]);
                    gemm_block(&x, p, start, len, &block[..len * k], k, &mut out);
                }
                let err = out
                    .iter()
                    .zip(&one)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                assert!(err < 1e-4, "{kind:?}: blocked vs cached {err}");
            }
            // Another seed is another P.
            assert_ne!(Projector::new(kind, p, k, 4).project(&x).unwrap(), one);
        }
    }

    /// The column split of `gemm_block` sums every output in the same order as the earlier
    /// fixed chunks of 32 examples: bit-identical, at one thread and at three, for shapes that
    /// leave ragged edges (n not a multiple of 32, k not of the column width).
    #[test]
    fn column_split_gemm_is_bit_identical_to_the_chunked_order() {
        let (n, p, k, start, len) = (70, 700, 200, 37, 555);
        let x = SeededRng::new(4).normal_vec(n * p);
        let block = SeededRng::new(5).normal_vec(len * k);
        let init = SeededRng::new(6).normal_vec(n * k);
        let mut want = init.clone();
        gemm_block_chunked(&x, p, start, len, &block, k, &mut want);
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut got = init.clone();
            pool.install(|| gemm_block(&x, p, start, len, &block, k, &mut got));
            assert_eq!(got, want, "{threads} threads");
        }
        // And both are the product: one entry against a naive f64 sum.
        let (i, j) = (69, 199);
        let naive: f64 = init[i * k + j] as f64
            + (0..len)
                .map(|r| x[i * p + start + r] as f64 * block[r * k + j] as f64)
                .sum::<f64>();
        assert!((want[i * k + j] as f64 - naive).abs() < 1e-3);
    }

    #[test]
    fn matches_the_naive_product_with_the_generated_matrix() {
        let (n, p, k) = (3, 40, 8);
        let x = SeededRng::new(2).normal_vec(n * p);
        let proj = Projector::new(ProjKind::Gaussian, p, k, 7);
        let mut m = vec![0.0; p * k];
        proj.dense_rows(0, &mut m);
        let got = proj.project(&x).unwrap();
        for i in 0..n {
            for j in 0..k {
                let want: f32 = (0..p).map(|r| x[i * p + r] * m[r * k + j]).sum();
                assert!((got[i * k + j] - want).abs() < 1e-4);
            }
        }
        assert_eq!(ProjKind::parse("sjlt:8"), Some(ProjKind::Sjlt { c: 8 }));
        assert!(ProjKind::parse("dense").is_none());
        assert!(proj.project(&x[..p + 1]).is_err());
    }
}
