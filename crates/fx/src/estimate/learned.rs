//! The learned estimators on the user's audio: datasets of (dry, wet, chain) pairs cut from the
//! user's dry recordings, the saved models of tiers 2 and 3, and the four estimation methods
//! the CLI offers.
//!
//! - **Pairs from the user's dry audio** ([`user_example`]): example `i` under `seed` picks one
//!   of the dry clips, a window of `seconds` at a uniform offset, `N` uniform in
//!   `min_effects..=max_effects` distinct effects from the allowed pool, each parameter uniform on
//!   its step grid ([`crate::engine::sampler::sample_chain_from`]), and renders the chain with its tail.
//!   It depends only on `(clips, options, seed, i)`.
//! - **Models** ([`Model`]): a directory holding `regressor.json` (tier 2,
//!   [`crate::estimate::regression::Regressor`]) or `toolcaller.json` + weights (tier 3,
//!   [`crate::estimate::toolcaller::ToolCaller`]).
//! - **Methods** ([`Method`]): `search` (tier 1 alone), `regression`, `toolcaller` (the model's
//!   chain as decoded), and `hybrid` — the model's proposals as the starting points of the
//!   search. A tool-caller proposes its [`HYBRID_BEAMS`] most probable chains (grammar-
//!   constrained beam search, [`crate::estimate::toolcaller::decode::beam_search`]), a
//!   regression model its one chain; the empty chain (the plain search's start) is always
//!   one more proposal, so poor proposals cost at most half the budget. Each proposal
//!   `C_p^j` is scored with the reported metric
//!   `L` (auraloss MRSTFT of the re-render, [`crate::estimate::metrics::rendered_distance`]);
//!   the [`HYBRID_REFINED`] best are refined by the search
//!   ([`crate::estimate::search::search_from`]: re-fitted, grown, reordered, pruned), the render
//!   budget split evenly between them, and the refined chain `C_h` with the lowest `L` is
//!   returned — **never when worse** than the best proposal: `C* = argmin_j L(C_p^j)` is
//!   returned whenever `L(C_h) > L(C*)`. (The search minimises a cheaper MRSTFT and may prune a
//!   stage that buys less than 5%, so without the guard it could end above its start.)
//!   Blind estimation (wet only) is the tool-caller's alone: the search needs the dry signal.

use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use rand::Rng;

use crate::engine::buffer::AudioBuffer;
use crate::engine::chain::{Chain, RenderOptions, render};
use crate::engine::sampler::sample_chain_from;
use crate::engine::spec::EffectSpec;
use crate::estimate::dataset::Example;
use crate::estimate::metrics::rendered_distance;
use crate::estimate::objective::Pair;
use crate::estimate::rationale::explain;
use crate::estimate::regression::Regressor;
use crate::estimate::search::{SearchOptions, Searched, search, search_from};
use crate::estimate::toolcaller::ToolCaller;

/// How pairs are cut from the user's dry clips.
#[derive(Debug, Clone, PartialEq)]
pub struct PairOptions {
    /// Smallest chain length.
    pub min_effects: usize,
    /// Largest chain length.
    pub max_effects: usize,
    /// Window length in seconds (a shorter clip is used whole).
    pub seconds: f64,
    /// The effects chains are drawn from.
    pub effects: Vec<&'static EffectSpec>,
}

/// Example `index` under `seed` from the named dry clips (see the module doc).
pub fn user_example(
    clips: &[(String, AudioBuffer)],
    options: &PairOptions,
    seed: u64,
    index: usize,
) -> Result<Example> {
    if clips.is_empty() || options.effects.is_empty() {
        return Err(Error::InvalidInput(
            "pairs need at least one dry clip and one effect".into(),
        ));
    }
    if options.min_effects == 0
        || options.min_effects > options.max_effects
        || options.max_effects > options.effects.len()
    {
        return Err(Error::InvalidInput(format!(
            "chain lengths {}..={} must be at least 1 and at most the {} allowed effect(s)",
            options.min_effects,
            options.max_effects,
            options.effects.len()
        )));
    }
    if !(options.seconds > 0.0 && options.seconds.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "the window must be a positive number of seconds, got {}",
            options.seconds
        )));
    }
    let mut rng = SeededRng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let (name, clip) = &clips[rng.rng().random_range(0..clips.len())];
    let len = ((options.seconds * clip.sample_rate as f64) as usize).clamp(1, clip.len());
    let offset = rng.rng().random_range(0..=clip.len() - len);
    let dry = AudioBuffer::new(
        clip.sample_rate,
        clip.channels
            .iter()
            .map(|c| c[offset..offset + len].to_vec())
            .collect(),
    )?;
    let n = rng
        .rng()
        .random_range(options.min_effects..=options.max_effects);
    let pool: Vec<&'static EffectSpec> = options
        .effects
        .iter()
        .copied()
        .filter(|e| dry.n_channels() == 2 || !matches!(e.name, "panner" | "stereo_widener"))
        .collect();
    let chain = sample_chain_from(&mut rng, n.min(pool.len()).max(1), &pool)?;
    let wet = render(&chain, &dry, RenderOptions::default())?.audio;
    wet.check_finite("rendered example")?;
    Ok(Example {
        source: name.clone(),
        dry,
        chain,
        wet,
    })
}

