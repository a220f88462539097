//! [`Objective`]: which loss a run trains with, and Hydra's total loss with its instance term.
//!
//! ```text
//! simclr   L = NT-Xent(z; τ)
//! supcon   L = SupCon_out(z, y; τ)
//! hydra    L = ( w · NT-Xent(z; τ) + L_disparate(z, g, y, y₂; τ⁻¹ learnable) ) / (1 + w)
//! ```
//!
//! w = 0 is SimLAP (the disparate loss alone, arXiv v2); w > 0 is the MoCo-style Hydra of v1
//! with β = 1/w on the disparate term, normalised as the paper's `(L_inst + β L_disp)/(1 + β)`
//! up to the overall factor.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use super::pairing::Pairing;
use super::{hydra, simclr, supcon};

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Objective {
    /// SimCLR's NT-Xent at temperature `tau`.
    SimClr {
        /// τ.
        tau: f32,
    },
    /// SupCon (Khosla L_out) at temperature `tau`.
    SupCon {
        /// τ.
        tau: f32,
    },
    /// Hydra: the pair-gated disparate loss plus `instance` × NT-Xent.
    Hydra {
        /// How y₂ is drawn.
        pairing: Pairing,
        /// Weight w of the instance (NT-Xent) term; 0 = SimLAP.
        instance: f32,
        /// τ of the instance term and the initial τ of the disparate term.
        tau: f32,
    },
}

impl Objective {
    /// The objective's name on the command line (`simclr`, `supcon`, `hydra`).
    pub fn name(&self) -> &'static str {
        match self {
            Objective::SimClr { .. } => "simclr",
            Objective::SupCon { .. } => "supcon",
            Objective::Hydra { .. } => "hydra",
        }
    }

    /// True when the objective trains pair gates.
    pub fn gated(&self) -> bool {
        matches!(self, Objective::Hydra { .. })
    }

    /// The temperature τ.
    pub fn tau(&self) -> f32 {
        match *self {
            Objective::SimClr { tau }
            | Objective::SupCon { tau }
            | Objective::Hydra { tau, .. } => tau,
        }
    }
}

/// The inputs of a loss evaluation: `[2B, D]` projections, the `[2B]` view labels and, for
/// Hydra, the anchors' `[2B, D]` gates, the `[2B]` pair labels and the learnable `[1]` τ⁻¹.
pub struct LossInput<'a> {
    /// Projections of both views, first views first.
    pub z: Tensor<2>,
    /// Class of each view.
    pub y: &'a [u32],
    /// Hydra's gates, pair labels and scale.
    pub pair: Option<(Tensor<2>, &'a [u32], Tensor<1>)>,
}

/// The objective's loss on `input` (Hydra without `pair` is an error the caller prevents).
pub fn objective_loss(objective: &Objective, input: LossInput<'_>) -> Tensor<1> {
    match *objective {
        Objective::SimClr { tau } => simclr::nt_xent(input.z, tau),
        Objective::SupCon { tau } => {
            supcon::supcon(input.z, input.y, tau, supcon::SupConForm::Khosla)
        }
        Objective::Hydra { instance, tau, .. } => {
            let (g, y2, inv_tau) = input
                .pair
                .expect("Hydra's loss needs gates and pair labels");
            let disparate = hydra::hydra(input.z.clone(), g, input.y, y2, inv_tau);
            if instance > 0.0 {
                (simclr::nt_xent(input.z, tau).mul_scalar(instance) + disparate)
                    .div_scalar(1.0 + instance)
            } else {
                disparate
            }
        }
    }
}
