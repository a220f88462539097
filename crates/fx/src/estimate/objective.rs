//! The analysis-by-synthesis objective over whole chains ([`ChainObjective`]) on an analysis
//! window ([`Pair`]), and coordinate search on the step grid ([`fit_stage`]); [`fit_effect`]
//! fits one named effect.
//!
//! **Objective.** For a candidate chain `C`, `L(C) = MRSTFT(y, E(C, x))` ([`crate::engine::mrstft`]),
//! `y` the target and `x` the dry input zero-padded to the target's length, rendered without
//! extra tail (so `E(C, x)` has exactly the target's length and includes tails up to its end).
//! Stereo (any channel count) is pooled as auraloss pools the channels of a batch: one
//! spectrogram per resolution over all channels, so the spectral-convergence norms run over
//! every channel together and the log-magnitude L1 is one mean (a silent channel — a hard pan —
//! then cannot blow the ratio up as a per-channel average would). It is computed by
//! concatenating the channels with `max n_fft` zeros between them, so no frame straddles two
//! channels; the all-zero frames in the gaps match exactly and only dilute the log term by
//! their share of frames (< 10 % for 1 s clips).
//!
//! A [`Pair`] may crop the target to `dry length + max_tail` seconds, which bounds the cost of
//! long echo/reverb tails; distances of chains already seen are cached.
//!
//! **Coordinate search.** For one stage, each parameter in turn is moved along its grid with the
//! others fixed, keeping any strict improvement; a pass visits every parameter; the search stops
//! when a pass changes nothing or after `max_passes`. Per parameter, either every grid point is
//! tried ([`Sweep::Exhaustive`]) or a coarse-to-fine sweep ([`Sweep::CoarseToFine`]): about 8
//! evenly spaced grid points plus the current one, then the best index's neighbours at strides
//! `s/2, s/4, …, 1` (`s` the coarse stride), moving whenever a neighbour is better
//! ([`Sweep::Coarse`] stops after the evenly spaced points, a quick screen; [`Sweep::Local`]
//! skips them and tries only the neighbours at strides 4, 2, 1 of the current point, for
//! re-fitting a stage that is already fitted).
//!
//! **Search resolutions.** Searches render hundreds of candidates, so they measure with
//! [`SEARCH_RESOLUTIONS`]: the auraloss FFT sizes with full-length Hann windows and hop = n_fft
//! (1024/2048/512 instead of 120/240/50), about 8.8× fewer spectrogram cells. (Hops of n_fft/2
//! were used before; on the 48-pair pedalboard set hop = n_fft cut the CPU time per estimate
//! from 6.6 s to 4.2 s with the re-rendered MRSTFT / no-op at 0.194 against 0.199 and the same
//! presence F1, 0.64.) Several sizes still cover the gaps between one size's windows.
//! They are measured in single precision ([`crate::estimate::spectrum`]); reported distances
//! always use [`AURALOSS`] with the engine's double-precision MRSTFT.
//!
//! **Prefix renders** ([`ChainObjective`]): chains of one batch that share a prefix render it
//! once, and later batches reuse kept prefixes, so a candidate renders only its stages after
//! the longest kept prefix.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use rayon::prelude::*;

use genlab_core::{Error, Result};

use super::check_pair;
use crate::engine::automation::ParamValue;
use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{Chain, RenderOptions, Stage, render};
use crate::engine::mrstft::{AURALOSS, Mrstft, Resolution, Spectra, buffer_distance};
use crate::engine::spec::{EFFECTS, EffectSpec};
use crate::estimate::spectrum::{FastMrstft, Target};

/// Cheaper resolutions for searching (see the module doc).
pub const SEARCH_RESOLUTIONS: [Resolution; 3] = [
    Resolution {
        n_fft: 1024,
        hop: 1024,
        win: 1024,
    },
    Resolution {
        n_fft: 2048,
        hop: 2048,
        win: 2048,
    },
    Resolution {
        n_fft: 512,
        hop: 512,
        win: 512,
    },
];

