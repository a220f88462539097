//! Grammar-constrained greedy decoding and beam search, and the rationale they leave behind.
//!
//! At every step the decoder's next-token distribution is restricted to the tokens the grammar
//! allows ([`GrammarState::allowed`]) and renormalised,
//!
//! ```text
//! p̃(y | y_≤t) = p(y | y_≤t) · 1[y allowed] / Σ_{y' allowed} p(y' | y_≤t)
//! ```
//!
//! and the most probable allowed token is taken. Every sequence therefore satisfies the grammar
//! and decodes to an executable chain: validity is 100 % by construction, not by luck. A batch
//! of clips is decoded together; the whole prefix is re-run each step (sequences are at most
//! [`MAX_LEN`] tokens, so a key/value cache would save little).
//!
//! LLM2Fx-Tools samples its text (temperature 0.7, top-p 0.95 in the reference trainer's
//! generation step) and parses it afterwards; greedy decoding makes estimates deterministic.
//!
//! [`beam_search`] keeps the `width` most probable grammar-valid prefixes per clip instead of
//! one, scored by the sum of log p̃; its complete sequences are alternative chains, which the
//! hybrid estimator ([`crate::estimate::learned`]) uses as the search's starting points.

use burn::tensor::Tensor;
use genlab_core::Result;
use genlab_core::tensor::to_vec;

use super::net::{Inputs, ToolCallerNet, int_tensor};
use super::tokens::{
    BIN0, EFFECT0, EOS, GrammarState, MAX_LEN, N_EFFECTS, PAD, SEP, VOCAB, decode,
};
use crate::engine::chain::Chain;
use crate::engine::spec::EFFECTS;

/// One decoding decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The token chosen.
    pub token: u32,
    /// Its probability under the grammar-restricted distribution.
    pub p: f32,
    /// The most probable other allowed token and its probability (`None` if it was forced).
    pub alternative: Option<(u32, f32)>,
}

/// A decoded estimate with its decisions.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The token sequence, `<bos>` … `<eos>`.
    pub tokens: Vec<u32>,
    /// One entry per token after `<bos>`.
    pub steps: Vec<Step>,
    /// The chain the tokens stand for.
    pub chain: Chain,
}

/// Greedy grammar-constrained decoding of a batch: encoder `inputs` of `n` clips, one
/// permitted effect set per clip (bit `i` = effect `i`).
pub fn greedy(
    net: &ToolCallerNet,
    plan: bool,
    inputs: Inputs,
    permitted: &[u16],
) -> Result<Vec<Decoded>> {
    let n = permitted.len();
    let device = inputs.frames.device();
    let memory = net.encode(inputs);
    let mut states: Vec<GrammarState> = permitted
        .iter()
        .map(|&p| GrammarState::with_permitted(plan, p))
        .collect();
    let mut tokens = vec![Vec::with_capacity(MAX_LEN); n];
    let mut slots = vec![Vec::with_capacity(MAX_LEN); n];
    let mut steps = vec![Vec::new(); n];
    for (s, (t, sl)) in states
        .iter_mut()
        .zip(tokens.iter_mut().zip(slots.iter_mut()))
    {
        s.push(super::tokens::BOS)?;
        t.push(super::tokens::BOS);
        sl.push(s.slot() as u32);
    }
    for len in 1..MAX_LEN {
        if states.iter().all(GrammarState::done) {
            break;
        }
        let flat = |rows: &[Vec<u32>], fill: u32| -> Vec<u32> {
            rows.iter()
                .flat_map(|r| r.iter().copied().chain(std::iter::repeat(fill)).take(len))
                .collect()
        };
        let logits = net.logits(
            memory.clone(),
            int_tensor(&flat(&tokens, PAD), n, len, &device),
            int_tensor(&flat(&slots, 0), n, len, &device),
        );
        let last = to_vec(logits.narrow(1, len - 1, 1));
        for i in 0..n {
            if states[i].done() {
                continue;
            }
            let ranked = restricted(&last[i * VOCAB..(i + 1) * VOCAB], &states[i]);
            let (token, p) = ranked[0];
            states[i].push(token)?;
            tokens[i].push(token);
            slots[i].push(states[i].slot() as u32);
            steps[i].push(Step {
                token,
                p,
                alternative: ranked.get(1).copied(),
            });
        }
    }
    tokens
        .into_iter()
        .zip(steps)
        .map(|(tokens, steps)| {
            let chain = decode(&tokens, plan)?;
            Ok(Decoded {
                tokens,
                steps,
                chain,
            })
        })
        .collect()
}

