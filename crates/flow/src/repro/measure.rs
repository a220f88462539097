//! Measurements: the data-vs-data floor of each dataset, and each model's energy distance,
//! MMD (and FD-digits) to held-out data over a sweep of solver step counts.

use genlab_core::data::Points;
use genlab_core::metrics::{DigitClassifier, energy_distance_biased, frechet_points, mmd_rbf};
use genlab_core::report::{Table, sig3};
use genlab_core::train::SeededRng;
use genlab_core::{Result, device};

use super::data::Dataset;
use super::{Arm, Sizes};
use crate::ode::Solver;
use crate::process::Process;

/// The floor of one dataset: the distances between its two held-out halves.
pub(super) struct Floor {
    /// Energy distance.
    pub energy: f64,
    mmd: f64,
    /// FD-digits (digits only).
    fd_digits: Option<f64>,
}

impl Floor {
    /// The floor arm's metrics.
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        let mut m = vec![("energy", self.energy), ("mmd", self.mmd)];
        m.extend(self.fd_digits.map(|fd| ("fd_digits", fd)));
        m
    }
}

/// The distances between two independent held-out sets.
pub(super) fn floor(ds: &Dataset, classifier: &DigitClassifier) -> Result<Floor> {
    let fd_digits = if ds.is_digits() {
        Some(ds.mean_over_splits(|_, a, b| {
            frechet_points(&classifier.features(a)?, &classifier.features(b)?)
        })?)
    } else {
        None
    };
    Ok(Floor {
        energy: ds.mean_over_splits(|_, a, b| energy_distance_biased(a, b))?,
        mmd: ds.mean_over_splits(|_, a, b| mmd_rbf(a, b))?,
        fd_digits,
    })
}

/// One model's sweep over solver step counts.
pub(super) struct Sweep {
    /// `(NFE, energy / floor)` per step count.
    pub ratio_curve: Vec<(f64, f64)>,
    /// `(steps, NFE, energy, energy / floor, MMD)` per step count.
    pub rows: Vec<(usize, usize, f64, f64, f64)>,
    /// The arm's metrics at its default step count, and its final training loss.
    pub at_default: Vec<(&'static str, f64)>,
    /// Samples of the first resplit at the default step count.
    pub default_samples: Option<Points>,
}

/// Function evaluations of a Heun solve with `steps` steps (EDM's last step, to σ = 0, is an
/// Euler step).
fn heun_nfe(process: Process, steps: usize) -> usize {
    let n = process.time_grid(steps).len() - 1;
    2 * n - usize::from(matches!(process, Process::Edm(_)))
}

/// Samples `arm`'s model at every step count of `sizes` (one set per resplit, drawn from
/// `rng`) and measures them against the held-out sets A_k.
pub(super) fn sweep(
    arm: &Arm,
    floor: f64,
    sizes: &Sizes,
    classifier: &DigitClassifier,
    rng: &mut SeededRng,
) -> Result<Sweep> {
    let ds = arm.dataset;
    let model = &arm.trained.model;
    let device = device::device();
    let mut sweep = Sweep {
        ratio_curve: Vec::new(),
        rows: Vec::new(),
        at_default: Vec::new(),
        default_samples: None,
    };
    for &steps in sizes.step_counts {
        let nfe = heun_nfe(arm.process, steps);
        let samples: Vec<Points> = ds
            .splits
            .iter()
            .map(|(a, _)| model.sample(a.len(), steps, Solver::Heun, rng, &device))
            .collect();
        let energy = ds.mean_over_splits(|k, a, _| energy_distance_biased(&samples[k], a))?;
        let mmd = ds.mean_over_splits(|k, a, _| mmd_rbf(&samples[k], a))?;
        sweep.ratio_curve.push((nfe as f64, energy / floor));
        sweep.rows.push((steps, nfe, energy, energy / floor, mmd));
        if steps == model.spec.steps {
            sweep.at_default = vec![
                ("energy", energy),
                ("energy_over_floor", energy / floor),
                ("mmd", mmd),
                ("steps", steps as f64),
                ("nfe", nfe as f64),
            ];
            if ds.is_digits() {
                let fd = ds.mean_over_splits(|k, a, _| {
                    frechet_points(&classifier.features(&samples[k])?, &classifier.features(a)?)
                })?;
                sweep.at_default.push(("fd_digits", fd));
            }
            sweep.default_samples = samples.into_iter().next();
        }
    }
    let losses = arm.trained.history.losses();
    let final_loss = losses.last().map_or(f64::NAN, |l| l.1);
    sweep.at_default.push(("final_loss", final_loss));
    Ok(sweep)
}

/// The sweep of every arm as one table (step counts as integers, distances to 3 digits).
pub(super) fn sweep_table(arms: &[Arm], sweeps: &[Sweep]) -> Table {
    let columns = [
        "process",
        "data",
        "steps",
        "NFE",
        "energy",
        "energy / floor",
        "MMD",
    ];
    let rows = arms
        .iter()
        .zip(sweeps)
        .flat_map(|(arm, sweep)| {
            sweep.rows.iter().map(|&(steps, nfe, energy, ratio, mmd)| {
                vec![
                    arm.process.name().to_string(),
                    arm.dataset.name.to_string(),
                    steps.to_string(),
                    nfe.to_string(),
                    sig3(energy),
                    sig3(ratio),
                    sig3(mmd),
                ]
            })
        })
        .collect();
    Table {
        title: "Energy distance to held-out data vs solver steps".into(),
        columns: columns.map(String::from).to_vec(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edm::Edm;
    use crate::flow_matching::FlowMatching;

    /// Heun costs two evaluations a step; EDM's last step (to σ = 0) is Euler.
    #[test]
    fn heun_nfe_at_the_default_step_counts() {
        assert_eq!(heun_nfe(Process::Edm(Edm::default()), 18), 35);
        assert_eq!(heun_nfe(Process::FlowMatching(FlowMatching), 32), 64);
    }
}
