//! The projection discriminator with the hinge loss (PD-GAN; Miyato & Koyama 2018), the
//! baseline SONA is measured against.
//!
//! ```text
//! f(x, y) = ⟨w_y, h(x)⟩ + ⟨w, h(x)⟩ + b  =  ⟨w_y + w, h(x)⟩ + b
//! L_D = E_data max(0, 1 − f(x, y)) + E_{z,y} max(0, 1 + f(G(z, y), y))
//! L_G = −E_{z,y} f(G(z, y), y)
//! ```
//!
//! SONA's criticism is visible in the first line: the unconditional direction w only ever
//! appears added to a class vector, so the generator sees one y-dependent direction and no
//! separate naturalness score.

use burn::tensor::{Tensor, activation};

use super::{dot, mean};
use crate::net::Discriminator;

/// f(x, y) for features `h` `[n, D]` and one-hot labels `y` `[n, N]`: `[n, 1]`.
pub fn score(d: &Discriminator, h: Tensor<2>, y: Tensor<2>) -> Tensor<2> {
    let w_y = y.matmul(d.class_vectors.val());
    let w = d.w.val().unsqueeze_dim::<2>(0);
    dot(w_y + w, h) + d.b.val().unsqueeze_dim::<2>(0)
}

/// The hinge discriminator loss on real and fake scores.
pub fn hinge(f_real: Tensor<2>, f_fake: Tensor<2>) -> Tensor<1> {
    mean(activation::relu(f_real.neg() + 1.0)) + mean(activation::relu(f_fake + 1.0))
}

/// L_D.
pub fn d_loss(d: &Discriminator, h_real: Tensor<2>, h_fake: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    hinge(score(d, h_real, y.clone()), score(d, h_fake, y))
}

/// L_G.
pub fn g_loss(d: &Discriminator, h_fake: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    mean(score(d, h_fake, y)).neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{NetSpec, onehot};
    use burn::tensor::TensorData;
    use genlab_core::{device, tensor::to_vec, train::SeededRng};

    #[test]
    fn score_is_the_projection_formula_and_hinge_is_exact() {
        let device = device::device();
        let spec = NetSpec {
            dim: 2,
            classes: 3,
            z_dim: 2,
            width: 4,
        };
        let d = Discriminator::init(&spec, &mut SeededRng::new(3), &device);
        let h = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, -2.0, 0.5, 3.0], [1, 4]),
            &device,
        );
        let got = to_vec(score(&d, h, onehot(&[2], 3, &device)))[0];
        let (w, wy) = (to_vec(d.w.val()), to_vec(d.class_vectors.val()));
        let hv = [1.0f32, -2.0, 0.5, 3.0];
        let expected: f32 =
            (0..4).map(|j| (w[j] + wy[8 + j]) * hv[j]).sum::<f32>() + to_vec(d.b.val())[0];
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
        // hinge: real scores 2 and 0 → (0 + 1)/2; fake −3 and 0.5 → (0 + 1.5)/2.
        let col = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [2, 1]), &device);
        let l = to_vec(hinge(col(vec![2.0, 0.0]), col(vec![-3.0, 0.5])))[0];
        assert!((l - 1.25).abs() < 1e-6, "{l}");
    }
}
