//! Tier 1: analysis-by-synthesis chain estimation. Given dry `x` and wet `y`, find the ordered
//! chain `C` minimising the penalised distance
//!
//! `J(C) = L(C) · (1 − ρ)^{−|C|}`,  `L(C) = MRSTFT(y, E(C, x))` ([`crate::estimate::objective`]),
//!
//! i.e. **an extra effect is kept only if it lowers the MRSTFT by at least a fraction ρ**
//! (default 5%). The search space (effects × orders × grid parameters) is far too large to
//! enumerate, so the search is greedy and bounded:
//!
//! 1. *Detect* ([`crate::estimate::detect`]): the top `candidates` effects by detector score
//!    (score ≥ `min_score`, default 0: a constant-level source hides a compressor from its
//!    detector, so weak evidence still earns a try; the stereo-only panner and widener only on
//!    stereo input and from `stereo_min_score`) are the ones tried; each starts from its
//!    detector's parameter guess.
//! 2. *Grow*: starting from the empty chain, for every candidate not yet in the chain and every
//!    insertion position that can make a difference ([`insertion_positions`]), insert it and
//!    screen it by a coarse sweep of its lead parameter (e.g. the wet mix of a reverb); the
//!    `finalists` best (candidate, position) options are fitted (one coarse-to-fine coordinate
//!    pass, [`crate::estimate::objective::fit_stage`]), the best gets `passes − 1` more and
//!    every other stage is re-fitted once. Accept it if it lowers `L` by the fraction ρ;
//!    otherwise stop. At most `max_effects` stages.
//! 3. *Order*: every other permutation of the accepted stages that renders differently is
//!    evaluated with the fitted parameters; the best one is re-fitted (one pass per stage) and
//!    replaces the chain if lower.
//! 4. *Prune*: a stage whose removal raises `L` by less than the factor `1/(1 − ρ)` is dropped
//!    (repeated until none qualifies).
//!
//! **Commuting effects.** Gain, delay, reverb and equalizer ([`COMMUTING`]) are linear,
//! time-invariant and treat every channel alike, so any two of them commute: inserting one
//! anywhere inside a run of such stages renders the same, and orders that differ only inside
//! such runs are one order ([`canonical_order`]). The search tries one position per run and one
//! order per class, and keeps each run sorted by render cost ([`SEARCH_ORDER`]: reverb first),
//! so that fitting a cheap stage renders it over a kept prefix holding the expensive ones; the
//! returned chain sorts runs as [`PRESENTED_ORDER`]. Their relative order is not identifiable
//! from audio, so an order metric over them scores chance.
//!
//! **Batches and prefixes.** Every group of independent candidates — the screening of all
//! (candidate, position, lead-parameter point) options of a growth step, the points of one
//! sweep step, the permutations, the pruning removals — is measured as one batch, rendered in
//! parallel ([`crate::estimate::objective::ChainObjective::distances`], which renders a prefix
//! shared by several candidates once and keeps it for later batches) and scanned in a fixed
//! order, so the result does not depend on the thread count.
//!
//! **Reduced rate** (off by default, [`SearchOptions::coarse_rate`]): growth, order and pruning
//! run on the pair resampled to `coarse_rate`, then [`confirm`] refits at the input's rate,
//! including the equalizer's high shelf, which the reduced rate cannot see
//! ([`crate::estimate::confirm`]).
//!
//! **Starting chains** ([`search_from`], [`search_from_any`]): learned proposals (e.g. a
//! tool-caller's beams) are measured, the best re-fitted, and the growth continues from the
//! lowest (the hybrid of [`crate::estimate::learned`]).
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
pub use crate::estimate::confirm::{Confirmation, confirm};
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
    /// Stereo-only effects (panner, widener) are tried only from this detector score on:
    /// their evidence (a changed level balance or side/mid ratio) is direct, and a reverb
    /// also moves the side/mid ratio.
    pub stereo_min_score: f64,
    /// ρ: the fraction by which each extra effect must lower the MRSTFT.
    pub penalty: f64,
    /// How many screened (effect, position) options are fitted fully per growth step.
    pub finalists: usize,
    /// Coordinate passes over the chosen stage (one on every finalist, the rest on the
    /// winner).
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
            candidates: 7,
            min_score: 0.0,
            stereo_min_score: crate::estimate::detect::DETECTED,
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

