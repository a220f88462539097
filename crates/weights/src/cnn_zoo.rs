//! The CNN zoo: N small CNNs ([`ConvNet`], two conv+BatchNorm blocks and a dense head) trained
//! on the 8×8 digits from different seeds, plus held-out seeds — the zoo of `repro weights-cnn`.
//!
//! ```text
//! net k: seed s_k = seed + k;  θ_k⁰ ~ Kaiming-uniform(s_k), γ = 1, β = 0;  minibatches in an
//!        order drawn from s_k, reshuffled each epoch;  Adam (lr, β = (0.9, 0.999))
//! nets 0..N            the training zoo        nets N..N+H   held out
//! ```
//!
//! As the MLP zoo ([`crate::zoo`]): all networks advance together, one minibatch each per
//! trainer step (in parallel, each net owning its RNG), through the core's `Trainer`; the
//! finished zoo is cached under the data cache (`weights/cnn-zoo-<hash>.safetensors`).

use std::path::Path;

use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::convnet::ConvNet;
use crate::mlp::accuracy;
use crate::zoo::{Digits, Training, ZooNet, cache_file, cached, train_nets};

/// Side of the digit images.
pub const SIDE: usize = 8;

/// How the CNN zoo is trained (the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CnnZooConfig {
    /// Channels, input (1) first.
    pub channels: Vec<usize>,
    /// Networks in the training zoo.
    pub nets: usize,
    /// Further networks from held-out seeds.
    pub heldout: usize,
    /// Passes over the training digits.
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed of network 0.
    pub seed: u64,
}

impl CnnZooConfig {
    /// Trainer steps: one minibatch of every network per step.
    pub fn steps(&self, n_train: usize) -> u64 {
        (self.epochs * n_train.div_ceil(self.batch)) as u64
    }

    fn validate(&self) -> Result<()> {
        if self.channels.len() < 2 || self.channels[0] != 1 || self.channels.contains(&0) {
            return Err(Error::InvalidInput(format!(
                "a digits CNN needs channels 1, c_1, … (all ≥ 1), got {:?}",
                self.channels
            )));
        }
        if self.nets == 0 || self.epochs == 0 || self.batch == 0 {
            return Err(Error::InvalidInput(
                "zoo nets, epochs and batch must be ≥ 1".into(),
            ));
        }
        Ok(())
    }

    /// A fresh network of this zoo's architecture.
    pub fn template(&self) -> ConvNet {
        ConvNet::zeros(&self.channels, SIDE, 10)
    }
}

/// A trained CNN zoo: the training networks, then the held-out ones.
#[derive(Debug, Clone)]
pub struct CnnZoo {
    /// How it was trained.
    pub config: CnnZooConfig,
    /// All networks.
    pub nets: Vec<ConvNet>,
    /// Test accuracy of each network.
    pub accuracy: Vec<f64>,
}

impl CnnZoo {
    /// The training zoo.
    pub fn train_nets(&self) -> &[ConvNet] {
        &self.nets[..self.config.nets]
    }

    /// The held-out networks.
    pub fn heldout_nets(&self) -> &[ConvNet] {
        &self.nets[self.config.nets..]
    }
}

/// Test accuracy of a CNN on the digits.
pub fn test_accuracy(net: &ConvNet, data: &Digits) -> f64 {
    accuracy(&net.logits(&data.x_test, data.y_test.len()), &data.y_test)
}

impl ZooNet for ConvNet {
    fn zeros_like(&self) -> Self {
        ConvNet::zeros(&self.channels, self.side, self.classes)
    }
    fn train_step(&mut self, x: &[f32], y: &[u32], grad: &mut Self) -> f64 {
        ConvNet::train_step(self, x, y, grad)
    }
    fn params(&self) -> Vec<&[f32]> {
        self.learnable()
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        self.learnable_mut()
    }
    fn to_flat(&self) -> Vec<f32> {
        self.to_params().flatten()
    }
    fn with_flat(&self, flat: &[f32]) -> Result<Self> {
        Ok(ConvNet::from_params(
            &self.to_params().unflatten(flat)?,
            self.side,
        )?)
    }
}

/// Trains the CNN zoo (module doc). With `checkpoint`, the run can be interrupted and resumed.
pub fn train_cnn_zoo(
    config: &CnnZooConfig,
    data: &Digits,
    checkpoint: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<CnnZoo> {
    config.validate()?;
    let training = Training {
        what: "CNNs",
        total: config.nets + config.heldout,
        seed: config.seed,
        batch: config.batch,
        lr: config.lr,
        steps: config.steps(data.y_train.len()),
        config: serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?,
    };
    let init = |r: &mut SeededRng| ConvNet::init(&config.channels, SIDE, 10, r);
    let nets = train_nets(&training, init, data, checkpoint, resume, observer)?;
    let accuracy = nets.iter().map(|n| test_accuracy(n, data)).collect();
    Ok(CnnZoo {
        config: config.clone(),
        nets,
        accuracy,
    })
}

/// The cached CNN zoo of `config`, or a freshly trained (then cached) one; and whether it came
/// from the cache.
pub fn load_or_train_cnn(
    config: &CnnZooConfig,
    data: &Digits,
    cache_dir: &Path,
    observer: &mut dyn Observer,
) -> Result<(CnnZoo, bool)> {
    let (nets, accuracy, cached) = cached(
        &cache_file(cache_dir, "cnn-zoo", config),
        config.nets + config.heldout,
        &config.template(),
        || {
            let zoo = train_cnn_zoo(config, data, None, false, observer)?;
            Ok((zoo.nets, zoo.accuracy))
        },
    )?;
    let config = config.clone();
    Ok((
        CnnZoo {
            config,
            nets,
            accuracy,
        },
        cached,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::NoObserver;

    #[test]
    fn trains_distinct_accurate_cnns_and_caches_them() {
        let data = Digits::load();
        let config = CnnZooConfig {
            channels: vec![1, 4, 8],
            nets: 2,
            heldout: 1,
            epochs: 3,
            batch: 32,
            lr: 1e-2,
            seed: 5,
        };
        let dir = tempfile::tempdir().unwrap();
        let (zoo, cached) = load_or_train_cnn(&config, &data, dir.path(), &mut NoObserver).unwrap();
        assert!(!cached);
        assert_eq!(zoo.nets.len(), 3);
        assert!(zoo.accuracy.iter().all(|&a| a > 0.7), "{:?}", zoo.accuracy);
        assert_ne!(zoo.nets[0], zoo.nets[1]);
        let (again, cached) =
            load_or_train_cnn(&config, &data, dir.path(), &mut NoObserver).unwrap();
        assert!(cached);
        assert_eq!(again.nets, zoo.nets);
    }

    /// Sizing probe (by hand): accuracy and time of a full-size CNN zoo.
    #[test]
    #[ignore = "sizing probe: run with --ignored --nocapture when re-sizing the CNN zoo"]
    fn probe_cnn_zoo() {
        let data = Digits::load();
        let (epochs, lr) = (10, 3e-3);
        {
            let c = CnnZooConfig {
                channels: vec![1, 8, 16],
                nets: 120,
                heldout: 0,
                epochs,
                batch: 32,
                lr,
                seed: 0,
            };
            let t = std::time::Instant::now();
            let zoo = train_cnn_zoo(&c, &data, None, false, &mut NoObserver).unwrap();
            let (m, s) = genlab_core::report::mean_std(&zoo.accuracy);
            eprintln!(
                "epochs {epochs} lr {lr}: acc {m:.4} ± {s:.4} in {:.1}s",
                t.elapsed().as_secs_f64()
            );
        }
    }
}