/// One hypothesis of the beam search: a decoded sequence and its log-probability
/// `log p̃(y) = Σ_t log p̃(y_{t+1} | y_≤t)` under the grammar-restricted distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Beam {
    /// The decoded sequence (its steps carry each choice's probability).
    pub decoded: Decoded,
    /// Its log-probability.
    pub log_p: f64,
}

/// A partial hypothesis.
#[derive(Clone)]
struct Hypothesis {
    state: GrammarState,
    tokens: Vec<u32>,
    slots: Vec<u32>,
    steps: Vec<Step>,
    log_p: f64,
}

/// Grammar-constrained beam search over a batch: for each clip, the `width` most probable
/// complete sequences found, most probable first.
///
/// Each step extends every live hypothesis by each of its `width` most probable allowed
/// tokens (a finished hypothesis is carried over unchanged), scores the extension by
/// `log p̃(prefix) + log p̃(token | prefix)`, and keeps the `width` best per clip (ties broken
/// by the token sequence, so the result is deterministic). Every hypothesis follows the
/// grammar, so every beam is an executable chain; width 1 is [`greedy`]. Sequences are not
/// length-normalised: the score is the sequence's probability, so a longer chain must earn
/// its extra calls.
pub fn beam_search(
    net: &ToolCallerNet,
    plan: bool,
    inputs: Inputs,
    permitted: &[u16],
    width: usize,
) -> Result<Vec<Vec<Beam>>> {
    let width = width.max(1);
    let n = permitted.len();
    let device = inputs.frames.device();
    let memory = net.encode(inputs);
    let mut beams: Vec<Vec<Hypothesis>> = Vec::with_capacity(n);
    for &p in permitted {
        let mut state = GrammarState::with_permitted(plan, p);
        state.push(super::tokens::BOS)?;
        beams.push(vec![Hypothesis {
            slots: vec![state.slot() as u32],
            state,
            tokens: vec![super::tokens::BOS],
            steps: Vec::new(),
            log_p: 0.0,
        }]);
    }
    for len in 1..MAX_LEN {
        // Live hypotheses, as (clip, index in its beam).
        let live: Vec<(usize, usize)> = beams
            .iter()
            .enumerate()
            .flat_map(|(c, b)| {
                b.iter()
                    .enumerate()
                    .filter(|(_, h)| !h.state.done())
                    .map(move |(k, _)| (c, k))
            })
            .collect();
        if live.is_empty() {
            break;
        }
        let m = live.len();
        let flat = |row: fn(&Hypothesis) -> &Vec<u32>, fill: u32| -> Vec<u32> {
            live.iter()
                .flat_map(|&(c, k)| {
                    row(&beams[c][k])
                        .iter()
                        .copied()
                        .chain(std::iter::repeat(fill))
                        .take(len)
                })
                .collect()
        };
        let index: Vec<i64> = live.iter().map(|&(c, _)| c as i64).collect();
        let rows = memory.clone().select(
            0,
            Tensor::<1, burn::tensor::Int>::from_data(
                burn::tensor::TensorData::new(index, [m]),
                &device,
            ),
        );
        let logits = net.logits(
            rows,
            int_tensor(&flat(|h| &h.tokens, PAD), m, len, &device),
            int_tensor(&flat(|h| &h.slots, 0), m, len, &device),
        );
        let last = to_vec(logits.narrow(1, len - 1, 1));
        let mut next: Vec<Vec<Hypothesis>> = beams
            .iter()
            .map(|b| b.iter().filter(|h| h.state.done()).cloned().collect())
            .collect();
        for (r, &(c, k)) in live.iter().enumerate() {
            let h = &beams[c][k];
            let ranked = restricted(&last[r * VOCAB..(r + 1) * VOCAB], &h.state);
            for (j, &(token, p)) in ranked.iter().take(width).enumerate() {
                let mut e = h.clone();
                e.state.push(token)?;
                e.tokens.push(token);
                e.slots.push(e.state.slot() as u32);
                let alternative = if j == 0 {
                    ranked.get(1).copied()
                } else {
                    Some(ranked[0])
                };
                e.steps.push(Step {
                    token,
                    p,
                    alternative,
                });
                e.log_p += (p as f64).max(1e-30).ln();
                next[c].push(e);
            }
        }
        for b in &mut next {
            b.sort_by(|x, y| y.log_p.total_cmp(&x.log_p).then(x.tokens.cmp(&y.tokens)));
            b.truncate(width);
        }
        beams = next;
    }
    beams
        .into_iter()
        .map(|b| {
            b.into_iter()
                .map(|h| {
                    let chain = decode(&h.tokens, plan)?;
                    Ok(Beam {
                        log_p: h.log_p,
                        decoded: Decoded {
                            tokens: h.tokens,
                            steps: h.steps,
                            chain,
                        },
                    })
                })
                .collect()
        })
        .collect()
}

