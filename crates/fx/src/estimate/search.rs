//! Tier 1: analysis-by-synthesis chain estimation. Given dry `x` and wet `y`, find the ordered
//! chain `C` minimising the penalised distance
//!
//! `J(C) = L(C) · (1 − ρ)^{−|C|}`,  `L(C) = MRSTFT(y, E(C, x))` ([`crate::estimate::objective`]),
//!
//! i.e. **an extra effect is kept only if it lowers the MRSTFT by at least a fraction ρ**
//! (default 5%). The search space (effects × orders × grid parameters) is far too large to
//! enumerate, so the search is greedy and bounded:
//!
//! 1. *Detect* ([`crate::estimate::detect`]): the top `candidates` effects by detector score (score ≥
//!    `min_score`, default 0: a constant-level source hides a compressor from its detector, so
//!    weak evidence still earns a try; stereo-only effects never on mono) are the only ones
//!    tried; each starts from its detector's parameter guess.
//! 2. *Grow*: starting from the empty chain, for every candidate not yet in the chain and every
//!    insertion position, insert it and screen it by a coarse sweep of its lead parameter
//!    (e.g. the wet mix of a reverb); the `finalists` best (candidate, position) options are
//!    fitted fully (`passes` coarse-to-fine coordinate passes, [`crate::estimate::objective::fit_stage`]),
//!    the best is kept and every other stage re-fitted once. Accept it if it lowers `L` by the
//!    fraction ρ; otherwise stop. At most `max_effects` stages.
//! 3. *Order*: every other permutation of the accepted stages is evaluated with the fitted
//!    parameters; the best one is re-fitted (one pass per stage) and replaces the chain if lower.
//! 4. *Prune*: a stage whose removal raises `L` by less than the factor `1/(1 − ρ)` is dropped
//!    (repeated until none qualifies).
//!
//! **Batches.** Every group of independent candidates — the screening of all (candidate,
//! position, lead-parameter point) options of a growth step, the points of one sweep step, the
//! permutations, the pruning removals — is measured as one batch, rendered in parallel
//! ([`crate::estimate::objective::ChainObjective::distances`]) and scanned in a fixed order, so
//! the result does not depend on the thread count.
//!
//! **Reduced rate** (off by default, [`SearchOptions::coarse_rate`]): growth, order and pruning
//! run on the pair resampled to `coarse_rate`, then [`confirm`] refines at the input's rate.
//! Measured on the pedalboard evaluation set (`bench/fx_evalset.py`, 44.1 kHz): at 22.05 kHz the
//! search cannot see the top half of the spectrum, which the MRSTFT's log term weighs like the
//! rest, and an equalizer with a high shelf above 10 kHz was missed (pair 011: 1.94, the no-op
//! distance, against 0.64 at the full rate), so it stays off.
//!
//! **Starting chain** ([`search_from`]): a learned proposal's stages are re-fitted once and the
//! growth continues from it (the hybrid of [`crate::estimate::learned`]).
//!
//! Every render counts towards `budget`; when it is spent, fitting stops and the search finishes
//! with what it has (the order and pruning checks still run: at most `k! − 1 + k(k+1)/2`
//! renders more for `k` stages, without re-fitting).
//! `L` is measured with [`SEARCH_RESOLUTIONS`] (cheaper than the auraloss ones used to report).
//! The trace of decisions feeds the rationale ([`crate::estimate::rationale`]).

use genlab_core::Result;

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{Chain, Stage};
use crate::engine::resample::resample;
use crate::estimate::detect::{Detection, detect};
use crate::estimate::features::Descriptors;
use crate::estimate::objective::{ChainObjective, Pair, SEARCH_RESOLUTIONS, Sweep, fit_stage};
use crate::estimate::{ChainEstimator, Estimate};

/// The arm name of tier 1 in tables and verdicts.
pub const NAME: &str = "tier 1: analysis-by-synthesis";

/// Search settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOptions {
    /// Most effects in the estimated chain.
    pub max_effects: usize,
    /// How many top-scoring detections are tried.
    pub candidates: usize,
    /// Detections scoring below this are not tried.
    pub min_score: f64,
    /// ρ: the fraction by which each extra effect must lower the MRSTFT.
    pub penalty: f64,
    /// How many screened (effect, position) options are fitted fully per growth step.
    pub finalists: usize,
    /// Coordinate passes over the chosen stage (one per finalist, the rest on the winner).
    pub passes: usize,
    /// Most renders.
    pub budget: usize,
    /// Seconds of wet signal kept after the dry end.
    pub max_tail_seconds: f64,
    /// Search at this sample rate when the input's is at least twice as high, then confirm
    /// at the input's rate (0: always search at the input's rate). See the module doc.
    pub coarse_rate: u32,
    /// Rounds of the full-rate confirmation (each moves the best single parameter step).
    pub confirm_rounds: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            max_effects: 3,
            candidates: 6,
            min_score: 0.0,
            penalty: 0.05,
            finalists: 2,
            passes: 2,
            budget: 800,
            max_tail_seconds: 0.5,
            coarse_rate: 0,
            confirm_rounds: 2,
        }
    }
}

