//! The full-rate confirmation of a chain searched at a reduced rate
//! ([`crate::estimate::search::SearchOptions::coarse_rate`]).
//!
//! 1. *High shelf*: a reduced rate `r` cannot see the band above `r/2`, which the MRSTFT's
//!    log term weighs like the rest (the equalizer's high-shelf corner is limited to
//!    `0.45·r`). Every equalizer's high shelf (gain, corner, Q) is therefore re-fitted at the
//!    full rate, coarse-to-fine; a chain without an equalizer is offered one, screened at its
//!    insertion positions by a sweep of the high-shelf gain (from the detector's guess),
//!    fitted, and kept if it lowers `L` by the fraction ρ. (Without this step an equalizer
//!    with a +10 dB shelf above 10 kHz was missed on pair 011 of the pedalboard set: 1.94,
//!    the no-op distance, against 0.64 at the full rate.)
//! 2. *Local refinement*: `confirm_rounds` rounds, each moving every parameter of every
//!    stage one grid step up and down (one parallel batch) and taking the best single step
//!    if it lowers `L`.
//! 3. *Pruning* at the full rate.

use genlab_core::Result;

use crate::engine::automation::ParamValue;
use crate::engine::chain::{Chain, Stage};
use crate::estimate::detect::Detection;
use crate::estimate::objective::{
    ChainObjective, Pair, SEARCH_RESOLUTIONS, Sweep, fit_param, fit_stage,
};
use crate::estimate::search::{SearchOptions, insertion_positions, prune};

/// What the full-rate confirmation of a reduced-rate search did.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    /// Rate searched at (Hz).
    pub search_rate: u32,
    /// Rate confirmed at (the input's, Hz).
    pub rate: u32,
    /// `L` of the empty chain at the full rate.
    pub no_op: f64,
    /// `L` of the searched chain at the full rate, before the local refinement.
    pub before: f64,
    /// True if step 1 added an equalizer.
    pub added_equalizer: bool,
    /// Parameter steps taken by the local refinement.
    pub steps: usize,
    /// Stages removed by the full-rate pruning.
    pub pruned: Vec<&'static str>,
    /// Full-rate renders.
    pub renders: usize,
}

/// The equalizer's high-shelf parameters (gain, corner, Q) in spec order.
const HIGH_SHELF: [usize; 3] = [6, 7, 8];

/// The full-rate confirmation (see the module doc) of `chain`, searched at a reduced rate;
/// `equalizer` is the detector's equalizer (its starting values) for step 1. Returns the
/// chain, its full-rate `L` and what was done.
pub fn confirm(
    pair: &Pair,
    mut chain: Chain,
    equalizer: Option<&Detection>,
    options: &SearchOptions,
) -> Result<(Chain, f64, Confirmation)> {
    let mut objective = ChainObjective::new(pair, &SEARCH_RESOLUTIONS)?;
    let no_op = objective.distance(&Chain::default())?;
    let before = objective.distance(&chain)?;
    let mut distance = before;
    let added = high_shelf(
        &mut objective,
        &mut chain,
        &mut distance,
        equalizer,
        options,
    )?;
    let mut steps = 0;
    for _ in 0..options.confirm_rounds {
        let mut moves = Vec::new();
        for (i, stage) in chain.stages.iter().enumerate() {
            for (j, p) in stage.spec.params.iter().enumerate() {
                let grid = p.grid();
                let k =
                    (p.normalise(stage.values[j].at(0.0)) * p.intervals() as f64).round() as usize;
                for n in [k.wrapping_sub(1), k + 1] {
                    if n < grid.len() {
                        let mut c = chain.clone();
                        c.stages[i].values[j] = ParamValue::Constant(grid[n]);
                        moves.push(c);
                    }
                }
            }
        }
        let ds = objective.distances(&moves)?;
        let best = ds
            .iter()
            .enumerate()
            .fold(None, |b: Option<(usize, f64)>, (i, &d)| {
                if b.is_none_or(|b| d < b.1) {
                    Some((i, d))
                } else {
                    b
                }
            });
        match best {
            Some((i, d)) if d < distance - 1e-12 => {
                chain = moves.swap_remove(i);
                distance = d;
                steps += 1;
            }
            _ => break,
        }
    }
    let keep = 1.0 - options.penalty;
    let pruned = prune(&mut objective, &mut chain, &mut distance, keep)?
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    let confirmation = Confirmation {
        search_rate: options.coarse_rate,
        rate: pair.dry.sample_rate,
        no_op,
        before,
        added_equalizer: added,
        steps,
        pruned,
        renders: objective.evaluations,
    };
    Ok((chain, distance, confirmation))
}

/// Step 1 of the module doc: re-fits every equalizer's high shelf at the full rate, or offers
/// a chain without one an equalizer; returns true if one was added.
fn high_shelf(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    distance: &mut f64,
    equalizer: Option<&Detection>,
    options: &SearchOptions,
) -> Result<bool> {
    let budget = usize::MAX;
    if let Some(i) = chain.stages.iter().position(|s| s.spec.name == "equalizer") {
        for param in HIGH_SHELF {
            *distance = fit_param(
                objective,
                chain,
                i,
                param,
                *distance,
                Sweep::CoarseToFine,
                budget,
            )?
            .0;
        }
        return Ok(false);
    }
    let Some(det) = equalizer else {
        return Ok(false);
    };
    // Each insertion position with the high-shelf gain swept over its grid's coarse points.
    let mut batch = Vec::new();
    let mut at = Vec::new();
    for position in insertion_positions(chain, "equalizer") {
        let stage = Stage::constant(det.effect, &det.start);
        let grid = stage.spec.params[HIGH_SHELF[0]].grid();
        for k in (0..grid.len()).step_by(5) {
            let mut c = chain.clone();
            let mut s = stage.clone();
            s.values[HIGH_SHELF[0]] = ParamValue::Constant(grid[k]);
            c.stages.insert(position, s);
            batch.push(c);
            at.push(position);
        }
    }
    let ds = objective.distances(&batch)?;
    let Some((best, d)) = ds
        .iter()
        .enumerate()
        .fold(None, |b: Option<(usize, f64)>, (i, &d)| {
            if b.is_none_or(|b| d < b.1) {
                Some((i, d))
            } else {
                b
            }
        })
    else {
        return Ok(false);
    };
    let mut candidate = batch.swap_remove(best);
    let d = fit_stage(
        objective,
        &mut candidate,
        at[best],
        d,
        1,
        Sweep::CoarseToFine,
        budget,
    )?;
    if d < *distance * (1.0 - options.penalty) {
        *chain = candidate;
        *distance = d;
        return Ok(true);
    }
    Ok(false)
}
