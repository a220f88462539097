//! The small CNN of the CNN zoo, computed on the host: conv blocks with BatchNorm, then one
//! dense layer, with its hand-written gradient (as [`crate::mlp`], a host loop per tiny
//! network beats an autodiff graph when hundreds train side by side).
//!
//! ```text
//! block ℓ:  z_ℓ = K_ℓ ⋆ a_{ℓ−1}   (3×3, stride 2, padding 1, no bias: BN has the shift)
//!           y_ℓ = γ_ℓ (z_ℓ − μ_ℓ) / √(σ²_ℓ + ε) + β_ℓ,   a_ℓ = relu(y_ℓ)
//!           training: μ, σ² of the batch (over samples and positions, biased σ²); running
//!           stats ← 0.9 · running + 0.1 · batch (unbiased σ²), as PyTorch's BatchNorm2d
//!           evaluation: μ, σ² = the running statistics
//! head:     logits = W · flatten(a_L) + b,  flatten channel-major (c · h·w + position)
//! backward: BN  ∂z = γ / (m √(σ²+ε)) · (m ∂y − Σ ∂y − ẑ Σ(∂y ẑ)),  ∂γ = Σ ∂y ẑ,  ∂β = Σ ∂y
//!           conv ∂K[o, k] = Σ_{n,p} ∂z[n, o, p] · cols[n, p, k];  ∂cols = ∂z · K, scattered back
//! ```
//!
//! **BatchNorm recalibration** ([`ConvNet::recalibrate`]): a generated (or interpolated)
//! network's running statistics are not those of its own activations; DeepWeightFlow resets
//! them and re-estimates them with forward passes on training data. Here: one training-mode
//! pass over a calibration set, block by block, setting each BN's running mean and (unbiased)
//! variance to that set's statistics — what PyTorch's cumulative average (`momentum=None`)
//! gives after one batch of that set.
//!
//! Tensor names follow a PyTorch `nn.Sequential(conv, bn, relu, conv, bn, relu, flatten,
//! linear)`: `layers.0.weight`, `layers.1.{weight, bias, running_mean, running_var}`, …,
//! `layers.{3B+1}.{weight, bias}`, so [`crate::cnn::CnnSpec::detect`] finds the layers by name.

use genlab_core::train::SeededRng;

use crate::cnn::CnnSpec;
use crate::error::{WResult, WeightsError};
use crate::mlp::softmax_delta;
use crate::params::{Array, Params};

/// BatchNorm ε (PyTorch's default).
const EPS: f32 = 1e-5;
/// Running-statistics momentum (PyTorch's default).
const MOMENTUM: f32 = 0.1;

/// The CNN's weights: `conv[ℓ]` `[c_{ℓ+1}, c_ℓ, 3, 3]`, per-block BN tensors, the dense head.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvNet {
    /// Channels, input first (`[1, c_1, …, c_B]`).
    pub channels: Vec<usize>,
    /// Input side (square images).
    pub side: usize,
    /// Classes.
    pub classes: usize,
    /// Conv kernels.
    pub conv: Vec<Vec<f32>>,
    /// BN scale γ.
    pub gamma: Vec<Vec<f32>>,
    /// BN shift β.
    pub beta: Vec<Vec<f32>>,
    /// BN running means.
    pub mean: Vec<Vec<f32>>,
    /// BN running variances.
    pub var: Vec<Vec<f32>>,
    /// Dense weight `[classes, c_B · s_B²]`.
    pub fc_w: Vec<f32>,
    /// Dense bias.
    pub fc_b: Vec<f32>,
}

/// Output side of a 3×3, stride-2, padding-1 conv on side `s`.
pub fn out_side(s: usize) -> usize {
    (s - 1) / 2 + 1
}

/// What the backward pass needs from one block's forward pass.
struct BlockCache {
    cols: Vec<f32>,
    zhat: Vec<f32>,
    inv_std: Vec<f32>,
    out: Vec<f32>,
}