/// The analysis window of a (dry, wet) pair: the target (wet, possibly cropped) and the dry
/// input zero-padded to the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Dry input, zero-padded to `target.len()`.
    pub dry: AudioBuffer,
    /// The wet signal, cropped to at most `dry_len + max_tail`.
    pub target: AudioBuffer,
    /// Length of the dry input before padding (samples).
    pub dry_len: usize,
}

impl Pair {
    /// The window of (`dry`, `wet`) keeping at most `max_tail_seconds` of wet after the dry
    /// end (`None`: the whole wet signal). A wet shorter than dry is zero-padded.
    pub fn new(
        dry: &AudioBuffer,
        wet: &AudioBuffer,
        max_tail_seconds: Option<f64>,
    ) -> Result<Pair> {
        check_pair(dry, wet)?;
        let tail_limit = match max_tail_seconds {
            Some(s) if s.is_finite() && s >= 0.0 => (s * dry.sample_rate as f64).round() as usize,
            Some(s) => {
                return Err(Error::InvalidInput(format!(
                    "the tail window must be a non-negative number of seconds, got {s}"
                )));
            }
            None => usize::MAX,
        };
        let len = wet
            .len()
            .min(dry.len().saturating_add(tail_limit))
            .max(dry.len());
        let fit = |a: &AudioBuffer| {
            let mut a = a.clone();
            for ch in &mut a.channels {
                ch.resize(len, 0.0);
            }
            a
        };
        Ok(Pair {
            dry: fit(dry),
            target: fit(wet),
            dry_len: dry.len(),
        })
    }

    /// Renders `chain` over the padded dry input (same length as the target).
    pub fn render(&self, chain: &Chain) -> Result<AudioBuffer> {
        self.render_from(None, &chain.stages)
    }

    /// Renders `stages` over `start` (a rendered prefix; `None`: the padded dry input).
    pub fn render_from(
        &self,
        start: Option<&AudioBuffer>,
        stages: &[Stage],
    ) -> Result<AudioBuffer> {
        let options = RenderOptions {
            block_size: 4096,
            pad_tail: false,
        };
        let input = start.unwrap_or(&self.dry);
        if stages.is_empty() {
            return Ok(input.clone());
        }
        let chain = Chain {
            stages: stages.to_vec(),
        };
        Ok(render(&chain, input, options)?.audio)
    }
}

/// Cache key of a chain: effect indices and parameter bits.
type ChainKey = Vec<(usize, Vec<u64>)>;

fn key(chain: &Chain) -> ChainKey {
    chain
        .stages
        .iter()
        .map(|s| {
            let effect = EFFECTS
                .iter()
                .position(|e| e.name == s.spec.name)
                .unwrap_or(usize::MAX);
            let bits = s
                .values
                .iter()
                .map(|v| match v {
                    ParamValue::Constant(x) => x.to_bits(),
                    ParamValue::Envelope(_) => u64::MAX,
                })
                .collect();
            (effect, bits)
        })
        .collect()
}

/// The channels of `audio` one after another, with `gap` zeros between them.
fn pooled(audio: &AudioBuffer, gap: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(audio.n_channels() * (audio.len() + gap));
    for (c, ch) in audio.channels.iter().enumerate() {
        if c > 0 {
            out.resize(out.len() + gap, 0.0);
        }
        out.extend_from_slice(ch);
    }
    out
}

/// How distances are measured: the auraloss resolutions (the reported metric) with the
/// engine's double-precision MRSTFT; any other (the search's) with the single-precision one
/// of [`crate::estimate::spectrum`].
enum Measure {
    Engine { stft: Mrstft, target: Vec<Spectra> },
    Fast { stft: FastMrstft, target: Target },
}

impl Measure {
    fn distance(&self, x: &[f32]) -> f64 {
        match self {
            Measure::Engine { stft, target } => buffer_distance(target, &[stft.spectra(x)]),
            Measure::Fast { stft, target } => stft.distance(target, x),
        }
    }
}

