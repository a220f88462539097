//! The model zoo: N small MLPs trained on the 8×8 digits from different seeds — the data set
//! a weight-space flow learns from — plus a held-out set of seeds for the memorisation check.
//!
//! ```text
//! net k: seed s_k = seed + k;  θ_k⁰ ~ Kaiming-uniform(s_k);  minibatches in an order drawn
//!        from s_k, reshuffled each epoch;  Adam (lr, β = (0.9, 0.999)) on cross-entropy
//! nets 0..N            the training zoo        nets N..N+H   held out (never seen by a flow)
//! ```
//!
//! The reference zoo (784-32-32-10 on MNIST) trains with Adam lr 1e-3, 5 epochs, batch 64;
//! here the 8×8 digits (1,437 training images) take more epochs to settle. All networks advance
//! together, one minibatch each per trainer step (in parallel: each net owns its RNG, so the
//! result does not depend on the thread count), through the core's `Trainer` with the nets,
//! their Adam moments and RNG positions as the checkpointed state. The finished zoo is cached
//! under the data cache (`weights/zoo-<hash of the config>.safetensors`, written atomically).

use std::path::{Path, PathBuf};

use genlab_core::data::digits;
use genlab_core::ops::adamw::{AdamWStep, adamw_slices};
use genlab_core::train::{Blobs, Observer, RngState, SeededRng, Stateful, TrainOptions, Trainer};
use genlab_core::{Error, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::mlp::{Mlp, accuracy};
use crate::params::{Array, Params};

/// The 8×8 digits, pixels scaled to [0, 1], split once into train and test.
#[derive(Debug, Clone)]
pub struct Digits {
    /// Training images `[n_train, 64]`.
    pub x_train: Vec<f32>,
    /// Training labels.
    pub y_train: Vec<u32>,
    /// Test images `[n_test, 64]`.
    pub x_test: Vec<f32>,
    /// Test labels.
    pub y_test: Vec<u32>,
}

/// Pixels per digit image.
pub const PIXELS: usize = 64;

impl Digits {
    /// The fixed split: a seed-0 shuffle of the 1,797 digits, the last 360 held out for test.
    pub fn load() -> Digits {
        let points = digits();
        let labels = points.labels.clone().expect("digits carry labels");
        let order = SeededRng::new(0).permutation(points.len());
        let n_test = 360;
        let n_train = points.len() - n_test;
        let take = |idx: &[usize]| -> (Vec<f32>, Vec<u32>) {
            let x = idx
                .iter()
                .flat_map(|&i| points.row(i).iter().map(|v| v / 16.0))
                .collect();
            (x, idx.iter().map(|&i| labels[i]).collect())
        };
        let (x_train, y_train) = take(&order[..n_train]);
        let (x_test, y_test) = take(&order[n_train..]);
        Digits {
            x_train,
            y_train,
            x_test,
            y_test,
        }
    }

    /// Test accuracy of `net`.
    pub fn test_accuracy(&self, net: &Mlp) -> f64 {
        accuracy(&net.logits(&self.x_test, self.y_test.len()), &self.y_test)
    }
}

/// How the zoo is trained (the cache key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZooConfig {
    /// Layer widths, input (64) first, classes (10) last.
    pub widths: Vec<usize>,
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
    /// Seed of network 0 (network k uses seed + k).
    pub seed: u64,
}

impl ZooConfig {
    /// Trainer steps: one minibatch of every network per step.
    pub fn steps(&self, n_train: usize) -> u64 {
        (self.epochs * n_train.div_ceil(self.batch)) as u64
    }

    fn validate(&self) -> Result<()> {
        if self.widths.len() < 2 || self.widths[0] != PIXELS || *self.widths.last().unwrap() != 10 {
            return Err(Error::InvalidInput(format!(
                "a digits zoo needs widths 64, …, 10 (got {:?})",
                self.widths
            )));
        }
        if self.widths.contains(&0) || self.nets == 0 || self.epochs == 0 || self.batch == 0 {
            return Err(Error::InvalidInput(
                "zoo widths, nets, epochs and batch must be ≥ 1".into(),
            ));
        }
        Ok(())
    }
}