impl ConvNet {
    /// Kaiming-uniform kernels and head (U(±√(6 / fan_in))), γ = 1, β = 0, zero bias, running
    /// mean 0 and variance 1.
    pub fn init(channels: &[usize], side: usize, classes: usize, rng: &mut SeededRng) -> ConvNet {
        let mut net = ConvNet::zeros(channels, side, classes);
        let mut fill = |buf: &mut Vec<f32>, fan_in: usize| {
            let bound = (6.0 / fan_in as f32).sqrt();
            *buf = rng
                .uniform_vec(buf.len())
                .into_iter()
                .map(|u| (2.0 * u - 1.0) * bound)
                .collect();
        };
        for (kernel, &c_in) in net.conv.iter_mut().zip(channels) {
            fill(kernel, c_in * 9);
        }
        let feat = net.features();
        fill(&mut net.fc_w, feat);
        for l in 0..channels.len() - 1 {
            net.gamma[l].fill(1.0);
            net.var[l].fill(1.0);
        }
        net
    }

    /// All zeros (gradient buffers, Adam moments).
    pub fn zeros(channels: &[usize], side: usize, classes: usize) -> ConvNet {
        let blocks = channels.len() - 1;
        let per = |l: usize| vec![0.0; channels[l + 1]];
        let mut s = side;
        for _ in 0..blocks {
            s = out_side(s);
        }
        let feat = channels[blocks] * s * s;
        ConvNet {
            channels: channels.to_vec(),
            side,
            classes,
            conv: (0..blocks)
                .map(|l| vec![0.0; channels[l + 1] * channels[l] * 9])
                .collect(),
            gamma: (0..blocks).map(per).collect(),
            beta: (0..blocks).map(per).collect(),
            mean: (0..blocks).map(per).collect(),
            var: (0..blocks).map(per).collect(),
            fc_w: vec![0.0; classes * feat],
            fc_b: vec![0.0; classes],
        }
    }

    /// Conv blocks.
    pub fn blocks(&self) -> usize {
        self.conv.len()
    }

    /// Side of block ℓ's output.
    fn side_after(&self, l: usize) -> usize {
        (0..=l).fold(self.side, |s, _| out_side(s))
    }

    /// Inputs of the dense head.
    pub fn features(&self) -> usize {
        let s = self.side_after(self.blocks() - 1);
        self.channels[self.blocks()] * s * s
    }

    /// The tensor names and shapes of [`ConvNet::to_params`] (module doc).
    pub fn to_params(&self) -> Params {
        let mut pairs = Vec::new();
        let arr = |shape: Vec<usize>, data: &[f32]| Array {
            shape,
            data: data.to_vec(),
        };
        for l in 0..self.blocks() {
            let (ci, co) = (self.channels[l], self.channels[l + 1]);
            pairs.push((
                format!("layers.{}.weight", 3 * l),
                arr(vec![co, ci, 3, 3], &self.conv[l]),
            ));
            let bn = 3 * l + 1;
            for (t, data) in [
                ("weight", &self.gamma[l]),
                ("bias", &self.beta[l]),
                ("running_mean", &self.mean[l]),
                ("running_var", &self.var[l]),
            ] {
                pairs.push((format!("layers.{bn}.{t}"), arr(vec![co], data)));
            }
        }
        let head = 3 * self.blocks() + 1;
        pairs.push((
            format!("layers.{head}.weight"),
            arr(vec![self.classes, self.features()], &self.fc_w),
        ));
        pairs.push((
            format!("layers.{head}.bias"),
            arr(vec![self.classes], &self.fc_b),
        ));
        Params::new(pairs)
    }

