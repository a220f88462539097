//! The image encoder that stands in for DINO: a tiny CNN giving a G×G grid of feature vectors
//! (G = 8 for 32×32 images), with a soft position embedding, ready for slot attention.
//!
//! ```text
//! P      = im2col(2x − 1; kernel 8, stride 4, zero pad 2)     [b, G², 8·8·3]   (host side)
//! h₁     = relu(P W₁ + b₁)                                    conv 8×8 / 4
//! h₂     = relu(unfold₃ₓ₃(h₁) W₂ + b₂)                        conv 3×3 / 1, zero pad 1
//! f      = MLP(LN(h₂ + pos([x, y, 1 − x, 1 − y])))             [b, G², C]
//! ```
//!
//! The first convolution is applied as a matrix product on host-extracted patches (its input is
//! data, so no gradient is needed there); the 3×3 convolution unfolds the grid with shifted
//! slices so it stays differentiable.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

use crate::layers::Mlp;

/// Kernel, stride and padding of the first convolution.
pub const KERNEL: usize = 8;
/// Stride of the first convolution (the grid is `size / STRIDE` on a side).
pub const STRIDE: usize = 4;
const PAD: usize = 2;

/// Side of the feature grid for `size × size` images.
pub fn grid_side(size: usize) -> usize {
    (size + 2 * PAD - KERNEL) / STRIDE + 1
}

