//! A chain as a token sequence, and the grammar every sequence the tool-caller emits obeys.
//!
//! ```text
//! <bos> [plan: E_a E_b … in spec order] <sep> (E_i  B_i1 … B_ik)* <eos>
//! ```
//!
//! `E_i` is one token per effect of [`EFFECTS`]; `B_ij` is the bin of parameter `j` of effect
//! `i`. The *plan* (the "reason before calling" variant) states which effects are present, as a
//! set in spec order, before the ordered calls; without the plan the sequence is
//! `<bos> <sep> calls <eos>`.
//!
//! **Bins.** A parameter with `G` grid points ([`ParamSpec::grid`]) has `min(G, 16)` bins. With
//! `G ≤ 16` bin `b` is grid point `b`, exactly. Larger grids are binned coarsely: grid index `k`
//! falls in bin `⌊k·16/G⌋`, and bin `b` decodes to the middle grid index of the bin. The
//! resolution is then about `(max − min)/16` (log parameters: 3 decades/16 ≈ 0.19 decade for
//! attack and release; EQ gains 2.5 dB; EQ Q 0.37; mid centre 375 Hz; compressor ratio 1.25;
//! gain and makeup 2.5 dB; limiter threshold 1.25 dB; pan 0.13). Every other parameter of the
//! spec has at most 16 grid points and is represented exactly.
//!
//! **Grammar.** After `<bos>`: plan tokens in strictly increasing spec order (plan variant
//! only), `<sep>` once at least one effect is planned (or at once, without plan); then calls:
//! an effect not called before (and, with a plan, one of the planned effects), followed by
//! exactly its number of parameter bins, each below that parameter's bin count; `<eos>` once at
//! least one call was made (with a plan: exactly when every planned effect was called). The
//! decoder only ever chooses among the tokens [`GrammarState::allowed`] returns, so every
//! decoded sequence is a valid chain by construction. [`decode`] checks the same grammar and
//! returns an error (never panics) for any other sequence; nothing is repaired.
//!
//! LLM2Fx-Tools itself emits text: the Qwen3 tokenizer's tokens for a `<think>` CoT, then one
//! `<tool_call>{"name": …, "arguments": {…}}</tool_call>` block per effect with numbers written
//! out in digits, and relies on a tolerant parser afterwards (checked in `SonyResearch/LLM2Fx`,
//! `llm2fx-tools/llm4mp/models/llm/data/pt_dataset.py`: the target text is
//! `chain_of_thought </think> tool calls response <|im_end|>`, and a `use_cot` flag drops the
//! CoT). Here a parameter is one token and the CoT is reduced to the effect set; the grammar
//! replaces the parser.

use genlab_core::{Error, Result};

use crate::engine::automation::ParamValue;
use crate::engine::chain::{Chain, Stage};
use crate::engine::spec::{EFFECTS, ParamSpec};

/// Padding (after `<eos>`; never predicted).
pub const PAD: u32 = 0;
/// Start of sequence.
pub const BOS: u32 = 1;
/// End of the plan, start of the calls.
pub const SEP: u32 = 2;
/// End of the chain.
pub const EOS: u32 = 3;
/// Number of effects in the spec table (checked against [`EFFECTS`] in the tests).
pub const N_EFFECTS: usize = 9;
/// Token of effect `i` (spec order) is `EFFECT0 + i`.
pub const EFFECT0: u32 = 4;
/// Token of bin `b` is `BIN0 + b`.
pub const BIN0: u32 = EFFECT0 + N_EFFECTS as u32;
/// Most bins a parameter gets.
pub const MAX_BINS: usize = 16;
/// Vocabulary size.
pub const VOCAB: usize = BIN0 as usize + MAX_BINS;
/// Longest sequence: `<bos>`, a full plan, `<sep>`, every effect with its parameters, `<eos>`.
pub const MAX_LEN: usize = 3 + 2 * N_EFFECTS + N_PARAMS;
/// Total number of parameters over all effects.
pub const N_PARAMS: usize = 27;
/// Number of grammar slots (see [`GrammarState::slot`]): plan, calls, one per parameter, done.
pub const N_SLOTS: usize = 3 + N_PARAMS;

/// Number of bins of `p`.
pub fn bins(p: &ParamSpec) -> usize {
    (p.intervals() + 1).min(MAX_BINS)
}

/// The bin of value `v` (snapped to the grid first).
pub fn bin_of(p: &ParamSpec, v: f64) -> usize {
    let g = p.intervals() + 1;
    let k = (p.normalise(v) * p.intervals() as f64).round() as usize;
    if g <= MAX_BINS { k } else { k * MAX_BINS / g }
}

