//! A trained flow/diffusion model as one artefact: the process, the network config and
//! weights, and the data normalisation. Saved as a directory (`model.json` + `weights.bpk`,
//! each written atomically) that `genlab flow sample` and the CMT family load.

use std::path::Path;

use burn::tensor::Device;
use genlab_core::data::Points;
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result, fsx, tensor, weights};
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

/// The most solver steps a model may ask for by default (`steps` in `model.json`).
pub const MAX_SOLVER_STEPS: usize = 10_000;

impl ModelSpec {
    /// Rejects a spec that would sample garbage or exhaust memory: an invalid network
    /// ([`TimeMlpConfig::validate`]), a normaliser whose mean is not one finite value per
    /// dimension or whose factor is not a positive number, non-finite or non-positive process
    /// constants, `steps` outside 1..=[`MAX_SOLVER_STEPS`], a student's `t_mid` outside the
    /// process's noise range.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        self.net.validate()?;
        let n = &self.norm;
        if n.mean.len() != self.net.dim || n.mean.iter().any(|m| !m.is_finite()) {
            return bad(format!(
                "norm.mean must hold {} finite values (one per dimension), it has {}",
                self.net.dim,
                n.mean.len()
            ));
        }
        if !(n.factor.is_finite() && n.factor > 0.0) {
            return bad(format!(
                "norm.factor = {} must be a positive number",
                n.factor
            ));
        }
        if !(1..=MAX_SOLVER_STEPS).contains(&self.steps) {
            return bad(format!(
                "steps = {} must be in 1..={MAX_SOLVER_STEPS}",
                self.steps
            ));
        }
        if let Process::Edm(e) = &self.process {
            let positive = [e.sigma_data, e.p_std, e.sigma_min, e.sigma_max]
                .iter()
                .all(|v| v.is_finite() && *v > 0.0);
            if !(positive && e.p_mean.is_finite() && e.sigma_min < e.sigma_max) {
                return bad(format!(
                    "EDM constants must be finite with σ_data, P_std > 0 and 0 < σ_min < σ_max: {e:?}"
                ));
            }
        }
        if let Some(student) = &self.consistency {
            let (process_ok, n_times) = match student.kind {
                StudentKind::Consistency => (matches!(self.process, Process::Edm(_)), 1),
                StudentKind::MeanFlow => (matches!(self.process, Process::FlowMatching(_)), 2),
            };
            if !process_ok || self.net.n_times != n_times {
                return bad(format!(
                    "a {:?} student needs {} and a network with {n_times} time input(s)",
                    student.kind,
                    if n_times == 1 {
                        "an EDM process"
                    } else {
                        "a flow-matching process"
                    }
                ));
            }
            let t = student.t_mid;
            let ok = match &self.process {
                Process::Edm(e) => t.is_finite() && t > 0.0 && t < e.sigma_max,
                Process::FlowMatching(_) => t.is_finite() && t > 0.0 && t < 1.0,
            };
            if !ok {
                return bad(format!(
                    "consistency.t_mid = {t} must lie strictly inside the process's noise range"
                ));
            }
        }
        Ok(())
    }
}

/// How a few-step student samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StudentSpec {
    /// Intermediate noise level of the 2-step sampler.
    pub t_mid: f32,
    /// Consistency function (EDM) or MeanFlow average velocity (flow matching).
    #[serde(default)]
    pub kind: StudentKind,
}

/// What a student's network computes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StudentKind {
    /// f(x, t) = Ψ_{t→ε}(x) on an EDM process (`genlab cmt distill` / `post-train`): 1 step
    /// x = f(T z, T); 2 steps re-noise to t_mid and jump again.
    #[default]
    Consistency,
    /// The average velocity u(z, r, t) on a flow-matching process, a network with two time
    /// inputs (`genlab cmt meanflow`): Ψ_{t→r}(z) = z − (t − r) u(z, r, t); 1 step
    /// x = z − u(z, 0, 1); 2 steps 1 → t_mid → 0, deterministic.
    MeanFlow,
}