/// One accepted growth step.
#[derive(Debug, Clone, PartialEq)]
pub struct Growth {
    /// Effect added.
    pub effect: &'static str,
    /// Where it was inserted (0 = first).
    pub position: usize,
    /// `L` before.
    pub before: f64,
    /// `L` after fitting.
    pub after: f64,
}

/// What the search did, for the rationale.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// Every detector's output (spec order).
    pub detections: Vec<Detection>,
    /// Effects tried, best detection first.
    pub tried: Vec<&'static str>,
    /// `L` of the empty chain (the dry signal).
    pub no_op: f64,
    /// Accepted growth steps.
    pub grown: Vec<Growth>,
    /// The best rejected growth (effect, `L` it reached, `L` it had to beat), if any.
    pub rejected: Option<(&'static str, f64, f64)>,
    /// Orders compared after growing, and the best other order with its `L`.
    pub orders_tried: usize,
    /// The best alternative order and its distance (after re-fitting), if any.
    pub best_other_order: Option<(Vec<&'static str>, f64)>,
    /// True if the order step changed the chain.
    pub reordered: bool,
    /// Stages removed by pruning, with the `L` without them.
    pub pruned: Vec<(&'static str, f64)>,
    /// Final `L`.
    pub distance: f64,
    /// Renders used.
    pub evaluations: usize,
    /// ρ in force.
    pub penalty: f64,
    /// True if the render budget ran out.
    pub budget_exhausted: bool,
    /// The full-rate confirmation, when the search ran at a reduced rate.
    pub confirmed: Option<Confirmation>,
    /// The starting chain of [`search_from`] (its effects, `L` as given and after re-fitting).
    pub started_from: Option<(Vec<&'static str>, f64, f64)>,
}

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
    /// Parameter steps taken by the local refinement.
    pub steps: usize,
    /// Stages removed by the full-rate pruning.
    pub pruned: Vec<&'static str>,
    /// Full-rate renders.
    pub renders: usize,
}

/// The search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Searched {
    /// The estimated chain.
    pub chain: Chain,
    /// What happened.
    pub trace: Trace,
}

fn names(chain: &Chain) -> Vec<&'static str> {
    chain.stages.iter().map(|s| s.spec.name).collect()
}

/// The parameter screened first: the one that most often decides whether the effect helps
/// (the wet mix of delay and reverb, the EQ band with the largest starting gain, otherwise the
/// first parameter).
fn lead_param(stage: &Stage) -> usize {
    match stage.spec.name {
        "delay" => 2,
        "reverb" => 3,
        "equalizer" => [0, 3, 6]
            .into_iter()
            .max_by(|&a, &b| {
                let g = |i: usize| stage.values[i].at(0.0).abs();
                g(a).total_cmp(&g(b))
            })
            .unwrap_or(0),
        _ => 0,
    }
}

/// `chain` with parameter `param` of stage `index` moved to each point of a coarse sweep
/// (about 8 evenly spaced grid points and the last).
fn coarse_points(chain: &Chain, index: usize, param: usize) -> Vec<Chain> {
    let grid = chain.stages[index].spec.params[param].grid();
    let stride = (grid.len() - 1).div_ceil(8).max(1);
    let mut ks: Vec<usize> = (0..grid.len()).step_by(stride).collect();
    if ks.last() != Some(&(grid.len() - 1)) {
        ks.push(grid.len() - 1);
    }
    ks.into_iter()
        .map(|k| {
            let mut c = chain.clone();
            c.stages[index].values[param] =
                crate::engine::automation::ParamValue::Constant(grid[k]);
            c
        })
        .collect()
}

/// Re-fits every stage except `skip` once (coarse-to-fine).
fn refit_others(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    skip: Option<usize>,
    mut distance: f64,
    budget: usize,
) -> Result<f64> {
    for i in 0..chain.stages.len() {
        if Some(i) != skip {
            distance = fit_stage(
                objective,
                chain,
                i,
                distance,
                1,
                Sweep::CoarseToFine,
                budget,
            )?;
        }
    }
    Ok(distance)
}