/// The im2col patches of channel-last images in [0, 1] (mapped to [−1, 1]):
/// `[n, G², KERNEL² · 3]`, row-major over the grid.
pub fn patches(images: &[f32], size: usize, device: &Device) -> Tensor<3> {
    let n = images.len() / (size * size * 3);
    let g = grid_side(size);
    let w = KERNEL * KERNEL * 3;
    let mut out = vec![0f32; n * g * g * w];
    for i in 0..n {
        let img = &images[i * size * size * 3..(i + 1) * size * size * 3];
        for gy in 0..g {
            for gx in 0..g {
                let base = ((i * g + gy) * g + gx) * w;
                for ky in 0..KERNEL {
                    for kx in 0..KERNEL {
                        let (y, x) = (
                            (gy * STRIDE + ky) as isize - PAD as isize,
                            (gx * STRIDE + kx) as isize - PAD as isize,
                        );
                        if y < 0 || x < 0 || y >= size as isize || x >= size as isize {
                            continue;
                        }
                        let src = (y as usize * size + x as usize) * 3;
                        let dst = base + (ky * KERNEL + kx) * 3;
                        for c in 0..3 {
                            out[dst + c] = 2.0 * img[src + c] - 1.0;
                        }
                    }
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(out, [n, g * g, w]), device)
}

/// The `[1, G², 4]` position features `[x, y, 1 − x, 1 − y]` of the grid cells.
fn grid_features(g: usize, device: &Device) -> Tensor<3> {
    let mut v = Vec::with_capacity(g * g * 4);
    for y in 0..g {
        for x in 0..g {
            let (fx, fy) = (
                x as f32 / (g - 1).max(1) as f32,
                y as f32 / (g - 1).max(1) as f32,
            );
            v.extend_from_slice(&[fx, fy, 1.0 - fx, 1.0 - fy]);
        }
    }
    Tensor::from_data(TensorData::new(v, [1, g * g, 4]), device)
}

/// The encoder of the module doc.
#[derive(Module, Debug)]
pub struct Encoder {
    conv1: Linear,
    conv2: Linear,
    pos: Linear,
    norm: LayerNorm,
    mlp: Mlp,
    #[module(skip)]
    g: usize,
}

impl Encoder {
    /// An encoder for `size × size` images with `c` output channels.
    pub fn new(size: usize, c: usize, device: &Device) -> Self {
        Encoder {
            conv1: LinearConfig::new(KERNEL * KERNEL * 3, c).init(device),
            conv2: LinearConfig::new(9 * c, c).init(device),
            pos: LinearConfig::new(4, c).init(device),
            norm: LayerNormConfig::new(c).init(device),
            mlp: Mlp::new(c, c, c, device),
            g: grid_side(size),
        }
    }

    /// Features `[b, G², C]` of the patches from [`patches`].
    pub fn forward(&self, patches: Tensor<3>) -> Tensor<3> {
        let [b, n, _] = patches.dims();
        let g = self.g;
        let h = relu(self.conv1.forward(patches));
        let c = h.dims()[2];
        let device = h.device();
        // 3×3 convolution: unfold the zero-padded grid into nine shifted copies.
        let grid = h.reshape([b, g, g, c]);
        let zr = Tensor::<4>::zeros([b, 1, g, c], &device);
        let rows = Tensor::cat(vec![zr.clone(), grid, zr], 1); // [b, g+2, g, c]
        let zc = Tensor::<4>::zeros([b, g + 2, 1, c], &device);
        let padded = Tensor::cat(vec![zc.clone(), rows, zc], 2); // [b, g+2, g+2, c]
        let mut shifted = Vec::with_capacity(9);
        for dy in 0..3 {
            for dx in 0..3 {
                shifted.push(padded.clone().narrow(1, dy, g).narrow(2, dx, g));
            }
        }
        let unfolded = Tensor::cat(shifted, 3).reshape([b, n, 9 * c]);
        let h = relu(self.conv2.forward(unfolded));
        let h = h + self.pos.forward(grid_features(g, &device));
        self.mlp.forward(self.norm.forward(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::{device, tensor};

    #[test]
    fn patches_are_the_padded_windows() {
        // A 8×8 image whose pixel (x, y) has value (y·8 + x)/64 in every channel.
        let size = 8;
        let img: Vec<f32> = (0..size * size)
            .flat_map(|p| [p as f32 / 64.0; 3])
            .collect();
        let dev = device::device();
        let p = tensor::to_vec(patches(&img, size, &dev));
        let g = grid_side(size);
        assert_eq!(g, 2);
        let w = KERNEL * KERNEL * 3;
        assert_eq!(p.len(), g * g * w);
        // Cell (1, 0): window rows −2..6, columns 2..10; (ky, kx) = (3, 1) → pixel (x 3, y 1).
        let cell = &p[w..2 * w];
        let at = |ky: usize, kx: usize| cell[(ky * KERNEL + kx) * 3];
        assert!((at(3, 1) - (2.0 * (8.0 + 3.0) / 64.0 - 1.0)).abs() < 1e-6);
        assert_eq!(at(0, 0), 0.0); // above the image: zero padding
        assert_eq!(at(4, 7), 0.0); // right of the image: zero padding
    }

    #[test]
    fn the_grid_convolution_only_sees_neighbours() {
        // Changing one far-away cell leaves a cell's pre-position features unchanged.
        let dev = device::device();
        dev.seed(4);
        let enc = Encoder::new(32, 8, &dev);
        let mut rng = genlab_core::train::SeededRng::new(9);
        let x = rng.normal([1, 64, KERNEL * KERNEL * 3], &dev);
        let mut far = tensor::to_vec(x.clone());
        let w = KERNEL * KERNEL * 3;
        for v in &mut far[63 * w..64 * w] {
            *v += 5.0;
        }
        let far = Tensor::from_data(TensorData::new(far, [1, 64, w]), &dev);
        let (a, b) = (
            tensor::to_vec(enc.forward(x)),
            tensor::to_vec(enc.forward(far)),
        );
        // Cell 0 (corner) is 7 cells away from cell 63: identical; cell 62 is a neighbour.
        assert!(
            a[..8]
                .iter()
                .zip(&b[..8])
                .all(|(p, q)| (p - q).abs() < 1e-6)
        );
        assert!(
            a[62 * 8..63 * 8]
                .iter()
                .zip(&b[62 * 8..63 * 8])
                .any(|(p, q)| (p - q).abs() > 1e-4)
        );
    }
}
