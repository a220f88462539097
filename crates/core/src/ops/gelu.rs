//! Exact GELU, vectorised, as a burn backend extension (forward and backward).
//!
//! ```text
//! GELU(x)  = x Φ(x),            Φ(x) = ½ erfc(−x/√2)
//! GELU'(x) = Φ(x) + x φ(x),     φ(x) = e^{−x²/2} / √(2π)
//! ```
//!
//! burn-flex computes Φ with a scalar `libm::erff` per element (≈ 15 ns/element, one thread;
//! `shared/research/perf-gap.md`). Here Φ comes from a branch-free form that the compiler
//! vectorises: with z = |x|/√2,
//!
//! ```text
//! erfc(z) = t · exp(−z² + P(t)),   t = 1/(1 + z/2)        (z ≥ 0)
//! Φ(x)    = 1 − ½ erfc(z)  for x ≥ 0,   ½ erfc(z)  for x < 0
//! ```
//!
//! P is the degree-9 Chebyshev fit of Press et al. (Numerical Recipes, 2nd ed., §6.2, `erfcc`),
//! whose *fractional* error is below 1.2·10⁻⁷ for every z ≥ 0 — so Φ stays accurate in the
//! far negative tail, where GELU is tiny, not only in absolute terms. exp uses Cody–Waite range
//! reduction (y = k ln 2 + r, |r| ≤ ln2/2), a degree-7 Taylor polynomial, and 2^k built in the
//! exponent bits; e^{−x²/2} is taken as e^{−hi/2}·e^{−lo/2} with x² = hi + lo split exactly, so
//! the rounding of x² does not become relative error in the tail; inputs below −87 are
//! clamped (the result is then < 2·10⁻³⁸, and GELU of such x underflows anyway). On x86-64 with AVX2+FMA (detected at run time) the loop is compiled for
//! those features; long tensors are split across rayon threads.
//!
//! Accuracy against a high-precision f64 reference over x ∈ [−10, 10] (the test
//! `error_against_a_high_precision_reference_is_a_few_ulp`): forward ≤ 7.1 ulp, backward
//! ≤ 2.0·10⁻⁷ absolute, on both the AVX2+FMA and the portable path.
//!
//! The kernel is exposed to burn as a backend extension ([`GeluBackend`]) with a Flex
//! implementation and an autodiff implementation whose backward runs the backward kernel;
//! [`gelu`] is the tensor-level function models call (burn's own GELU on other backends).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ActivationOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DType, Flex, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
/// 1/√(2π).
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
/// Elements per rayon task.
const CHUNK: usize = 16 * 1024;

/// a·b + c, fused when the kernel is compiled with FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// e^y for y ≤ 88 (clamped below at −87).
#[inline(always)]
fn exp<const FMA: bool>(y: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5·2²³: adding it rounds to an integer, which then sits in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let y = y.max(-87.0);
    let shifted = madd::<FMA>(y, LOG2E, MAGIC);
    let k = shifted - MAGIC;
    let r = madd::<FMA>(-k, LN2_LO, madd::<FMA>(-k, LN2_HI, y));
    let mut p = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = madd::<FMA>(p, r, c);
    }
    let k_int = (shifted.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    p * f32::from_bits(((k_int + 127) << 23) as u32)
}

/// e^{−x²/2}, accurate in relative terms also for large |x|: x² is split exactly into
/// hi + lo (an FMA, or Dekker's product without one), so the rounding of x² — up to 3·10⁻⁶
/// absolute at |x| = 10, i.e. that much relative error after exp — never reaches the exponent.
#[inline(always)]
fn exp_neg_half_square<const FMA: bool>(x: f32) -> f32 {
    let hi = x * x;
    let lo = if FMA {
        x.mul_add(x, -hi)
    } else {
        // Veltkamp split of x into 12-bit halves, then the exact error of x·x.
        let c = 4097.0 * x;
        let xh = c - (c - x);
        let xl = x - xh;
        ((xh * xh - hi) + 2.0 * xh * xl) + xl * xl
    };
    exp::<FMA>(-0.5 * hi) * exp::<FMA>(-0.5 * lo)
}

/// Φ(x), the standard normal CDF.
#[inline(always)]
fn phi_cdf<const FMA: bool>(x: f32) -> f32 {
    const P: [f32; 10] = [
        0.170_872_77,
        -0.822_152_23,
        1.488_515_9,
        -1.135_204,
        0.278_868_07,
        -0.186_288_06,
        0.096_784_18,
        0.374_091_96,
        1.000_023_7,
        -1.265_512_2,
    ];
    let z = x.abs() * FRAC_1_SQRT_2;
    let t = 1.0 / madd::<FMA>(0.5, z, 1.0);
    let mut poly = P[0];
    for &c in &P[1..] {
        poly = madd::<FMA>(poly, t, c);
    }
    // exp(−z² + P) = e^{−x²/2} · e^{P}: the large part of the exponent stays exact.
    let half_erfc = 0.5 * t * exp_neg_half_square::<FMA>(x) * exp::<FMA>(poly);
    if x >= 0.0 { 1.0 - half_erfc } else { half_erfc }
}