/// The grid value bin `b` stands for (the middle grid point of the bin).
pub fn value_of(p: &ParamSpec, b: usize) -> f64 {
    let g = p.intervals() + 1;
    if g <= MAX_BINS {
        return p.grid_point(b.min(g - 1));
    }
    // Grid indices k with ⌊k·M/g⌋ = b are ⌈b·g/M⌉ ≤ k < ⌈(b+1)·g/M⌉.
    let lo = (b * g).div_ceil(MAX_BINS);
    let hi = ((b + 1) * g).div_ceil(MAX_BINS);
    p.grid_point(((lo + hi - 1) / 2).min(g - 1))
}

/// Index of the first parameter of effect `e` among all parameters (for slots).
fn param_offset(e: usize) -> usize {
    EFFECTS[..e].iter().map(|x| x.params.len()).sum()
}

/// Where a sequence is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before `<bos>`.
    Start,
    /// Planning (or waiting for `<sep>` without plan).
    Plan,
    /// Expecting an effect or `<eos>`.
    Calls,
    /// Expecting bin `j` of effect `e`.
    Param { e: usize, j: usize },
    /// After `<eos>`.
    Done,
}

/// The grammar as a state machine over tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrammarState {
    plan: bool,
    phase: Phase,
    /// Effects the caller permits (bit `i` = effect `i`), e.g. no stereo-only effects on mono.
    permitted: u16,
    planned: u16,
    used: u16,
    calls: usize,
}

impl GrammarState {
    /// A fresh sequence (expects `<bos>`), in the plan or no-plan format, with every effect
    /// permitted.
    pub fn new(plan: bool) -> Self {
        Self::with_permitted(plan, (1 << N_EFFECTS) - 1)
    }

    /// As [`GrammarState::new`], permitting only the effects whose bit is set in `permitted`
    /// (an empty set permits every effect, so there is always a way to finish).
    pub fn with_permitted(plan: bool, permitted: u16) -> Self {
        let all = (1 << N_EFFECTS) - 1;
        let permitted = match permitted & all {
            0 => all,
            p => p,
        };
        GrammarState {
            plan,
            phase: Phase::Start,
            permitted,
            planned: 0,
            used: 0,
            calls: 0,
        }
    }

    /// True after `<eos>`.
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Effects planned so far (bit set).
    pub fn planned(&self) -> u16 {
        self.planned
    }

    /// What the next token is, as an embedding index: 0 plan, 1 calls, 2 + global parameter
    /// index, `N_SLOTS − 1` done (also before `<bos>`, which is never predicted).
    pub fn slot(&self) -> usize {
        match self.phase {
            Phase::Plan => 0,
            Phase::Calls => 1,
            Phase::Param { e, j } => 2 + param_offset(e) + j,
            Phase::Start | Phase::Done => N_SLOTS - 1,
        }
    }

    /// Whether `token` may come next.
    pub fn allows(&self, token: u32) -> bool {
        let effect = token
            .checked_sub(EFFECT0)
            .map(|i| i as usize)
            .filter(|&i| i < N_EFFECTS);
        match self.phase {
            Phase::Start => token == BOS,
            Phase::Plan => match effect {
                // Strictly increasing spec order: no planned effect at index ≥ i.
                Some(i) => self.plan && self.permitted & (1 << i) != 0 && (self.planned >> i) == 0,
                None => token == SEP && (!self.plan || self.planned != 0),
            },
            Phase::Calls => {
                let remaining = self.open_effects();
                match effect {
                    Some(i) => remaining & (1 << i) != 0,
                    None => {
                        token == EOS && self.calls > 0 && (!self.plan || self.used == self.planned)
                    }
                }
            }
            Phase::Param { e, j } => token
                .checked_sub(BIN0)
                .is_some_and(|b| (b as usize) < bins(&EFFECTS[e].params[j])),
            Phase::Done => false,
        }
    }

    /// Effects that may still be called.
    fn open_effects(&self) -> u16 {
        let pool = if self.plan {
            self.planned
        } else {
            self.permitted
        };
        pool & !self.used
    }

    /// Every token that may come next, ascending.
    pub fn allowed(&self) -> Vec<u32> {
        (0..VOCAB as u32).filter(|&t| self.allows(t)).collect()
    }

