//! SSIM and the generator's loss L1 + (1 − SSIM).
//!
//! ```text
//! μ_x = box_k(x),  σ_x² = box_k(x²) − μ_x²,  σ_xy = box_k(x y) − μ_x μ_y
//! SSIM(p) = (2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂))
//! C₁ = 0.01², C₂ = 0.03² (data range 1);  box_k = k×k mean over the in-image pixels
//! (windows clipped at the border), per channel
//! loss = mean |x − y| + (1 − mean SSIM)
//! ```
//!
//! The window is a 5×5 box rather than the usual 11×11 Gaussian: the generator works at 32×32.
//! [`ssim_map`] is the host version used by the metrics (and the tests' oracle for the tensor
//! version [`ssim_tensor`] the loss differentiates through).

use burn::tensor::Tensor;
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;

/// Window side.
pub const WINDOW: usize = 5;
const C1: f32 = 1e-4;
const C2: f32 = 9e-4;

fn pool(x: Tensor<4>) -> Tensor<4> {
    let r = WINDOW / 2;
    avg_pool2d(
        x,
        AvgPoolOptions::new([WINDOW, WINDOW])
            .with_stride([1, 1])
            .with_padding([r, r])
            .with_count_include_pad(false),
    )
}

/// Per-pixel SSIM of `[n, c, h, w]` images (module doc).
pub fn ssim_tensor(x: Tensor<4>, y: Tensor<4>) -> Tensor<4> {
    let mx = pool(x.clone());
    let my = pool(y.clone());
    let sxx = pool(x.clone() * x.clone()) - mx.clone() * mx.clone();
    let syy = pool(y.clone() * y.clone()) - my.clone() * my.clone();
    let sxy = pool(x * y) - mx.clone() * my.clone();
    let num = (mx.clone() * my.clone() * 2.0 + C1) * (sxy * 2.0 + C2);
    let den = (mx.clone() * mx + my.clone() * my + C1) * (sxx + syy + C2);
    num / den
}

/// L1 + (1 − SSIM), averaged over the batch: the generator's loss.
pub fn l1_ssim_loss(pred: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    let l1 = (pred.clone() - target.clone()).abs().mean();
    let s = ssim_tensor(pred, target).mean();
    l1 + (s.neg() + 1.0)
}

/// Per-pixel SSIM of two `[3, h, w]` images, averaged over the channels: `[h, w]`.
pub fn ssim_map(x: &[f32], y: &[f32], w: usize, h: usize) -> Vec<f32> {
    let r = (WINDOW / 2) as isize;
    let mut out = vec![0.0f32; w * h];
    for c in 0..3 {
        let (xs, ys) = (
            &x[c * w * h..(c + 1) * w * h],
            &y[c * w * h..(c + 1) * w * h],
        );
        for py in 0..h as isize {
            for px in 0..w as isize {
                let (mut sx, mut sy, mut sxx, mut syy, mut sxy, mut n) =
                    (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
                for qy in (py - r).max(0)..(py + r + 1).min(h as isize) {
                    for qx in (px - r).max(0)..(px + r + 1).min(w as isize) {
                        let i = qy as usize * w + qx as usize;
                        let (a, b) = (xs[i] as f64, ys[i] as f64);
                        sx += a;
                        sy += b;
                        sxx += a * a;
                        syy += b * b;
                        sxy += a * b;
                        n += 1.0;
                    }
                }
                let (mx, my) = (sx / n, sy / n);
                let (vx, vy, cxy) = (sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my);
                let (c1, c2) = (C1 as f64, C2 as f64);
                let s = (2.0 * mx * my + c1) * (2.0 * cxy + c2)
                    / ((mx * mx + my * my + c1) * (vx + vy + c2));
                out[py as usize * w + px as usize] += s as f32 / 3.0;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use genlab_core::gradcheck::{max_relative_error, numerical_grad};
    use genlab_core::tensor::to_vec;

    fn img(seed: u64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (crate::world::splitmix(seed * 1000 + i as u64) % 1000) as f32 / 1000.0)
            .collect()
    }

    #[test]
    fn ssim_of_an_image_with_itself_is_one_and_tensor_matches_host() {
        let (w, h) = (9, 7);
        let (a, b) = (img(1, 3 * w * h), img(2, 3 * w * h));
        assert!(
            ssim_map(&a, &a, w, h)
                .iter()
                .all(|s| (s - 1.0).abs() < 1e-6)
        );
        let device = Device::flex();
        let t =
            |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), [1, 3, h, w]), &device);
        let tensor = to_vec(ssim_tensor(t(&a), t(&b)).mean_dim(1));
        let host = ssim_map(&a, &b, w, h);
        for (x, y) in tensor.iter().zip(&host) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
        assert!(host.iter().sum::<f32>() / ((w * h) as f32) < 0.5);
    }

    #[test]
    fn loss_gradient_matches_finite_differences() {
        let (w, h) = (6, 6);
        let (x, y) = (img(3, 3 * w * h), img(4, 3 * w * h));
        let device = Device::flex().autodiff();
        let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 3, h, w]), &device)
            .require_grad();
        let yt = Tensor::<4>::from_data(TensorData::new(y.clone(), [1, 3, h, w]), &device);
        let grads = l1_ssim_loss(xt.clone(), yt).backward();
        let analytic = to_vec(xt.grad(&grads).unwrap());
        let host = |v: &[f32]| {
            let l1: f64 = v
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs() as f64)
                .sum::<f64>()
                / v.len() as f64;
            let s: f64 =
                ssim_map(v, &y, w, h).iter().map(|s| *s as f64).sum::<f64>() / (w * h) as f64;
            l1 + 1.0 - s
        };
        let numerical = numerical_grad(host, &x, 1e-3);
        let err = max_relative_error(&analytic, &numerical);
        assert!(err < 2e-3, "max relative error {err}");
    }
}
