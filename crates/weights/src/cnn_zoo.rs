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

use std::path::{Path, PathBuf};

use genlab_core::train::{Blobs, Observer, RngState, SeededRng, Stateful, TrainOptions, Trainer};
use genlab_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::convnet::ConvNet;
use crate::mlp::accuracy;
use crate::params::{Array, Params};
use crate::zoo::{Digits, ZooNet, ZooState, zoo_step};

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

type State = ZooState<ConvNet>;

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
}

fn learnable_flat(net: &ConvNet) -> Vec<f32> {
    net.learnable().concat()
}

fn set_learnable(net: &mut ConvNet, flat: &[f32]) -> Result<()> {
    let total: usize = net.learnable().iter().map(|b| b.len()).sum();
    if flat.len() != total {
        return Err(Error::InvalidInput(format!(
            "checkpoint holds {} values for {total}",
            flat.len()
        )));
    }
    let mut off = 0;
    for buf in net.learnable_mut() {
        let n = buf.len();
        buf.copy_from_slice(&flat[off..off + n]);
        off += n;
    }
    Ok(())
}

impl Stateful for State {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        for (k, ((net, m), v)) in self.nets.iter().zip(&self.m).zip(&self.v).enumerate() {
            blobs.put_f32s(&format!("net{k}"), &net.to_params().flatten())?;
            blobs.put_f32s(&format!("m{k}"), &learnable_flat(m))?;
            blobs.put_f32s(&format!("v{k}"), &learnable_flat(v))?;
        }
        let rngs: Vec<RngState> = self.rngs.iter().map(SeededRng::state).collect();
        blobs.put_json("rngs", &rngs)?;
        blobs.put_json("orders", &self.orders)?;
        blobs.put_json("cursor_t", &(self.cursor, self.t))
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        for k in 0..self.nets.len() {
            let layout = self.nets[k].to_params();
            let p = layout.unflatten(&blobs.get_f32s(&format!("net{k}"))?)?;
            self.nets[k] = ConvNet::from_params(&p, SIDE)?;
            set_learnable(&mut self.m[k], &blobs.get_f32s(&format!("m{k}"))?)?;
            set_learnable(&mut self.v[k], &blobs.get_f32s(&format!("v{k}"))?)?;
        }
        let rngs: Vec<RngState> = blobs.get_json("rngs")?;
        self.rngs = rngs.into_iter().map(SeededRng::from_state).collect();
        self.orders = blobs.get_json("orders")?;
        (self.cursor, self.t) = blobs.get_json("cursor_t")?;
        Ok(())
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
    let total = config.nets + config.heldout;
    let n_train = data.y_train.len();
    let mut rngs: Vec<SeededRng> = (0..total as u64)
        .map(|k| SeededRng::new(config.seed + k))
        .collect();
    let nets: Vec<ConvNet> = rngs
        .iter_mut()
        .map(|r| ConvNet::init(&config.channels, SIDE, 10, r))
        .collect();
    let orders = rngs.iter_mut().map(|r| r.permutation(n_train)).collect();
    let mut state = State {
        m: vec![config.template(); total],
        v: vec![config.template(); total],
        nets,
        rngs,
        orders,
        cursor: 0,
        t: 0,
    };
    // The epoch count is the step budget, which a resumed run may raise (the trainer checks it).
    let mut meta = serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?;
    meta["epochs"] = serde_json::Value::Null;
    meta["steps"] = config.steps(n_train).into();
    let mut options = TrainOptions::constant(config.steps(n_train), config.lr)
        .with_phase(format!("train a zoo of {total} CNNs"))
        .with_meta(meta)
        .with_resume(resume);
    if let Some(path) = checkpoint {
        options = options.with_checkpoint(path, 200);
    }
    Trainer::new(options, observer).run(
        &mut state,
        &mut SeededRng::new(config.seed),
        |s, st| Ok(vec![("loss", zoo_step(s, data, config.batch, st.lr))]),
        None,
    )?;
    let accuracy = state.nets.iter().map(|n| test_accuracy(n, data)).collect();
    Ok(CnnZoo {
        config: config.clone(),
        nets: state.nets,
        accuracy,
    })
}

fn cache_path(cache_dir: &Path, config: &CnnZooConfig) -> PathBuf {
    let text = serde_json::to_string(config).expect("a config serialises");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    cache_dir
        .join("weights")
        .join(format!("cnn-zoo-{h:016x}.safetensors"))
}

/// The cached CNN zoo of `config`, or a freshly trained (then cached) one; and whether it came
/// from the cache.
pub fn load_or_train_cnn(
    config: &CnnZooConfig,
    data: &Digits,
    cache_dir: &Path,
    observer: &mut dyn Observer,
) -> Result<(CnnZoo, bool)> {
    let path = cache_path(cache_dir, config);
    if path.exists()
        && let Ok(zoo) = read(&path, config)
    {
        return Ok((zoo, true));
    }
    let zoo = train_cnn_zoo(config, data, None, false, observer)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let d = zoo.nets[0].to_params().len();
    let flat: Vec<f32> = zoo
        .nets
        .iter()
        .flat_map(|n| n.to_params().flatten())
        .collect();
    Params::new(vec![
        (
            "weights".into(),
            Array {
                shape: vec![zoo.nets.len(), d],
                data: flat,
            },
        ),
        (
            "accuracy".into(),
            Array {
                shape: vec![zoo.nets.len()],
                data: zoo.accuracy.iter().map(|&a| a as f32).collect(),
            },
        ),
    ])
    .write(&path)?;
    Ok((zoo, false))
}

fn read(path: &Path, config: &CnnZooConfig) -> Result<CnnZoo> {
    let p = Params::read(path)?;
    let bad = || Error::parse(path, None, "not a CNN zoo of this configuration");
    let w = p.get("weights").ok_or_else(bad)?;
    let acc = p.get("accuracy").ok_or_else(bad)?;
    let layout = config.template().to_params();
    if w.shape != [config.nets + config.heldout, layout.len()] {
        return Err(bad());
    }
    let nets = w
        .data
        .chunks_exact(layout.len())
        .map(|row| ConvNet::from_params(&layout.unflatten(row)?, SIDE))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(CnnZoo {
        config: config.clone(),
        nets,
        accuracy: acc.data.iter().map(|&a| a as f64).collect(),
    })
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