/// A trained zoo: the training networks, then the held-out ones.
#[derive(Debug, Clone)]
pub struct Zoo {
    /// How it was trained.
    pub config: ZooConfig,
    /// All networks (training zoo first, then held out).
    pub nets: Vec<Mlp>,
    /// Test accuracy of each network.
    pub accuracy: Vec<f64>,
}

impl Zoo {
    /// The training zoo.
    pub fn train_nets(&self) -> &[Mlp] {
        &self.nets[..self.config.nets]
    }

    /// The held-out networks.
    pub fn heldout_nets(&self) -> &[Mlp] {
        &self.nets[self.config.nets..]
    }
}

/// A network a zoo trains: one loss-and-gradient step on a minibatch, and its trainable
/// buffers in a fixed order (the Adam moments are networks of the same shape).
pub(crate) trait ZooNet: Send {
    /// A network of the same shape with every value 0 (a gradient or moment buffer).
    fn zeros_like(&self) -> Self;
    /// Loss on (x, y), writing the gradient into `grad` (and updating any running statistics).
    fn train_step(&mut self, x: &[f32], y: &[u32], grad: &mut Self) -> f64;
    /// The trainable buffers.
    fn params(&self) -> Vec<&[f32]>;
    /// The trainable buffers, in the order of [`ZooNet::params`].
    fn params_mut(&mut self) -> Vec<&mut [f32]>;
    /// Everything a cache or checkpoint stores of the network (its buffers and any running
    /// statistics), as one vector.
    fn to_flat(&self) -> Vec<f32>;
    /// A network of this one's shape holding `flat` (from [`ZooNet::to_flat`]).
    fn with_flat(&self, flat: &[f32]) -> Result<Self>
    where
        Self: Sized;
}

/// Copies `flat` into the trainable buffers of `net` (an Adam moment), in their order.
fn set_params<N: ZooNet>(net: &mut N, flat: &[f32]) -> Result<()> {
    let total: usize = net.params().iter().map(|b| b.len()).sum();
    if flat.len() != total {
        return Err(Error::InvalidInput(format!(
            "checkpoint holds {} values for {total}",
            flat.len()
        )));
    }
    let mut off = 0;
    for buf in net.params_mut() {
        let n = buf.len();
        buf.copy_from_slice(&flat[off..off + n]);
        off += n;
    }
    Ok(())
}

impl ZooNet for Mlp {
    fn zeros_like(&self) -> Self {
        Mlp::zeros(&self.widths)
    }
    fn train_step(&mut self, x: &[f32], y: &[u32], grad: &mut Self) -> f64 {
        self.loss_and_grad(x, y, grad)
    }
    fn params(&self) -> Vec<&[f32]> {
        self.flat_buffers()
    }
    fn params_mut(&mut self) -> Vec<&mut [f32]> {
        self.buffers_mut()
    }
    fn to_flat(&self) -> Vec<f32> {
        self.flat()
    }
    fn with_flat(&self, flat: &[f32]) -> Result<Self> {
        Ok(Mlp::from_flat(&self.widths, flat)?)
    }
}

/// Every network's weights, Adam moments and data stream: the trainer's state.
pub(crate) struct ZooState<N> {
    pub(crate) nets: Vec<N>,
    pub(crate) m: Vec<N>,
    pub(crate) v: Vec<N>,
    pub(crate) rngs: Vec<SeededRng>,
    pub(crate) orders: Vec<Vec<usize>>,
    pub(crate) cursor: usize,
    pub(crate) t: u64,
}

