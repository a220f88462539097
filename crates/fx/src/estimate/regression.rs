//! Tier 2: the fixed-order regression baseline of LLM2Fx-Tools (their `models/regression`),
//! with the audio encoder replaced by the descriptors of [`crate::estimate::features`]:
//!
//! ```text
//! x̃ = (x − μ)/σ                         x = features(dry, wet), μ, σ from the training set
//! h = ReLU(W₂ ReLU(W₁ x̃ + b₁) + b₂)      hidden width 256
//! [z, a] = W₃ h + b₃                     z ∈ ℝ^9 presence logits, a ∈ ℝ^27 one per parameter
//! p = σ(z),  û = σ(a)                    presence probabilities, normalised parameters
//! L = λ · BCE(z, y) + Σ m (û − u)² / max(1, Σ m)
//! ```
//!
//! `y` the presence labels, `u` the spec-normalised true parameters, `m` the mask of parameters
//! of effects present in the example (a missing effect has no parameters to regress), λ = 1
//! (the paper weights the presence BCE by 0.1 next to encoder embeddings; with hand-made
//! features and a short CPU budget the presence head is the weaker one, so it is not
//! down-weighted). `BCE(z, y) = mean(softplus(z) − y·z)`.
//!
//! **Inference** (no order can come out of it — the point of the baseline): every effect with
//! `p > 0.5`, in the **fixed canonical order of the spec table** ([`crate::engine::spec::EFFECTS`]),
//! with parameters `û` de-normalised and snapped to the step grid. Stereo-only effects are
//! skipped on mono input.
//!
//! Trained weights are copied to plain arrays ([`Regressor`]), so estimation is a few
//! matrix-vector products, thread-safe, and independent of the tensor backend.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::train::{
    Learner, LrSchedule, Observer, SeededRng, TrainOptions, Trainer, seed_device,
};
use genlab_core::{Error, Result, device, tensor};

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{Chain, Stage};
use crate::engine::spec::EFFECTS;
use crate::estimate::features::{Descriptors, FEATURE_DIM};
use crate::estimate::objective::Pair;
use crate::estimate::{ChainEstimator, Estimate};

/// The file [`Regressor::save`] writes.
pub const MODEL_FILE: &str = "regressor.json";

/// The arm name of tier 2 in tables and verdicts.
pub const NAME: &str = "tier 2: regression (fixed order)";

/// Number of effects (presence outputs).
pub const N_EFFECTS: usize = 9;

/// Total number of parameters over all effects (parameter outputs).
pub fn n_params() -> usize {
    EFFECTS.iter().map(|e| e.params.len()).sum()
}

/// Index of effect `k`'s first parameter in the parameter vector.
pub fn param_offset(k: usize) -> usize {
    EFFECTS[..k].iter().map(|e| e.params.len()).sum()
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RegressionConfig {
    /// Hidden width.
    pub hidden: usize,
    /// Optimisation steps.
    pub steps: u64,
    /// Minibatch size.
    pub batch: usize,
    /// Peak learning rate (Adam, warm-up then cosine decay).
    pub lr: f64,
    /// λ, the weight of the presence loss.
    pub presence_weight: f64,
    /// Seconds of wet signal kept after the dry end when computing features.
    pub max_tail_seconds: f64,
    /// Seed of initialisation and minibatches.
    pub seed: u64,
}

impl Default for RegressionConfig {
    fn default() -> Self {
        RegressionConfig {
            hidden: 256,
            steps: 2000,
            batch: 128,
            lr: 2e-3,
            presence_weight: 1.0,
            max_tail_seconds: 0.5,
            seed: 0,
        }
    }
}

/// Regression targets of one chain: presence `y` (9), normalised parameters `u` and mask `m`.
pub fn targets(chain: &Chain) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut y = vec![0.0; N_EFFECTS];
    let mut u = vec![0.0; n_params()];
    let mut m = vec![0.0; n_params()];
    for stage in &chain.stages {
        if let Some(k) = EFFECTS.iter().position(|e| e.name == stage.spec.name) {
            y[k] = 1.0;
            for (j, (p, v)) in stage.spec.params.iter().zip(&stage.values).enumerate() {
                u[param_offset(k) + j] = p.normalise(v.at(0.0)) as f32;
                m[param_offset(k) + j] = 1.0;
            }
        }
    }
    (y, u, m)
}

/// The regression features of (`dry`, `wet`).
pub fn features(dry: &AudioBuffer, wet: &AudioBuffer, max_tail_seconds: f64) -> Result<Vec<f32>> {
    Ok(Descriptors::of(&Pair::new(dry, wet, Some(max_tail_seconds))?).to_vec())
}