/// Rendered prefixes kept for reuse (the oldest is dropped beyond this many; about 0.9 MB
/// each for 2.5 s of 44.1 kHz stereo).
const PREFIX_CACHE: usize = 48;

/// `L(C)` for one (dry, target) pair, with a distance cache, a prefix-render cache and a
/// render counter.
///
/// **Prefix renders.** Effects are causal and start from silence, so the render of
/// `C = P ++ S` equals `S` rendered over the render of `P` (exactly when `P` has no latency;
/// with a look-ahead stage in `P` the last latency samples of the window may differ, which
/// is why prefix renders are reused only inside the search). Before a batch is rendered,
/// every prefix that two of its chains share (the longest such per chain) is rendered once
/// and kept; each chain then renders only the stages after its longest kept prefix. A
/// coordinate sweep over stage `i` so re-renders stages `i..` only, and screening insertions
/// at the end of an accepted chain renders the new effect only.
pub struct ChainObjective<'a> {
    pair: &'a Pair,
    measure: Measure,
    gap: usize,
    cache: HashMap<ChainKey, f64>,
    prefixes: HashMap<ChainKey, Arc<AudioBuffer>>,
    prefix_order: VecDeque<ChainKey>,
    /// Renders evaluated (cache hits not counted).
    pub evaluations: usize,
    /// Stage renders performed (a chain rendered over a kept prefix counts only the stages
    /// after it; rendering a prefix counts its own stages).
    pub stage_renders: usize,
}

impl<'a> ChainObjective<'a> {
    /// The objective on `pair` with the given STFT resolutions.
    pub fn new(pair: &'a Pair, resolutions: &[Resolution]) -> Result<Self> {
        let gap = resolutions.iter().map(|r| r.n_fft).max().unwrap_or(0);
        let y = pooled(&pair.target, gap);
        let measure = if resolutions == AURALOSS.as_slice() {
            let stft = Mrstft::new(resolutions)?;
            let target = vec![stft.spectra(&y)];
            Measure::Engine { stft, target }
        } else {
            let stft = FastMrstft::new(resolutions)?;
            let target = stft.target(&y);
            Measure::Fast { stft, target }
        };
        Ok(ChainObjective {
            pair,
            measure,
            gap,
            cache: HashMap::new(),
            prefixes: HashMap::new(),
            prefix_order: VecDeque::new(),
            evaluations: 0,
            stage_renders: 0,
        })
    }

    /// The objective with the auraloss resolutions (the evaluation metric itself).
    pub fn auraloss(pair: &'a Pair) -> Result<Self> {
        Self::new(pair, &AURALOSS)
    }

    /// The pair it measures against.
    pub fn pair(&self) -> &Pair {
        self.pair
    }

    /// `L(chain)`.
    pub fn distance(&mut self, chain: &Chain) -> Result<f64> {
        Ok(self.distances(std::slice::from_ref(chain))?[0])
    }

    /// `L` of every chain in `chains`. Chains not in the cache are rendered and measured in
    /// parallel (rayon), then cached in the order given, so results and the render count do
    /// not depend on the thread count; a chain repeated within the batch is rendered once.
    pub fn distances(&mut self, chains: &[Chain]) -> Result<Vec<f64>> {
        let keys: Vec<ChainKey> = chains.iter().map(key).collect();
        let mut todo: Vec<usize> = Vec::new();
        let mut seen: std::collections::HashSet<&ChainKey> = std::collections::HashSet::new();
        for (i, k) in keys.iter().enumerate() {
            if !self.cache.contains_key(k) && seen.insert(k) {
                todo.push(i);
            }
        }
        self.keep_shared_prefixes(chains, &keys, &todo)?;
        let starts: Vec<(usize, Option<Arc<AudioBuffer>>)> = todo
            .iter()
            .map(|&i| self.longest_prefix(&keys[i]))
            .collect();
        let (pair, measure, gap) = (self.pair, &self.measure, self.gap);
        let measured: Vec<Result<f64>> = todo
            .par_iter()
            .zip(&starts)
            .map(|(&i, (j, from))| {
                let rendered = pair.render_from(from.as_deref(), &chains[i].stages[*j..])?;
                let d = measure.distance(&pooled(&rendered, gap));
                Ok(if d.is_finite() { d } else { f64::INFINITY })
            })
            .collect();
        for ((&i, d), (j, _)) in todo.iter().zip(measured).zip(&starts) {
            self.evaluations += 1;
            self.stage_renders += chains[i].stages.len() - j;
            self.cache.insert(keys[i].clone(), d?);
        }
        Ok(keys.iter().map(|k| self.cache[k]).collect())
    }