impl<N: ZooNet> Stateful for ZooState<N> {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        for (k, ((net, m), v)) in self.nets.iter().zip(&self.m).zip(&self.v).enumerate() {
            blobs.put_f32s(&format!("net{k}"), &net.to_flat())?;
            blobs.put_f32s(&format!("m{k}"), &m.params().concat())?;
            blobs.put_f32s(&format!("v{k}"), &v.params().concat())?;
        }
        let rngs: Vec<RngState> = self.rngs.iter().map(SeededRng::state).collect();
        blobs.put_json("rngs", &rngs)?;
        blobs.put_json("orders", &self.orders)?;
        blobs.put_json("cursor_t", &(self.cursor, self.t))
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        for k in 0..self.nets.len() {
            self.nets[k] = self.nets[k].with_flat(&blobs.get_f32s(&format!("net{k}"))?)?;
            set_params(&mut self.m[k], &blobs.get_f32s(&format!("m{k}"))?)?;
            set_params(&mut self.v[k], &blobs.get_f32s(&format!("v{k}"))?)?;
        }
        let rngs: Vec<RngState> = blobs.get_json("rngs")?;
        self.rngs = rngs.into_iter().map(SeededRng::from_state).collect();
        self.orders = blobs.get_json("orders")?;
        (self.cursor, self.t) = blobs.get_json("cursor_t")?;
        Ok(())
    }
}

/// One Adam step of every network on its next minibatch of `batch` digits (each network
/// with its own order, reshuffled every epoch); returns the mean loss.
pub(crate) fn zoo_step<N: ZooNet>(
    state: &mut ZooState<N>,
    data: &Digits,
    batch: usize,
    lr: f64,
) -> f64 {
    let n_train = data.y_train.len();
    if state.cursor >= n_train {
        state.cursor = 0;
        for (order, rng) in state.orders.iter_mut().zip(state.rngs.iter_mut()) {
            *order = rng.permutation(n_train);
        }
    }
    let (start, end) = (state.cursor, (state.cursor + batch).min(n_train));
    state.cursor = end;
    state.t += 1;
    let t = state.t as i32;
    let step = AdamWStep {
        lr: lr as f32,
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-8,
        weight_decay: 0.0,
        correction_1: 1.0 - 0.9f32.powi(t),
        correction_2: 1.0 - 0.999f32.powi(t),
    };
    let losses: Vec<f64> = state
        .nets
        .par_iter_mut()
        .zip(state.m.par_iter_mut().zip(state.v.par_iter_mut()))
        .zip(state.orders.par_iter())
        .map(|((net, (m, v)), order)| {
            let idx = &order[start..end];
            let x: Vec<f32> = idx
                .iter()
                .flat_map(|&i| data.x_train[i * PIXELS..(i + 1) * PIXELS].iter().copied())
                .collect();
            let y: Vec<u32> = idx.iter().map(|&i| data.y_train[i]).collect();
            let mut grad = net.zeros_like();
            let loss = net.train_step(&x, &y, &mut grad);
            for (((p, g), mm), vv) in net
                .params_mut()
                .into_iter()
                .zip(grad.params())
                .zip(m.params_mut())
                .zip(v.params_mut())
            {
                adamw_slices(p, g, mm, vv, step);
            }
            loss
        })
        .collect();
    losses.iter().sum::<f64>() / losses.len() as f64
}

