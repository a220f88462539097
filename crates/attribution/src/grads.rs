//! Per-example gradients g_i = ∇_θ f(z_i; θ) of a scalar output function, flattened in the
//! model's parameter order (the order burn's module visitor walks: for each linear layer its
//! weight `[d_in, d_out]` row-major, then its bias).
//!
//! Two methods, both exact:
//!
//! - [`per_example_loop`]: one backward pass per example, for any burn module and any output
//!   function. The reference, and the path for models whose layers are not an [`Mlp`] (a
//!   `genlab flow train` network).
//! - [`per_example`]: the layer-wise outer-product trick on an [`Mlp`]: one batched forward and
//!   backward pass with zero probes on the pre-activations gives δ_l[i] = ∂f_i/∂z_l[i], and
//!
//!   ```text
//!   ∂f_i/∂W_l = a_{l−1}[i] ⊗ δ_l[i]        ∂f_i/∂b_l = δ_l[i]
//!   ‖g_i‖² = Σ_l (‖a_{l−1}[i]‖² + 1) ‖δ_l[i]‖²
//!   ```
//!
//!   It is the default, by measurement (`genlab bench attribution`, MLP 256→256→10, 2 cores):
//!   12 400 examples/s against 1 070 for the loop (≈ 12×; PyTorch's `vmap(grad)` did 680/s in
//!   the same sitting), and the norm needs no materialised g_i. The tests check it against the
//!   loop to 1e-5.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use genlab_core::tensor::to_vec;

use crate::mlp::Mlp;

/// The gradients of `model`'s parameters in visitor order, flattened (zeros where a parameter
/// received no gradient).
pub fn flatten_grads<M: Module>(model: &M, grads: &GradientsParams) -> Vec<f32> {
    struct Flat<'a> {
        grads: &'a GradientsParams,
        out: Vec<f32>,
    }
    impl ModuleVisitor for Flat<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            match self.grads.get::<D>(param.id) {
                Some(g) => self.out.extend(to_vec(g)),
                None => {
                    let n: usize = param.val().dims().iter().product();
                    self.out.extend(std::iter::repeat_n(0.0, n));
                }
            }
        }
    }
    let mut v = Flat {
        grads,
        out: Vec::new(),
    };
    model.visit(&mut v);
    v.out
}

/// The model's parameters in visitor order, flattened.
pub fn flatten_params<M: Module>(model: &M) -> Vec<f32> {
    struct Flat(Vec<f32>);
    impl ModuleVisitor for Flat {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.extend(to_vec(param.val()));
        }
    }
    let mut v = Flat(Vec::new());
    model.visit(&mut v);
    v.0
}

/// g_i for i in `0..n` by one backward pass each: `f(model, i)` is example i's scalar output.
/// `model` must live on an autodiff device.
pub fn per_example_loop<M: Module>(
    model: &M,
    n: usize,
    mut f: impl FnMut(&M, usize) -> Tensor<1>,
) -> Vec<Vec<f32>> {
    (0..n)
        .map(|i| {
            let grads = GradientsParams::from_grads(f(model, i).backward(), model);
            flatten_grads(model, &grads)
        })
        .collect()
}

/// Per-example gradients of an [`Mlp`], held factored: layer inputs and output gradients.
#[derive(Debug, Clone)]
pub struct LayerGrads {
    /// Number of examples.
    pub n: usize,
    /// Layer widths `[d_in, h_1, …, d_out]`.
    pub sizes: Vec<usize>,
    /// Per layer, the inputs a_{l−1}, `n × d_in(l)` row-major.
    pub a: Vec<Vec<f32>>,
    /// Per layer, δ_l = ∂f_i/∂z_l, `n × d_out(l)` row-major.
    pub delta: Vec<Vec<f32>>,
}

impl LayerGrads {
    /// Parameter count p.
    pub fn dim(&self) -> usize {
        self.sizes.windows(2).map(|w| (w[0] + 1) * w[1]).sum()
    }

    /// ‖g_i‖², from the factors.
    pub fn norm_sq(&self, i: usize) -> f64 {
        let mut total = 0.0;
        for (l, w) in self.sizes.windows(2).enumerate() {
            let a = &self.a[l][i * w[0]..(i + 1) * w[0]];
            let d = &self.delta[l][i * w[1]..(i + 1) * w[1]];
            let sa: f64 = a.iter().map(|v| (*v as f64).powi(2)).sum();
            let sd: f64 = d.iter().map(|v| (*v as f64).powi(2)).sum();
            total += (sa + 1.0) * sd;
        }
        total
    }