    /// The longest kept prefix of a chain with key `key` (strictly shorter than the chain):
    /// its length and render (`(0, None)`: start from the dry input).
    fn longest_prefix(&self, key: &[(usize, Vec<u64>)]) -> (usize, Option<Arc<AudioBuffer>>) {
        (1..key.len())
            .rev()
            .find_map(|j| self.prefixes.get(&key[..j]).map(|a| (j, Some(a.clone()))))
            .unwrap_or((0, None))
    }

    /// Renders and keeps, for every chain of `todo`, the longest prefix it shares with another
    /// chain of the batch, when longer than its longest kept prefix (in first-seen order, so
    /// the cache does not depend on the thread count).
    fn keep_shared_prefixes(
        &mut self,
        chains: &[Chain],
        keys: &[ChainKey],
        todo: &[usize],
    ) -> Result<()> {
        let mut count: HashMap<&[(usize, Vec<u64>)], usize> = HashMap::new();
        for &i in todo {
            for j in 1..keys[i].len() {
                *count.entry(&keys[i][..j]).or_insert(0) += 1;
            }
        }
        let mut wanted: Vec<(usize, usize)> = Vec::new();
        let mut seen: std::collections::HashSet<&[(usize, Vec<u64>)]> =
            std::collections::HashSet::new();
        for &i in todo {
            let kept = self.longest_prefix(&keys[i]).0;
            if let Some(j) = (kept + 1..keys[i].len())
                .rev()
                .find(|&j| count[&keys[i][..j]] >= 2)
                && seen.insert(&keys[i][..j])
            {
                wanted.push((i, j));
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let starts: Vec<(usize, Option<Arc<AudioBuffer>>)> = wanted
            .iter()
            .map(|&(i, j)| self.longest_prefix(&keys[i][..j]))
            .collect();
        let pair = self.pair;
        let rendered: Vec<Result<AudioBuffer>> = wanted
            .par_iter()
            .zip(&starts)
            .map(|(&(i, j), (k, from))| pair.render_from(from.as_deref(), &chains[i].stages[*k..j]))
            .collect();
        for ((&(i, j), audio), (k, _)) in wanted.iter().zip(rendered).zip(&starts) {
            self.stage_renders += j - k;
            let key = keys[i][..j].to_vec();
            if self.prefix_order.len() >= PREFIX_CACHE
                && let Some(old) = self.prefix_order.pop_front()
            {
                self.prefixes.remove(&old);
            }
            self.prefix_order.push_back(key.clone());
            self.prefixes.insert(key, Arc::new(audio?));
        }
        Ok(())
    }

    /// True if `chain`'s distance is cached (evaluating it costs no render).
    pub fn is_cached(&self, chain: &Chain) -> bool {
        self.cache.contains_key(&key(chain))
    }
}

/// How many grid points a parameter sweep tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Every grid point.
    Exhaustive,
    /// About 8 evenly spaced points only (a quick screen).
    Coarse,
    /// About 8 evenly spaced points, then neighbours at halving strides.
    CoarseToFine,
    /// Neighbours of the current point at strides 4, 2, 1 only (re-fitting a stage that
    /// is already near its optimum).
    Local,
}

/// Search settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FitOptions {
    /// Maximum number of coordinate passes.
    pub max_passes: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { max_passes: 4 }
    }
}

