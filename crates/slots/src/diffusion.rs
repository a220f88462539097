//! The pixel-space DDPM pieces of the decoder: the cosine noise schedule, the forward process,
//! the ε-prediction loss and a deterministic DDIM sampler (for figures and the edit test).
//!
//! ```text
//! ᾱ(u)   = f(u)/f(0),  f(u) = cos²((u + s)/(1 + s) · π/2),  s = 0.008,  u ∈ [0, 1]  (T → ∞)
//! x_u    = √ᾱ(u) x₀ + √(1 − ᾱ(u)) ε,   ε ~ N(0, I)
//! L_dm   = mean over elements of (ε − ε_θ(x_u, u, c))²
//! DDIM   x̂₀ = (x_u − √(1−ᾱ_u) ε̂)/√ᾱ_u  (clipped to [−1, 1]);  x_u' = √ᾱ_u' x̂₀ + √(1−ᾱ_u') ε̂
//! ```
//!
//! u is drawn uniformly (the continuous limit of uniform timesteps over T training steps) and
//! ᾱ is clipped to [10⁻⁴, 1 − 10⁻⁴]. Written here rather than taken from genlab-flow, whose
//! processes are EDM/flow-matching on points with a denoiser parameterisation; the CODA decoder
//! is an ε-prediction DDPM.

use burn::tensor::{Device, Tensor, TensorData};

const S: f64 = 0.008;

/// ᾱ(u) of the cosine schedule, clipped.
pub fn alpha_bar(u: f64) -> f64 {
    let f = |u: f64| ((u + S) / (1.0 + S) * std::f64::consts::FRAC_PI_2).cos().powi(2);
    (f(u) / f(0.0)).clamp(1e-4, 1.0 - 1e-4)
}

/// The per-sample coefficients (√ᾱ, √(1 − ᾱ)) of times `u`, as `[b, 1, 1]` tensors.
pub fn coefficients(u: &[f32], device: &Device) -> (Tensor<3>, Tensor<3>) {
    let a: Vec<f32> = u.iter().map(|&u| alpha_bar(u as f64).sqrt() as f32).collect();
    let s: Vec<f32> = u
        .iter()
        .map(|&u| (1.0 - alpha_bar(u as f64)).sqrt() as f32)
        .collect();
    let b = u.len();
    (
        Tensor::from_data(TensorData::new(a, [b, 1, 1]), device),
        Tensor::from_data(TensorData::new(s, [b, 1, 1]), device),
    )
}

/// x_u = √ᾱ x₀ + √(1 − ᾱ) ε for `[b, n, d]` data.
pub fn noisy(x0: Tensor<3>, eps: Tensor<3>, u: &[f32]) -> Tensor<3> {
    let (a, s) = coefficients(u, &x0.device());
    x0 * a + eps * s
}

/// The per-sample mean squared error `[b]` between ε and its prediction.
pub fn eps_error(eps: Tensor<3>, pred: Tensor<3>) -> Tensor<1> {
    let [b, n, d] = eps.dims();
    (eps - pred).square().reshape([b, n * d]).mean_dim(1).reshape([b])
}

/// The times of a `steps`-step DDIM run, from u = 1 down to 0.
pub fn ddim_times(steps: usize) -> Vec<f64> {
    (0..=steps).map(|i| 1.0 - i as f64 / steps as f64).collect()
}

/// One DDIM step from `x` at time `u` to time `u_next` with the prediction `eps_hat`.
pub fn ddim_step(x: Tensor<3>, eps_hat: Tensor<3>, u: f64, u_next: f64) -> Tensor<3> {
    let (a, a_next) = (alpha_bar(u), alpha_bar(u_next));
    let x0 = ((x - eps_hat.clone() * (1.0 - a).sqrt()) / a.sqrt()).clamp(-1.0, 1.0);
    if u_next <= 0.0 {
        return x0;
    }
    x0 * a_next.sqrt() + eps_hat * (1.0 - a_next).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::{device, tensor};

    #[test]
    fn schedule_runs_from_clean_to_noise_monotonically() {
        assert!((alpha_bar(0.0) - (1.0 - 1e-4)).abs() < 1e-12);
        assert!((alpha_bar(1.0) - 1e-4).abs() < 1e-12);
        let xs: Vec<f64> = (0..=100).map(|i| alpha_bar(i as f64 / 100.0)).collect();
        assert!(xs.windows(2).all(|w| w[1] <= w[0]));
        // Exact value at u = 1/2: cos²((0.508/1.008)·π/2) / cos²((0.008/1.008)·π/2).
        let f = |u: f64| ((u + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
        assert!((alpha_bar(0.5) - f(0.5) / f(0.0)).abs() < 1e-12);
    }

    #[test]
    fn ddim_with_the_true_noise_recovers_the_data() {
        // With ε̂ = the ε that made x_u, one DDIM step to u' = 0 returns x₀ exactly.
        let dev = device::device();
        let mut rng = genlab_core::train::SeededRng::new(1);
        let x0 = rng.uniform([2, 3, 4], &dev) * 2.0 - 1.0;
        let eps = rng.normal([2, 3, 4], &dev);
        let xu = noisy(x0.clone(), eps.clone(), &[0.7, 0.7]);
        let back = ddim_step(xu, eps.clone(), 0.7, 0.0);
        let (a, b) = (tensor::to_vec(back), tensor::to_vec(x0));
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-4));
        let e = tensor::to_vec(eps_error(eps.clone(), eps.zeros_like()));
        assert_eq!(e.len(), 2);
    }
}
