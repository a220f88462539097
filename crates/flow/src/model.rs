//! A trained flow/diffusion model as one artefact: the process, the network config and
//! weights, and the data normalisation. Saved as a directory (`model.json` + `weights.bpk`,
//! each written atomically) that `genlab flow sample` and the CMT family load.

use std::path::Path;

use burn::tensor::Device;
use genlab_core::data::Points;
use genlab_core::train::SeededRng;
use genlab_core::{Result, tensor, weights};
use serde::{Deserialize, Serialize};

use crate::consistency::{Consistency, ConsistencyMap, one_step, two_step};
use crate::net::{TimeMlp, TimeMlpConfig};
use crate::ode::{Solver, Trajectory};
use crate::process::Process;

/// Per-column centring and one global scale: `z = (x − mean) · factor`. A global scale (not
/// per column) keeps constant pixels, such as the digits' borders, from blowing up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Column means of the training data.
    pub mean: Vec<f32>,
    /// Multiplier taking centred data to the process's data std.
    pub factor: f32,
}

impl Normalizer {
    /// Fits the normaliser so the centred data has overall std `target_std`.
    pub fn fit(data: &Points, target_std: f32) -> Normalizer {
        let (mean, std) = data.column_stats();
        let rms = (std.iter().map(|s| s * s).sum::<f64>() / std.len() as f64).sqrt();
        let factor = if rms > 0.0 {
            target_std as f64 / rms
        } else {
            1.0
        };
        Normalizer {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            factor: factor as f32,
        }
    }

    /// Data space → model space.
    pub fn encode(&self, data: &Points) -> Points {
        let values = data
            .rows()
            .flat_map(|r| r.iter().zip(&self.mean).map(|(v, m)| (v - m) * self.factor))
            .collect();
        Points {
            d: data.d,
            data: values,
            labels: data.labels.clone(),
        }
    }

    /// Model space → data space.
    pub fn decode(&self, z: &Points) -> Points {
        let values = z
            .rows()
            .flat_map(|r| r.iter().zip(&self.mean).map(|(v, m)| v / self.factor + m))
            .collect();
        Points {
            d: z.d,
            data: values,
            labels: z.labels.clone(),
        }
    }
}

/// Everything about a model except its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The process it was trained with.
    pub process: Process,
    /// The network architecture.
    pub net: TimeMlpConfig,
    /// Data normalisation.
    pub norm: Normalizer,
    /// Default solver for sampling.
    pub solver: Solver,
    /// Default number of solver steps.
    pub steps: usize,
    /// Set for a consistency student (`genlab cmt distill`): the network is the consistency
    /// function f(x, t) and sampling takes 1 or 2 steps instead of solving the ODE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<StudentSpec>,
}

/// How a consistency student samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StudentSpec {
    /// Intermediate noise level of the 2-step sampler.
    pub t_mid: f32,
}

/// A trained model, ready to sample.
#[derive(Debug, Clone)]
pub struct FlowModel {
    /// Architecture, process and normalisation.
    pub spec: ModelSpec,
    /// The trained network (EMA weights when training kept an EMA).
    pub net: TimeMlp,
}

impl FlowModel {
    /// Data dimension.
    pub fn dim(&self) -> usize {
        self.spec.net.dim
    }

    /// Solves the model's ODE from standard-normal `z` (model space), recording every solver
    /// step when `record` is set — the teacher trajectories of CMT.
    pub fn trajectory(
        &self,
        z: burn::tensor::Tensor<2>,
        steps: usize,
        solver: Solver,
        record: bool,
    ) -> Trajectory {
        self.spec
            .process
            .integrate(&self.net, z, steps, solver, record)
    }

    /// `n` samples in data space, in batches of at most 4096. A consistency student samples in
    /// one step when `steps` is 1 and in two otherwise (`solver` is then unused).
    pub fn sample(
        &self,
        n: usize,
        steps: usize,
        solver: Solver,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Points {
        let mut data = Vec::with_capacity(n * self.dim());
        let mut done = 0;
        while done < n {
            let b = (n - done).min(4096);
            let z = rng.normal([b, self.dim()], device);
            let x = match (&self.spec.consistency, &self.spec.process) {
                (Some(student), Process::Edm(edm)) => {
                    let cm = Consistency { edm: *edm };
                    let map = ConsistencyMap {
                        cm: &cm,
                        net: &self.net,
                    };
                    if steps <= 1 {
                        one_step(&map, edm, z)
                    } else {
                        two_step(
                            &map,
                            edm,
                            z,
                            rng.normal([b, self.dim()], device),
                            student.t_mid,
                        )
                    }
                }
                _ => self.trajectory(z, steps, solver, false).last(),
            };
            data.extend(tensor::to_vec(x));
            done += b;
        }
        self.spec.norm.decode(&Points {
            d: self.dim(),
            data,
            labels: None,
        })
    }

    /// Writes `dir/model.json` and `dir/weights.bpk`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        weights::save_model(dir, &self.spec, &self.net)
    }

    /// Loads a model saved by [`FlowModel::save`].
    pub fn load(dir: &Path, device: &Device) -> Result<FlowModel> {
        let (spec, net) =
            weights::load_model(dir, "flow", |spec: &ModelSpec| spec.net.init(device))?;
        Ok(FlowModel { spec, net })
    }
}