/// All permutations of `0..n` (n ≤ 5 in practice), in lexicographic order.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for rest in permutations(n - 1) {
        for pos in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(pos, n - 1);
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Runs the tier-1 search on (`dry`, `wet`): detection on the full-rate window; growth, order
/// and pruning at [`SearchOptions::coarse_rate`] when the input's rate is at least twice as
/// high, then the full-rate confirmation ([`confirm`]); otherwise all at the input's rate.
pub fn search(dry: &AudioBuffer, wet: &AudioBuffer, options: &SearchOptions) -> Result<Searched> {
    search_from(dry, wet, &Chain::default(), options)
}

/// [`search`] starting from the chain `start` instead of the empty chain (a learned
/// proposal): its stages are re-fitted once (coarse-to-fine) and growth, order and pruning
/// continue from there, so effects can be added to it, reordered or dropped.
pub fn search_from(
    dry: &AudioBuffer,
    wet: &AudioBuffer,
    start: &Chain,
    options: &SearchOptions,
) -> Result<Searched> {
    let pair = Pair::new(dry, wet, Some(options.max_tail_seconds))?;
    let detections = detect(&Descriptors::of(&pair));
    let rate = pair.dry.sample_rate;
    if options.coarse_rate == 0 || rate < 2 * options.coarse_rate {
        return search_pair(&pair, detections, start, options);
    }
    let coarse = Pair {
        dry: resample(&pair.dry, options.coarse_rate)?,
        target: resample(&pair.target, options.coarse_rate)?,
        dry_len: (pair.dry_len as u64 * options.coarse_rate as u64 / rate as u64) as usize,
    };
    let mut found = search_pair(&coarse, detections, start, options)?;
    let (chain, distance, confirmation) = confirm(&pair, found.chain, options)?;
    found.trace.evaluations += confirmation.renders;
    found.trace.distance = distance;
    found.trace.confirmed = Some(confirmation);
    Ok(Searched {
        chain,
        trace: found.trace,
    })
}

/// The full-rate confirmation of a chain searched at a reduced rate: `confirm_rounds` rounds
/// of local refinement (every parameter of every stage one grid step up and down, one
/// parallel batch; the best single step is taken if it lowers `L`), then pruning at the full
/// rate. Returns the chain, its full-rate `L` and what was done.
pub fn confirm(
    pair: &Pair,
    mut chain: Chain,
    options: &SearchOptions,
) -> Result<(Chain, f64, Confirmation)> {
    let mut objective = ChainObjective::new(pair, &SEARCH_RESOLUTIONS)?;
    let no_op = objective.distance(&Chain::default())?;
    let before = objective.distance(&chain)?;
    let mut distance = before;
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
                        c.stages[i].values[j] =
                            crate::engine::automation::ParamValue::Constant(grid[n]);
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
        steps,
        pruned,
        renders: objective.evaluations,
    };
    Ok((chain, distance, confirmation))
}