#[inline(always)]
fn forward_loop<const FMA: bool>(x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = x * phi_cdf::<FMA>(x);
    }
}

#[inline(always)]
fn backward_loop<const FMA: bool>(x: &[f32], grad: &[f32], out: &mut [f32]) {
    for ((o, &x), &g) in out.iter_mut().zip(x).zip(grad) {
        let pdf = FRAC_1_SQRT_2PI * exp_neg_half_square::<FMA>(x);
        *o = g * madd::<FMA>(x, pdf, phi_cdf::<FMA>(x));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn forward_avx2(x: &[f32], y: &mut [f32]) {
    forward_loop::<true>(x, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn backward_avx2(x: &[f32], grad: &[f32], out: &mut [f32]) {
    backward_loop::<true>(x, grad, out)
}

fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

pub(crate) fn forward_chunk(x: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { forward_avx2(x, y) };
    }
    forward_loop::<false>(x, y)
}

pub(crate) fn backward_chunk(x: &[f32], grad: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { backward_avx2(x, grad, out) };
    }
    backward_loop::<false>(x, grad, out)
}

/// y = GELU(x), element-wise.
pub fn gelu_slice(x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len(), "gelu_slice: lengths differ");
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(y, x)| forward_chunk(x, y));
}

/// out = grad · GELU'(x), element-wise.
pub fn gelu_backward_slice(x: &[f32], grad: &[f32], out: &mut [f32]) {
    assert!(
        x.len() == grad.len() && x.len() == out.len(),
        "gelu_backward_slice: lengths differ"
    );
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK).zip(grad.par_chunks(CHUNK)))
        .for_each(|(o, (x, g))| backward_chunk(x, g, o));
}

/// Exact GELU with a fast backend implementation.
#[backend_extension(Flex, Autodiff)]
pub trait GeluBackend: Backend {
    /// GELU(x).
    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward kernel, used by the autodiff implementation on the inner backend (like burn's
/// own activations, the gradient it produces is not itself differentiated).
pub trait GeluBackward: Backend {
    /// grad · GELU'(x).
    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

impl GeluBackend for Flex {
    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.dtype() != DType::F32 {
            return Flex::gelu(x);
        }
        let x = contiguous(x);
        let mut out = FlexTensor::empty(x.layout().shape().clone(), DType::F32);
        gelu_slice(
            x.as_slice::<f32>().expect("contiguous f32"),
            out.storage_mut::<f32>(),
        );
        out
    }
}

impl GeluBackward for Flex {
    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.dtype() != DType::F32 || grad.dtype() != DType::F32 {
            return Flex::gelu_backward(x, grad);
        }
        let (x, grad) = (contiguous(x), contiguous(grad));
        let mut out = FlexTensor::empty(x.layout().shape().clone(), DType::F32);
        gelu_backward_slice(
            x.as_slice::<f32>().expect("contiguous f32"),
            grad.as_slice::<f32>().expect("contiguous f32"),
            out.storage_mut::<f32>(),
        );
        out
    }
}

impl<B: GeluBackend + GeluBackward, C: CheckpointStrategy> GeluBackend for Autodiff<B, C> {
    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct GeluExact;

        impl<B: GeluBackward> Backward<B, 1> for GeluExact {
            type State = B::FloatTensorPrimitive;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let input = ops.state;
                unary::<B, _>(ops.parents, ops.node, grads, |grad| {
                    B::gelu_exact_backward(input, grad)
                });
            }
        }

        match GeluExact
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                prep.finish(input.clone(), B::gelu_exact(input))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::gelu_exact(x.into_primitive())),
        }
    }
}

