//! The small 8×8-digit classifier behind FD-digits and the "accuracy of generated samples"
//! metric used by several families (flow, CMT, guidance, SONA).
//!
//! It is an MLP 64-128-64-10 (ReLU) trained with cross-entropy on the shipped UCI digits from
//! a fixed seed, so every machine gets the same network; the weights are cached under the data
//! cache (`fd-digits/`) and retrained only when missing. FD-digits is the Fréchet distance
//! between Gaussians fitted to the 64-wide penultimate features of two digit sets:
//!
//! ```text
//! FD = ‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2})
//! ```
//!
//! Inputs are digits on the dataset's 0–16 intensity scale.

use std::path::Path;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::AdamConfig;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::data::{Points, digits};
use crate::error::{Error, Result};
use crate::metrics::{Gaussian, frechet_distance};
use crate::train::{
    Learner, LrSchedule, NoObserver, SeededRng, TrainOptions, Trainer, seed_device,
};
use crate::{device, fsx, tensor};

/// Seed of the one canonical classifier.
pub const CLASSIFIER_SEED: u64 = 20_260_101;
/// Training steps of the canonical classifier.
const STEPS: u64 = 1500;
/// Digits held out (the last ones of a seeded shuffle) to measure the classifier's accuracy.
const HELD_OUT: usize = 297;
const FILE: &str = "classifier.bpk";

/// The MLP.
#[derive(Module, Debug)]
pub struct DigitNet {
    l1: Linear,
    l2: Linear,
    l3: Linear,
}

impl DigitNet {
    fn new(device: &Device) -> Self {
        DigitNet {
            l1: LinearConfig::new(64, 128).init(device),
            l2: LinearConfig::new(128, 64).init(device),
            l3: LinearConfig::new(64, 10).init(device),
        }
    }

    /// Penultimate features, `[batch, 64]`, for inputs on the 0–16 scale.
    pub fn features(&self, x: Tensor<2>) -> Tensor<2> {
        let x = x.div_scalar(16.0);
        relu(self.l2.forward(relu(self.l1.forward(x))))
    }

    /// Class logits, `[batch, 10]`.
    pub fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.l3.forward(self.features(x))
    }
}

/// The trained classifier with its measured held-out accuracy.
#[derive(Debug, Clone)]
pub struct DigitClassifier {
    net: DigitNet,
    /// Accuracy on the held-out digits at training time.
    pub held_out_accuracy: f64,
}

impl DigitClassifier {
    /// Loads the cached classifier from `cache_dir/fd-digits/`, training (≈ 2 s) and caching
    /// it first if absent.
    pub fn load_or_train(cache_dir: &Path) -> Result<Self> {
        let dir = cache_dir.join("fd-digits");
        let path = dir.join(FILE);
        let meta_path = dir.join("classifier.json");
        let device = device::device();
        if path.exists() && meta_path.exists() {
            let net = crate::weights::load_weights(DigitNet::new(&device), &path)?;
            let meta: serde_json::Value = fsx::read_json(&meta_path)?;
            let held_out_accuracy = meta["held_out_accuracy"].as_f64().unwrap_or(f64::NAN);
            return Ok(DigitClassifier {
                net,
                held_out_accuracy,
            });
        }
        let classifier = Self::train()?;
        crate::weights::save_weights(&classifier.net, &path)?;
        fsx::write_json(
            &meta_path,
            &serde_json::json!({
                "seed": CLASSIFIER_SEED, "steps": STEPS,
                "held_out_accuracy": classifier.held_out_accuracy,
            }),
        )?;
        Ok(classifier)
    }

    /// Trains the canonical classifier (deterministic for [`CLASSIFIER_SEED`]).
    pub fn train() -> Result<Self> {
        let all = digits();
        let mut rng = SeededRng::new(CLASSIFIER_SEED);
        let order = rng.permutation(all.len());
        let shuffled = all.select(&order);
        let (train, test) = shuffled.split_at(all.len() - HELD_OUT);
        let labels = train.labels.clone().expect("digits are labelled");
        let device = device::train_device();
        seed_device(&device, CLASSIFIER_SEED);
        let schedule = LrSchedule::WarmupCosine {
            peak: 2e-3,
            min_lr: 1e-4,
            warmup: 50,
            total: STEPS,
        };
        let options = TrainOptions::new(STEPS, schedule).with_log_every(100);
        let mut learner = Learner::new("model", DigitNet::new(&device), AdamConfig::new().init());
        let ce = CrossEntropyLossConfig::new().init(&device);
        Trainer::new(options, &mut NoObserver).fit(
            &mut learner,
            &mut rng,
            |net, rng, _| {
                let idx = rng.indices(128, train.len());
                let x = tensor::rows_to_tensor(&train, &idx, &device);
                let y: Vec<i64> = idx.iter().map(|&i| labels[i] as i64).collect();
                let y = Tensor::<1, Int>::from_data(TensorData::new(y, [idx.len()]), &device);
                ce.forward(net.logits(x), y)
            },
            None,
        )?;
        let mut classifier = DigitClassifier {
            net: learner.into_parts().0.valid(),
            held_out_accuracy: 0.0,
        };
        classifier.held_out_accuracy = classifier.accuracy(&test)?;
        Ok(classifier)
    }

    /// Predicted class of every digit.
    pub fn predict(&self, digits: &Points) -> Result<Vec<u32>> {
        check_dim(digits)?;
        let logits = self
            .net
            .logits(tensor::to_tensor(digits, &device::device()));
        let pred = logits.argmax(1).into_data().convert::<i64>();
        Ok(pred
            .try_into_vec::<i64>()
            .expect("i64 after convert")
            .into_iter()
            .map(|p| p as u32)
            .collect())
    }

    /// Fraction of `digits` classified as their label (or as `class`, for class-conditional
    /// samples without labels).
    pub fn accuracy(&self, digits: &Points) -> Result<f64> {
        let labels = digits
            .labels
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("accuracy needs labelled digits".into()))?;
        let pred = self.predict(digits)?;
        let hits = pred.iter().zip(labels).filter(|(p, l)| p == l).count();
        Ok(hits as f64 / pred.len().max(1) as f64)
    }

    /// The Gaussian of the classifier features of `real`: the reference side of FD-digits,
    /// computed once per reference set.
    pub fn feature_gaussian(&self, real: &Points) -> Result<Gaussian> {
        Gaussian::fit(&self.features(real)?)
    }

    /// FD-digits: the Fréchet distance between the classifier features of `samples` and a
    /// reference from [`DigitClassifier::feature_gaussian`].
    pub fn fd(&self, samples: &Points, reference: &Gaussian) -> Result<f64> {
        frechet_distance(&Gaussian::fit(&self.features(samples)?)?, reference)
    }

    /// Penultimate features of `digits`, as points in 64-D.
    pub fn features(&self, digits: &Points) -> Result<Points> {
        check_dim(digits)?;
        Ok(tensor::to_points(
            self.net
                .features(tensor::to_tensor(digits, &device::device())),
        ))
    }
}

fn check_dim(digits: &Points) -> Result<()> {
    if digits.d != 64 {
        return Err(Error::InvalidInput(format!(
            "8×8 digits have 64 values per row, got {}",
            digits.d
        )));
    }
    Ok(())
}