    /// Consumes `token`; an error (and no change) if the grammar does not allow it.
    pub fn push(&mut self, token: u32) -> Result<()> {
        if !self.allows(token) {
            return Err(Error::InvalidInput(format!(
                "token {token} is not allowed here (expected one of {:?})",
                self.allowed()
            )));
        }
        self.phase = match self.phase {
            Phase::Start => Phase::Plan,
            Phase::Plan if token == SEP => Phase::Calls,
            Phase::Plan => {
                self.planned |= 1 << (token - EFFECT0);
                Phase::Plan
            }
            Phase::Calls if token == EOS => Phase::Done,
            Phase::Calls => {
                let e = (token - EFFECT0) as usize;
                self.used |= 1 << e;
                self.calls += 1;
                Phase::Param { e, j: 0 }
            }
            Phase::Param { e, j } if j + 1 < EFFECTS[e].params.len() => {
                Phase::Param { e, j: j + 1 }
            }
            Phase::Param { .. } => Phase::Calls,
            Phase::Done => Phase::Done,
        };
        Ok(())
    }
}

/// The token sequence of `chain` (constant parameters only; effects distinct; at least one).
pub fn encode(chain: &Chain, plan: bool) -> Result<Vec<u32>> {
    if chain.stages.is_empty() {
        return Err(Error::InvalidInput(
            "the tool-caller represents chains of at least one effect".into(),
        ));
    }
    let index = |s: &Stage| {
        EFFECTS
            .iter()
            .position(|e| e.name == s.spec.name)
            .ok_or_else(|| Error::InvalidInput(format!("unknown effect `{}`", s.spec.name)))
    };
    let mut tokens = vec![BOS];
    if plan {
        let mut present: Vec<usize> = chain.stages.iter().map(index).collect::<Result<_>>()?;
        present.sort_unstable();
        tokens.extend(present.iter().map(|&i| EFFECT0 + i as u32));
    }
    tokens.push(SEP);
    for s in &chain.stages {
        tokens.push(EFFECT0 + index(s)? as u32);
        for (p, v) in s.spec.params.iter().zip(&s.values) {
            let ParamValue::Constant(v) = v else {
                return Err(Error::InvalidInput(format!(
                    "{}.{} is automated; the tool-caller encodes constant parameters only",
                    s.spec.name, p.name
                )));
            };
            tokens.push(BIN0 + bin_of(p, *v) as u32);
        }
    }
    tokens.push(EOS);
    // The grammar is the definition of a valid sequence: a repeated effect fails here.
    check(&tokens, plan)?;
    Ok(tokens)
}

fn check(tokens: &[u32], plan: bool) -> Result<GrammarState> {
    let mut state = GrammarState::new(plan);
    for (i, &t) in tokens.iter().enumerate() {
        if state.done() {
            if t == PAD {
                continue;
            }
            return Err(Error::InvalidInput(format!(
                "token {t} at position {i} follows <eos>"
            )));
        }
        state
            .push(t)
            .map_err(|e| Error::InvalidInput(format!("position {i}: {e}")))?;
    }
    if !state.done() {
        return Err(Error::InvalidInput(
            "the token sequence ends before <eos>".into(),
        ));
    }
    Ok(state)
}