/// GELU(x) on any device: the vectorised kernel on Flex (with autodiff), burn's GELU elsewhere.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "gpu")]
    {
        burn::tensor::activation::gelu(x)
    }
    #[cfg(not(feature = "gpu"))]
    {
        Tensor::from_dispatch(<burn::backend::Dispatch as GeluBackend>::gelu_exact(
            x.into_dispatch(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf64(x: f64) -> f64 {
        // Maclaurin series for |x| < 3, continued fraction for the tail: both converge to f64
        // precision in the ranges used (a high-precision reference, not a fast one).
        if x.abs() < 3.0 {
            let mut sum = 0.0;
            let mut term = x;
            let mut n = 0.0;
            loop {
                let add = term / (2.0 * n + 1.0);
                sum += add;
                if add.abs() < 1e-18 * sum.abs().max(1e-300) {
                    break;
                }
                n += 1.0;
                term *= -x * x / n;
            }
            2.0 / std::f64::consts::PI.sqrt() * sum
        } else {
            x.signum() * (1.0 - erfc64_tail(x.abs()))
        }
    }

    /// erfc(z) for z ≥ 3 by Lentz's continued fraction.
    fn erfc64_tail(z: f64) -> f64 {
        let mut f = z;
        let (mut c, mut d) = (z, 0.0);
        for n in 1..200 {
            let a = n as f64 / 2.0;
            d = 1.0 / (z + a * d);
            c = z + a / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-z * z).exp() / (f * std::f64::consts::PI.sqrt())
    }

    fn phi64(x: f64) -> f64 {
        if x < -3.0 * std::f64::consts::SQRT_2 {
            0.5 * erfc64_tail(-x / std::f64::consts::SQRT_2)
        } else {
            0.5 * (1.0 + erf64(x / std::f64::consts::SQRT_2))
        }
    }

    #[test]
    fn reference_is_right() {
        assert!((erf64(1.0) - 0.842_700_792_949_714_9).abs() < 1e-15);
        assert!((erfc64_tail(3.0) - 2.209_049_699_858_544e-5).abs() < 1e-18);
        assert!((phi64(-5.0) - 2.866_515_718_791_939e-7).abs() < 1e-20);
    }

    /// Units in the last place of f32 at the magnitude of `v`.
    fn ulp(v: f64) -> f64 {
        let v = v.abs().max(f32::MIN_POSITIVE as f64);
        2f64.powi(v.log2().floor() as i32 - 23)
    }

    /// Max error of forward (in ulp, where GELU is a normal f32) and backward (absolute: GELU'
    /// crosses zero near x = −0.75 and lies in [−0.17, 1.13]) over x ∈ [−10, 10].
    fn errors(
        forward: impl Fn(&[f32], &mut [f32]),
        backward: impl Fn(&[f32], &[f32], &mut [f32]),
    ) -> (f64, f64) {
        let xs: Vec<f32> = (0..400_001)
            .map(|i| -10.0 + 20.0 * i as f32 / 400_000.0)
            .collect();
        let mut y = vec![0.0; xs.len()];
        forward(&xs, &mut y);
        let ones = vec![1.0; xs.len()];
        let mut dy = vec![0.0; xs.len()];
        backward(&xs, &ones, &mut dy);
        let (mut worst_ulp, mut worst_abs) = (0.0f64, 0.0f64);
        for ((&x, &y), &d) in xs.iter().zip(&y).zip(&dy) {
            let x64 = x as f64;
            let p = phi64(x64);
            let truth = x64 * p;
            let dtruth = p + x64 * (-0.5 * x64 * x64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            if truth.abs() > f32::MIN_POSITIVE as f64 {
                worst_ulp = worst_ulp.max((y as f64 - truth).abs() / ulp(truth));
            }
            worst_abs = worst_abs.max((d as f64 - dtruth).abs());
        }
        (worst_ulp, worst_abs)
    }

    #[test]
    fn error_against_a_high_precision_reference_is_a_few_ulp() {
        // The dispatched kernel (AVX2+FMA where available) and the portable one.
        let fast = errors(gelu_slice, gelu_backward_slice);
        let portable = errors(forward_loop::<false>, backward_loop::<false>);
        for (name, (ulps, abs)) in [("dispatched", fast), ("portable", portable)] {
            assert!(ulps <= 8.0, "{name}: forward max error {ulps:.1} ulp");
            assert!(abs < 1e-6, "{name}: backward max absolute error {abs:e}");
        }
    }

    mod extension {
        use super::super::*;
        use crate::tensor::to_vec;
        use burn::tensor::{Device, TensorData};

        fn data(n: usize) -> Vec<f32> {
            (0..n)
                .map(|i| ((i * 7919) % 2000) as f32 / 100.0 - 10.0)
                .collect()
        }

        /// Panics unless `ours` equals burn's `theirs` within `rel` (relative, absolute below 1).
        fn assert_close(ours: Tensor<2>, theirs: Tensor<2>, rel: f32) {
            for (a, b) in to_vec(ours).iter().zip(&to_vec(theirs)) {
                assert!((a - b).abs() <= rel * b.abs().max(1.0), "{a} vs {b}");
            }
        }

        #[test]
        fn forward_matches_burns_gelu_on_flex() {
            let device = Device::flex();
            let x = Tensor::<2>::from_data(TensorData::new(data(3000), [60, 50]), &device);
            assert_close(gelu(x.clone()), burn::tensor::activation::gelu(x), 1e-6);
        }

        #[test]
        fn gradient_matches_burns_gelu_under_autodiff() {
            let device = Device::flex().autodiff();
            let make = || {
                Tensor::<2>::from_data(TensorData::new(data(600), [20, 30]), &device).require_grad()
            };
            let weights = Tensor::<2>::from_data(
                TensorData::new(
                    data(600).iter().map(|v| v * 0.1).collect::<Vec<_>>(),
                    [20, 30],
                ),
                &device,
            );
            let (x1, x2) = (make(), make());
            let g1 = (gelu(x1.clone()) * weights.clone()).sum().backward();
            let g2 = (burn::tensor::activation::gelu(x2.clone()) * weights)
                .sum()
                .backward();
            assert_close(x1.grad(&g1).unwrap(), x2.grad(&g2).unwrap(), 2e-6);
        }

        #[test]
        fn non_contiguous_input_is_handled() {
            let device = Device::flex();
            let x =
                Tensor::<2>::from_data(TensorData::new(data(200), [10, 20]), &device).transpose();
            assert_close(gelu(x.clone()), burn::tensor::activation::gelu(x), 1e-6);
        }
    }
}