/// Re-fits every stage except `skip` once with `sweep`.
fn refit_others(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    skip: Option<usize>,
    mut distance: f64,
    sweep: Sweep,
    budget: usize,
) -> Result<f64> {
    for i in 0..chain.stages.len() {
        if Some(i) != skip {
            distance = fit_stage(objective, chain, i, distance, 1, sweep, budget)?;
        }
    }
    Ok(distance)
}

/// The order of commuting stages during the search: the most expensive to render first, so
/// that fitting a cheap stage re-renders it over a kept prefix that holds the expensive ones
/// ([`ChainObjective`]'s prefix renders).
pub const SEARCH_ORDER: [&str; 4] = ["reverb", "delay", "equalizer", "gain"];

/// The order of commuting stages in the returned chain (any order renders alike; this is the
/// conventional one: tone, level, then time effects).
pub const PRESENTED_ORDER: [&str; 4] = ["equalizer", "gain", "delay", "reverb"];

/// Sorts every run of adjacent [`COMMUTING`] stages of `chain` by `order`; returns `chain`'s
/// distance (`distance` if nothing moved, else re-measured: equal up to float rounding).
fn sort_runs(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    order: &[&str],
    distance: f64,
) -> Result<f64> {
    let rank = |s: &Stage| {
        order
            .iter()
            .position(|o| *o == s.spec.name)
            .unwrap_or(order.len())
    };
    let before = names(chain);
    let mut a = 0;
    while a < chain.stages.len() {
        let mut b = a;
        while b < chain.stages.len() && COMMUTING.contains(&chain.stages[b].spec.name) {
            b += 1;
        }
        chain.stages[a..b].sort_by_key(rank);
        a = b + 1;
    }
    if names(chain) == before {
        Ok(distance)
    } else {
        objective.distance(chain)
    }
}