/// Beams a tool-caller proposes to the hybrid.
pub const HYBRID_BEAMS: usize = 4;
/// Proposals (lowest re-rendered MRSTFT first) the hybrid's search refines.
pub const HYBRID_REFINED: usize = 2;

/// An estimation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Tier 1 alone.
    Search,
    /// A trained regression model (tier 2).
    Regression,
    /// A trained tool-caller (tier 3).
    ToolCaller,
    /// A trained model's chain refined by the search, never returned worse than the proposal.
    Hybrid,
}

impl std::str::FromStr for Method {
    type Err = Error;

    fn from_str(s: &str) -> Result<Method> {
        match s {
            "search" => Ok(Method::Search),
            "regression" => Ok(Method::Regression),
            "toolcaller" => Ok(Method::ToolCaller),
            "hybrid" => Ok(Method::Hybrid),
            _ => Err(Error::InvalidInput(format!(
                "unknown method `{s}` (search | regression | toolcaller | hybrid)"
            ))),
        }
    }
}

/// A saved model of tier 2 or 3.
#[derive(Debug, Clone)]
pub enum Model {
    /// Tier 2.
    Regression(Box<Regressor>),
    /// Tier 3.
    ToolCaller(Box<ToolCaller>),
}

impl Model {
    /// Loads whichever model `dir` holds (a clear error when it holds neither).
    pub fn load(dir: &std::path::Path) -> Result<Model> {
        if dir.join(crate::estimate::regression::MODEL_FILE).exists() {
            return Ok(Model::Regression(Box::new(Regressor::load(dir)?)));
        }
        ToolCaller::load(dir)
            .map(|m| Model::ToolCaller(Box::new(m)))
            .map_err(|_| {
                Error::InvalidInput(format!(
                    "{} holds no trained model (train one with `genlab fx train`)",
                    dir.display()
                ))
            })
    }

    /// The model's proposals for the hybrid, most probable first: a tool-caller's `beams`
    /// best chains by beam search (with the rationale of the first), a regression model's one
    /// chain.
    pub fn proposals(
        &self,
        dry: &AudioBuffer,
        wet: &AudioBuffer,
        beams: usize,
    ) -> Result<Vec<(Chain, String)>> {
        match self {
            Model::ToolCaller(m) => beam_proposals(m, dry, wet, beams),
            Model::Regression(_) => Ok(vec![self.propose(Some(dry), wet)?]),
        }
    }

    /// `regression` or `toolcaller`.
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Regression(_) => "regression",
            Model::ToolCaller(_) => "toolcaller",
        }
    }

    /// The model's chain and rationale; `dry = None` is blind estimation (tool-caller only).
    pub fn propose(&self, dry: Option<&AudioBuffer>, wet: &AudioBuffer) -> Result<(Chain, String)> {
        use crate::estimate::ChainEstimator;
        match (self, dry) {
            (Model::ToolCaller(m), Some(d)) => m.estimate(d, wet),
            (Model::ToolCaller(m), None) => m.estimate_blind(wet),
            (Model::Regression(m), Some(d)) => {
                let e = m.estimate(d, wet)?;
                Ok((e.chain, e.rationale))
            }
            (Model::Regression(_), None) => Err(Error::InvalidInput(
                "blind estimation (no dry audio) needs a tool-caller model".into(),
            )),
        }
    }
}

/// A tool-caller's `beams` most probable chains for (`dry`, `wet`) as hybrid proposals, most
/// probable first: the first with its decoding rationale, the others with their log-probability.
pub fn beam_proposals(
    model: &ToolCaller,
    dry: &AudioBuffer,
    wet: &AudioBuffer,
    beams: usize,
) -> Result<Vec<(Chain, String)>> {
    Ok(model
        .beams(Some(dry), wet, beams)?
        .into_iter()
        .enumerate()
        .map(|(k, b)| {
            let why = if k == 0 {
                b.decoded.rationale()
            } else {
                format!("beam {} (log p = {:.2})", k + 1, b.log_p)
            };
            (b.decoded.chain, why)
        })
        .collect())
}

