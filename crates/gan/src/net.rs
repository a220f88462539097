//! The two players: MLPs for points of any dimension (the 2-D mixtures, the 64-pixel digits, a
//! user's CSV), and the discriminator's head parameters that every head reads its own part of.
//!
//! ```text
//! G(z, y) = L₃ ∘ a ∘ L₂ ∘ a ∘ L₁ ([z ; onehot(y)])              z ~ N(0, I_{z_dim})
//! h(x)    = a ∘ L₃ ∘ a ∘ L₂ ∘ a ∘ L₁ (x)  ∈ R^D                     a = LeakyReLU(0.2)
//! head    w ∈ R^D, b ∈ R (unconditional direction and bias), W ∈ R^{N×D} (class vectors w_y),
//!         C ∈ R^{N×D}, c ∈ R^N (AC-GAN classifier), u ∈ R^3 (SONA's adaptive weights)
//! ```
//!
//! Parameters are initialised host-side from the run's [`SeededRng`] (uniform ±1/√fan_in, the
//! usual default), not from burn's process-wide generator: the numbers then depend on the seed
//! only, so independent runs may train on parallel threads and stay bit-identical.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData, activation};
use genlab_core::train::SeededRng;
use serde::{Deserialize, Serialize};

/// Slope of the LeakyReLU activations.
const SLOPE: f64 = 0.2;

/// LeakyReLU(x) = max(x, 0) − s·relu(−x): the same numbers as `activation::leaky_relu` (one
/// of the two terms is 0, so both are exact) and the same gradient, 1 for x ≥ 0 (`clamp_min`
/// keeps the gradient at 0, as `leaky_relu` does) and s below. Under autodiff burn builds
/// `leaky_relu` from a comparison and `mask_where`s (forward and backward) that burn-flex runs
/// element by element: about 30% of a GAN step at batch 256 (`genlab bench gan`, perf).
pub fn leaky(x: Tensor<2>) -> Tensor<2> {
    x.clone().clamp_min(0.0) - activation::relu(x.neg()).mul_scalar(SLOPE)
}

/// The shape of both networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetSpec {
    /// Data dimension d.
    pub dim: usize,
    /// Number of classes N.
    pub classes: usize,
    /// Latent dimension of the generator.
    pub z_dim: usize,
    /// Hidden width of both networks (also the feature dimension D of h).
    pub width: usize,
}

