//! AdamW fused into one pass per parameter, updating the weights and both moments in place.
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g            v ← β₂ v + (1 − β₂) g²
//! θ ← θ (1 − η λ) − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
//! ```
//!
//! The same arithmetic as burn's `AdamW` (decoupled weight decay, bias correction, ε outside the
//! square root), which makes ~10 passes over each parameter-sized buffer and allocates most of
//! them; here one loop reads g and writes θ, m, v where they lie (`shared/research/perf-gap.md`:
//! AdamW is 10–13 % of the 784-wide step). The state is burn's [`AdamWState`], so checkpoints
//! of either optimizer load into the other.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DType, Flex, backend_extension};
use burn::optim::{AdamWState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::tensor::{Device, Tensor};
use rayon::prelude::*;

/// The per-step scalars of the update.
#[derive(Debug, Clone, Copy)]
pub struct AdamWStep {
    /// Learning rate η.
    pub lr: f32,
    /// β₁.
    pub beta_1: f32,
    /// β₂.
    pub beta_2: f32,
    /// ε.
    pub epsilon: f32,
    /// Decoupled weight decay λ.
    pub weight_decay: f32,
    /// 1 − β₁ᵗ.
    pub correction_1: f32,
    /// 1 − β₂ᵗ.
    pub correction_2: f32,
}

/// The fused update as a backend operation: returns (θ, m, v).
#[backend_extension(Flex)]
pub trait AdamWBackend: Backend {
    /// One AdamW update of `param` with `grad`, returning the new parameter and moments.
    fn adamw_fused(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

const CHUNK: usize = 16 * 1024;

/// The update on host slices (the kernel; also the test oracle's subject).
pub fn adamw_slices(param: &mut [f32], grad: &[f32], m: &mut [f32], v: &mut [f32], s: AdamWStep) {
    let decay = 1.0 - (s.lr as f64 * s.weight_decay as f64) as f32;
    param
        .par_chunks_mut(CHUNK)
        .zip(grad.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .for_each(|((p, g), (m, v))| {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = s.beta_1 * *m + (1.0 - s.beta_1) * g;
                *v = s.beta_2 * *v + (1.0 - s.beta_2) * (g * g);
                let delta = (*m / s.correction_1) / ((*v / s.correction_2).sqrt() + s.epsilon);
                *p = *p * decay - delta * s.lr;
            }
        });
}

fn owned_f32(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

impl AdamWBackend for Flex {
    fn adamw_fused(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: AdamWStep,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        assert!(
            [&param, &grad, &moment_1, &moment_2]
                .iter()
                .all(|t| t.dtype() == DType::F32),
            "fused AdamW supports f32 parameters only"
        );
        let (mut p, g, mut m, mut v) = (
            owned_f32(param),
            owned_f32(grad),
            owned_f32(moment_1),
            owned_f32(moment_2),
        );
        // storage_mut copies a shared buffer first (copy-on-write), so callers never see a
        // tensor they still hold change under them.
        adamw_slices(
            p.storage_mut::<f32>(),
            g.as_slice::<f32>().expect("contiguous"),
            m.storage_mut::<f32>(),
            v.storage_mut::<f32>(),
            step,
        );
        (p, m, v)
    }
}

/// One update on the flex backend: the fused kernel.
#[cfg(not(feature = "gpu"))]
fn fused_update<const D: usize>(
    p: Tensor<D>,
    g: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
    s: AdamWStep,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let (p, m, v) = <burn::backend::Dispatch as AdamWBackend>::adamw_fused(
        p.into_dispatch(),
        g.into_dispatch(),
        m.into_dispatch(),
        v.into_dispatch(),
        s,
    );
    (
        Tensor::from_dispatch(p),
        Tensor::from_dispatch(m),
        Tensor::from_dispatch(v),
    )
}

/// One update on a GPU backend: the same formula in tensor operations.
#[cfg(feature = "gpu")]
fn fused_update<const D: usize>(
    p: Tensor<D>,
    g: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
    s: AdamWStep,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let m = m.mul_scalar(s.beta_1) + g.clone().mul_scalar(1.0 - s.beta_1);
    let v = v.mul_scalar(s.beta_2) + g.square().mul_scalar(1.0 - s.beta_2);
    let delta = m.clone().div_scalar(s.correction_1)
        / v.clone()
            .div_scalar(s.correction_2)
            .sqrt()
            .add_scalar(s.epsilon);
    let decay = 1.0 - (s.lr as f64 * s.weight_decay as f64) as f32;
    (p.mul_scalar(decay) - delta.mul_scalar(s.lr), m, v)
}

/// AdamW with the fused update (same hyper-parameters and defaults as burn's `AdamWConfig`:
/// β₁ 0.9, β₂ 0.999, ε 1e-5, weight decay 1e-4).
#[derive(Debug, Clone, Copy)]
pub struct FusedAdamW {
    /// β₁.
    pub beta_1: f32,
    /// β₂.
    pub beta_2: f32,
    /// ε.
    pub epsilon: f32,
    /// Decoupled weight decay λ.
    pub weight_decay: f32,
}

impl Default for FusedAdamW {
    fn default() -> Self {
        FusedAdamW {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            weight_decay: 1e-4,
        }
    }
}

impl FusedAdamW {
    /// The whole-module optimizer.
    pub fn init(self) -> burn::optim::ModuleOptimizer {
        burn::optim::ModuleOptimizer::from(self)
    }
}

impl Optimizer for FusedAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (time, m, v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                s.momentum.moment_1,
                s.momentum.moment_2,
            ),
            None => (1, grad.zeros_like(), grad.zeros_like()),
        };
        let step = AdamWStep {
            lr: lr as f32,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
            weight_decay: self.weight_decay,
            correction_1: 1.0 - self.beta_1.powi(time as i32),
            correction_2: 1.0 - self.beta_2.powi(time as i32),
        };
        let (p, m, v) = fused_update(tensor, grad, m, v, step);
        let momentum = AdaptiveMomentumState::new(time, m, v);
        (p, Some(AdamWState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum.moment_1 = state.momentum.moment_1.to_device(device);
        state.momentum.moment_2 = state.momentum.moment_2.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::TensorData;

    #[derive(Module, Debug)]
    struct Net {
        a: Linear,
        b: Linear,
    }

    fn loss(net: &Net, x: Tensor<2>) -> Tensor<1> {
        net.b
            .forward(burn::tensor::activation::relu(net.a.forward(x)))
            .square()
            .mean()
    }

    #[test]
    fn matches_burns_adamw_over_100_steps() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let init = Net {
            a: LinearConfig::new(7, 33).init(&device),
            b: LinearConfig::new(33, 5).init(&device),
        };
        let (mut ours, mut theirs) = (init.clone(), init);
        let mut fused = FusedAdamW {
            weight_decay: 0.01,
            ..FusedAdamW::default()
        }
        .init();
        let mut reference = AdamWConfig::new().with_weight_decay(0.01).init();
        for step in 0..100 {
            let x: Vec<f32> = (0..7 * 16)
                .map(|i| (((i + step * 31) * 7919) % 1000) as f32 / 500.0 - 1.0)
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [16, 7]), &device);
            let lr = 1e-2 * (1.0 + (step % 3) as f64);
            let g = GradientsParams::from_grads(loss(&ours, x.clone()).backward(), &ours);
            ours = fused.step(lr, ours, g);
            let g = GradientsParams::from_grads(loss(&theirs, x).backward(), &theirs);
            theirs = reference.step(lr, theirs, g);
        }
        let flat = |n: &Net| -> Vec<f32> {
            [n.a.weight.val().into_data(), n.b.weight.val().into_data()]
                .into_iter()
                .flat_map(|d| d.try_into_vec::<f32>().unwrap())
                .collect()
        };
        let (a, b) = (flat(&ours), flat(&theirs));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs() / y.abs().max(1e-2))
            .fold(0.0f32, f32::max);
        assert!(
            worst < 1e-4,
            "max relative difference after 100 steps: {worst}"
        );
    }

    #[test]
    fn shared_buffers_are_not_modified() {
        let device = Device::flex();
        let p = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &device);
        let keep = p.clone();
        let g = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, -0.5], [2]), &device);
        let (updated, _) = FusedAdamW::default().step(0.1, p, g, None);
        assert_eq!(
            keep.into_data().try_into_vec::<f32>().unwrap(),
            vec![1.0, 2.0]
        );
        assert_ne!(
            updated.into_data().try_into_vec::<f32>().unwrap(),
            vec![1.0, 2.0]
        );
    }
}