/// The allowed tokens after `state` with their grammar-restricted probabilities, most
/// probable first (ties by token).
fn restricted(row: &[f32], state: &GrammarState) -> Vec<(u32, f32)> {
    let allowed = state.allowed();
    let top = allowed
        .iter()
        .map(|&t| row[t as usize])
        .fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<(u32, f32)> = allowed
        .iter()
        .map(|&t| (t, (row[t as usize] - top).exp()))
        .collect();
    let total: f32 = weights.iter().map(|w| w.1).sum();
    let mut ranked: Vec<(u32, f32)> = weights.iter().map(|&(t, w)| (t, w / total)).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

fn token_name(t: u32) -> String {
    match t {
        SEP => "<end of plan>".into(),
        EOS => "<end of chain>".into(),
        t if (EFFECT0..EFFECT0 + N_EFFECTS as u32).contains(&t) => {
            EFFECTS[(t - EFFECT0) as usize].name.into()
        }
        t if t >= BIN0 => format!("bin {}", t - BIN0),
        t => format!("token {t}"),
    }
}

fn choice(step: &Step) -> String {
    let mut s = format!("{} (p = {:.2}", token_name(step.token), step.p);
    match step.alternative {
        Some((alt, q)) => s.push_str(&format!("; next best {} p = {q:.2})", token_name(alt))),
        None => s.push_str("; forced)"),
    }
    s
}

impl Decoded {
    /// A plain-language account of the decisions: the plan (effects judged present, with the
    /// model's probability of each choice), then per call the effect chosen at that position
    /// and the top alternative, and the mean confidence of the parameter bins.
    pub fn rationale(&self) -> String {
        let mut parts = Vec::new();
        let sep = self.tokens.iter().position(|&t| t == SEP).unwrap_or(1);
        // steps[k] decided tokens[k + 1].
        let plan_steps = &self.steps[..sep];
        if sep > 1 {
            let chosen: Vec<String> = plan_steps[..sep - 1].iter().map(choice).collect();
            parts.push(format!(
                "Plan (effects judged present): {}; then {}.",
                chosen.join(", "),
                choice(&plan_steps[sep - 1])
            ));
        }
        let mut calls = Vec::new();
        let mut bins = Vec::new();
        for step in &self.steps[sep..] {
            if step.token >= BIN0 {
                bins.push(step.p);
            } else if step.token == EOS {
                calls.push(format!("stop: {}", choice(step)));
            } else {
                calls.push(format!("{}. {}", calls.len() + 1, choice(step)));
            }
        }
        parts.push(format!("Calls in order: {}.", calls.join("; ")));
        if !bins.is_empty() {
            let mean = bins.iter().sum::<f32>() / bins.len() as f32;
            parts.push(format!(
                "Parameter bins: mean probability {mean:.2} over {} bins (16 bins max per parameter).",
                bins.len()
            ));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::toolcaller::net::NetConfig;
    use burn::tensor::Device;
    use genlab_core::train::SeededRng;

    #[test]
    fn an_untrained_net_still_decodes_valid_chains_with_a_rationale() {
        let device = Device::flex();
        device.seed(4);
        let config = NetConfig {
            d_model: 32,
            ..NetConfig::default()
        };
        let net = config.init(&device);
        let frames =
            SeededRng::new(3).normal([5, config.features.frames, config.frame_width()], &device);
        for plan in [false, true] {
            let mono = 0b0_0111_1111;
            let out = greedy(
                &net,
                plan,
                Inputs::frames(frames.clone()),
                &[0x1ff, mono, 0x1ff, 1, 0x1ff],
            )
            .unwrap();
            assert_eq!(out.len(), 5);
            for d in &out {
                assert!(!d.chain.stages.is_empty());
                assert_eq!(d.steps.len() + 1, d.tokens.len());
                assert!(d.steps.iter().all(|s| s.p > 0.0 && s.p <= 1.0 + 1e-6));
                let text = d.rationale();
                assert!(text.contains("Calls in order: 1. "), "{text}");
                assert_eq!(text.contains("Plan"), plan, "{text}");
            }
            assert!(!out[1].chain.needs_stereo());
            // Only gain permitted: the chain is one gain call.
            assert_eq!(out[3].chain.stages.len(), 1);
            assert_eq!(out[3].chain.stages[0].spec.name, "gain");
        }
    }

    /// `log p̃` of a complete sequence by teacher forcing (the oracle of the beam scores).
    fn sequence_log_p(
        net: &ToolCallerNet,
        frames: Tensor<3>,
        permitted: u16,
        tokens: &[u32],
    ) -> f64 {
        let device = frames.device();
        let memory = net.encode(Inputs::frames(frames));
        let mut state = GrammarState::with_permitted(false, permitted);
        let mut slots = Vec::new();
        for &t in tokens {
            state.push(t).unwrap();
            slots.push(state.slot() as u32);
        }
        let len = tokens.len() - 1;
        let logits = to_vec(net.logits(
            memory,
            int_tensor(&tokens[..len], 1, len, &device),
            int_tensor(&slots[..len], 1, len, &device),
        ));
        let mut state = GrammarState::with_permitted(false, permitted);
        let mut total = 0.0;
        for t in 0..len {
            state.push(tokens[t]).unwrap();
            let ranked = restricted(&logits[t * VOCAB..(t + 1) * VOCAB], &state);
            let p = ranked.iter().find(|r| r.0 == tokens[t + 1]).unwrap().1;
            total += (p as f64).ln();
        }
        total
    }

    #[test]
    fn beam_search_is_greedy_at_width_one_and_exact_when_wide() {
        let device = Device::flex();
        device.seed(7);
        let config = NetConfig {
            d_model: 32,
            ..NetConfig::default()
        };
        let net = config.init(&device);
        let frames =
            SeededRng::new(5).normal([2, config.features.frames, config.frame_width()], &device);
        // Width 1 is greedy decoding.
        for plan in [false, true] {
            let inputs = Inputs::frames(frames.clone());
            let g = greedy(&net, plan, inputs.clone(), &[0x1ff, 0x1ff]).unwrap();
            let b = beam_search(&net, plan, inputs, &[0x1ff, 0x1ff], 1).unwrap();
            for (g, b) in g.iter().zip(&b) {
                assert_eq!(b.len(), 1);
                assert_eq!(&b[0].decoded, g);
            }
        }
        // Gain and distortion only, no plan: 16 + 11 + 2·16·11 = 379 sequences in all. A beam
        // that wide keeps every prefix, so it is exhaustive: its order is the true order of
        // the sequence probabilities, and its scores are the teacher-forced ones.
        let permitted = 0b11;
        let one = frames.clone().narrow(0, 0, 1);
        let all = beam_search(&net, false, Inputs::frames(one.clone()), &[permitted], 400).unwrap();
        assert_eq!(all[0].len(), 379);
        let total: f64 = all[0].iter().map(|b| b.log_p.exp()).sum();
        assert!((total - 1.0).abs() < 1e-4, "probabilities sum to {total}");
        for b in all[0].iter().step_by(37) {
            let oracle = sequence_log_p(&net, one.clone(), permitted, &b.decoded.tokens);
            assert!((b.log_p - oracle).abs() < 1e-4, "{} vs {oracle}", b.log_p);
        }
        assert!(all[0].windows(2).all(|w| w[0].log_p >= w[1].log_p));
        // A narrow beam's hypotheses are distinct valid sequences, best first, and its best is
        // the most probable sequence here.
        let narrow = beam_search(&net, false, Inputs::frames(one), &[permitted], 4).unwrap();
        assert_eq!(narrow[0].len(), 4);
        assert!(narrow[0].windows(2).all(|w| w[0].log_p >= w[1].log_p));
        assert!(
            narrow[0]
                .windows(2)
                .all(|w| w[0].decoded.tokens != w[1].decoded.tokens)
        );
        assert!(narrow[0][0].log_p <= all[0][0].log_p + 1e-9);
        assert!(narrow[0].iter().all(|b| b.decoded.chain.stages.len() <= 2));
    }
}