/// An estimate with what it cost and how well it re-renders.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimated {
    /// The chain.
    pub chain: Chain,
    /// Why.
    pub rationale: String,
    /// Search renders (0 for the models alone).
    pub renders: usize,
    /// The hybrid's proposal and its MRSTFT, when the method is `hybrid`.
    pub proposal: Option<(Chain, f64)>,
}

/// Estimates with `method` (`model` needed except for `search`; `dry = None` is blind).
pub fn estimate(
    method: Method,
    model: Option<&Model>,
    dry: Option<&AudioBuffer>,
    wet: &AudioBuffer,
    options: &SearchOptions,
) -> Result<Estimated> {
    let need_model = || {
        model.ok_or_else(|| {
            Error::InvalidInput("this method needs a trained model (--model DIR)".into())
        })
    };
    let need_dry = || {
        dry.ok_or_else(|| {
            Error::InvalidInput(
                "the search needs the dry audio; blind estimation is the tool-caller's".into(),
            )
        })
    };
    match method {
        Method::Search => {
            let found = search(need_dry()?, wet, options)?;
            Ok(Estimated {
                rationale: explain(&found.trace),
                chain: found.chain,
                renders: found.trace.evaluations,
                proposal: None,
            })
        }
        Method::Regression | Method::ToolCaller => {
            let model = need_model()?;
            if (method == Method::Regression) != matches!(model, Model::Regression(_)) {
                return Err(Error::InvalidInput(format!(
                    "the model is a {} model, not a {} one",
                    model.kind(),
                    if method == Method::Regression {
                        "regression"
                    } else {
                        "toolcaller"
                    }
                )));
            }
            let (chain, rationale) = model.propose(dry, wet)?;
            Ok(Estimated {
                chain,
                rationale,
                renders: 0,
                proposal: None,
            })
        }
        Method::Hybrid => {
            let dry = need_dry()?;
            let proposals = need_model()?.proposals(dry, wet, HYBRID_BEAMS)?;
            hybrid(dry, wet, proposals, options)
        }
    }
}

/// The hybrid refinement of `proposals` (see the module doc): never worse than the best
/// proposal under the reported metric.
pub fn hybrid(
    dry: &AudioBuffer,
    wet: &AudioBuffer,
    proposals: Vec<(Chain, String)>,
    options: &SearchOptions,
) -> Result<Estimated> {
    if proposals.is_empty() {
        return Err(Error::InvalidInput("the hybrid needs a proposal".into()));
    }
    let mut proposals = proposals;
    if !proposals.iter().any(|(c, _)| c.stages.is_empty()) {
        proposals.push((
            Chain::default(),
            "the empty chain (the plain search's start)".into(),
        ));
    }
    let pair = Pair::new(dry, wet, Some(options.max_tail_seconds))?;
    let mut scored: Vec<(usize, f64)> = proposals
        .iter()
        .enumerate()
        .map(|(k, (c, _))| Ok((k, rendered_distance(&pair, c)?)))
        .collect::<Result<_>>()?;
    scored.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let (best_k, start) = scored[0];
    let refine = scored.len().min(HYBRID_REFINED);
    let each = SearchOptions {
        budget: (options.budget / refine).max(1),
        ..*options
    };
    let mut renders = proposals.len();
    let mut refined: Option<(usize, f64, Searched)> = None;
    for &(k, _) in &scored[..refine] {
        let found = search_from(dry, wet, &proposals[k].0, &each)?;
        renders += found.trace.evaluations;
        let d = rendered_distance(&pair, &found.chain)?;
        if refined.as_ref().is_none_or(|r| d < r.1) {
            refined = Some((k, d, found));
        }
    }
    let (k, end, found) = refined.expect("at least one proposal is refined");
    let listed: Vec<String> = scored
        .iter()
        .map(|&(j, d)| format!("#{} {} ({d:.3})", j + 1, names_of(&proposals[j].0)))
        .collect();
    let head = format!(
        "Proposals by re-rendered MRSTFT: {}; the best {refine} refined by the search. Proposal #1: {}.",
        listed.join(", "),
        proposals[0].1
    );
    let (chain, rationale) = if end <= start {
        (
            found.chain,
            format!(
                "{head} Refined from #{} to MRSTFT {end:.3}: {}",
                k + 1,
                explain(&found.trace)
            ),
        )
    } else {
        (
            proposals[best_k].0.clone(),
            format!(
                "{head} The best refinement re-rendered at MRSTFT {end:.3}, above proposal #{}'s {start:.3}, so that proposal is kept.",
                best_k + 1
            ),
        )
    };
    Ok(Estimated {
        chain,
        rationale,
        renders,
        proposal: Some((proposals[best_k].0.clone(), start)),
    })
}