/// The MeanFlow jump Ψ_{t→r}(z) = z − (t − r) u(z, r, t), the network's time inputs (t, r).
pub fn meanflow_jump(
    net: &TimeMlp,
    z: burn::tensor::Tensor<2>,
    t: f32,
    r: f32,
) -> burn::tensor::Tensor<2> {
    let [b, _] = z.dims();
    let device = z.device();
    let times = burn::tensor::Tensor::cat(
        vec![
            burn::tensor::Tensor::full([b, 1], t, &device),
            burn::tensor::Tensor::full([b, 1], r, &device),
        ],
        1,
    );
    z.clone() - net.forward(z, times).mul_scalar(t - r)
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
                (Some(student), Process::FlowMatching(_)) => {
                    if steps <= 1 {
                        meanflow_jump(&self.net, z, 1.0, 0.0)
                    } else {
                        let x = meanflow_jump(&self.net, z, 1.0, student.t_mid);
                        meanflow_jump(&self.net, x, student.t_mid, 0.0)
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

    /// `n` samples with every solver step kept: the grid times and, per time, the states in
    /// data space (the last one is the samples). One batch of `n` noises from `rng`.
    ///
    /// # Errors
    /// A consistency student, which jumps instead of solving an ODE.
    pub fn sample_trajectory(
        &self,
        n: usize,
        steps: usize,
        solver: Solver,
        rng: &mut SeededRng,
        device: &Device,
    ) -> Result<(Vec<f32>, Vec<Points>)> {
        if self.spec.consistency.is_some() {
            return Err(Error::InvalidInput(
                "a few-step student has no solver trajectory (it samples in 1 or 2 jumps)".into(),
            ));
        }
        let z = rng.normal([n, self.dim()], device);
        let traj = self.trajectory(z, steps, solver, true);
        let states = (traj.states.into_iter())
            .map(|x| self.spec.norm.decode(&tensor::to_points(x)))
            .collect();
        Ok((traj.times, states))
    }

    /// Writes `dir/model.json` and `dir/weights.bpk`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        weights::save_model(dir, &self.spec, &self.net)
    }

    /// Loads a model saved by [`FlowModel::save`], its spec validated ([`ModelSpec::validate`])
    /// before anything is built from it.
    pub fn load(dir: &Path, device: &Device) -> Result<FlowModel> {
        let spec_path = dir.join(weights::MODEL_SPEC_FILE);
        if spec_path.exists() {
            let spec: ModelSpec = fsx::read_json(&spec_path)?;
            spec.validate()
                .map_err(|e| Error::parse(&spec_path, None, e.to_string()))?;
        }
        let (spec, net) =
            weights::load_model(dir, "flow", |spec: &ModelSpec| spec.net.init(device))?;
        Ok(FlowModel { spec, net })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Edm;
    use genlab_core::testing::scratch;

    fn spec() -> ModelSpec {
        ModelSpec {
            process: Process::Edm(Edm::default()),
            net: TimeMlpConfig::new(2).with_width(8).with_depth(2),
            norm: Normalizer {
                mean: vec![0.5, -0.5],
                factor: 2.0,
            },
            solver: Solver::Heun,
            steps: 18,
            consistency: None,
        }
    }

    /// Issue 25: an empty `norm.mean` sampled "5 samples" into a header-only file; a NaN t_mid
    /// wrote an unloadable student; n_freqs = 2^40 and steps = 10^9 aborted on allocation.
    #[test]
    fn validate_rejects_what_would_sample_garbage_or_exhaust_memory() {
        spec().validate().unwrap();
        let cases: [(&str, fn(&mut ModelSpec)); 9] = [
            ("norm.mean", |s| s.norm.mean.clear()),
            ("norm.mean", |s| s.norm.mean[1] = f32::NAN),
            ("norm.factor", |s| s.norm.factor = 0.0),
            ("steps", |s| s.steps = 1_000_000_000),
            ("steps", |s| s.steps = 0),
            ("n_freqs", |s| s.net.n_freqs = 1 << 40),
            ("depth", |s| s.net.depth = 1_000_000),
            ("width × width", |s| s.net.width = 1 << 20),
            ("t_mid", |s| {
                s.consistency = Some(StudentSpec {
                    t_mid: f32::NAN,
                    kind: StudentKind::Consistency,
                })
            }),
        ];
        for (field, corrupt) in cases {
            let mut s = spec();
            corrupt(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn a_trajectory_keeps_every_step_and_ends_at_the_samples() {
        let device = burn::tensor::Device::flex();
        let model = FlowModel {
            spec: spec(),
            net: crate::testutil::tiny_net(2, &device),
        };
        let (times, states) = model
            .sample_trajectory(5, 4, Solver::Heun, &mut SeededRng::new(1), &device)
            .unwrap();
        assert_eq!(times, model.spec.process.time_grid(4));
        assert_eq!(states.len(), times.len());
        let samples = model.sample(5, 4, Solver::Heun, &mut SeededRng::new(1), &device);
        assert_eq!(states.last().unwrap().data, samples.data);
        // Decoded: the first state is T z mapped back to data space, not z.
        assert!(states[0].data.iter().any(|v| v.abs() > 10.0));
        let student = FlowModel {
            spec: ModelSpec {
                consistency: Some(StudentSpec {
                    t_mid: 0.8,
                    kind: StudentKind::Consistency,
                }),
                ..spec()
            },
            net: model.net.clone(),
        };
        let err = student
            .sample_trajectory(5, 2, Solver::Heun, &mut SeededRng::new(1), &device)
            .unwrap_err();
        assert!(err.to_string().contains("few-step student"), "{err}");
    }

    #[test]
    fn load_refuses_an_invalid_spec_before_building_the_network() {
        let (dir, _) = scratch("m");
        let mut s = spec();
        s.net.n_freqs = 1 << 40;
        genlab_core::fsx::write_json(&dir.path().join(weights::MODEL_SPEC_FILE), &s).unwrap();
        let err = FlowModel::load(dir.path(), &genlab_core::device::device()).unwrap_err();
        assert!(err.to_string().contains("n_freqs"), "{err}");
    }
}
