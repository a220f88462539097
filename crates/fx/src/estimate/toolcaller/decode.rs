//! Grammar-constrained greedy decoding and the rationale it leaves behind.
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

use burn::tensor::Tensor;
use genlab_core::Result;
use genlab_core::tensor::to_vec;

use super::net::{ToolCallerNet, int_tensor};
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

/// Greedy grammar-constrained decoding of a batch: `frames` `[n, F, width]`, one permitted
/// effect set per clip (bit `i` = effect `i`).
pub fn greedy(
    net: &ToolCallerNet,
    plan: bool,
    frames: Tensor<3>,
    permitted: &[u16],
) -> Result<Vec<Decoded>> {
    let n = permitted.len();
    let device = frames.device();
    let memory = net.encode(frames);
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
            let row = &last[i * VOCAB..(i + 1) * VOCAB];
            let allowed = states[i].allowed();
            let top = allowed
                .iter()
                .map(|&t| row[t as usize])
                .fold(f32::NEG_INFINITY, f32::max);
            let weights: Vec<(u32, f32)> = allowed
                .iter()
                .map(|&t| (t, (row[t as usize] - top).exp()))
                .collect();
            let total: f32 = weights.iter().map(|w| w.1).sum();
            let mut ranked: Vec<(u32, f32)> =
                weights.iter().map(|&(t, w)| (t, w / total)).collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
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
            let out = greedy(&net, plan, frames.clone(), &[0x1ff, mono, 0x1ff, 1, 0x1ff]).unwrap();
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
}
