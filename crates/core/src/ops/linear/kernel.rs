//! The host-slice kernels of the fused linear layer (see the parent module's doc).

use rayon::prelude::*;

use super::Activation;
use crate::ops::gelu::{
    backward_chunk as gelu_backward_chunk, forward_chunk as gelu_chunk, gelu_slice,
};

/// Smallest row block of a blocked GEMM; fewer rows run as one GEMM (threaded inside `gemm`,
/// as burn-flex runs it). Large enough that no block takes one of `gemm`'s small-matrix paths
/// (m·n ≤ 256 or m, n ≤ 64), whose summation order differs.
pub const BLOCK_ROWS: usize = 512;

/// Elements per task of element-wise passes.
const CHUNK: usize = 16 * 1024;

/// burn-flex's rule for threading one GEMM: from 192³ multiply-adds on.
fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    if m.saturating_mul(n).saturating_mul(k) >= 192 * 192 * 192 {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    }
}

/// A strided read-only matrix: element (i, j) at `data[i·rs + j·cs]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rs: isize,
    cs: isize,
}

/// dst (row-major, `m × n`, fully overwritten) = a (`m × k`) · b (`k × n`).
fn gemm_into(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: Mat,
    b: Mat,
    par: gemm::Parallelism,
) {
    assert!(dst.len() >= m * n, "gemm_into: destination too small");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the pointers and strides describe in-bounds matrices of the given shapes (callers
    // pass contiguous buffers of the checked sizes); `read_dst` is false, so the destination's
    // previous contents are never read, and every element is written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.data.as_ptr(),
            a.cs,
            a.rs,
            b.data.as_ptr(),
            b.cs,
            b.rs,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            par,
        );
    }
}

/// A vector of `len` f32 whose contents the caller overwrites completely before reading.
fn uninit(len: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    // SAFETY: f32 has no invalid bit patterns and no drop; every caller writes all `len`
    // elements (a GEMM with read_dst = false, or an element-wise pass) before any read.
    #[allow(clippy::uninit_vec)]
    unsafe {
        v.set_len(len)
    };
    v
}

/// Rows per block for `m` rows (one block below 2·[`BLOCK_ROWS`]).
fn block_rows(m: usize) -> usize {
    let blocks = (m / BLOCK_ROWS).max(1);
    m.div_ceil(blocks).max(1)
}

/// All ones where `y` passes ReLU (y > 0 or NaN: NaN ≤ 0 is false), zero elsewhere: a
/// branch-free select that keeps burn-flex's semantics (NaN kept, −0 and negatives to +0).
#[inline(always)]
fn relu_mask(y: f32) -> u32 {
    ((y <= 0.0) as u32).wrapping_sub(1)
}

/// y = max(0, y) with NaN kept, in place.
#[inline]
fn relu_in_place(y: &mut [f32]) {
    for v in y {
        *v = f32::from_bits(v.to_bits() & relu_mask(*v));
    }
}

/// z += b for each row of z (`rows × n`).
#[inline]
fn add_bias(z: &mut [f32], b: &[f32]) {
    for row in z.chunks_exact_mut(b.len()) {
        for (v, &bias) in row.iter_mut().zip(b) {
            *v += bias;
        }
    }
}

