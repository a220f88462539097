//! Classification models for attribution (E1 and user CSVs): a Gaussian-mixture task, the
//! models (multinomial logistic regression = a one-layer [`Mlp`]; a one-hidden-layer MLP),
//! their training on a subset, and TRAK's classification output function.
//!
//! ```text
//! data      μ_c ~ N(0, s² I_d) (c = 1…C),   x = μ_{y} + N(0, I_d);  a fraction of labels flipped
//! objective L(θ; S) = (1/|S|) Σ_{i∈S} ℓ_i + (ρ/2) ‖θ‖²,   ℓ_i = −log softmax(h(x_i))_{y_i}
//! margin    f(z; θ) = h_y(x) − log Σ_{j≠y} exp h_j(x)      (= log p_y/(1 − p_y))
//! Q_i       = 1 − p_y(x_i)                                 (∂ℓ/∂f, TRAK's out-to-loss term)
//! ```
//!
//! Training is full-batch Adam (cosine decay to lr/1000, so retrainings land close to the
//! optimum the influence formulas linearise around) on the core [`Trainer`]; models are initialised from the run's
//! [`SeededRng`], so a retraining is a pure function of (subset, seed).

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::tensor::to_vec;
use genlab_core::train::{Learner, LrSchedule, NoObserver, SeededRng, TrainOptions, Trainer};
use serde::{Deserialize, Serialize};

use crate::attributors::Features;
use crate::error::Result;
use crate::grads::{LayerGrads, per_example};
use crate::mlp::{Act, Mlp};

/// Labelled points: `n × d` inputs and labels in `0..classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Input dimension.
    pub d: usize,
    /// Number of classes.
    pub classes: usize,
    /// `n × d` inputs, row-major.
    pub x: Vec<f32>,
    /// Labels.
    pub y: Vec<usize>,
}

impl Labelled {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The examples `idx`.
    pub fn select(&self, idx: &[usize]) -> Labelled {
        Labelled {
            d: self.d,
            classes: self.classes,
            x: idx
                .iter()
                .flat_map(|&i| self.x[i * self.d..(i + 1) * self.d].iter().copied())
                .collect(),
            y: idx.iter().map(|&i| self.y[i]).collect(),
        }
    }

    fn inputs(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(self.x.clone(), [self.len(), self.d]),
            device,
        )
    }

    fn one_hot(&self, device: &Device) -> Tensor<2> {
        let mut v = vec![0.0f32; self.len() * self.classes];
        for (i, &y) in self.y.iter().enumerate() {
            v[i * self.classes + y] = 1.0;
        }
        Tensor::from_data(TensorData::new(v, [self.len(), self.classes]), device)
    }
}

/// The Gaussian-mixture task of the module doc.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Mixture {
    /// Input dimension d.
    pub d: usize,
    /// Classes C.
    pub classes: usize,
    /// Spread s of the class means (smaller: more overlap).
    pub spread: f32,
    /// Fraction of training labels replaced by a random other class.
    pub label_noise: f64,
}

impl Mixture {
    /// `n_train` noisy-label training and `n_test` clean test examples.
    pub fn sample(
        &self,
        n_train: usize,
        n_test: usize,
        rng: &mut SeededRng,
    ) -> (Labelled, Labelled) {
        let means: Vec<f32> = rng
            .normal_vec(self.classes * self.d)
            .into_iter()
            .map(|v| v * self.spread)
            .collect();
        let draw = |n: usize, noise: f64, rng: &mut SeededRng| {
            let mut x = Vec::with_capacity(n * self.d);
            let mut y = Vec::with_capacity(n);
            for _ in 0..n {
                let c = rng.indices(1, self.classes)[0];
                let z = rng.normal_vec(self.d);
                x.extend(
                    z.iter()
                        .zip(&means[c * self.d..(c + 1) * self.d])
                        .map(|(a, m)| a + m),
                );
                let flip = (rng.uniform_vec(1)[0] as f64) < noise;
                y.push(if flip {
                    (c + 1 + rng.indices(1, self.classes - 1)[0]) % self.classes
                } else {
                    c
                });
            }
            Labelled {
                d: self.d,
                classes: self.classes,
                x,
                y,
            }
        };
        let train = draw(n_train, self.label_noise, rng);
        let test = draw(n_test, 0.0, rng);
        (train, test)
    }
}

/// How a classifier is trained.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct FitConfig {
    /// Hidden width (0: logistic regression).
    pub hidden: usize,
    /// Full-batch Adam steps.
    pub steps: u64,
    /// Learning rate.
    pub lr: f64,
    /// L2 penalty ρ on every parameter.
    pub l2: f64,
}

impl FitConfig {
    /// The layer widths for inputs of dimension `d` and `classes` outputs.
    pub fn sizes(&self, d: usize, classes: usize) -> Vec<usize> {
        if self.hidden == 0 {
            vec![d, classes]
        } else {
            vec![d, self.hidden, classes]
        }
    }
}

