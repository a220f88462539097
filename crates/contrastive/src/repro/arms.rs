//! The arms every part of the experiment runs, and what is measured on each trained model.

use std::collections::BTreeMap;
use std::time::Instant;

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::train::Observer;

use crate::metrics::{probe, rank};
use crate::model::ContrastiveModel;
use crate::objectives::{Objective, Pairing};
use crate::train::{TrainConfig, train};

/// One arm: its name in the report and its objective.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arm {
    pub name: &'static str,
    pub objective: Objective,
}

const TAU: f32 = 0.1;

const fn hydra(pairing: Pairing, instance: f32) -> Objective {
    Objective::Hydra {
        pairing,
        instance,
        tau: TAU,
    }
}

/// SimCLR, SupCon, Hydra (arbitrary pairs + instance term, β = 1), its identical and distinct
/// pairing ablations, and SimLAP (arbitrary pairs, disparate loss alone).
pub(super) const ARMS: [Arm; 6] = [
    Arm {
        name: "simclr",
        objective: Objective::SimClr { tau: TAU },
    },
    Arm {
        name: "supcon",
        objective: Objective::SupCon { tau: TAU },
    },
    Arm {
        name: "hydra",
        objective: hydra(Pairing::Arbitrary, 1.0),
    },
    Arm {
        name: "hydra-identical",
        objective: hydra(Pairing::Identical, 1.0),
    },
    Arm {
        name: "hydra-distinct",
        objective: hydra(Pairing::Distinct, 1.0),
    },
    Arm {
        name: "simlap",
        objective: hydra(Pairing::Arbitrary, 0.0),
    },
];

/// What one trained arm measured.
pub(super) struct Measured {
    /// Named scalar metrics (see [`METRICS`], and train_seconds).
    pub metrics: BTreeMap<&'static str, f64>,
    /// Singular values of the test projections z, descending.
    pub sigma_z: Vec<f64>,
    /// The model (gates, embeddings for figures).
    pub model: ContrastiveModel,
}

impl Measured {
    pub fn get(&self, metric: &str) -> f64 {
        self.metrics.get(metric).copied().unwrap_or(f64::NAN)
    }
}

/// Trains `config` on `train` and measures it on `test`.
pub(super) fn run_arm(
    train_set: &Points,
    test: &Points,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<Measured> {
    let started = Instant::now();
    let (model, _) = train(train_set, config, None, false, observer)?;
    let seconds = started.elapsed().as_secs_f64();
    let (h_train, _) = model.embed(train_set)?;
    let (h_test, z_test) = model.embed(test)?;
    let sigma_z = rank::singular_values(&z_test);
    let sigma_h = rank::singular_values(&h_test);
    let metrics = BTreeMap::from([
        ("probe", probe::linear_probe(&h_train, &h_test)?),
        ("knn", probe::knn_accuracy(&h_train, &h_test, 10)?),
        ("rankme_z", rank::rankme(&sigma_z)),
        ("sv1_z", rank::count_above(&sigma_z, 0.01) as f64),
        ("sv10_z", rank::count_above(&sigma_z, 0.1) as f64),
        ("rankme_h", rank::rankme(&sigma_h)),
        ("sv1_h", rank::count_above(&sigma_h, 0.01) as f64),
        ("train_seconds", seconds),
    ]);
    Ok(Measured {
        metrics,
        sigma_z,
        model,
    })
}

/// The metrics shown per arm, with their descriptions.
pub(super) const METRICS: [(&str, &str); 7] = [
    ("probe", "linear-probe accuracy (ridge, representation h)"),
    ("knn", "10-NN accuracy (cosine, h)"),
    ("rankme_z", "RankMe of the projections z"),
    ("sv1_z", "singular values of z above 1% of the largest"),
    ("sv10_z", "singular values of z above 10% of the largest"),
    ("rankme_h", "RankMe of h"),
    ("sv1_h", "singular values of h above 1% of the largest"),
];