/// A `[rows, cols]` tensor of U(−k, k) draws.
fn uniform<const D: usize>(
    shape: [usize; D],
    k: f32,
    rng: &mut SeededRng,
    device: &Device,
) -> Tensor<D> {
    let n = shape.iter().product();
    let data: Vec<f32> = rng
        .uniform_vec(n)
        .into_iter()
        .map(|u| (2.0 * u - 1.0) * k)
        .collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// A linear layer `in → out` initialised U(±1/√in) from `rng`.
pub fn dense(d_in: usize, d_out: usize, rng: &mut SeededRng, device: &Device) -> Linear {
    let k = 1.0 / (d_in as f32).sqrt();
    Linear {
        weight: Param::from_tensor(uniform([d_in, d_out], k, rng, device)),
        bias: Some(Param::from_tensor(uniform([d_out], k, rng, device))),
    }
}

/// `labels` one-hot as a `[n, classes]` tensor.
pub fn onehot(labels: &[u32], classes: usize, device: &Device) -> Tensor<2> {
    let mut data = vec![0.0f32; labels.len() * classes];
    for (i, &y) in labels.iter().enumerate() {
        data[i * classes + y as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(data, [labels.len(), classes]), device)
}

/// The class-conditional generator.
#[derive(Module, Debug)]
pub struct Generator {
    l1: Linear,
    l2: Linear,
    l3: Linear,
}

impl Generator {
    /// A fresh generator for `spec`.
    pub fn init(spec: &NetSpec, rng: &mut SeededRng, device: &Device) -> Self {
        Generator {
            l1: dense(spec.z_dim + spec.classes, spec.width, rng, device),
            l2: dense(spec.width, spec.width, rng, device),
            l3: dense(spec.width, spec.dim, rng, device),
        }
    }

    /// G(z, y) for `z` `[n, z_dim]` and one-hot `y` `[n, N]`.
    pub fn forward(&self, z: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
        let a = leaky;
        let x = a(self.l1.forward(Tensor::cat(vec![z, y], 1)));
        self.l3.forward(a(self.l2.forward(x)))
    }
}

/// The discriminator: the feature trunk h and every head's last-layer parameters.
#[derive(Module, Debug)]
pub struct Discriminator {
    l1: Linear,
    l2: Linear,
    l3: Linear,
    /// w: the unconditional direction (ω = w/‖w‖ in SAN and SONA).
    pub w: Param<Tensor<1>>,
    /// b: the unconditional bias (projection, AC-GAN).
    pub b: Param<Tensor<1>>,
    /// W: one class vector w_y per row, `[N, D]`.
    pub class_vectors: Param<Tensor<2>>,
    /// AC-GAN's classifier C h + c.
    pub classifier: Linear,
    /// u: SONA's adaptive weights s = |u| / ‖u‖ (SAN, BT-C, BT-M).
    pub u: Param<Tensor<1>>,
}

impl Discriminator {
    /// A fresh discriminator for `spec`.
    pub fn init(spec: &NetSpec, rng: &mut SeededRng, device: &Device) -> Self {
        let d = spec.width;
        let k = 1.0 / (d as f32).sqrt();
        Discriminator {
            l1: dense(spec.dim, d, rng, device),
            l2: dense(d, d, rng, device),
            l3: dense(d, d, rng, device),
            w: Param::from_tensor(uniform([d], k, rng, device)),
            b: Param::from_tensor(Tensor::zeros([1], device)),
            class_vectors: Param::from_tensor(uniform([spec.classes, d], k, rng, device)),
            classifier: dense(d, spec.classes, rng, device),
            u: Param::from_tensor(Tensor::ones([3], device)),
        }
    }

    /// The features h(x), `[n, D]`.
    pub fn features(&self, x: Tensor<2>) -> Tensor<2> {
        let a = leaky;
        a(self.l3.forward(a(self.l2.forward(a(self.l1.forward(x))))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::device;
    use genlab_core::tensor::to_vec;

    /// `leaky` gives the bits of burn's `leaky_relu`, forward and backward, exact zeros included.
    #[test]
    fn leaky_matches_burns_leaky_relu_bit_for_bit() {
        let dev = device::train_device();
        let v: Vec<f32> = SeededRng::new(3)
            .normal_vec(64 * 8)
            .into_iter()
            .enumerate()
            .map(|(i, x)| match i % 7 {
                0 => -x * 1e-30,
                3 => 0.0,
                _ => x,
            })
            .collect();
        let t = || Tensor::<2>::from_data(TensorData::new(v.clone(), [64, 8]), &dev).require_grad();
        let w = Tensor::<2>::from_data(
            TensorData::new(SeededRng::new(4).normal_vec(64 * 8), [64, 8]),
            &dev,
        );
        let (a, b) = (t(), t());
        let ya = leaky(a.clone());
        let yb = activation::leaky_relu(b.clone(), SLOPE);
        assert_eq!(to_vec(ya.clone()), to_vec(yb.clone()));
        let ga = (ya * w.clone()).sum().backward();
        let gb = (yb * w).sum().backward();
        assert_eq!(to_vec(a.grad(&ga).unwrap()), to_vec(b.grad(&gb).unwrap()));
        // Without autodiff burn-flex has its own leaky_relu kernel: the same numbers too.
        let plain = Tensor::<2>::from_data(TensorData::new(v.clone(), [64, 8]), &Device::flex());
        assert_eq!(
            to_vec(leaky(plain.clone())),
            to_vec(activation::leaky_relu(plain, SLOPE))
        );
    }

    #[test]
    fn initialisation_depends_on_the_seed_only() {
        let spec = NetSpec {
            dim: 2,
            classes: 3,
            z_dim: 4,
            width: 8,
        };
        let device = device::device();
        let draw = |seed| {
            let g = Generator::init(&spec, &mut SeededRng::new(seed), &device);
            let z = Tensor::<2>::ones([2, 4], &device);
            to_vec(g.forward(z, onehot(&[0, 2], 3, &device)))
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
        // The bound 1/√fan_in holds.
        let d = Discriminator::init(&spec, &mut SeededRng::new(0), &device);
        let w = to_vec(d.l2.weight.val());
        assert!(w.iter().all(|v| v.abs() <= 1.0 / 8f32.sqrt()));
        assert_eq!(to_vec(d.features(Tensor::zeros([5, 2], &device))).len(), 40);
    }

    #[test]
    fn onehot_rows() {
        let t = onehot(&[1, 0], 3, &genlab_core::device::device());
        assert_eq!(to_vec(t), vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
    }
}