    /// The network stored in `params` (names and shapes of [`ConvNet::to_params`]).
    pub fn from_params(params: &Params, side: usize) -> WResult<ConvNet> {
        let spec = CnnSpec::detect(params, None)?;
        let mut channels = Vec::new();
        let mut classes = 0;
        for l in &spec.layers {
            match l {
                crate::cnn::Layer::Conv { inp, out, .. } => {
                    if channels.is_empty() {
                        channels.push(*inp);
                    }
                    channels.push(*out);
                }
                crate::cnn::Layer::Dense { out, .. } => classes = *out,
                crate::cnn::Layer::Norm { .. } => {}
            }
        }
        let net = ConvNet::zeros(&channels, side, classes);
        let flat = params.flatten();
        let want = net.to_params();
        want.same_layout(params).map_err(|e| {
            WeightsError::SpecMismatch(format!("not genlab's CNN for {side}×{side} inputs: {e}"))
        })?;
        ConvNet::from_flat_like(&net, &want.unflatten(&flat)?)
    }

    fn from_flat_like(template: &ConvNet, p: &Params) -> WResult<ConvNet> {
        let mut net = template.clone();
        let take = |name: String| p.get(&name).map(|a| a.data.clone()).expect("same layout");
        for l in 0..net.blocks() {
            net.conv[l] = take(format!("layers.{}.weight", 3 * l));
            let bn = 3 * l + 1;
            net.gamma[l] = take(format!("layers.{bn}.weight"));
            net.beta[l] = take(format!("layers.{bn}.bias"));
            net.mean[l] = take(format!("layers.{bn}.running_mean"));
            net.var[l] = take(format!("layers.{bn}.running_var"));
        }
        let head = 3 * net.blocks() + 1;
        net.fc_w = take(format!("layers.{head}.weight"));
        net.fc_b = take(format!("layers.{head}.bias"));
        Ok(net)
    }

    /// The learnable buffers (kernels, γ, β per block, then the head), for the optimiser.
    pub fn learnable_mut(&mut self) -> Vec<&mut [f32]> {
        let mut out: Vec<&mut [f32]> = Vec::new();
        for ((k, g), b) in self
            .conv
            .iter_mut()
            .zip(self.gamma.iter_mut())
            .zip(self.beta.iter_mut())
        {
            out.push(k);
            out.push(g);
            out.push(b);
        }
        out.push(&mut self.fc_w);
        out.push(&mut self.fc_b);
        out
    }

    /// [`ConvNet::learnable_mut`], read-only.
    pub fn learnable(&self) -> Vec<&[f32]> {
        let mut out: Vec<&[f32]> = Vec::new();
        for ((k, g), b) in self.conv.iter().zip(&self.gamma).zip(&self.beta) {
            out.push(k);
            out.push(g);
            out.push(b);
        }
        out.push(&self.fc_w);
        out.push(&self.fc_b);
        out
    }