    /// `out += scale · g_i` (`out` has length p).
    pub fn add_to(&self, i: usize, scale: f32, out: &mut [f32]) {
        let mut off = 0;
        for (l, w) in self.sizes.windows(2).enumerate() {
            let (di, dout) = (w[0], w[1]);
            let a = &self.a[l][i * di..(i + 1) * di];
            let d = &self.delta[l][i * dout..(i + 1) * dout];
            for (r, &ar) in a.iter().enumerate() {
                let s = scale * ar;
                let row = &mut out[off + r * dout..off + (r + 1) * dout];
                for (o, &dc) in row.iter_mut().zip(d) {
                    *o += s * dc;
                }
            }
            off += di * dout;
            for (o, &dc) in out[off..off + dout].iter_mut().zip(d) {
                *o += scale * dc;
            }
            off += dout;
        }
    }

    /// g_i materialised.
    pub fn example(&self, i: usize) -> Vec<f32> {
        let mut g = vec![0.0; self.dim()];
        self.add_to(i, 1.0, &mut g);
        g
    }
}

/// Per-example gradients of `f` on an [`Mlp`] by the outer-product trick (module doc).
/// `out_fn` maps the network output `[n, d_out]` to the per-example values `[n, 1]`; each
/// value may depend only on its own row. `x` must live on an autodiff device. Returns the
/// factored gradients and the values f_i.
pub fn per_example(
    mlp: &Mlp,
    x: Tensor<2>,
    out_fn: impl FnOnce(Tensor<2>) -> Tensor<2>,
) -> (LayerGrads, Vec<f32>) {
    let [n, _] = x.dims();
    let probed = mlp.forward_probed(x);
    let values = out_fn(probed.out);
    let grads = values.clone().sum().backward();
    let delta = probed
        .probes
        .iter()
        .map(|p| to_vec(p.grad(&grads).expect("probes are tracked")))
        .collect();
    let a = probed
        .inputs
        .into_iter()
        .map(|t| to_vec(t.inner()))
        .collect();
    (
        LayerGrads {
            n,
            sizes: mlp.sizes(),
            a,
            delta,
        },
        to_vec(values.inner()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mlp::Act;
    use burn::tensor::{Device, TensorData};
    use genlab_core::train::SeededRng;

    /// f_i = Σ_j sin(out_ij) · (j + 1): a non-linear output that reads every output unit.
    fn weighted_sin(out: Tensor<2>) -> Tensor<2> {
        let [n, d] = out.dims();
        let w: Vec<f32> = (0..d).map(|j| (j + 1) as f32).collect();
        let w = Tensor::<2>::from_data(TensorData::new(w, [1, d]), &out.device());
        let _ = n;
        (out.sin() * w).sum_dim(1)
    }

    #[test]
    fn outer_product_trick_equals_a_loop_of_single_backward_passes() {
        let device = Device::flex().autodiff();
        let mut rng = SeededRng::new(3);
        for act in [Act::Relu, Act::Silu] {
            let mlp = Mlp::init(&[5, 7, 6, 3], act, &mut rng, &device);
            let (n, d) = (4, 5);
            let xs = rng.normal_vec(n * d);
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [n, d]), &device);
            let (lg, values) = per_example(&mlp, x, weighted_sin);
            let looped = per_example_loop(&mlp, n, |m, i| {
                let xi = Tensor::<2>::from_data(
                    TensorData::new(xs[i * d..(i + 1) * d].to_vec(), [1, d]),
                    &device,
                );
                weighted_sin(m.forward(xi)).sum()
            });
            assert_eq!(lg.dim(), mlp.num_params());
            for (i, g) in looped.iter().enumerate() {
                assert_eq!(g.len(), lg.dim());
                let fast = lg.example(i);
                let err = fast
                    .iter()
                    .zip(g)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(err < 1e-5, "{act:?} example {i}: max error {err}");
                let norm: f64 = g.iter().map(|v| (*v as f64).powi(2)).sum();
                assert!((lg.norm_sq(i) - norm).abs() < 1e-5 * norm.max(1.0));
                assert!(values[i].is_finite());
            }
        }
    }

    #[test]
    fn flattened_params_follow_the_gradient_order() {
        let device = Device::flex();
        let mlp = Mlp::init(&[2, 3, 1], Act::Relu, &mut SeededRng::new(1), &device);
        let p = flatten_params(&mlp);
        assert_eq!(p.len(), mlp.num_params());
        // Layer 0's weight [2, 3] row-major, then its bias.
        let w0 = to_vec(mlp.layers[0].weight.val());
        assert_eq!(&p[..6], &w0[..]);
    }
}