/// The network being trained.
#[derive(Module, Debug)]
pub struct RegressionNet {
    l1: Linear,
    l2: Linear,
    l3: Linear,
}

impl RegressionNet {
    fn new(input: usize, hidden: usize, device: &Device) -> Self {
        RegressionNet {
            l1: LinearConfig::new(input, hidden).init(device),
            l2: LinearConfig::new(hidden, hidden).init(device),
            l3: LinearConfig::new(hidden, N_EFFECTS + n_params()).init(device),
        }
    }

    /// Raw outputs `[z, a]`, `[batch, 9 + 27]`, for standardised inputs.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l3
            .forward(relu(self.l2.forward(relu(self.l1.forward(x)))))
    }
}

/// `L = λ·BCE(z, y) + masked MSE(σ(a), u)` from the raw outputs `[z, a]` (see the module doc).
pub fn loss(
    outputs: Tensor<2>,
    y: Tensor<2>,
    u: Tensor<2>,
    m: Tensor<2>,
    presence_weight: f64,
) -> Tensor<1> {
    let [batch, _] = outputs.dims();
    let z = outputs.clone().narrow(1, 0, N_EFFECTS);
    let a = outputs.narrow(1, N_EFFECTS, n_params());
    // softplus(z) = max(z, 0) + ln(1 + e^{−|z|}), stable for any z.
    let softplus = z.clone().clamp_min(0.0) + z.clone().abs().neg().exp().add_scalar(1.0).log();
    let bce = (softplus - y * z)
        .sum()
        .div_scalar((batch * N_EFFECTS) as f64);
    let diff = sigmoid(a) - u;
    let weight = m.clone().sum().clamp_min(1.0);
    let mse = (diff.clone() * diff * m).sum() / weight;
    bce.mul_scalar(presence_weight) + mse
}

/// A dense layer on the host: `y = x W + b`, `W` row-major `[input, output]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    input: usize,
    output: usize,
}

impl Dense {
    fn from(layer: &Linear) -> Dense {
        let w = layer.weight.val();
        let [input, output] = w.dims();
        let b = layer
            .bias
            .as_ref()
            .map_or(vec![0.0; output], |b| tensor::to_vec(b.val()));
        Dense {
            w: tensor::to_vec(w),
            b,
            input,
            output,
        }
    }

    fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut y = self.b.clone();
        for (i, &xi) in x.iter().enumerate().take(self.input) {
            let row = &self.w[i * self.output..(i + 1) * self.output];
            for (yo, &wo) in y.iter_mut().zip(row) {
                *yo += xi * wo;
            }
        }
        y
    }
}

/// A trained regression baseline (tier 2). [`Regressor::save`] writes it as one JSON file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Regressor {
    mean: Vec<f32>,
    std: Vec<f32>,
    layers: [Dense; 3],
    max_tail_seconds: f64,
}

/// Presence probabilities and normalised parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// `p`, one per effect (spec order).
    pub presence: Vec<f32>,
    /// `û`, one per parameter (spec order).
    pub params: Vec<f32>,
}

fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Regressor {
    /// The host copy of a trained network with its input standardisation.
    fn from_net(net: &RegressionNet, mean: Vec<f32>, std: Vec<f32>, max_tail_seconds: f64) -> Self {
        Regressor {
            mean,
            std,
            layers: [
                Dense::from(&net.l1),
                Dense::from(&net.l2),
                Dense::from(&net.l3),
            ],
            max_tail_seconds,
        }
    }

    /// Writes `dir/regressor.json`.
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        genlab_core::fsx::write_json(&dir.join(MODEL_FILE), self)
    }

    /// Loads a model written by [`Regressor::save`].
    pub fn load(dir: &std::path::Path) -> Result<Regressor> {
        let path = dir.join(MODEL_FILE);
        if !path.exists() {
            return Err(Error::InvalidInput(format!(
                "{} holds no regression model (no {MODEL_FILE})",
                dir.display()
            )));
        }
        let r: Regressor = genlab_core::fsx::read_json(&path)?;
        let shapes_ok = r.mean.len() == FEATURE_DIM
            && r.std.len() == FEATURE_DIM
            && r.layers[0].input == FEATURE_DIM
            && r.layers[2].output == N_EFFECTS + n_params()
            && r.layers
                .iter()
                .all(|l| l.w.len() == l.input * l.output && l.b.len() == l.output);
        if !shapes_ok {
            return Err(Error::InvalidInput(format!(
                "{}: the layer shapes do not match this version's features and effects",
                path.display()
            )));
        }
        Ok(r)
    }

    /// The prediction for a feature vector.
    pub fn predict(&self, features: &[f32]) -> Prediction {
        let x: Vec<f32> = features
            .iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(v, (m, s))| (v - m) / s)
            .collect();
        let h1: Vec<f32> = self.layers[0]
            .forward(&x)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let h2: Vec<f32> = self.layers[1]
            .forward(&h1)
            .into_iter()
            .map(|v| v.max(0.0))
            .collect();
        let out = self.layers[2].forward(&h2);
        Prediction {
            presence: out[..N_EFFECTS].iter().map(|&v| logistic(v)).collect(),
            params: out[N_EFFECTS..].iter().map(|&v| logistic(v)).collect(),
        }
    }

    /// The chain of a prediction: effects with `p > 0.5` in spec order, snapped parameters.
    pub fn chain(&self, prediction: &Prediction, stereo: bool) -> Chain {
        let stages = EFFECTS
            .iter()
            .enumerate()
            .filter(|(k, e)| {
                prediction.presence[*k] > 0.5
                    && (stereo || !matches!(e.name, "panner" | "stereo_widener"))
            })
            .map(|(k, e)| {
                let values: Vec<f64> = e
                    .params
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        p.snap(p.denormalise(prediction.params[param_offset(k) + j] as f64))
                    })
                    .collect();
                Stage::constant(e, &values)
            })
            .collect();
        Chain { stages }
    }
}

impl ChainEstimator for Regressor {
    fn name(&self) -> String {
        NAME.into()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        let prediction = self.predict(&features(dry, wet, self.max_tail_seconds)?);
        let chain = self.chain(&prediction, dry.n_channels() == 2);
        let listed: Vec<String> = EFFECTS
            .iter()
            .zip(&prediction.presence)
            .filter(|(_, p)| **p > 0.5)
            .map(|(e, p)| format!("{} (p = {p:.2})", e.name))
            .collect();
        let rationale = if listed.is_empty() {
            "no effect has presence probability above 0.5".to_string()
        } else {
            format!(
                "presence probability above 0.5: {}; placed in the fixed canonical order, parameters regressed and snapped to the grid",
                listed.join(", ")
            )
        };
        Ok(Estimate { chain, rationale })
    }
}

/// Rows `idx` of `rows` as a `[idx.len(), width]` tensor.
fn gather(rows: &[Vec<f32>], idx: &[usize], device: &Device) -> Tensor<2> {
    let width = rows[0].len();
    let mut data = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        data.extend_from_slice(&rows[i]);
    }
    Tensor::from_data(TensorData::new(data, [idx.len(), width]), device)
}

/// Trains the baseline on `(features, chain)` pairs. Returns the model and the loss history.
pub fn train(
    features: &[Vec<f32>],
    chains: &[Chain],
    config: &RegressionConfig,
    observer: &mut dyn Observer,
) -> Result<(Regressor, Vec<(u64, f64)>)> {
    train_in(features, chains, config, None, observer)
}