/// Growth, order and pruning on `pair` from the given detections.
fn search_pair(
    pair: &Pair,
    detections: Vec<Detection>,
    start: &Chain,
    options: &SearchOptions,
) -> Result<Searched> {
    let mut ranked: Vec<&Detection> = detections
        .iter()
        .filter(|d| {
            d.score >= options.min_score
                && (pair.dry.n_channels() == 2
                    || !matches!(d.effect.name, "panner" | "stereo_widener"))
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked.truncate(options.candidates);
    let tried: Vec<&'static str> = ranked.iter().map(|d| d.effect.name).collect();

    let keep = 1.0 - options.penalty;
    let mut objective = ChainObjective::new(pair, &SEARCH_RESOLUTIONS)?;
    let no_op = objective.distance(&Chain::default())?;
    let mut chain = start.clone();
    chain
        .stages
        .truncate(options.max_effects.max(start.stages.len()));
    let mut distance = objective.distance(&chain)?;
    let mut started_from = None;
    if !chain.stages.is_empty() {
        let before = distance;
        distance = refit_others(&mut objective, &mut chain, None, distance, options.budget)?;
        started_from = Some((names(&chain), before, distance));
    }
    let mut grown = Vec::new();
    let mut rejected = None;

    // Grow.
    while chain.stages.len() < options.max_effects
        && objective.evaluations < options.budget
        && distance > 1e-9
    {
        let Some((candidate, d, position, effect)) =
            best_insertion(&mut objective, &chain, &ranked, options)?
        else {
            break;
        };
        if d < distance * keep {
            grown.push(Growth {
                effect,
                position,
                before: distance,
                after: d,
            });
            chain = candidate;
            distance = d;
        } else {
            rejected = Some((effect, d, distance * keep));
            break;
        }
    }

    // Order.
    let (mut orders_tried, mut best_other_order, mut reordered) = (0, None, false);
    if let Some((alt, d, tried)) = best_reordering(&mut objective, &chain, options)? {
        orders_tried = tried;
        best_other_order = Some((names(&alt), d));
        if d < distance {
            chain = alt;
            distance = d;
            reordered = true;
        }
    }

    // Prune.
    let pruned = prune(&mut objective, &mut chain, &mut distance, keep)?;

    let trace = Trace {
        detections: detections.clone(),
        tried,
        no_op,
        grown,
        rejected,
        orders_tried,
        best_other_order,
        reordered,
        pruned,
        distance,
        evaluations: objective.evaluations,
        penalty: options.penalty,
        budget_exhausted: objective.evaluations >= options.budget,
        confirmed: None,
        started_from,
    };
    Ok(Searched { chain, trace })
}

/// The best chain with one more effect: every (candidate, position) is screened by a coarse
/// sweep of the candidate's lead parameter, the best few are fitted fully, and the winner is
/// fitted once more with the other stages refitted around it. Returns the chain, its distance,
/// the new stage's position and its effect (`None` when no candidate is left).
fn best_insertion(
    objective: &mut ChainObjective,
    chain: &Chain,
    ranked: &[&Detection],
    options: &SearchOptions,
) -> Result<Option<(Chain, f64, usize, &'static str)>> {
    let budget = options.budget;
    // Every (candidate, position) at its starting values, then a coarse sweep of its lead
    // parameter: all of them one parallel batch, each option keeping its lowest point.
    let mut options_at: Vec<(Chain, usize, &'static str, usize)> = Vec::new();
    for det in ranked {
        if chain.stages.iter().any(|s| s.spec.name == det.effect.name) {
            continue;
        }
        for position in 0..=chain.stages.len() {
            let mut candidate = chain.clone();
            let stage = Stage::constant(det.effect, &det.start);
            let lead = lead_param(&stage);
            candidate.stages.insert(position, stage);
            options_at.push((candidate, position, det.effect.name, lead));
        }
    }
    let mut batch: Vec<Chain> = Vec::new();
    let mut spans = Vec::with_capacity(options_at.len());
    for (candidate, position, _, lead) in &options_at {
        let start = batch.len();
        batch.push(candidate.clone());
        batch.extend(coarse_points(candidate, *position, *lead));
        spans.push(start..batch.len());
    }
    let left = budget
        .saturating_sub(objective.evaluations)
        .max(options_at.len());
    let ds = objective.distances(&batch[..batch.len().min(left)])?;
    let mut screened: Vec<(Chain, f64, usize, &'static str)> = Vec::new();
    for ((_, position, effect, _), span) in options_at.into_iter().zip(spans) {
        let mut best: Option<(usize, f64)> = None;
        for i in span.filter(|&i| i < ds.len()) {
            if best.is_none_or(|b| ds[i] < b.1 - 1e-12) {
                best = Some((i, ds[i]));
            }
        }
        if let Some((i, d)) = best {
            screened.push((batch[i].clone(), d, position, effect));
        }
    }
    screened.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut best: Option<(Chain, f64, usize, &'static str)> = None;
    for (mut candidate, d, position, effect) in screened.into_iter().take(options.finalists) {
        let d = fit_stage(
            objective,
            &mut candidate,
            position,
            d,
            options.passes,
            Sweep::CoarseToFine,
            budget,
        )?;
        if best.as_ref().is_none_or(|b| d < b.1) {
            best = Some((candidate, d, position, effect));
        }
    }
    let Some((mut candidate, d, position, effect)) = best else {
        return Ok(None);
    };
    let d = fit_stage(
        objective,
        &mut candidate,
        position,
        d,
        options.passes.saturating_sub(1),
        Sweep::CoarseToFine,
        budget,
    )?;
    let d = refit_others(objective, &mut candidate, Some(position), d, budget)?;
    Ok(Some((candidate, d, position, effect)))
}

/// The best other order of `chain`'s stages (every permutation tried, the best refitted):
/// the chain, its distance and the number of orders tried; `None` below two stages.
fn best_reordering(
    objective: &mut ChainObjective,
    chain: &Chain,
    options: &SearchOptions,
) -> Result<Option<(Chain, f64, usize)>> {
    if chain.stages.len() < 2 {
        return Ok(None);
    }
    let alts: Vec<Chain> = permutations(chain.stages.len())
        .into_iter()
        .filter(|perm| !perm.iter().enumerate().all(|(i, &p)| i == p))
        .map(|perm| Chain {
            stages: perm.iter().map(|&i| chain.stages[i].clone()).collect(),
        })
        .collect();
    let tried = alts.len();
    let ds = objective.distances(&alts)?;
    let mut best_alt: Option<(Chain, f64)> = None;
    for (alt, d) in alts.into_iter().zip(ds) {
        if best_alt.as_ref().is_none_or(|b| d < b.1) {
            best_alt = Some((alt, d));
        }
    }
    let Some((mut alt, d)) = best_alt else {
        return Ok(None);
    };
    let d = refit_others(objective, &mut alt, None, d, options.budget)?;
    Ok(Some((alt, d, tried)))
}

/// Drops stages whose removal costs less than the penalty, cheapest first, until none
/// qualifies; returns each dropped effect with the distance after dropping it.
fn prune(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    distance: &mut f64,
    keep: f64,
) -> Result<Vec<(&'static str, f64)>> {
    let mut pruned = Vec::new();
    loop {
        let withouts: Vec<Chain> = (0..chain.stages.len())
            .map(|i| {
                let mut without = chain.clone();
                without.stages.remove(i);
                without
            })
            .collect();
        let ds = objective.distances(&withouts)?;
        let mut drop: Option<(usize, f64)> = None;
        for (i, d) in ds.into_iter().enumerate() {
            if d * keep <= *distance && drop.is_none_or(|b| d < b.1) {
                drop = Some((i, d));
            }
        }
        let Some((i, d)) = drop else { break };
        pruned.push((chain.stages[i].spec.name, d));
        chain.stages.remove(i);
        *distance = d;
    }
    Ok(pruned)
}

/// Tier 1 as a [`ChainEstimator`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AnalysisBySynthesis {
    /// Search settings.
    pub options: SearchOptions,
}

impl ChainEstimator for AnalysisBySynthesis {
    fn name(&self) -> String {
        NAME.into()
    }

    fn estimate(&self, dry: &AudioBuffer, wet: &AudioBuffer) -> Result<Estimate> {
        let found = search(dry, wet, &self.options)?;
        Ok(Estimate {
            rationale: crate::estimate::rationale::explain(&found.trace),
            chain: found.chain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::effect;
    use crate::estimate::objective::tests::wet;
    use crate::sources::procedural::source;

    #[test]
    fn permutations_are_all_distinct_orders() {
        let p = permutations(3);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], vec![0, 1, 2]);
        let set: std::collections::HashSet<_> = p.iter().collect();
        assert_eq!(set.len(), 6);
        assert_eq!(permutations(1), vec![vec![0]]);
    }

    #[test]
    fn recovers_a_single_gain_exactly() {
        let dry = source("pluck", 16000, 0.5, 1).unwrap();
        let truth = Chain {
            stages: vec![Stage::constant(effect("gain").unwrap(), &[-8.0])],
        };
        let found = search(&dry, &wet(&dry, &truth), &SearchOptions::default()).unwrap();
        assert_eq!(found.chain, truth, "{:?}", found.trace);
        assert!(found.trace.distance < 1e-6);
        let text = crate::estimate::rationale::explain(&found.trace);
        assert!(text.contains("gain"), "{text}");
    }

    #[test]
    fn recovers_a_two_effect_chain_in_order() {
        // Distortion then delay on a drum loop: the echoes of a distorted signal differ from a
        // distorted echo, so the order is identifiable.
        let dry = source("drum", 16000, 1.0, 3).unwrap();
        let truth = Chain {
            stages: vec![
                Stage::constant(effect("distortion").unwrap(), &[16.0]),
                Stage::constant(effect("delay").unwrap(), &[0.25, 0.3, 0.5]),
            ],
        };
        let found = search(&dry, &wet(&dry, &truth), &SearchOptions::default()).unwrap();
        assert_eq!(
            names(&found.chain),
            vec!["distortion", "delay"],
            "{:?}",
            found.trace
        );
        assert!(
            found.trace.distance < 0.2 * found.trace.no_op,
            "{:?}",
            found.trace
        );
        assert!(found.trace.evaluations <= SearchOptions::default().budget + 5 + 6);
    }

    #[test]
    fn an_identity_gives_the_empty_chain() {
        let dry = source("pad", 16000, 0.5, 1).unwrap();
        let found = search(&dry, &dry, &SearchOptions::default()).unwrap();
        assert!(found.chain.stages.is_empty(), "{:?}", found.chain);
    }
}
