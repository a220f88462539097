//! A linear layer with its bias and activation fused, forward and backward, as a burn backend
//! extension.
//!
//! ```text
//! forward:   Z = X·W + 1·bᵀ          Y = act(Z)            X: [m, k]  W: [k, n]  b: [n]
//! backward:  dZ = dY ⊙ act'(·)      dX = dZ·Wᵀ      dW = Xᵀ·dZ      db = Σ_rows dZ
//! act ∈ {identity, ReLU, exact GELU};  ReLU' is read from Y (Y > 0), GELU' from Z
//! ```
//!
//! W is stored `[d_input, d_output]`, as burn's `Linear` stores it, so a model keeps its
//! parameters (names, layout, saved files) and only its forward changes.
//!
//! What burn-flex does for `relu(linear(x))` and its gradient: a GEMM into a fresh zero-filled
//! buffer, a broadcast bias add into another, the activation into a third; backward a mask pass,
//! dX and dW GEMMs and a column sum, each its own pass over `[m, n]` with a freshly allocated
//! (zeroed) output. Here:
//! - forward: the rows are cut into blocks of ≥ [`BLOCK_ROWS`]; each block's GEMM (the `gemm`
//!   crate, as burn-flex uses, single-threaded per block) writes into uninitialised memory and
//!   the bias + activation epilogue runs on the block while it is still in cache; blocks run on
//!   the rayon pool — a thread split over the tall dimension, which suits the tall-skinny shapes
//!   of the families (batch 4096 × width 256);
//! - backward: one pass forms dZ and db (split over column strips, each summed over the rows in
//!   order), dX is computed block by block like the forward, dW is one GEMM.
//!
//! **Same numbers as burn.** Every output element is computed with the same operations in the
//! same order as burn-flex's path: the GEMMs are called with the same k (the `gemm` crate picks
//! its depth blocking from k alone, and each output element is one in-order FMA chain per depth
//! block, whatever the row blocking and thread count), the bias is added after the product, ReLU
//! keeps NaN like burn-flex's, GELU runs the kernel of [`crate::ops::gelu`], and db sums the rows
//! in order from zero like burn-flex's column sum. The tests check bit equality against burn's
//! own `Linear` + activation, forward and all three gradients, at 1 and 2 threads.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DType, Flex, backend_extension};
use burn::tensor::{Bytes, Shape, Tensor};
use rayon::prelude::*;

use super::gelu::{backward_chunk as gelu_backward_chunk, forward_chunk as gelu_chunk, gelu_slice};

/// The activation applied after the bias.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Activation {
    /// None: Y = Z.
    #[default]
    Identity,
    /// max(0, z), NaN kept (as burn-flex's ReLU).
    Relu,
    /// Exact (erf) GELU, [`crate::ops::gelu`]'s kernel.
    Gelu,
}

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
        gemm_into(&mut dw, k, n, m, xt, dzm, parallelism(k, n, m));
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

/// The fused layer as a backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait LinearBackend: Backend {
    /// act(x·W + b) for x `[m, k]`, W `[k, n]`, b `[n]`.
    fn linear_act(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self>;
}

/// What the autodiff implementation needs from the inner backend.
pub trait LinearTrain: Backend {
    /// The forward output and the state its backward needs (Y for ReLU, Z for GELU).
    fn linear_act_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>);

    /// (dX, dW, db); dX and dW only when asked for.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn linear_act_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        saved: Option<FloatTensor<Self>>,
        grad: FloatTensor<Self>,
        act: Activation,
        want_x: bool,
        want_w: bool,
    ) -> (
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
    );
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

fn tensor(data: Vec<f32>, shape: [usize; 2]) -> FlexTensor {
    FlexTensor::new(
        Bytes::from_elems(data),
        Layout::contiguous(Shape::new(shape)),
        DType::F32,
    )
}

/// Shapes (m, k, n) of a linear layer, checked.
fn dims(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor) -> (usize, usize, usize) {
    let (xs, ws, bs) = (x.layout().shape(), w.layout().shape(), b.layout().shape());
    assert!(
        xs.num_dims() == 2 && ws.num_dims() == 2 && bs.num_dims() == 1,
        "linear_act: x [m, k], W [k, n], b [n] expected"
    );
    assert!(
        xs[1] == ws[0] && bs[0] == ws[1],
        "linear_act: x {:?}, W {:?}, b {:?} do not fit",
        xs,
        ws,
        bs
    );
    assert!(
        [x, w, b].iter().all(|t| t.dtype() == DType::F32),
        "linear_act: f32 tensors only"
    );
    (xs[0], xs[1], ws[1])
}

