//! The pixel-space DDPM pieces of the decoder: the cosine noise schedule, the forward process,
//! the ε-prediction loss and a deterministic DDIM sampler (for figures and the edit test).
//!
//! ```text
//! ᾱ₀(u)  = f(u)/f(0),  f(u) = cos²((u + s)/(1 + s) · π/2),  s = 0.008,  u ∈ [0, 1]  (T → ∞)
//! SNR(u) = k · ᾱ₀/(1 − ᾱ₀),   ᾱ(u) = SNR/(1 + SNR)        shifted cosine, k = SHIFT = 1/64
//! x_u    = √ᾱ(u) x₀ + √(1 − ᾱ(u)) ε,   ε ~ N(0, I)
//! L_dm   = mean over samples of w(u) · mean over elements of (ε − ε_θ(x_u, u, c))²
//! w(u)   = min(1/ᾱ(u), W_MAX)       = the v-prediction loss ‖v − v̂‖² written through ε̂, capped
//! DDIM   x̂₀ = (x_u − √(1−ᾱ_u) ε̂)/√ᾱ_u  (clipped to [−1, 1]);  x_u' = √ᾱ_u' x̂₀ + √(1−ᾱ_u') ε̂
//! ```
//!
//! The weight w is a deviation from SD's unweighted ε loss. With w ≡ 1 the loss lives at low
//! noise, where 32×32 flat-colour scenes are denoised from neighbouring pixels alone: a
//! 2000-step decoder ignored its captions (held-out ε error with and without the caption
//! within 1% at every noise level). Since v − v̂ = (ε − ε̂)/√ᾱ, the weight 1/ᾱ is exactly
//! v-prediction's loss (SD 2.x); it puts the loss where the image must come from the
//! conditioning. It is capped at [`W_MAX`]. Measured: under the ε-parameterised output it did
//! not by itself make the small decoder use its captions (caption gain 1–3%); with the
//! v-parameterised output of [`crate::decoder::Target::V`], whose loss it is, the gain is
//! ~30% per noise band (see [`crate::decoder`]).
//!
//! The schedule is shifted to lower SNR by k = 1/64 (Hoogeboom et al. 2023's shifted cosine,
//! as SD3 does for larger images): 32×32 scenes of flat-coloured objects stay recoverable from
//! the noisy image itself up to u ≈ 0.9 of the unshifted schedule (averaging the ~80 pixels of
//! an object), so without the shift the caption could help only in the last few percent of
//! times. (As for the weight: reasoned, not shown to be sufficient.)
//!
//! u is drawn uniformly (the continuous limit of uniform timesteps over T training steps) and
//! ᾱ is clipped to [10⁻⁴, 1 − 10⁻⁴]. Written here rather than taken from genlab-flow, whose
//! processes are EDM/flow-matching on points with a denoiser parameterisation; the CODA decoder
//! is an ε-prediction DDPM.

use burn::tensor::{Device, Tensor, TensorData};

const S: f64 = 0.008;
/// The SNR shift k of the schedule.
pub const SHIFT: f64 = 1.0 / 64.0;

/// ᾱ(u) of the shifted cosine schedule, clipped.
pub fn alpha_bar(u: f64) -> f64 {
    let f = |u: f64| {
        ((u + S) / (1.0 + S) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let a0 = (f(u) / f(0.0)).clamp(0.0, 1.0);
    let snr = SHIFT * a0 / (1.0 - a0).max(1e-12);
    (snr / (1.0 + snr)).clamp(1e-4, 1.0 - 1e-4)
}

/// The per-sample coefficients (√ᾱ, √(1 − ᾱ)) of times `u`, as `[b, 1, 1]` tensors.
pub fn coefficients(u: &[f32], device: &Device) -> (Tensor<3>, Tensor<3>) {
    let a: Vec<f32> = u
        .iter()
        .map(|&u| alpha_bar(u as f64).sqrt() as f32)
        .collect();
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

/// ε̂ = √(1 − ᾱ) x_u + √ᾱ v̂: the ε prediction of a v prediction `v` at times `u` (exact: with
/// v = √ᾱ ε − √(1 − ᾱ) x₀ it returns ε).
pub fn eps_from_v(xu: Tensor<3>, v: Tensor<3>, u: &[f32]) -> Tensor<3> {
    let (a, s) = coefficients(u, &xu.device());
    xu * s + v * a
}

/// The per-sample mean squared error `[b]` between ε and its prediction.
pub fn eps_error(eps: Tensor<3>, pred: Tensor<3>) -> Tensor<1> {
    let [b, n, d] = eps.dims();
    (eps - pred)
        .square()
        .reshape([b, n * d])
        .mean_dim(1)
        .reshape([b])
}

/// Cap of the loss weight w(u).
pub const W_MAX: f64 = 1000.0;

/// The loss weight w(u) = min(1/ᾱ(u), W_MAX).
pub fn weight(u: f64) -> f64 {
    (1.0 / alpha_bar(u)).min(W_MAX)
}

/// L_dm of the module doc: the w(u)-weighted mean of the per-sample ε errors.
pub fn weighted_loss(eps: Tensor<3>, pred: Tensor<3>, u: &[f32]) -> Tensor<1> {
    let w: Vec<f32> = u.iter().map(|&u| weight(u as f64) as f32).collect();
    let w = Tensor::<1>::from_data(TensorData::new(w, [u.len()]), &eps.device());
    (eps_error(eps, pred) * w).mean()
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
        // Exact value at u = 1/2: a₀ = cos²((0.508/1.008)·π/2) / cos²((0.008/1.008)·π/2),
        // SNR = a₀/(1 − a₀)/64, ᾱ = SNR/(1 + SNR).
        let f = |u: f64| {
            ((u + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
                .cos()
                .powi(2)
        };
        let a0 = f(0.5) / f(0.0);
        let snr = a0 / (1.0 - a0) / 64.0;
        assert!((alpha_bar(0.5) - snr / (1.0 + snr)).abs() < 1e-12);
        assert!(alpha_bar(0.5) < 0.02);
    }

    #[test]
    fn the_true_v_gives_the_true_noise() {
        let dev = device::device();
        let mut rng = genlab_core::train::SeededRng::new(3);
        let x0 = rng.uniform([3, 2, 4], &dev) * 2.0 - 1.0;
        let eps = rng.normal([3, 2, 4], &dev);
        let u = [0.05f32, 0.5, 0.97];
        let (a, s) = coefficients(&u, &dev);
        let v = eps.clone() * a - x0.clone() * s;
        let back = tensor::to_vec(eps_from_v(noisy(x0, eps.clone(), &u), v, &u));
        let want = tensor::to_vec(eps);
        assert!(back.iter().zip(&want).all(|(p, q)| (p - q).abs() < 1e-5));
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
        // The weighted loss is Σ w(u_i) e_i / b, and it equals the v-prediction error.
        let l = weighted_loss(eps.clone(), eps.zeros_like(), &[0.7, 0.2]).into_scalar::<f32>();
        let want = (weight(0.7) * e[0] as f64 + weight(0.2) * e[1] as f64) / 2.0;
        assert!((l as f64 - want).abs() < 1e-4 * want);
        let a = alpha_bar(0.7);
        assert!((weight(0.7) - 1.0 / a).abs() < 1e-9);
        assert_eq!(weight(1.0), W_MAX);
    }
}