/// Trains the zoo (module doc). With `checkpoint`, the run can be interrupted and resumed.
pub fn train_zoo(
    config: &ZooConfig,
    data: &Digits,
    checkpoint: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<Zoo> {
    config.validate()?;
    let training = Training {
        what: "MLPs",
        total: config.nets + config.heldout,
        seed: config.seed,
        batch: config.batch,
        lr: config.lr,
        steps: config.steps(data.y_train.len()),
        config: serde_json::to_value(config).map_err(|e| Error::InvalidInput(e.to_string()))?,
    };
    let init = |r: &mut SeededRng| Mlp::init(&config.widths, r);
    let nets = train_nets(&training, init, data, checkpoint, resume, observer)?;
    let accuracy = nets.iter().map(|n| data.test_accuracy(n)).collect();
    Ok(Zoo {
        config: config.clone(),
        nets,
        accuracy,
    })
}

/// The cached zoo of `config`, or a freshly trained (and then cached) one; also says whether
/// it came from the cache.
pub fn load_or_train(
    config: &ZooConfig,
    data: &Digits,
    cache_dir: &Path,
    observer: &mut dyn Observer,
) -> Result<(Zoo, bool)> {
    let (nets, accuracy, cached) = cached(
        &cache_file(cache_dir, "zoo", config),
        config.nets + config.heldout,
        &Mlp::zeros(&config.widths),
        || {
            let zoo = train_zoo(config, data, None, false, observer)?;
            Ok((zoo.nets, zoo.accuracy))
        },
    )?;
    let config = config.clone();
    Ok((
        Zoo {
            config,
            nets,
            accuracy,
        },
        cached,
    ))
}

/// How a zoo trains, whatever its networks.
pub(crate) struct Training {
    /// What the networks are, for the progress line ("MLPs").
    pub(crate) what: &'static str,
    /// Networks, the held-out ones included (network k is seeded with `seed + k`).
    pub(crate) total: usize,
    /// Seed of network 0.
    pub(crate) seed: u64,
    /// Minibatch size.
    pub(crate) batch: usize,
    /// Adam learning rate.
    pub(crate) lr: f64,
    /// Trainer steps (one minibatch of every network each).
    pub(crate) steps: u64,
    /// The zoo's configuration, recorded in (and checked against) the checkpoint.
    pub(crate) config: serde_json::Value,
}

/// Trains `total` networks made by `init` from their own RNGs, all advancing together
/// ([`zoo_step`]) through the core's `Trainer`.
pub(crate) fn train_nets<N: ZooNet>(
    training: &Training,
    init: impl Fn(&mut SeededRng) -> N,
    data: &Digits,
    checkpoint: Option<&Path>,
    resume: bool,
    observer: &mut dyn Observer,
) -> Result<Vec<N>> {
    let (total, n_train) = (training.total, data.y_train.len());
    let mut rngs: Vec<SeededRng> = (0..total as u64)
        .map(|k| SeededRng::new(training.seed + k))
        .collect();
    let nets: Vec<N> = rngs.iter_mut().map(init).collect();
    let orders = rngs.iter_mut().map(|r| r.permutation(n_train)).collect();
    let zeros: Vec<N> = nets.iter().map(N::zeros_like).collect();
    let mut state = ZooState {
        m: zeros.iter().map(N::zeros_like).collect(),
        v: zeros,
        nets,
        rngs,
        orders,
        cursor: 0,
        t: 0,
    };
    // The epoch count is the step budget, which a resumed run may raise (the trainer checks it).
    let mut meta = training.config.clone();
    meta["epochs"] = serde_json::Value::Null;
    meta["steps"] = training.steps.into();
    let mut options = TrainOptions::constant(training.steps, training.lr)
        .with_phase(format!("train a zoo of {total} {}", training.what))
        .with_meta(meta)
        .with_resume(resume);
    if let Some(path) = checkpoint {
        options = options.with_checkpoint(path, 200);
    }
    Trainer::new(options, observer).run(
        &mut state,
        &mut SeededRng::new(training.seed),
        |s, step| Ok(vec![("loss", zoo_step(s, data, training.batch, step.lr))]),
        None,
    )?;
    Ok(state.nets)
}

/// `dir/weights/PREFIX-<FNV-1a of the config's JSON>.safetensors`: where a zoo is cached.
pub(crate) fn cache_file(cache_dir: &Path, prefix: &str, config: &impl Serialize) -> PathBuf {
    let text = serde_json::to_string(config).expect("a config serialises");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    cache_dir
        .join("weights")
        .join(format!("{prefix}-{h:016x}.safetensors"))
}

/// The `total` networks (shaped like `template`) and their accuracies cached at `path`, or
/// those `train` returns, then cached there; and whether they came from the cache.
pub(crate) fn cached<N: ZooNet>(
    path: &Path,
    total: usize,
    template: &N,
    train: impl FnOnce() -> Result<(Vec<N>, Vec<f64>)>,
) -> Result<(Vec<N>, Vec<f64>, bool)> {
    if path.exists()
        && let Ok((nets, accuracy)) = read_cache(path, total, template)
    {
        return Ok((nets, accuracy, true));
    }
    let (nets, accuracy) = train()?;
    let d = template.to_flat().len();
    let flat: Vec<f32> = nets.iter().flat_map(N::to_flat).collect();
    Params::new(vec![
        (
            "weights".into(),
            Array {
                shape: vec![nets.len(), d],
                data: flat,
            },
        ),
        (
            "accuracy".into(),
            Array {
                shape: vec![nets.len()],
                data: accuracy.iter().map(|&a| a as f32).collect(),
            },
        ),
    ])
    .write(path)?;
    Ok((nets, accuracy, false))
}

fn read_cache<N: ZooNet>(path: &Path, total: usize, template: &N) -> Result<(Vec<N>, Vec<f64>)> {
    let p = Params::read(path)?;
    let bad = || Error::parse(path, None, "not a zoo of this configuration");
    let w = p.get("weights").ok_or_else(bad)?;
    let acc = p.get("accuracy").ok_or_else(bad)?;
    if w.shape != [total, template.to_flat().len()] {
        return Err(bad());
    }
    let nets = w
        .data
        .chunks_exact(w.shape[1])
        .map(|row| template.with_flat(row))
        .collect::<Result<Vec<_>>>()?;
    Ok((nets, acc.data.iter().map(|&a| a as f64).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::NoObserver;

    fn tiny() -> ZooConfig {
        ZooConfig {
            widths: vec![64, 8, 10],
            nets: 3,
            heldout: 1,
            epochs: 5,
            batch: 64,
            lr: 1e-2,
            seed: 7,
        }
    }

    #[test]
    fn trains_distinct_accurate_networks_and_caches_them() {
        let data = Digits::load();
        assert_eq!((data.y_train.len(), data.y_test.len()), (1437, 360));
        let dir = tempfile::tempdir().unwrap();
        let (zoo, cached) = load_or_train(&tiny(), &data, dir.path(), &mut NoObserver).unwrap();
        assert!(!cached);
        assert_eq!(zoo.nets.len(), 4);
        assert!(zoo.accuracy.iter().all(|&a| a > 0.7), "{:?}", zoo.accuracy);
        assert_ne!(zoo.nets[0], zoo.nets[1]);
        let (again, cached) = load_or_train(&tiny(), &data, dir.path(), &mut NoObserver).unwrap();
        assert!(cached);
        assert_eq!(again.nets, zoo.nets);
    }

    /// Sizing probe (run by hand): accuracy and time of full-size zoos.
    #[test]
    #[ignore = "sizing probe, minutes: run with --ignored --nocapture when re-sizing the zoo (epochs, lr)"]
    fn probe_zoo_sizes() {
        let data = Digits::load();
        for (epochs, lr) in [(10, 1e-3), (20, 1e-3), (10, 3e-3)] {
            let c = ZooConfig {
                widths: vec![64, 32, 32, 10],
                nets: 100,
                heldout: 20,
                epochs,
                batch: 64,
                lr,
                seed: 0,
            };
            let t = std::time::Instant::now();
            let zoo = train_zoo(&c, &data, None, false, &mut NoObserver).unwrap();
            let (m, s) = genlab_core::report::mean_std(&zoo.accuracy);
            eprintln!(
                "epochs {epochs} lr {lr}: acc {m:.4} ± {s:.4} in {:.1}s",
                t.elapsed().as_secs_f64()
            );
        }
    }
}
