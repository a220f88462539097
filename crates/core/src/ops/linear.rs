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
//!   order), dX is computed block by block like the forward, dW is split over its rows (one
//!   single-threaded GEMM over the whole batch per block, instead of `gemm`'s own split with a
//!   barrier per depth block).
//!
//! The host-slice kernels are in `kernel.rs`, the tests in `tests.rs`.
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

mod kernel;

pub use kernel::{BLOCK_ROWS, backward_slices, forward_slices};

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
mod tests;