impl LinearTrain for Flex {
    fn linear_act_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> (FloatTensor<Self>, Option<FloatTensor<Self>>) {
        let (m, k, n) = dims(&x, &weight, &bias);
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let (y, z) = forward_slices(slice(&x), slice(&weight), slice(&bias), m, k, n, act);
        let y = tensor(y, [m, n]);
        let saved = match act {
            Activation::Identity => None,
            Activation::Relu => Some(y.clone()),
            Activation::Gelu => z.map(|z| tensor(z, [m, n])),
        };
        (y, saved)
    }

    fn linear_act_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        saved: Option<FloatTensor<Self>>,
        grad: FloatTensor<Self>,
        act: Activation,
        want_x: bool,
        want_w: bool,
    ) -> (
        Option<FloatTensor<Self>>,
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
    ) {
        let (xs, ws) = (x.layout().shape().clone(), weight.layout().shape().clone());
        let (m, k, n) = (xs[0], xs[1], ws[1]);
        let (x, weight, grad) = (contiguous(x), contiguous(weight), contiguous(grad));
        let saved = saved.map(contiguous);
        let (dx, dw, db) = backward_slices(
            slice(&x),
            slice(&weight),
            saved.as_ref().map(slice),
            slice(&grad),
            m,
            k,
            n,
            act,
            want_x,
            want_w,
        );
        (
            dx.map(|d| tensor(d, [m, k])),
            dw.map(|d| tensor(d, [k, n])),
            FlexTensor::new(
                Bytes::from_elems(db),
                Layout::contiguous(Shape::new([n])),
                DType::F32,
            ),
        )
    }
}

impl LinearBackend for Flex {
    fn linear_act(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        Flex::linear_act_train(x, weight, bias, act).0
    }
}

impl<B: LinearBackend + LinearTrain, C: CheckpointStrategy> LinearBackend for Autodiff<B, C> {
    fn linear_act(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        act: Activation,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LinearAct;

        impl<B: LinearTrain> Backward<B, 3> for LinearAct {
            #[allow(clippy::type_complexity)]
            type State = (
                B::FloatTensorPrimitive,
                B::FloatTensorPrimitive,
                Option<B::FloatTensorPrimitive>,
                Activation,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_w, node_b] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, w, saved, act) = ops.state;
                let (dx, dw, db) = B::linear_act_backward(
                    x,
                    w,
                    saved,
                    grad,
                    act,
                    node_x.is_some(),
                    node_w.is_some(),
                );
                if let (Some(node), Some(dx)) = (node_x, dx) {
                    grads.register::<B>(node.id, dx);
                }
                if let (Some(node), Some(dw)) = (node_w, dw) {
                    grads.register::<B>(node.id, dw);
                }
                if let Some(node) = node_b {
                    grads.register::<B>(node.id, db);
                }
            }
        }

        match LinearAct
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
                let (y, saved) =
                    B::linear_act_train(xp.clone(), wp.clone(), bias.into_primitive(), act);
                prep.finish((xp, wp, saved, act), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::linear_act(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                act,
            )),
        }
    }
}