/// [`train`] with a run directory `(dir, resume)`: checkpoints go to `dir` every 100 steps
/// (and on interruption), and `resume` continues the run found there exactly.
pub fn train_in(
    features: &[Vec<f32>],
    chains: &[Chain],
    config: &RegressionConfig,
    run: Option<(&std::path::Path, bool)>,
    observer: &mut dyn Observer,
) -> Result<(Regressor, Vec<(u64, f64)>)> {
    if features.is_empty() || features.len() != chains.len() {
        return Err(Error::InvalidInput(format!(
            "need as many feature rows as chains (got {} and {}), at least one",
            features.len(),
            chains.len()
        )));
    }
    let dim = features[0].len();
    if dim != FEATURE_DIM
        || features
            .iter()
            .any(|f| f.len() != dim || f.iter().any(|v| !v.is_finite()))
    {
        return Err(Error::InvalidInput(format!(
            "feature rows must have {FEATURE_DIM} finite values"
        )));
    }
    let n = features.len();
    let mut mean = vec![0.0f32; dim];
    let mut std = vec![0.0f32; dim];
    for f in features {
        for (m, v) in mean.iter_mut().zip(f) {
            *m += v / n as f32;
        }
    }
    for f in features {
        for ((s, v), m) in std.iter_mut().zip(f).zip(&mean) {
            *s += (v - m) * (v - m) / n as f32;
        }
    }
    for s in &mut std {
        *s = s.sqrt().max(1e-3);
    }
    let rows: Vec<Vec<f32>> = features
        .iter()
        .map(|f| {
            f.iter()
                .zip(mean.iter().zip(&std))
                .map(|(v, (m, s))| (v - m) / s)
                .collect()
        })
        .collect();
    let (mut presence, mut params, mut masks) = (Vec::new(), Vec::new(), Vec::new());
    for (y, u, m) in chains.iter().map(targets) {
        presence.push(y);
        params.push(u);
        masks.push(m);
    }
    let device = device::train_device();
    seed_device(&device, config.seed);
    let schedule = LrSchedule::WarmupCosine {
        peak: config.lr,
        min_lr: config.lr / 20.0,
        warmup: (config.steps / 20).max(1),
        total: config.steps,
    };
    let mut options = TrainOptions::new(config.steps, schedule)
        .with_log_every((config.steps / 50).max(1))
        .with_phase("train regression");
    if let Some((dir, resume)) = run {
        options = options
            .with_checkpoint(genlab_core::train::Checkpoint::path_in(dir), 100)
            .with_resume(resume);
    }
    let net = RegressionNet::new(dim, config.hidden, &device);
    let mut learner = Learner::new("model", net, AdamConfig::new().init()).with_clip(Some(1.0));
    let mut rng = SeededRng::new(config.seed);
    let batch = config.batch.clamp(1, n);
    let outcome = Trainer::new(options, observer).fit(
        &mut learner,
        &mut rng,
        |net, rng, _| {
            let idx = rng.indices(batch, n);
            let x = gather(&rows, &idx, &device);
            let y = gather(&presence, &idx, &device);
            let u = gather(&params, &idx, &device);
            let m = gather(&masks, &idx, &device);
            loss(net.forward(x), y, u, m, config.presence_weight)
        },
        None,
    )?;
    let net = learner.into_inference();
    let regressor = Regressor::from_net(&net, mean, std, config.max_tail_seconds);
    Ok((regressor, outcome.history.losses()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::effect;
    use crate::estimate::dataset::generate;
    use genlab_core::gradcheck::{autodiff_grad, max_relative_error, numerical_grad};
    use genlab_core::train::NoObserver;

    /// The loss written out in f64, term by term (the oracle).
    fn naive_loss(out: &[f32], y: &[f32], u: &[f32], m: &[f32], rows: usize, lambda: f64) -> f64 {
        let w = N_EFFECTS + n_params();
        let (mut bce, mut se, mut mass) = (0.0, 0.0, 0.0);
        for r in 0..rows {
            for k in 0..N_EFFECTS {
                let z = out[r * w + k] as f64;
                let t = y[r * N_EFFECTS + k] as f64;
                let p = 1.0 / (1.0 + (-z).exp());
                bce -= t * p.ln() + (1.0 - t) * (1.0 - p).ln();
            }
            for j in 0..n_params() {
                let a = out[r * w + N_EFFECTS + j] as f64;
                let i = r * n_params() + j;
                let e = 1.0 / (1.0 + (-a).exp()) - u[i] as f64;
                se += m[i] as f64 * e * e;
                mass += m[i] as f64;
            }
        }
        lambda * bce / (rows * N_EFFECTS) as f64 + se / mass.max(1.0)
    }

    #[test]
    fn loss_and_its_gradient_match_the_written_out_formula() {
        let rows = 3;
        let w = N_EFFECTS + n_params();
        let mut rng = SeededRng::new(5);
        let out: Vec<f32> = rng.normal_vec(rows * w).iter().map(|v| 2.0 * v).collect();
        let chains: Vec<Chain> = (0..rows)
            .map(|s| {
                crate::engine::sampler::sample_chain(&mut SeededRng::new(s as u64), 1 + s, true)
                    .unwrap()
            })
            .collect();
        let all: Vec<_> = chains.iter().map(targets).collect();
        let y: Vec<f32> = all.iter().flat_map(|t| t.0.clone()).collect();
        let u: Vec<f32> = all.iter().flat_map(|t| t.1.clone()).collect();
        let m: Vec<f32> = all.iter().flat_map(|t| t.2.clone()).collect();
        let device = device::device();
        let t = |v: &[f32], c: usize, d: &Device| {
            Tensor::<2>::from_data(TensorData::new(v.to_vec(), [rows, c]), d)
        };
        let value = loss(
            t(&out, w, &device),
            t(&y, N_EFFECTS, &device),
            t(&u, n_params(), &device),
            t(&m, n_params(), &device),
            0.7,
        )
        .into_scalar::<f32>() as f64;
        let want = naive_loss(&out, &y, &u, &m, rows, 0.7);
        assert!(
            (value - want).abs() < 1e-5 * want.max(1.0),
            "{value} vs {want}"
        );
        let analytic = autodiff_grad(
            |x| {
                let d = x.device();
                loss(
                    x,
                    t(&y, N_EFFECTS, &d),
                    t(&u, n_params(), &d),
                    t(&m, n_params(), &d),
                    0.7,
                )
            },
            &out,
            [rows, w],
            &device,
        );
        let numerical = numerical_grad(|v| naive_loss(v, &y, &u, &m, rows, 0.7), &out, 1e-2);
        assert!(max_relative_error(&analytic, &numerical) < 1e-3);
        // Parameters of absent effects get no gradient.
        for r in 0..rows {
            for j in 0..n_params() {
                if m[r * n_params() + j] == 0.0 {
                    assert_eq!(analytic[r * w + N_EFFECTS + j], 0.0);
                }
            }
        }
    }

    #[test]
    fn the_host_copy_computes_what_the_network_computes() {
        let device = device::device();
        let net = RegressionNet::new(FEATURE_DIM, 32, &device);
        let mut rng = SeededRng::new(2);
        let mean = rng.normal_vec(FEATURE_DIM);
        let std: Vec<f32> = rng
            .uniform_vec(FEATURE_DIM)
            .iter()
            .map(|u| 0.5 + u)
            .collect();
        let x = rng.normal_vec(FEATURE_DIM);
        let host = Regressor::from_net(&net, mean.clone(), std.clone(), 0.5).predict(&x);
        let standard: Vec<f32> = x
            .iter()
            .zip(mean.iter().zip(&std))
            .map(|(v, (m, s))| (v - m) / s)
            .collect();
        let out = tensor::to_vec(sigmoid(net.forward(Tensor::<2>::from_data(
            TensorData::new(standard, [1, FEATURE_DIM]),
            &device,
        ))));
        let both: Vec<f32> = host.presence.iter().chain(&host.params).copied().collect();
        assert_eq!(both.len(), out.len());
        for (a, b) in both.iter().zip(&out) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn targets_follow_the_spec_layout() {
        let chain = Chain {
            stages: vec![
                Stage::constant(effect("reverb").unwrap(), &[0.9, 0.0, 0.45, 1.0]),
                Stage::constant(effect("gain").unwrap(), &[10.0]),
            ],
        };
        let (y, u, m) = targets(&chain);
        assert_eq!(y, vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(n_params(), 27);
        assert_eq!(param_offset(5), 1 + 1 + 5 + 2 + 3);
        assert_eq!(u[0], 0.75);
        assert_eq!(&u[12..16], &[1.0, 0.0, 0.5, 1.0]);
        assert_eq!(m.iter().sum::<f32>(), 5.0);
    }

    #[test]
    fn features_are_deterministic_and_training_learns_presence() {
        let spec = crate::testutil::pluck_and_drum(48, 1, 16_000, 0.5);
        let data = generate(&spec, 3).unwrap();
        let feats: Vec<Vec<f32>> = data
            .iter()
            .map(|e| features(&e.dry, &e.wet, 0.5).unwrap())
            .collect();
        let again = features(&data[7].dry, &data[7].wet, 0.5).unwrap();
        assert_eq!(feats[7], again);
        assert_eq!(again.len(), FEATURE_DIM);
        let chains: Vec<Chain> = data.iter().map(|e| e.chain.clone()).collect();
        let config = RegressionConfig {
            hidden: 64,
            steps: 300,
            batch: 48,
            ..RegressionConfig::default()
        };
        let (model, losses) = train(&feats, &chains, &config, &mut NoObserver).unwrap();
        assert!(losses.last().unwrap().1 < 0.5 * losses[0].1, "{losses:?}");
        // The host copy of the network predicts the training presence labels.
        let hits = data
            .iter()
            .zip(&feats)
            .filter(|(e, f)| {
                let c = model.chain(&model.predict(f), true);
                c.stages
                    .iter()
                    .any(|s| s.spec.name == e.chain.stages[0].spec.name)
            })
            .count();
        assert!(hits >= 40, "{hits}/48");
        let est = model.estimate(&data[0].dry, &data[0].wet).unwrap();
        assert!(est.rationale.contains("order") || est.rationale.contains("no effect"));
    }
}