/// The forward on host slices: y = act(x·w + b) for x `m × k` (row-major), w `k × n`, b `n`.
/// Returns Z too when `act` is GELU (its backward needs it).
pub fn forward_slices(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    act: Activation,
) -> (Vec<f32>, Option<Vec<f32>>) {
    assert!(
        x.len() == m * k && w.len() == k * n && b.len() == n,
        "linear: x {} (m {m} × k {k}), w {} (k × n {n}), b {}",
        x.len(),
        w.len(),
        b.len()
    );
    let wm = Mat {
        data: w,
        rs: n as isize,
        cs: 1,
    };
    let rows = block_rows(m);
    let mut z = uninit(m * n);
    let mut y = if act == Activation::Gelu {
        uninit(m * n)
    } else {
        Vec::new()
    };
    if rows >= m || k == 0 {
        // One block: GEMM threaded inside, then the epilogue split in chunks.
        let xm = Mat {
            data: x,
            rs: k as isize,
            cs: 1,
        };
        gemm_into(&mut z, m, n, k, xm, wm, parallelism(m, n, k));
        let chunk = CHUNK.div_ceil(n.max(1)) * n.max(1);
        z.par_chunks_mut(chunk).for_each(|zc| {
            add_bias(zc, b);
            if act == Activation::Relu {
                relu_in_place(zc);
            }
        });
        if act == Activation::Gelu {
            gelu_slice(&z, &mut y);
        }
    } else if n > 0 {
        let epilogue = |zc: &mut [f32], xc: &[f32], yc: Option<&mut [f32]>| {
            let r = zc.len() / n;
            let xm = Mat {
                data: xc,
                rs: k as isize,
                cs: 1,
            };
            gemm_into(zc, r, n, k, xm, wm, gemm::Parallelism::None);
            add_bias(zc, b);
            match (act, yc) {
                (Activation::Relu, _) => relu_in_place(zc),
                (Activation::Gelu, Some(yc)) => gelu_chunk(zc, yc),
                _ => {}
            }
        };
        let (zs, xs) = (z.par_chunks_mut(rows * n), x.par_chunks(rows * k));
        if act == Activation::Gelu {
            zs.zip(xs)
                .zip(y.par_chunks_mut(rows * n))
                .for_each(|((zc, xc), yc)| epilogue(zc, xc, Some(yc)));
        } else {
            zs.zip(xs).for_each(|(zc, xc)| epilogue(zc, xc, None));
        }
    }
    match act {
        Activation::Identity | Activation::Relu => (z, None),
        Activation::Gelu => (y, Some(z)),
    }
}

/// The gradients on host slices. `saved` is Y for ReLU, Z for GELU (unused for identity); dX
/// and dW are computed only when asked for. Returns (dX `m × k`, dW `k × n`, db `n`).
#[allow(clippy::too_many_arguments)]
pub fn backward_slices(
    x: &[f32],
    w: &[f32],
    saved: Option<&[f32]>,
    grad: &[f32],
    m: usize,
    k: usize,
    n: usize,
    act: Activation,
    want_x: bool,
    want_w: bool,
) -> (Option<Vec<f32>>, Option<Vec<f32>>, Vec<f32>) {
    assert!(
        x.len() == m * k && w.len() == k * n && grad.len() == m * n,
        "linear backward: shapes"
    );
    let (owned_dz, db) = dz_and_db(act, saved, grad, m, n);
    let dz: &[f32] = owned_dz.as_deref().unwrap_or(grad);
    let dx = want_x.then(|| {
        // dX = dZ · Wᵀ: Wᵀ is W read with swapped strides.
        let wt = Mat {
            data: w,
            rs: 1,
            cs: n as isize,
        };
        let mut dx = uninit(m * k);
        let rows = block_rows(m);
        if rows >= m || n == 0 {
            let dzm = Mat {
                data: dz,
                rs: n as isize,
                cs: 1,
            };
            gemm_into(&mut dx, m, k, n, dzm, wt, parallelism(m, k, n));
        } else if k > 0 {
            dx.par_chunks_mut(rows * k)
                .zip(dz.par_chunks(rows * n.max(1)))
                .for_each(|(dxc, dzc)| {
                    let r = dxc.len() / k;
                    let dzm = Mat {
                        data: dzc,
                        rs: n as isize,
                        cs: 1,
                    };
                    gemm_into(dxc, r, k, n, dzm, wt, gemm::Parallelism::None);
                });
        }
        dx
    });
    let dw = want_w.then(|| {
        // dW = Xᵀ · dZ: one GEMM over all rows (its depth is the batch).
        let xt = Mat {
            data: x,
            rs: 1,
            cs: k as isize,
        };
        let dzm = Mat {
            data: dz,
            rs: n as isize,
            cs: 1,
        };
        let mut dw = uninit(k * n);
        // Split over the rows of dW (the input features), one block per thread, each block a
        // single-threaded GEMM over the whole depth: no barrier per depth block as inside
        // `gemm`. Blocks keep > 128 rows (and n ≥ 2), so none takes a small-matrix path.
        let blocks = rayon::current_num_threads().min(k / 129);
        if blocks < 2 || n < 2 || matches!(parallelism(k, n, m), gemm::Parallelism::None) {
            gemm_into(&mut dw, k, n, m, xt, dzm, parallelism(k, n, m));
        } else {
            let rows = k.div_ceil(blocks);
            dw.par_chunks_mut(rows * n)
                .enumerate()
                .for_each(|(i, block)| {
                    let xt = Mat {
                        data: &x[i * rows..],
                        ..xt
                    };
                    let r = block.len() / n;
                    gemm_into(block, r, n, m, xt, dzm, gemm::Parallelism::None);
                });
        }
        dw
    });
    (dx, dw, db)
}