/// `act(layer(x))` for a burn [`Linear`](burn::nn::Linear) on a `[batch, d_input]` input: the
/// fused kernel on Flex (with autodiff), burn's `Linear::forward` and activation elsewhere or
/// when the layer has no bias.
pub fn linear(layer: &burn::nn::Linear, x: Tensor<2>, act: Activation) -> Tensor<2> {
    #[cfg(not(feature = "gpu"))]
    if let Some(bias) = &layer.bias {
        return Tensor::from_dispatch(<burn::backend::Dispatch as LinearBackend>::linear_act(
            x.into_dispatch(),
            layer.weight.val().into_dispatch(),
            bias.val().into_dispatch(),
            act,
        ));
    }
    let z = layer.forward(x);
    match act {
        Activation::Identity => z,
        Activation::Relu => burn::tensor::activation::relu(z),
        Activation::Gelu => super::gelu(z),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{max_relative_error, numerical_grad};
    use crate::tensor::to_vec;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, TensorData};

    /// Deterministic values in [−scale, scale).
    fn values(n: usize, salt: usize, scale: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let h = (i.wrapping_mul(2_654_435_761) ^ salt.wrapping_mul(40_503)) % 10_007;
                scale * (2.0 * h as f32 / 10_007.0 - 1.0)
            })
            .collect()
    }

    fn act64(act: Activation, z: f64) -> (f64, f64) {
        match act {
            Activation::Identity => (z, 1.0),
            Activation::Relu => (z.max(0.0), if z > 0.0 { 1.0 } else { 0.0 }),
            Activation::Gelu => {
                // Φ by the f64 erf of libm-free series is overkill here: 1e-4-accurate Φ from
                // a 2000-step Simpson rule of φ on [−8, z] (the test shapes are small).
                let phi = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let a = -8.0f64;
                let steps = 2000;
                let h = (z - a) / steps as f64;
                let mut s = phi(a) + phi(z);
                for i in 1..steps {
                    s += phi(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
                }
                let cdf = if z <= a { 0.0 } else { s * h / 3.0 };
                (z * cdf, cdf + z * phi(z))
            }
        }
    }

    struct Naive {
        y: Vec<f64>,
        dx: Vec<f64>,
        dw: Vec<f64>,
        db: Vec<f64>,
    }

    /// The layer and its gradients by plain f64 loops.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        x: &[f32],
        w: &[f32],
        b: &[f32],
        g: &[f32],
        m: usize,
        k: usize,
        n: usize,
        act: Activation,
    ) -> Naive {
        let mut out = Naive {
            y: vec![0.0; m * n],
            dx: vec![0.0; m * k],
            dw: vec![0.0; k * n],
            db: vec![0.0; n],
        };
        for i in 0..m {
            for j in 0..n {
                let mut z = b[j] as f64;
                for p in 0..k {
                    z += x[i * k + p] as f64 * w[p * n + j] as f64;
                }
                let (y, dy) = act64(act, z);
                out.y[i * n + j] = y;
                let dz = g[i * n + j] as f64 * dy;
                out.db[j] += dz;
                for p in 0..k {
                    out.dx[i * k + p] += dz * w[p * n + j] as f64;
                    out.dw[p * n + j] += dz * x[i * k + p] as f64;
                }
            }
        }
        out
    }

    fn close(name: &str, ours: &[f32], truth: &[f64], tol: f64) {
        assert_eq!(ours.len(), truth.len(), "{name}: length");
        let err = max_relative_error(ours, truth);
        assert!(err < tol, "{name}: max relative error {err:e}");
    }

    const ACTS: [Activation; 3] = [Activation::Identity, Activation::Relu, Activation::Gelu];
    /// Odd shapes, one above the blocking threshold (several row blocks).
    const SHAPES: [(usize, usize, usize); 5] = [
        (1, 1, 1),
        (3, 5, 7),
        (37, 19, 2),
        (130, 35, 65),
        (1100, 9, 3),
    ];

    #[test]
    fn forward_and_gradients_match_a_naive_reference() {
        for act in ACTS {
            for (s, &(m, k, n)) in SHAPES.iter().enumerate() {
                let (x, w, b) = (
                    values(m * k, s, 1.5),
                    values(k * n, s + 7, 0.7),
                    values(n, s + 3, 0.5),
                );
                let g = values(m * n, s + 11, 1.0);
                let truth = naive(&x, &w, &b, &g, m, k, n, act);
                let (y, z) = forward_slices(&x, &w, &b, m, k, n, act);
                let saved = match act {
                    Activation::Identity => None,
                    Activation::Relu => Some(y.as_slice()),
                    Activation::Gelu => z.as_deref(),
                };
                let (dx, dw, db) = backward_slices(&x, &w, saved, &g, m, k, n, act, true, true);
                let tag = format!("{act:?} {m}×{k}×{n}");
                let tol = if act == Activation::Gelu { 2e-4 } else { 1e-5 };
                close(&format!("{tag} y"), &y, &truth.y, tol);
                close(&format!("{tag} dx"), &dx.unwrap(), &truth.dx, tol);
                close(&format!("{tag} dw"), &dw.unwrap(), &truth.dw, tol);
                close(&format!("{tag} db"), &db, &truth.db, tol);
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (m, k, n) = (6, 4, 5);
        for act in [Activation::Identity, Activation::Gelu] {
            let (x, w, b) = (
                values(m * k, 1, 1.0),
                values(k * n, 2, 0.6),
                values(n, 3, 0.3),
            );
            let g = values(m * n, 4, 1.0);
            // L = Σ g ⊙ act(x·w + b), through the kernel itself.
            let loss = |x: &[f32], w: &[f32], b: &[f32]| -> f64 {
                let (y, _) = forward_slices(x, w, b, m, k, n, act);
                y.iter().zip(&g).map(|(&y, &g)| y as f64 * g as f64).sum()
            };
            let (y, z) = forward_slices(&x, &w, &b, m, k, n, act);
            let saved = if act == Activation::Gelu {
                z.as_deref()
            } else {
                Some(y.as_slice())
            };
            let (dx, dw, db) = backward_slices(&x, &w, saved, &g, m, k, n, act, true, true);
            let h = 1e-2;
            let num_x = numerical_grad(|v| loss(v, &w, &b), &x, h);
            let num_w = numerical_grad(|v| loss(&x, v, &b), &w, h);
            let num_b = numerical_grad(|v| loss(&x, &w, v), &b, h);
            for (name, ours, num) in [
                ("dx", dx.unwrap(), num_x),
                ("dw", dw.unwrap(), num_w),
                ("db", db, num_b),
            ] {
                let err = max_relative_error(&ours, &num);
                assert!(
                    err < 2e-3,
                    "{act:?} {name}: finite-difference error {err:e}"
                );
            }
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|f| f.to_bits()).collect()
    }

    /// Forward output and (dX, dW, db) of `act(layer(x))` weighted by `g`, through burn's
    /// `Linear` (`ours` false) or the fused op.
    fn run(ours: bool, act: Activation, m: usize, k: usize, n: usize) -> [Vec<u32>; 4] {
        let device = Device::flex().autodiff();
        device.seed(5);
        let layer = LinearConfig::new(k, n).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(values(m * k, 9, 2.0), [m, k]), &device)
            .require_grad();
        let g = Tensor::<2>::from_data(TensorData::new(values(m * n, 13, 1.0), [m, n]), &device);
        let y = if ours {
            linear(&layer, x.clone(), act)
        } else {
            let z = layer.forward(x.clone());
            match act {
                Activation::Identity => z,
                Activation::Relu => burn::tensor::activation::relu(z),
                Activation::Gelu => crate::ops::gelu(z),
            }
        };
        let grads = (y.clone() * g).sum().backward();
        let dw = layer.weight.val().grad(&grads).map(to_vec).unwrap();
        let db = layer
            .bias
            .as_ref()
            .unwrap()
            .val()
            .grad(&grads)
            .map(to_vec)
            .unwrap();
        let dx = x.grad(&grads).map(to_vec).unwrap();
        [bits(&to_vec(y)), bits(&dx), bits(&dw), bits(&db)]
    }

    fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    }

    /// Bit-equal to burn's own layer (so no result moves), and the same at 1 and 2 threads.
    #[test]
    fn bit_identical_to_burns_linear_at_one_and_two_threads() {
        // Includes blocked shapes (m ≥ 2·BLOCK_ROWS), one large enough for the column-strip
        // split of dZ/db (m·n ≥ 4·CHUNK, two uneven strips at 2 threads), a depth above the
        // GEMM's depth block (k = 1163), and output widths 2 and 1.
        let shapes = [
            (7, 3, 5),
            (256, 35, 256),
            (1100, 33, 2),
            (1537, 64, 45),
            (128, 1163, 96),
            (1030, 20, 1),
        ];
        for act in ACTS {
            for &(m, k, n) in &shapes {
                let one = in_pool(1, || (run(true, act, m, k, n), run(false, act, m, k, n)));
                let two = in_pool(2, || (run(true, act, m, k, n), run(false, act, m, k, n)));
                for (i, part) in ["y", "dx", "dw", "db"].iter().enumerate() {
                    let tag = format!("{act:?} {m}×{k}×{n} {part}");
                    assert!(one.0[i] == one.1[i], "{tag}: differs from burn at 1 thread");
                    assert!(
                        two.0[i] == two.1[i],
                        "{tag}: differs from burn at 2 threads"
                    );
                    assert!(
                        one.0[i] == two.0[i],
                        "{tag}: differs between 1 and 2 threads"
                    );
                }
            }
        }
    }

    #[test]
    fn untracked_and_inference_paths_agree() {
        let (m, k, n) = (40, 12, 9);
        let x = values(m * k, 21, 1.0);
        for device in [Device::flex(), Device::flex().autodiff()] {
            device.seed(2);
            let layer = LinearConfig::new(k, n).init(&device);
            let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [m, k]), &device);
            let ours = to_vec(linear(&layer, xt.clone(), Activation::Relu));
            let theirs = to_vec(burn::tensor::activation::relu(layer.forward(xt)));
            assert_eq!(bits(&ours), bits(&theirs));
        }
    }
}