fn names_of(chain: &Chain) -> String {
    if chain.stages.is_empty() {
        return "(no effect)".into();
    }
    chain
        .stages
        .iter()
        .map(|s| s.spec.name)
        .collect::<Vec<_>>()
        .join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::chain::Stage;
    use crate::engine::spec::{EFFECTS, effect};
    use crate::sources::procedural::source;

    #[test]
    fn user_examples_are_seeded_windows_with_allowed_effects() {
        let clips = vec![
            ("a".to_string(), source("pluck", 16000, 1.0, 1).unwrap()),
            ("b".to_string(), source("drum", 16000, 1.0, 2).unwrap()),
        ];
        let options = PairOptions {
            min_effects: 1,
            max_effects: 2,
            seconds: 0.5,
            effects: vec![effect("gain").unwrap(), effect("delay").unwrap()],
        };
        let a = user_example(&clips, &options, 3, 5).unwrap();
        let b = user_example(&clips, &options, 3, 5).unwrap();
        assert_eq!(a.chain, b.chain);
        assert_eq!(a.dry.channels, b.dry.channels);
        assert_eq!(a.dry.len(), 8000);
        for i in 0..10 {
            let e = user_example(&clips, &options, 3, i).unwrap();
            assert!((1..=2).contains(&e.chain.stages.len()));
            assert!(
                e.chain
                    .stages
                    .iter()
                    .all(|s| ["gain", "delay"].contains(&s.spec.name))
            );
        }
        let mut bad = options.clone();
        bad.max_effects = 3;
        assert!(user_example(&clips, &bad, 0, 0).is_err());
        assert!(user_example(&[], &options, 0, 0).is_err());
        assert_eq!("hybrid".parse::<Method>().unwrap(), Method::Hybrid);
        assert!("magic".parse::<Method>().is_err());
        assert!(EFFECTS.len() >= 7);
    }

    #[test]
    fn the_hybrid_never_returns_a_chain_worse_than_its_proposal() {
        // Proposals near and far from the truth (reverb then gain on a pluck): the hybrid's
        // chain re-renders at most as far from the target as its proposal, every time.
        let dry = source("pluck", 16000, 0.75, 4).unwrap();
        let truth = Chain {
            stages: vec![
                Stage::constant(effect("reverb").unwrap(), &[0.6, 0.3, 0.8, 0.4]),
                Stage::constant(effect("gain").unwrap(), &[-6.0]),
            ],
        };
        let wet = render(&truth, &dry, RenderOptions::default())
            .unwrap()
            .audio;
        let options = SearchOptions {
            budget: 120,
            ..SearchOptions::default()
        };
        let proposals = [
            truth.clone(),
            Chain {
                stages: vec![Stage::constant(effect("gain").unwrap(), &[-6.0])],
            },
            Chain {
                stages: vec![Stage::constant(effect("distortion").unwrap(), &[20.0])],
            },
            Chain::default(),
        ];
        let pair = Pair::new(&dry, &wet, Some(options.max_tail_seconds)).unwrap();
        let mut improved = 0;
        for p in &proposals {
            let h = hybrid(&dry, &wet, vec![(p.clone(), "test".into())], &options).unwrap();
            let (_, start) = h.proposal.clone().unwrap();
            let end = rendered_distance(&pair, &h.chain).unwrap();
            assert!(end <= start + 1e-12, "{end} > {start} from {p:?}");
            improved += usize::from(end < 0.9 * start);
        }
        // The far proposals are improved, not merely kept.
        assert!(improved >= 2, "{improved}");
        // Several proposals (as beams): never above the best of them, which is reported.
        let all: Vec<(Chain, String)> = proposals[1..]
            .iter()
            .map(|p| (p.clone(), "beam".to_string()))
            .collect();
        let h = hybrid(&dry, &wet, all.clone(), &options).unwrap();
        let best = all
            .iter()
            .map(|(c, _)| rendered_distance(&pair, c).unwrap())
            .fold(f64::INFINITY, f64::min);
        let (_, start) = h.proposal.clone().unwrap();
        assert_eq!(start, best);
        assert!(rendered_distance(&pair, &h.chain).unwrap() <= best + 1e-12);
        assert!(
            h.rationale.contains("Proposals by re-rendered MRSTFT"),
            "{}",
            h.rationale
        );
        assert!(hybrid(&dry, &wet, vec![], &options).is_err());
    }
}
