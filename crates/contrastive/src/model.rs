//! The trained network and its saved form: encoder f, projector p, and for Hydra the gate
//! network and the learnable scale τ⁻¹ = exp(log τ⁻¹), capped at [`MAX_INV_TAU`].
//!
//! ```text
//! x ─standardise→ f → h (representation: probes, k-NN, `embed`) → p → z (objectives, RankMe)
//! ```
//!
//! Saved as a directory: `model.json` (the [`NetSpec`], with the input standardisation and the
//! training record) and `weights.bpk`.

use std::path::Path;

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};
use genlab_core::data::Points;
use genlab_core::{Error, Result, tensor, weights};
use serde::{Deserialize, Serialize};

use crate::encoder::{Encoder, EncoderSpec, Projector};
use crate::gate::Gate;
use crate::objectives::Objective;
use crate::objectives::similarity::normalize;

/// The cap on Hydra's learnable τ⁻¹ (keeps the stabilised exponentials inside f32).
pub const MAX_INV_TAU: f32 = 30.0;

/// Shapes of the network and what it was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    /// The encoder.
    pub encoder: EncoderSpec,
    /// Representation dimension.
    pub rep: usize,
    /// Projector hidden width.
    pub proj_hidden: usize,
    /// Projection dimension D.
    pub dim: usize,
    /// Classes of the training labels.
    pub classes: usize,
    /// The objective (a gated objective adds the gate network).
    pub objective: Objective,
    /// Per-column `(mean, std)` applied to inputs before the encoder (vectors only).
    pub standardize: Option<(Vec<f32>, Vec<f32>)>,
    /// Training record (config, steps, final loss), for provenance.
    #[serde(default)]
    pub training: serde_json::Value,
}

impl NetSpec {
    /// The fresh network.
    pub fn init(&self, device: &Device) -> ContrastiveNet {
        let tau = self.objective.tau().max(1.0 / MAX_INV_TAU);
        let log_inv_tau = Tensor::from_data(TensorData::new(vec![(1.0 / tau).ln()], [1]), device);
        ContrastiveNet {
            encoder: Encoder::new(&self.encoder, self.rep, device),
            projector: Projector::new(self.rep, self.proj_hidden, self.dim, device),
            gate: self
                .objective
                .gated()
                .then(|| Gate::new(self.classes, 64, 128, self.dim, device)),
            log_inv_tau: Param::from_tensor(log_inv_tau),
        }
    }

    /// `points`' rows, standardised, as a host vector (checks the dimension).
    pub fn prepare(&self, points: &Points) -> Result<Vec<f32>> {
        let d = self.encoder.input();
        if points.d != d {
            return Err(Error::InvalidInput(format!(
                "the model takes {d}-dimensional rows, the data has {}",
                points.d
            )));
        }
        Ok(match &self.standardize {
            Some((mean, std)) => points
                .data
                .chunks(d)
                .flat_map(|r| r.iter().zip(mean).zip(std).map(|((x, m), s)| (x - m) / s))
                .collect(),
            None => points.data.clone(),
        })
    }
}

/// The network of the module doc.
#[derive(Module, Debug)]
pub struct ContrastiveNet {
    encoder: Encoder,
    projector: Projector,
    gate: Option<Gate>,
    log_inv_tau: Param<Tensor<1>>,
}

impl ContrastiveNet {
    /// Representations h of `[n, input]` (standardised) rows.
    pub fn represent(&self, x: Tensor<2>) -> Tensor<2> {
        self.encoder.forward(x)
    }

    /// Unit-norm projections z of representations h.
    pub fn project(&self, h: Tensor<2>) -> Tensor<2> {
        normalize(self.projector.forward(h))
    }

    /// The gate network, for gated objectives.
    pub fn gate(&self) -> Option<&Gate> {
        self.gate.as_ref()
    }

    /// τ⁻¹ of the disparate loss, `[1]`.
    pub fn inv_tau(&self) -> Tensor<1> {
        self.log_inv_tau.val().exp().clamp_max(MAX_INV_TAU)
    }
}

/// A trained network with its spec.
#[derive(Debug, Clone)]
pub struct ContrastiveModel {
    /// Shapes, objective, standardisation and training record.
    pub spec: NetSpec,
    /// The network (no autodiff).
    pub net: ContrastiveNet,
}

/// Rows per forward pass when embedding (bounds memory, not results).
const CHUNK: usize = 1024;

impl ContrastiveModel {
    /// `(representations h [n, rep], projections z [n, D])` of `points`.
    pub fn embed(&self, points: &Points) -> Result<(Points, Points)> {
        let x = self.spec.prepare(points)?;
        let device = genlab_core::device::device();
        let d = points.d;
        let (mut h, mut z) = (Vec::new(), Vec::new());
        for rows in x.chunks(CHUNK * d) {
            let t = Tensor::<2>::from_data(
                TensorData::new(rows.to_vec(), [rows.len() / d, d]),
                &device,
            );
            let rep = self.net.represent(t);
            h.extend(tensor::to_vec(rep.clone()));
            z.extend(tensor::to_vec(self.net.project(rep)));
        }
        let labels = points.labels.clone();
        Ok((
            Points {
                d: self.spec.rep,
                data: h,
                labels: labels.clone(),
            },
            Points {
                d: self.spec.dim,
                data: z,
                labels,
            },
        ))
    }

    /// The gate vectors g(a, b) of every class pair, `[C·C][D]` row-major by (a, b); `None`
    /// for an ungated objective.
    pub fn pair_gates(&self) -> Option<Vec<f32>> {
        let gate = self.net.gate()?;
        let c = gate.classes() as u32;
        let (a, b): (Vec<u32>, Vec<u32>) = (0..c * c).map(|k| (k / c, k % c)).unzip();
        Some(tensor::to_vec(gate.forward(
            &a,
            &b,
            &genlab_core::device::device(),
        )))
    }

    /// Writes `dir/model.json` and `dir/weights.bpk`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        weights::save_model(dir, &self.spec, &self.net)
    }

    /// Loads a model saved by [`ContrastiveModel::save`].
    pub fn load(dir: &Path) -> Result<ContrastiveModel> {
        let device = genlab_core::device::device();
        let (spec, net) =
            weights::load_model(dir, "contrastive", |spec: &NetSpec| spec.init(&device))?;
        Ok(ContrastiveModel { spec, net })
    }
}