/// Log-sum-exp over dim 1, `[n, c]` → `[n, 1]`.
fn logsumexp(x: Tensor<2>) -> Tensor<2> {
    let m = x.clone().max_dim(1).detach();
    (x - m.clone()).exp().sum_dim(1).log() + m
}

/// TRAK's margin f = h_y − log Σ_{j≠y} exp h_j, `[n, 1]`.
pub fn margin(logits: Tensor<2>, one_hot: Tensor<2>) -> Tensor<2> {
    let correct = (logits.clone() * one_hot.clone()).sum_dim(1);
    correct - logsumexp(logits - one_hot * 1e4)
}

/// The per-example loss ℓ = −log softmax(h)_y, `[n, 1]`.
pub fn cross_entropy(logits: Tensor<2>, one_hot: Tensor<2>) -> Tensor<2> {
    logsumexp(logits.clone()) - (logits * one_hot).sum_dim(1)
}

/// Trains a classifier on `data` (see the module doc); the model stays on the autodiff device.
pub fn fit(data: &Labelled, config: &FitConfig, seed: u64, device: &Device) -> Result<Mlp> {
    let mut rng = SeededRng::new(seed);
    let mlp = Mlp::init(
        &config.sizes(data.d, data.classes),
        Act::Relu,
        &mut rng,
        device,
    );
    let mut learner = Learner::new("model", mlp, AdamConfig::new().init());
    let (x, oh) = (data.inputs(device), data.one_hot(device));
    let options = TrainOptions::new(
        config.steps,
        LrSchedule::WarmupCosine {
            peak: config.lr,
            min_lr: config.lr * 1e-3,
            warmup: 1,
            total: config.steps,
        },
    )
    .with_log_every(config.steps.max(1));
    let l2 = config.l2;
    Trainer::new(options, &mut NoObserver).fit(
        &mut learner,
        &mut rng,
        |m: &Mlp, _, _| {
            let ce = cross_entropy(m.forward(x.clone()), oh.clone()).mean();
            let penalty = m
                .layers
                .iter()
                .map(|l| {
                    let b = l.bias.as_ref().map(|b| b.val().square().sum()).unwrap();
                    l.weight.val().square().sum() + b
                })
                .reduce(|a, b| a + b)
                .unwrap();
            ce + penalty.mul_scalar(l2 / 2.0)
        },
        None,
    )?;
    Ok(learner.into_parts().0)
}

/// The margins f(z_q; θ) of `data` under `model`.
pub fn margins(model: &Mlp, data: &Labelled) -> Vec<f64> {
    let device = Device::flex();
    let m = model.valid();
    let out = margin(m.forward(data.inputs(&device)), data.one_hot(&device));
    to_vec(out).into_iter().map(|v| v as f64).collect()
}

/// Q_i = 1 − p_{y_i}(x_i).
pub fn out_to_loss(model: &Mlp, data: &Labelled) -> Vec<f64> {
    let device = Device::flex();
    let m = model.valid();
    let ce = cross_entropy(m.forward(data.inputs(&device)), data.one_hot(&device));
    to_vec(ce)
        .into_iter()
        .map(|l| 1.0 - (-(l as f64)).exp())
        .collect()
}

/// Per-example gradients of the margin (`loss = false`) or of ℓ (`loss = true`).
pub fn example_grads(model: &Mlp, data: &Labelled, loss: bool) -> LayerGrads {
    let device = model.layers[0].weight.val().device();
    let oh = data.one_hot(&device);
    let f = |out: Tensor<2>| {
        if loss {
            cross_entropy(out, oh)
        } else {
            margin(out, oh)
        }
    };
    per_example(model, data.inputs(&device), f).0
}

/// Materialised gradients `n × p` of a [`LayerGrads`].
pub fn dense(g: &LayerGrads) -> Features {
    let p = g.dim();
    let mut data = vec![0.0f32; g.n * p];
    for (i, row) in data.chunks_mut(p).enumerate() {
        g.add_to(i, 1.0, row);
    }
    Features { n: g.n, k: p, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_log_odds_and_training_learns() {
        let device = Device::flex().autodiff();
        let mix = Mixture {
            d: 5,
            classes: 3,
            spread: 2.0,
            label_noise: 0.0,
        };
        let (train, test) = mix.sample(200, 50, &mut SeededRng::new(1));
        let config = FitConfig {
            hidden: 0,
            steps: 200,
            lr: 0.05,
            l2: 1e-3,
        };
        let model = fit(&train, &config, 2, &device).unwrap();
        let m = margins(&model, &test);
        let q = out_to_loss(&model, &test);
        for (mi, qi) in m.iter().zip(&q) {
            // f = log p/(1−p) ⇔ 1 − p = 1/(1 + e^f)
            assert!((qi - 1.0 / (1.0 + mi.exp())).abs() < 1e-4, "{mi} {qi}");
        }
        let correct = m.iter().filter(|v| **v > 0.0).count();
        assert!(
            correct as f64 > 0.8 * test.len() as f64,
            "{correct}/50 test points correct"
        );
        // The same (subset, seed) retrains to the same margins.
        assert_eq!(
            margins(&fit(&train, &config, 2, &device).unwrap(), &test),
            m
        );
    }
}
