//! AC-GAN (Odena, Olah & Shlens 2017): a real/fake score and an auxiliary classifier on the same
//! features, the classifier route SONA contrasts with the projection route. Class loss weight 1.
//!
//! ```text
//! f(x) = ⟨w, h(x)⟩ + b          ℓ(x) = C h(x) + c  ∈ R^N   (class logits)
//! CE(x, y) = −log softmax(ℓ(x))_y
//! L_D = E_data [softplus(−f(x)) + CE(x, y)] + E_{z,y} [softplus(f(G(z,y))) + CE(G(z,y), y)]
//! L_G = E_{z,y} [softplus(−f(G(z,y))) + CE(G(z,y), y)]
//! ```

use burn::tensor::{Tensor, activation};

use super::{dot, mean};
use crate::net::Discriminator;

/// f(x), `[n, 1]`.
pub fn score(d: &Discriminator, h: Tensor<2>) -> Tensor<2> {
    dot(h, d.w.val().unsqueeze_dim::<2>(0)) + d.b.val().unsqueeze_dim::<2>(0)
}

/// CE(x, y) per sample, `[n, 1]`, for one-hot `y`.
pub fn cross_entropy(d: &Discriminator, h: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
    let log_p = activation::log_softmax(d.classifier.forward(h), 1);
    (log_p * y).sum_dim(1).neg()
}

/// L_D.
pub fn d_loss(d: &Discriminator, h_real: Tensor<2>, h_fake: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    let adversarial = mean(activation::softplus(score(d, h_real.clone()).neg(), 1.0))
        + mean(activation::softplus(score(d, h_fake.clone()), 1.0));
    adversarial + mean(cross_entropy(d, h_real, y.clone())) + mean(cross_entropy(d, h_fake, y))
}

/// L_G.
pub fn g_loss(d: &Discriminator, h_fake: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    mean(activation::softplus(score(d, h_fake.clone()).neg(), 1.0))
        + mean(cross_entropy(d, h_fake, y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{NetSpec, onehot};
    use genlab_core::{device, tensor::to_vec, train::SeededRng};

    #[test]
    fn cross_entropy_matches_a_naive_softmax() {
        let device = device::device();
        let spec = NetSpec {
            dim: 2,
            classes: 3,
            z_dim: 2,
            width: 4,
        };
        let d = Discriminator::init(&spec, &mut SeededRng::new(5), &device);
        let h = Tensor::<2>::ones([1, 4], &device) * 0.7;
        let logits = to_vec(d.classifier.forward(h.clone()));
        let z: f32 = logits.iter().map(|l| l.exp()).sum();
        let expected = -(logits[1].exp() / z).ln();
        let got = to_vec(cross_entropy(&d, h, onehot(&[1], 3, &device)))[0];
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }
}