/// The chain a token sequence stands for (trailing [`PAD`]s allowed); an error for any
/// sequence the grammar rejects.
pub fn decode(tokens: &[u32], plan: bool) -> Result<Chain> {
    check(tokens, plan)?;
    let start = tokens.iter().position(|&t| t == SEP).unwrap_or(0) + 1;
    let mut stages = Vec::new();
    let mut i = start;
    while i < tokens.len() && tokens[i] != EOS {
        let e = &EFFECTS[(tokens[i] - EFFECT0) as usize];
        let values: Vec<f64> = e
            .params
            .iter()
            .zip(&tokens[i + 1..])
            .map(|(p, &t)| value_of(p, (t - BIN0) as usize))
            .collect();
        stages.push(Stage::constant(e, &values));
        i += 1 + e.params.len();
    }
    Ok(Chain { stages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sampler::sample_chain;
    use genlab_core::train::SeededRng;
    use rand::Rng;

    #[test]
    fn constants_match_the_spec_table() {
        assert_eq!(N_EFFECTS, EFFECTS.len());
        assert_eq!(
            N_PARAMS,
            EFFECTS.iter().map(|e| e.params.len()).sum::<usize>()
        );
        let mut full = Chain::default();
        for e in EFFECTS {
            full.stages.push(Stage::constant(e, &e.defaults()));
        }
        assert_eq!(encode(&full, true).unwrap().len(), MAX_LEN);
    }

    #[test]
    fn bins_round_trip_and_small_grids_are_exact() {
        for p in EFFECTS.iter().flat_map(|e| e.params) {
            let g = p.intervals() + 1;
            for b in 0..bins(p) {
                assert_eq!(bin_of(p, value_of(p, b)), b, "{} bin {b}", p.name);
            }
            let width = (g as f64 / MAX_BINS as f64).ceil() as usize;
            for (k, v) in p.grid().into_iter().enumerate() {
                let back = value_of(p, bin_of(p, v));
                if g <= MAX_BINS {
                    assert_eq!(back, v, "{}", p.name);
                } else {
                    let kb = (p.normalise(back) * p.intervals() as f64).round() as usize;
                    assert!(kb.abs_diff(k) < width, "{} k {k} → {kb}", p.name);
                }
            }
        }
    }

    #[test]
    fn random_chains_round_trip_through_tokens() {
        let mut rng = SeededRng::new(11);
        for _ in 0..300 {
            let n = rng.rng().random_range(1..=9);
            let chain = sample_chain(&mut rng, n, true).unwrap();
            for plan in [false, true] {
                let tokens = encode(&chain, plan).unwrap();
                let back = decode(&tokens, plan).unwrap();
                // Exact for the order and names; values move to their bin's representative.
                assert_eq!(back.stages.len(), chain.stages.len());
                for (a, b) in chain.stages.iter().zip(&back.stages) {
                    assert_eq!(a.spec.name, b.spec.name);
                    for (p, (x, y)) in a.spec.params.iter().zip(a.values.iter().zip(&b.values)) {
                        assert_eq!(bin_of(p, x.at(0.0)), bin_of(p, y.at(0.0)));
                    }
                }
                // Decoding then encoding is the identity on token sequences.
                assert_eq!(encode(&back, plan).unwrap(), tokens);
                let mut padded = tokens.clone();
                padded.extend([PAD, PAD]);
                assert_eq!(decode(&padded, plan).unwrap(), back);
            }
        }
    }

    #[test]
    fn invalid_sequences_are_errors() {
        let gain = EFFECT0;
        let reverb = EFFECT0 + 5;
        // Missing <eos>, a repeated effect, a bin out of range, an unplanned call, a plan out
        // of order, junk after <eos>, an empty chain, tokens beyond the vocabulary.
        let bad: [(&[u32], bool); 9] = [
            (&[BOS, SEP, gain, BIN0], false),
            (&[BOS, SEP, gain, BIN0, gain, BIN0, EOS], false),
            (&[BOS, SEP, EFFECT0 + 1, BIN0 + 11, EOS], false),
            (&[BOS, gain, SEP, reverb, BIN0, BIN0, BIN0, BIN0, EOS], true),
            (&[BOS, reverb, gain, SEP, gain, BIN0, EOS], true),
            (&[BOS, SEP, gain, BIN0, EOS, gain], false),
            (&[BOS, SEP, EOS], false),
            (&[BOS, SEP, 999, EOS], false),
            (&[], true),
        ];
        for (tokens, plan) in bad {
            assert!(decode(tokens, plan).is_err(), "{tokens:?}");
        }
        // Planned but not called.
        assert!(decode(&[BOS, gain, reverb, SEP, gain, BIN0, EOS], true).is_err());
        assert!(decode(&[BOS, gain, SEP, gain, BIN0 + 3, EOS], true).is_ok());
    }

    #[test]
    fn random_walks_through_the_mask_always_decode() {
        let mut rng = SeededRng::new(5);
        for walk in 0..2000 {
            let plan = walk % 2 == 0;
            let permitted = if walk % 3 == 0 { 0b0_0111_1111 } else { 0x1ff };
            let mut state = GrammarState::with_permitted(plan, permitted);
            let mut tokens = Vec::new();
            while !state.done() {
                let allowed = state.allowed();
                assert!(!allowed.is_empty(), "dead end after {tokens:?}");
                let t = allowed[rng.rng().random_range(0..allowed.len())];
                state.push(t).unwrap();
                tokens.push(t);
                assert!(tokens.len() <= MAX_LEN);
            }
            let chain = decode(&tokens, plan).unwrap();
            assert!(!chain.stages.is_empty());
            if permitted != 0x1ff {
                assert!(!chain.needs_stereo());
            }
            // A disallowed token is refused and leaves the state unchanged.
            let before = state;
            assert!(state.push(BOS).is_err());
            assert_eq!(state, before);
        }
    }
}