/// A pointer the column strips of [`dz_and_db`] write through (disjoint columns).
#[derive(Clone, Copy)]
struct StripPtr(*mut f32);
// SAFETY: each task writes only its own columns of each row (disjoint element ranges).
unsafe impl Send for StripPtr {}
unsafe impl Sync for StripPtr {}

impl StripPtr {
    /// The element `at` (a method, so closures capture the whole `Sync` wrapper).
    fn at(self, at: usize) -> *mut f32 {
        self.0.wrapping_add(at)
    }
}

/// dZ = dY ⊙ act'(·) (None for the identity: dZ is dY) and db = Σ_rows dZ, in one pass.
///
/// db sums each column over the rows in order from zero (burn-flex's order, so the same bits);
/// the pass is split over column strips, one per thread, each streaming its part of every row.
/// The strip boundaries depend on the thread count, the arithmetic of every element does not.
fn dz_and_db(
    act: Activation,
    saved: Option<&[f32]>,
    grad: &[f32],
    m: usize,
    n: usize,
) -> (Option<Vec<f32>>, Vec<f32>) {
    let saved = match act {
        Activation::Identity => &[][..],
        _ => saved.expect("linear backward: activation state"),
    };
    let mut dz = match act {
        Activation::Identity => None,
        _ => Some(uninit(m * n)),
    };
    let mut db = vec![0.0f32; n];
    if n == 0 {
        return (dz, db);
    }
    let threads = if m * n >= 4 * CHUNK {
        rayon::current_num_threads().max(1)
    } else {
        1
    };
    // Strips of whole cache lines (16 floats), one per thread.
    let width = n.div_ceil(threads).div_ceil(16) * 16;
    let out = StripPtr(dz.as_mut().map_or(std::ptr::null_mut(), |d| d.as_mut_ptr()));
    db.par_chunks_mut(width)
        .enumerate()
        .for_each(|(strip, sums)| {
            let c0 = strip * width;
            let w = sums.len();
            for i in 0..m {
                let at = i * n + c0;
                let g = &grad[at..at + w];
                if act == Activation::Identity {
                    for (s, &g) in sums.iter_mut().zip(g) {
                        *s += g;
                    }
                    continue;
                }
                // SAFETY: `out` points at the m × n dZ buffer; this task alone writes columns
                // c0..c0 + w of each row.
                let d = unsafe { std::slice::from_raw_parts_mut(out.at(at), w) };
                let a = &saved[at..at + w];
                if act == Activation::Relu {
                    for ((d, &y), &g) in d.iter_mut().zip(a).zip(g) {
                        *d = f32::from_bits(g.to_bits() & relu_mask(y));
                    }
                } else {
                    gelu_backward_chunk(a, g, d);
                }
                for (s, &d) in sums.iter_mut().zip(d.iter()) {
                    *s += d;
                }
            }
        });
    (dz, db)
}