    /// One block forward on `a` `[n, c_l, s, s]`; `train`: normalise with (and return) the
    /// batch statistics.
    fn block(
        &self,
        l: usize,
        a: &[f32],
        n: usize,
        train: bool,
    ) -> (BlockCache, Vec<f32>, Vec<f32>) {
        let (ci, co) = (self.channels[l], self.channels[l + 1]);
        let s = if l == 0 {
            self.side
        } else {
            self.side_after(l - 1)
        };
        let so = out_side(s);
        let (p, k) = (so * so, ci * 9);
        let cols = im2col(a, n, ci, s, so);
        let w = &self.conv[l];
        let mut z = vec![0.0f32; n * co * p];
        for smp in 0..n {
            for pos in 0..p {
                let col = &cols[(smp * p + pos) * k..][..k];
                for o in 0..co {
                    z[(smp * co + o) * p + pos] = dot(&w[o * k..(o + 1) * k], col);
                }
            }
        }
        let m = (n * p) as f32;
        let (mut mu, mut var) = (vec![0.0f32; co], vec![0.0f32; co]);
        if train {
            for o in 0..co {
                let vals = (0..n).flat_map(|smp| z[(smp * co + o) * p..][..p].iter());
                let sum: f64 = vals.clone().map(|&v| v as f64).sum();
                let mean = sum / m as f64;
                let sq: f64 = vals.map(|&v| (v as f64 - mean).powi(2)).sum();
                mu[o] = mean as f32;
                var[o] = (sq / m as f64) as f32;
            }
        } else {
            mu.clone_from(&self.mean[l]);
            var.clone_from(&self.var[l]);
        }
        let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + EPS).sqrt()).collect();
        let mut zhat = z;
        let mut out = vec![0.0f32; zhat.len()];
        for smp in 0..n {
            for o in 0..co {
                let r = (smp * co + o) * p..(smp * co + o + 1) * p;
                for (zh, y) in zhat[r.clone()].iter_mut().zip(&mut out[r]) {
                    *zh = (*zh - mu[o]) * inv_std[o];
                    *y = (self.gamma[l][o] * *zh + self.beta[l][o]).max(0.0);
                }
            }
        }
        (
            BlockCache {
                cols,
                zhat,
                inv_std,
                out,
            },
            mu,
            var,
        )
    }

    /// The logits `[n, classes]` of the `n` images `x` `[n, side²]`, BN from running stats.
    pub fn logits(&self, x: &[f32], n: usize) -> Vec<f32> {
        let mut a = x.to_vec();
        for l in 0..self.blocks() {
            a = self.block(l, &a, n, false).0.out;
        }
        self.head(&a, n)
    }

    fn head(&self, h: &[f32], n: usize) -> Vec<f32> {
        let f = self.features();
        let mut out = vec![0.0f32; n * self.classes];
        for smp in 0..n {
            for c in 0..self.classes {
                out[smp * self.classes + c] =
                    self.fc_b[c] + dot(&self.fc_w[c * f..(c + 1) * f], &h[smp * f..(smp + 1) * f]);
            }
        }
        out
    }

    /// Sets every BN's running statistics to those of the calibration images `x` (module doc).
    pub fn recalibrate(&mut self, x: &[f32], n: usize) {
        let mut a = x.to_vec();
        for l in 0..self.blocks() {
            let so = self.side_after(l);
            let m = (n * so * so) as f32;
            let (cache, mu, var) = self.block(l, &a, n, true);
            self.mean[l] = mu;
            self.var[l] = var.iter().map(|v| v * m / (m - 1.0).max(1.0)).collect();
            a = cache.out;
        }
    }

    /// Mean cross-entropy of a training-mode pass on `(x, y)`, its gradient into `grad`
    /// (learnable buffers), and the running statistics updated with the batch's.
    pub fn train_step(&mut self, x: &[f32], y: &[u32], grad: &mut ConvNet) -> f64 {
        let n = y.len();
        let mut caches = Vec::new();
        let mut a = x.to_vec();
        for l in 0..self.blocks() {
            let so = self.side_after(l);
            let m = (n * so * so) as f32;
            let (cache, mu, var) = self.block(l, &a, n, true);
            for o in 0..mu.len() {
                let unbiased = var[o] * m / (m - 1.0).max(1.0);
                self.mean[l][o] = (1.0 - MOMENTUM) * self.mean[l][o] + MOMENTUM * mu[o];
                self.var[l][o] = (1.0 - MOMENTUM) * self.var[l][o] + MOMENTUM * unbiased;
            }
            a = cache.out.clone();
            caches.push(cache);
        }
        let logits = self.head(&a, n);
        let (loss, delta) = softmax_delta(&logits, y, self.classes);
        self.backward(&caches, &delta, n, grad);
        loss
    }

    /// The gradient of the loss whose logit gradient is `delta`, given the blocks' caches.
    fn backward(&self, caches: &[BlockCache], delta: &[f32], n: usize, grad: &mut ConvNet) {
        let f = self.features();
        let h = &caches[self.blocks() - 1].out;
        grad.fc_w.fill(0.0);
        grad.fc_b.fill(0.0);
        let mut dh = vec![0.0f32; n * f];
        for smp in 0..n {
            for c in 0..self.classes {
                let d = delta[smp * self.classes + c];
                grad.fc_b[c] += d;
                let (gw, w) = (
                    &mut grad.fc_w[c * f..(c + 1) * f],
                    &self.fc_w[c * f..(c + 1) * f],
                );
                let (hs, dhs) = (&h[smp * f..(smp + 1) * f], &mut dh[smp * f..(smp + 1) * f]);
                for t in 0..f {
                    gw[t] += d * hs[t];
                    dhs[t] += d * w[t];
                }
            }
        }
        let mut da = dh;
        for l in (0..self.blocks()).rev() {
            da = self.block_backward(l, &caches[l], da, n, grad);
        }
    }

    /// One block backward: `da` = ∂ of its output; returns ∂ of its input (empty for block 0).
    fn block_backward(
        &self,
        l: usize,
        c: &BlockCache,
        mut da: Vec<f32>,
        n: usize,
        grad: &mut ConvNet,
    ) -> Vec<f32> {
        let (ci, co) = (self.channels[l], self.channels[l + 1]);
        let s = if l == 0 {
            self.side
        } else {
            self.side_after(l - 1)
        };
        let so = out_side(s);
        let (p, k) = (so * so, ci * 9);
        let m = (n * p) as f32;
        // ReLU, then BN.
        for (d, &y) in da.iter_mut().zip(&c.out) {
            if y <= 0.0 {
                *d = 0.0;
            }
        }
        let (gg, gb) = (&mut grad.gamma[l], &mut grad.beta[l]);
        gg.fill(0.0);
        gb.fill(0.0);
        for smp in 0..n {
            for o in 0..co {
                let r = (smp * co + o) * p..(smp * co + o + 1) * p;
                for (&d, &zh) in da[r.clone()].iter().zip(&c.zhat[r]) {
                    gg[o] += d * zh;
                    gb[o] += d;
                }
            }
        }
        let mut dz = da;
        for smp in 0..n {
            for o in 0..co {
                let scale = self.gamma[l][o] * c.inv_std[o] / m;
                let r = (smp * co + o) * p..(smp * co + o + 1) * p;
                for (d, &zh) in dz[r.clone()].iter_mut().zip(&c.zhat[r]) {
                    *d = scale * (m * *d - gb[o] - zh * gg[o]);
                }
            }
        }
        // Conv.
        let gw = &mut grad.conv[l];
        gw.fill(0.0);
        let w = &self.conv[l];
        let mut dcols = if l > 0 {
            vec![0.0f32; n * p * k]
        } else {
            Vec::new()
        };
        for smp in 0..n {
            for pos in 0..p {
                let col = &c.cols[(smp * p + pos) * k..][..k];
                for o in 0..co {
                    let d = dz[(smp * co + o) * p + pos];
                    if d == 0.0 {
                        continue;
                    }
                    for (g, &v) in gw[o * k..(o + 1) * k].iter_mut().zip(col) {
                        *g += d * v;
                    }
                    if l > 0 {
                        let dc = &mut dcols[(smp * p + pos) * k..][..k];
                        for (g, &v) in dc.iter_mut().zip(&w[o * k..(o + 1) * k]) {
                            *g += d * v;
                        }
                    }
                }
            }
        }
        if l == 0 {
            return Vec::new();
        }
        col2im(&dcols, n, ci, s, so)
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Patches of `a` `[n, c, s, s]` for a 3×3 stride-2 padding-1 conv: `[n, so², c·9]`.
fn im2col(a: &[f32], n: usize, c: usize, s: usize, so: usize) -> Vec<f32> {
    let k = c * 9;
    let mut cols = vec![0.0f32; n * so * so * k];
    for smp in 0..n {
        for oy in 0..so {
            for ox in 0..so {
                let dst = &mut cols[((smp * so + oy) * so + ox) * k..][..k];
                for ch in 0..c {
                    for ky in 0..3 {
                        let iy = (2 * oy + ky) as isize - 1;
                        for kx in 0..3 {
                            let ix = (2 * ox + kx) as isize - 1;
                            if iy >= 0 && ix >= 0 && (iy as usize) < s && (ix as usize) < s {
                                dst[ch * 9 + ky * 3 + kx] =
                                    a[((smp * c + ch) * s + iy as usize) * s + ix as usize];
                            }
                        }
                    }
                }
            }
        }
    }
    cols
}

/// The adjoint of [`im2col`]: patch gradients summed back into `[n, c, s, s]`.
fn col2im(cols: &[f32], n: usize, c: usize, s: usize, so: usize) -> Vec<f32> {
    let k = c * 9;
    let mut a = vec![0.0f32; n * c * s * s];
    for smp in 0..n {
        for oy in 0..so {
            for ox in 0..so {
                let src = &cols[((smp * so + oy) * so + ox) * k..][..k];
                for ch in 0..c {
                    for ky in 0..3 {
                        let iy = (2 * oy + ky) as isize - 1;
                        for kx in 0..3 {
                            let ix = (2 * ox + kx) as isize - 1;
                            if iy >= 0 && ix >= 0 && (iy as usize) < s && (ix as usize) < s {
                                a[((smp * c + ch) * s + iy as usize) * s + ix as usize] +=
                                    src[ch * 9 + ky * 3 + kx];
                            }
                        }
                    }
                }
            }
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Training-mode loss (batch statistics) at the given net, without touching its stats.
    fn train_loss(net: &ConvNet, x: &[f32], y: &[u32]) -> f64 {
        let mut copy = net.clone();
        let mut g = ConvNet::zeros(&net.channels, net.side, net.classes);
        copy.train_step(x, y, &mut g)
    }

    /// The hand-written gradient against central finite differences (f64 differences of an
    /// f32 network: loose tolerance, far below a wrong index or sign).
    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = SeededRng::new(21);
        let mut net = ConvNet::init(&[1, 3, 4], 6, 3, &mut rng);
        for l in 0..2 {
            net.beta[l].iter_mut().for_each(|b| *b = 0.3);
        }
        let n = 5;
        let x = rng.normal_vec(n * 36);
        let y: Vec<u32> = (0..n as u32).map(|s| s % 3).collect();
        let mut grad = ConvNet::zeros(&net.channels, 6, 3);
        net.clone().train_step(&x, &y, &mut grad);
        let analytic: Vec<f32> = grad.learnable().concat();
        let base: Vec<f32> = net.learnable().concat();
        // Small steps: at 1e-3 a few of the 8 positions × 5 samples cross a ReLU kink.
        let h = 2.5e-4f32;
        for idx in (0..base.len()).step_by(2) {
            let at = |delta: f32| {
                let mut m = net.clone();
                let mut off = 0;
                for buf in m.learnable_mut() {
                    if idx < off + buf.len() {
                        buf[idx - off] += delta;
                        break;
                    }
                    off += buf.len();
                }
                train_loss(&m, &x, &y)
            };
            let fd = (at(h) - at(-h)) / (2.0 * h as f64);
            assert!(
                (fd - analytic[idx] as f64).abs() < 3e-3 + 3e-2 * fd.abs(),
                "parameter {idx}: finite difference {fd} vs analytic {}",
                analytic[idx]
            );
        }
    }

    #[test]
    fn params_round_trip_and_recalibration_matches_the_batch_statistics() {
        let mut rng = SeededRng::new(22);
        let mut net = ConvNet::init(&[1, 4, 6], 8, 10, &mut rng);
        let p = net.to_params();
        assert_eq!(ConvNet::from_params(&p, 8).unwrap(), net);
        let n = 7;
        let x = rng.normal_vec(n * 64);
        net.recalibrate(&x, n);
        // After recalibration, evaluation mode on the calibration set normalises block 0's
        // pre-activations to zero mean, unit (biased) variance per channel.
        let (c, _, _) = net.block(0, &x, n, false);
        let p0 = 16;
        for o in 0..4 {
            let vals: Vec<f64> = (0..n)
                .flat_map(|s| c.zhat[(s * 4 + o) * p0..][..p0].iter().map(|&v| v as f64))
                .collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            assert!(mean.abs() < 1e-4, "{mean}");
            // unbiased running var: biased var of ẑ = (m − 1) / m
            let m = vals.len() as f64;
            assert!((var - (m - 1.0) / m).abs() < 1e-3, "{var}");
        }
    }
}