/// Index of the grid point nearest to `v`.
fn grid_index(p: &crate::engine::spec::ParamSpec, v: f64) -> usize {
    (p.normalise(v) * p.intervals() as f64).round() as usize
}

/// The grid indices a sweep visits first: every point ([`Sweep::Exhaustive`]) or about 8
/// evenly spaced points and the last one (the coarse sweeps).
fn first_indices(sweep: Sweep, n: usize) -> (Vec<usize>, usize) {
    match sweep {
        Sweep::Exhaustive => ((0..n).collect(), 0),
        Sweep::Local => (Vec::new(), 4),
        Sweep::Coarse | Sweep::CoarseToFine => {
            let stride = (n - 1).div_ceil(8).max(1);
            let mut ks: Vec<usize> = (0..n).step_by(stride).collect();
            ks.push(n - 1);
            (
                ks,
                if sweep == Sweep::Coarse {
                    0
                } else {
                    stride / 2
                },
            )
        }
    }
}

/// `chain` with parameter `param` of stage `index` set to `value`.
fn with_value(chain: &Chain, index: usize, param: usize, value: f64) -> Chain {
    let mut candidate = chain.clone();
    candidate.stages[index].values[param] = ParamValue::Constant(value);
    candidate
}

/// Moves parameter `param` of `chain.stages[index]` along its grid (everything else fixed),
/// starting from the chain as given whose distance is `distance`; `chain` ends at the best
/// point found. Returns the new distance and whether it improved.
///
/// The points of one sweep step (the evenly spaced points; then both neighbours at each
/// stride) are measured as one parallel batch ([`ChainObjective::distances`]) and scanned in
/// index order, a point replacing the best only if strictly lower; a step is cut to the
/// renders left in `budget`.
#[allow(clippy::too_many_arguments)]
pub fn fit_param(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    index: usize,
    param: usize,
    mut distance: f64,
    sweep: Sweep,
    budget: usize,
) -> Result<(f64, bool)> {
    let p = &chain.stages[index].spec.params[param];
    let grid = p.grid();
    let mut best = grid_index(p, chain.stages[index].values[param].at(0.0));
    let mut changed = false;
    // Measures the points `ks` (skipping the current best and duplicates) and moves to the
    // first strictly better one in `ks` order when `first` (else to the lowest).
    let mut step = |ks: &[usize],
                    first: bool,
                    best: &mut usize,
                    chain: &mut Chain,
                    distance: &mut f64|
     -> Result<bool> {
        let mut ks: Vec<usize> = ks
            .iter()
            .copied()
            .filter(|&k| k != *best && k < grid.len())
            .collect();
        ks.dedup();
        let left = budget.saturating_sub(objective.evaluations);
        let mut uncached = 0;
        let candidates: Vec<Chain> = ks
            .iter()
            .map(|&k| with_value(chain, index, param, grid[k]))
            .take_while(|c| {
                if !objective.is_cached(c) {
                    uncached += 1;
                }
                uncached <= left
            })
            .collect();
        let ds = objective.distances(&candidates)?;
        let mut moved = false;
        for ((k, c), d) in ks.iter().zip(candidates).zip(ds) {
            if d < *distance - 1e-12 {
                *distance = d;
                *best = *k;
                *chain = c;
                moved = true;
                if first {
                    break;
                }
            }
        }
        Ok(moved)
    };
    let (ks, mut s) = first_indices(sweep, grid.len());
    changed |= step(&ks, false, &mut best, chain, &mut distance)?;
    while s >= 1 {
        let centre = best;
        let mut ks = vec![centre + s];
        if centre >= s {
            ks.push(centre - s);
        }
        changed |= step(&ks, true, &mut best, chain, &mut distance)?;
        s /= 2;
    }
    Ok((distance, changed))
}