/// `names` with every run of adjacent [`COMMUTING`] effects sorted: two orders render alike
/// when their canonical orders are equal.
pub fn canonical_order(names: &[&'static str]) -> Vec<&'static str> {
    let mut out = names.to_vec();
    let mut a = 0;
    while a < out.len() {
        let mut b = a;
        while b < out.len() && COMMUTING.contains(&out[b]) {
            b += 1;
        }
        out[a..b].sort_unstable();
        a = b + 1;
    }
    out
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
    search_from_any(dry, wet, std::slice::from_ref(start), options)
}

/// [`search`] from the best of several starting chains (e.g. a tool-caller's beams): every
/// start is measured as given (one parallel batch; chains sharing a prefix render it once),
/// the [`STARTS_REFITTED`] best are re-fitted once, and growth, order and pruning continue
/// from the lowest. An empty list, or a list holding the empty chain, starts from nothing;
/// the trace's `started_from` names the start kept.
pub fn search_from_any(
    dry: &AudioBuffer,
    wet: &AudioBuffer,
    starts: &[Chain],
    options: &SearchOptions,
) -> Result<Searched> {
    let pair = Pair::new(dry, wet, Some(options.max_tail_seconds))?;
    let detections = detect(&Descriptors::of(&pair));
    let rate = pair.dry.sample_rate;
    if options.coarse_rate == 0 || rate < 2 * options.coarse_rate {
        return search_pair(&pair, detections, starts, options);
    }
    let coarse = Pair {
        dry: resample(&pair.dry, options.coarse_rate)?,
        target: resample(&pair.target, options.coarse_rate)?,
        dry_len: (pair.dry_len as u64 * options.coarse_rate as u64 / rate as u64) as usize,
    };
    let equalizer = detections
        .iter()
        .find(|d| d.effect.name == "equalizer")
        .cloned();
    let mut found = search_pair(&coarse, detections, starts, options)?;
    let (chain, distance, confirmation) = confirm(&pair, found.chain, equalizer.as_ref(), options)?;
    found.trace.evaluations += confirmation.renders;
    found.trace.distance = distance;
    found.trace.confirmed = Some(confirmation);
    Ok(Searched {
        chain,
        trace: found.trace,
    })
}

/// How many of several starting chains ([`search_from_any`]) are re-fitted before growing.
pub const STARTS_REFITTED: usize = 2;

/// The chain the growth starts from: the lowest of `starts` after re-fitting the
/// [`STARTS_REFITTED`] best as given (the empty chain when `starts` is empty or holds only
/// empty chains; a start is kept even when the empty chain is lower, pruning decides); with its distance and, for a non-empty start, (effects, `L` as given, `L`
/// re-fitted).
#[allow(clippy::type_complexity)]
fn best_start(
    objective: &mut ChainObjective,
    starts: &[Chain],
    options: &SearchOptions,
) -> Result<(Chain, f64, Option<(Vec<&'static str>, f64, f64)>)> {
    let starts: Vec<Chain> = starts
        .iter()
        .filter(|c| !c.stages.is_empty())
        .cloned()
        .collect();
    let empty = objective.distance(&Chain::default())?;
    let ds = objective.distances(&starts)?;
    let mut order: Vec<usize> = (0..starts.len()).collect();
    order.sort_by(|&a, &b| ds[a].total_cmp(&ds[b]));
    let mut best: (Chain, f64, Option<(Vec<&'static str>, f64, f64)>) =
        (Chain::default(), empty, None);
    for &i in order.iter().take(STARTS_REFITTED) {
        let mut chain = starts[i].clone();
        let d = refit_others(
            objective,
            &mut chain,
            None,
            ds[i],
            Sweep::CoarseToFine,
            options.budget,
        )?;
        if best.2.is_none() || d < best.1 {
            best = (chain.clone(), d, Some((names(&chain), ds[i], d)));
        }
    }
    Ok(best)
}

/// Growth, order and pruning on `pair` from the given detections and starting chains.
fn search_pair(
    pair: &Pair,
    detections: Vec<Detection>,
    starts: &[Chain],
    options: &SearchOptions,
) -> Result<Searched> {
    let mut ranked: Vec<&Detection> = detections
        .iter()
        .filter(|d| {
            d.score >= options.min_score
                && (!matches!(d.effect.name, "panner" | "stereo_widener")
                    || (pair.dry.n_channels() == 2 && d.score >= options.stereo_min_score))
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked.truncate(options.candidates);
    let tried: Vec<&'static str> = ranked.iter().map(|d| d.effect.name).collect();

    let keep = 1.0 - options.penalty;
    let mut objective = ChainObjective::new(pair, &SEARCH_RESOLUTIONS)?;
    let no_op = objective.distance(&Chain::default())?;
    let (mut chain, mut distance, started_from) = best_start(&mut objective, starts, options)?;
    distance = sort_runs(&mut objective, &mut chain, &SEARCH_ORDER, distance)?;
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
            distance = sort_runs(&mut objective, &mut chain, &SEARCH_ORDER, distance)?;
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
    distance = sort_runs(&mut objective, &mut chain, &PRESENTED_ORDER, distance)?;

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
        for position in insertion_positions(chain, det.effect.name) {
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
            1,
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
        Sweep::Local,
        budget,
    )?;
    let d = refit_others(
        objective,
        &mut candidate,
        Some(position),
        d,
        Sweep::CoarseToFine,
        budget,
    )?;
    // The new stage once more, now that the others have moved around it.
    let d = fit_stage(
        objective,
        &mut candidate,
        position,
        d,
        1,
        Sweep::Local,
        budget,
    )?;
    Ok(Some((candidate, d, position, effect)))
}

/// Effects that are linear, time-invariant and act on every channel alike (the reverb's
/// channel mixing is applied to its own wet path only): any two of them commute, so their
/// relative order is not identifiable from audio.
pub const COMMUTING: [&str; 4] = ["gain", "delay", "reverb", "equalizer"];

/// The positions worth trying for inserting `effect` into `chain`: all of them for an effect
/// outside [`COMMUTING`]; for one inside, a single position per run of commuting stages (the
/// positions around commuting stages give the same render), the last of the run, whose
/// render shares the longest prefix with the chain already measured.
pub fn insertion_positions(chain: &Chain, effect: &str) -> Vec<usize> {
    let n = chain.stages.len();
    if !COMMUTING.contains(&effect) {
        return (0..=n).collect();
    }
    (0..=n)
        .filter(|&p| p == n || !COMMUTING.contains(&chain.stages[p].spec.name))
        .collect()
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
    // Orders that differ only within runs of commuting stages render alike: one of each.
    let names_of = |perm: &[usize]| -> Vec<&'static str> {
        perm.iter().map(|&i| chain.stages[i].spec.name).collect()
    };
    let mut seen = std::collections::HashSet::new();
    seen.insert(canonical_order(&names(chain)));
    let alts: Vec<Chain> = permutations(chain.stages.len())
        .into_iter()
        .filter(|perm| seen.insert(canonical_order(&names_of(perm))))
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
    let d = refit_others(objective, &mut alt, None, d, Sweep::Local, options.budget)?;
    Ok(Some((alt, d, tried)))
}

/// Drops stages whose removal costs less than the penalty, cheapest first, until none
/// qualifies; returns each dropped effect with the distance after dropping it.
pub(crate) fn prune(
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
#[path = "search_tests.rs"]
mod tests;
