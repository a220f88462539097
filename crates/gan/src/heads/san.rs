//! The SAN objective (Slicing Adversarial Network; Takida et al., ICLR 2024) and the
//! SAN-ified projection discriminator.
//!
//! SAN splits the last layer into a unit direction ω and the features h, and trains the two
//! with different objectives by stopping gradients (sg) in two copies of the score:
//!
//! ```text
//! L_D^SAN = L_GAN( ⟨sg ω, h(x)⟩, ⟨sg ω, h(G(z))⟩ )          — h learns from the GAN loss only
//!         − ( E_data ⟨ω, sg h(x)⟩ − E_gen ⟨ω, sg h(G(z))⟩ )  — ω learns from the linear loss only
//! L_G     = the GAN loss's generator part on ⟨ω, h(G(z))⟩
//! ```
//!
//! (`sony/san`'s tutorial: `out_fun = ⟨h, ω.detach()⟩` gets the GAN loss and
//! `out_dir = ⟨h.detach(), ω⟩` the linear one; an older stored commit of its
//! `simple-san/models/discriminator.py` has the two detaches swapped — this follows the paper and
//! the tutorial, and `the_detach_directions_are_the_papers` pins it.)
//!
//! SAN-ified projection: the class direction of the projection discriminator, normalised,
//! with the hinge loss as L_GAN:
//!
//! ```text
//! ω_y = (w_y + w) / ‖w_y + w‖,   f(x, y) = ⟨ω_y, h(x)⟩
//! L_GAN(r, f) = E max(0, 1 − r) + E max(0, 1 + f),   L_G = −E f(G(z, y), y)
//! ```

use burn::tensor::Tensor;

use super::projection::hinge;
use super::{dot, mean, unit_rows};
use crate::net::Discriminator;

/// The SAN discriminator loss for per-sample unit directions `omega_real`, `omega_fake`
/// (`[n, D]`, or `[1, D]` broadcast) and the GAN loss `gan(real scores, fake scores)`.
pub fn san_loss(
    h_real: Tensor<2>,
    h_fake: Tensor<2>,
    omega_real: Tensor<2>,
    omega_fake: Tensor<2>,
    gan: impl FnOnce(Tensor<2>, Tensor<2>) -> Tensor<1>,
) -> Tensor<1> {
    let fun = gan(
        dot(h_real.clone(), omega_real.clone().detach()),
        dot(h_fake.clone(), omega_fake.clone().detach()),
    );
    let dir = mean(dot(h_real.detach(), omega_real)) - mean(dot(h_fake.detach(), omega_fake));
    fun - dir
}

/// ω_y for one-hot `y`, `[n, D]`.
pub fn directions(d: &Discriminator, y: Tensor<2>) -> Tensor<2> {
    let w = d.w.val().unsqueeze_dim::<2>(0);
    unit_rows(y.matmul(d.class_vectors.val()) + w)
}

/// L_D of the SAN-ified projection discriminator.
pub fn d_loss(d: &Discriminator, h_real: Tensor<2>, h_fake: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    let omega = directions(d, y);
    san_loss(h_real, h_fake, omega.clone(), omega, hinge)
}

/// L_G of the SAN-ified projection discriminator.
pub fn g_loss(d: &Discriminator, h_fake: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    mean(dot(h_fake, directions(d, y))).neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use genlab_core::{device, tensor::to_vec};

    fn leaf(v: Vec<f32>, shape: [usize; 2]) -> Tensor<2> {
        let device = device::train_device();
        Tensor::<2>::from_data(TensorData::new(v, shape), &device).require_grad()
    }

    /// ω gets exactly the linear term's gradient −(mean h_real − mean h_fake); h gets exactly
    /// the hinge term's gradient, none of the linear term's.
    #[test]
    fn the_detach_directions_are_the_papers() {
        let hr = leaf(vec![0.2, 0.1, 3.0, 0.0], [2, 2]);
        let hf = leaf(vec![-0.5, 0.4, 0.3, 0.3], [2, 2]);
        let omega = leaf(vec![0.6, 0.8], [1, 2]);
        let loss = san_loss(hr.clone(), hf.clone(), omega.clone(), omega.clone(), hinge);
        let grads = loss.backward();
        // ∂/∂ω of −(mean_r ⟨ω,h⟩ − mean_f ⟨ω,h⟩) = −(h̄_r − h̄_f) = −((1.6, 0.05) − (−0.1, 0.35)).
        let g_omega = to_vec(omega.grad(&grads).unwrap());
        for (g, e) in g_omega.iter().zip([-1.7f32, 0.3]) {
            assert!((g - e).abs() < 1e-6, "{g_omega:?}");
        }
        // Real scores ⟨ω,h⟩: 0.2 (< 1, active) and 1.8 (inactive); fake scores 0.02 and 0.42
        // (both > −1, active). So ∂/∂h_r[0] = −ω/2, ∂/∂h_r[1] = 0, ∂/∂h_f[i] = ω/2.
        let g_r = to_vec(hr.grad(&grads).unwrap());
        let g_f = to_vec(hf.grad(&grads).unwrap());
        let expect_r = [-0.3f32, -0.4, 0.0, 0.0];
        let expect_f = [0.3f32, 0.4, 0.3, 0.4];
        for (g, e) in g_r.iter().chain(&g_f).zip(expect_r.iter().chain(&expect_f)) {
            assert!((g - e).abs() < 1e-6, "{g_r:?} {g_f:?}");
        }
    }

    #[test]
    fn san_value_is_gan_minus_linear() {
        let hr = leaf(vec![1.0, 0.0], [1, 2]);
        let hf = leaf(vec![0.0, 2.0], [1, 2]);
        let omega = leaf(vec![0.0, 1.0], [1, 2]);
        // scores: real 0, fake 2 → hinge 1 + 3 = 4; linear 0 − 2 = −2 → loss 6.
        let l = to_vec(san_loss(hr, hf, omega.clone(), omega, hinge))[0];
        assert!((l - 6.0).abs() < 1e-6, "{l}");
    }
}