/// Coordinate search over the parameters of `chain.stages[index]` (the other stages fixed),
/// starting from the chain as given whose distance is `distance`. Stops early when the
/// objective has used `budget` evaluations. Returns the final distance; `chain` holds the best.
pub fn fit_stage(
    objective: &mut ChainObjective,
    chain: &mut Chain,
    index: usize,
    mut distance: f64,
    max_passes: usize,
    sweep: Sweep,
    budget: usize,
) -> Result<f64> {
    for _ in 0..max_passes {
        let mut changed = false;
        for param in 0..chain.stages[index].spec.params.len() {
            let (d, c) = fit_param(objective, chain, index, param, distance, sweep, budget)?;
            distance = d;
            changed |= c;
        }
        if !changed || objective.evaluations >= budget {
            break;
        }
    }
    Ok(distance)
}

/// A fitted effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The effect with its fitted parameters.
    pub stage: Stage,
    /// MRSTFT distance of its rendering to the target.
    pub distance: f64,
    /// MRSTFT distance of the dry input to the target (the no-op baseline).
    pub no_op_distance: f64,
    /// Renders evaluated.
    pub evaluations: usize,
    /// Coordinate passes run.
    pub passes: usize,
}

/// Fits `spec`'s parameters so that `spec` applied to `dry` matches the whole of `wet`
/// (exhaustive sweeps, starting from the spec defaults).
pub fn fit_effect(
    dry: &AudioBuffer,
    wet: &AudioBuffer,
    spec: &'static EffectSpec,
    options: FitOptions,
) -> Result<Fit> {
    let pair = Pair::new(dry, wet, None)?;
    let mut objective = ChainObjective::auraloss(&pair)?;
    let no_op_distance = objective.distance(&Chain::default())?;
    let start: Vec<f64> = spec.params.iter().map(|p| p.snap(p.default)).collect();
    let mut chain = Chain {
        stages: vec![Stage::constant(spec, &start)],
    };
    let mut distance = objective.distance(&chain)?;
    let mut passes = 0;
    while passes < options.max_passes {
        passes += 1;
        let before = distance;
        distance = fit_stage(
            &mut objective,
            &mut chain,
            0,
            distance,
            1,
            Sweep::Exhaustive,
            usize::MAX,
        )?;
        if distance >= before {
            break;
        }
    }
    Ok(Fit {
        stage: chain.stages.remove(0),
        distance,
        no_op_distance,
        evaluations: objective.evaluations,
        passes,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::spec::effect;

    /// Seeded uniform noise in `[-0.25, 0.25)`, `channels` identical-length channels at 16 kHz.
    pub(crate) fn noise(channels: usize, len: usize) -> AudioBuffer {
        let mut ch = crate::testutil::lcg_noise(99, channels, len);
        ch.iter_mut().flatten().for_each(|v| *v *= 0.5);
        AudioBuffer::new(16000, ch).unwrap()
    }

    pub(crate) fn wet(dry: &AudioBuffer, chain: &Chain) -> AudioBuffer {
        render(chain, dry, RenderOptions::default()).unwrap().audio
    }

    fn one(stage: &Stage) -> Chain {
        Chain {
            stages: vec![stage.clone()],
        }
    }

    #[test]
    fn recovers_a_known_gain_exactly() {
        let dry = noise(1, 4000);
        let truth = Stage::constant(effect("gain").unwrap(), &[-6.0]);
        let fit = fit_effect(
            &dry,
            &wet(&dry, &one(&truth)),
            truth.spec,
            FitOptions::default(),
        )
        .unwrap();
        assert_eq!(fit.stage, truth);
        assert!(fit.distance < 1e-6 && fit.no_op_distance > 0.5, "{fit:?}");
    }

    #[test]
    fn recovers_known_eq_gains_and_centre_frequency() {
        let dry = noise(1, 3000);
        let spec = effect("equalizer").unwrap();
        let truth_values = [6.0, 200.0, 0.7, -8.0, 2000.0, 1.0, 0.0, 8000.0, 0.7];
        let truth = Stage::constant(spec, &truth_values);
        let fit = fit_effect(&dry, &wet(&dry, &one(&truth)), spec, FitOptions::default()).unwrap();
        let got: Vec<f64> = fit.stage.values.iter().map(|v| v.at(0.0)).collect();
        // Band gains within one grid step, the mid centre exact; the re-rendered chain is
        // much closer to the target than the dry signal.
        assert!((got[0] - 6.0).abs() <= 1.0, "{got:?}");
        assert!((got[3] + 8.0).abs() <= 1.0, "{got:?}");
        assert_eq!(got[4], 2000.0, "{got:?}");
        assert!(got[6].abs() <= 1.0, "{got:?}");
        assert!(fit.distance < 0.05 * fit.no_op_distance, "{fit:?}");
        assert!(fit.passes >= 2 && fit.evaluations > 300);
    }

    #[test]
    fn pair_crops_the_tail_and_pads_the_dry_end() {
        let dry = noise(2, 1600);
        let echo = Stage::constant(effect("delay").unwrap(), &[0.5, 0.6, 0.5]);
        let w = wet(&dry, &one(&echo));
        assert!(w.len() > 1600 + 8000);
        let pair = Pair::new(&dry, &w, Some(0.25)).unwrap();
        assert_eq!(pair.target.len(), 1600 + 4000);
        assert_eq!(pair.dry.len(), 1600 + 4000);
        assert_eq!(pair.dry.channels[0][..1600], dry.channels[0][..]);
        assert!(pair.dry.channels[0][1600..].iter().all(|&x| x == 0.0));
        // Rendering the true chain over the padded dry reproduces the cropped target exactly.
        let mut obj = ChainObjective::auraloss(&pair).unwrap();
        assert!(obj.distance(&one(&echo)).unwrap() < 1e-9);
        assert!(obj.distance(&Chain::default()).unwrap() > 0.1);
        assert_eq!(obj.evaluations, 2);
        obj.distance(&one(&echo)).unwrap();
        assert_eq!(obj.evaluations, 2, "cached");
        assert!(Pair::new(&dry, &w, Some(-1.0)).is_err());
        assert!(Pair::new(&noise(1, 100), &w, None).is_err());
    }

    #[test]
    fn a_silent_channel_does_not_blow_up_the_distance() {
        // Hard-panned target: the right channel is silent. Pooled over channels, a −6 dB
        // estimate scores SC = 1/2 plus the log term on the left channel only.
        let mut dry = noise(2, 4000);
        dry.channels[1].fill(0.0);
        let half = Chain {
            stages: vec![Stage::constant(effect("gain").unwrap(), &[-6.0])],
        };
        let pair = Pair::new(&dry, &dry, None).unwrap();
        let d = ChainObjective::auraloss(&pair)
            .unwrap()
            .distance(&half)
            .unwrap();
        let g = 10f64.powf(-6.0 / 20.0);
        assert!(d > (1.0 - g) && d < (1.0 - g) + g.ln().abs(), "{d}");
    }

    #[test]
    fn coarse_to_fine_finds_a_gain_with_few_renders() {
        let dry = noise(1, 3000);
        let truth = Stage::constant(effect("gain").unwrap(), &[14.0]);
        let pair = Pair::new(&dry, &wet(&dry, &one(&truth)), None).unwrap();
        let mut obj = ChainObjective::auraloss(&pair).unwrap();
        let mut chain = one(&Stage::constant(truth.spec, &[0.0]));
        let d0 = obj.distance(&chain).unwrap();
        let d = fit_stage(
            &mut obj,
            &mut chain,
            0,
            d0,
            3,
            Sweep::CoarseToFine,
            usize::MAX,
        )
        .unwrap();
        assert_eq!(chain.stages[0], truth);
        assert!(d < 1e-6);
        assert!(obj.evaluations < 21, "{} renders", obj.evaluations);
    }
}
