//! Text generation: run the prompt once, then one token at a time from the key/value cache
//! ([`crate::llama::KvCache`]).
//!
//! ```text
//! z = logits of the last position
//! greedy:  x_{t+1} = argmax_i z_i                          (the lowest index on a tie)
//! top-k:   S = the k largest z_i (ties: lower index first)
//!          p_i = exp((z_i − max z) / τ) / Σ_{j∈S} exp((z_j − max z) / τ),   i ∈ S
//!          x_{t+1} = the first i of S (in descending z) whose cumulative p exceeds u ~ U[0,1)
//! ```
//!
//! The draw u comes from a [`SeededRng`] seeded once per generation, so a seed fixes the text;
//! the logits do not depend on the thread count (see [`crate::llama`]), so neither does it.

use genlab_core::train::{Observer, SeededRng};
use genlab_core::{Error, Result};

use crate::llama::{Llama, Logits};

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// The most likely token.
    Greedy,
    /// Drawn from the `k` most likely at temperature `temperature`, with `seed`.
    TopK {
        /// Candidates kept (≥ 1).
        k: usize,
        /// Softmax temperature τ (> 0).
        temperature: f32,
        /// Seed of the draws.
        seed: u64,
    },
}

/// What [`Llama::generate`] does.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// New tokens at most.
    pub max_new: usize,
    /// How each token is chosen.
    pub sampling: Sampling,
    /// Tokens that end the generation (kept as its last token).
    pub stop: Vec<u32>,
}

/// The index of the largest logit (the lowest on a tie); an error on NaN.
pub fn argmax(z: &[f32]) -> Result<u32> {
    let mut best = 0;
    for (i, &v) in z.iter().enumerate() {
        if v.is_nan() {
            return Err(Error::InvalidInput(format!("logit {i} is NaN")));
        }
        if v > z[best] {
            best = i;
        }
    }
    Ok(best as u32)
}

/// A draw from the `k` largest logits at temperature `temperature` with the uniform `u ∈ [0, 1)`.
pub fn top_k(z: &[f32], k: usize, temperature: f32, u: f64) -> Result<u32> {
    if k == 0 || temperature.is_nan() || temperature <= 0.0 {
        return Err(Error::InvalidInput(format!(
            "top-k sampling needs k ≥ 1 and a positive temperature (k {k}, τ {temperature})"
        )));
    }
    if let Some(i) = z.iter().position(|v| v.is_nan()) {
        return Err(Error::InvalidInput(format!("logit {i} is NaN")));
    }
    let mut order: Vec<u32> = (0..z.len() as u32).collect();
    let by_logit = |a: &u32, b: &u32| z[*b as usize].total_cmp(&z[*a as usize]).then(a.cmp(b));
    let k = k.min(z.len());
    if k < z.len() {
        order.select_nth_unstable_by(k - 1, by_logit);
    }
    order.truncate(k);
    order.sort_unstable_by(by_logit);
    let max = z[order[0] as usize] as f64;
    let w: Vec<f64> = order
        .iter()
        .map(|&i| ((z[i as usize] as f64 - max) / temperature as f64).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut acc = 0.0;
    for (&i, wi) in order.iter().zip(&w) {
        acc += wi / total;
        if u < acc {
            return Ok(i);
        }
    }
    Ok(*order.last().unwrap_or(&0))
}

impl Llama {
    /// Continues `prompt` by up to `opts.max_new` tokens (returned without the prompt),
    /// stopping after a token in `opts.stop` or when `observer` asks to. Reports each token
    /// through `observer.step` (`token` = its id).
    pub fn generate(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        observer: &mut dyn Observer,
    ) -> Result<Vec<u32>> {
        if prompt.is_empty() {
            return Err(Error::InvalidInput("the prompt is empty".into()));
        }
        let mut rng = match opts.sampling {
            Sampling::TopK { seed, .. } => Some(SeededRng::new(seed)),
            Sampling::Greedy => None,
        };
        let mut cache = self.cache(prompt.len() + opts.max_new);
        observer.start("generate", opts.max_new as u64);
        let mut out = Vec::with_capacity(opts.max_new);
        let mut z = self.extend(&mut cache, prompt, Logits::Last)?;
        for step in 0..opts.max_new {
            if observer.should_stop() {
                break;
            }
            let next = match (opts.sampling, rng.as_mut()) {
                (Sampling::TopK { k, temperature, .. }, Some(rng)) => {
                    top_k(&z, k, temperature, rng.uniform_vec(1)[0] as f64)?
                }
                _ => argmax(&z)?,
            };
            out.push(next);
            observer.step(step as u64 + 1, &[("token", next as f64)]);
            if opts.stop.contains(&next) || step + 1 == opts.max_new {
                break;
            }
            z = self.extend(&mut cache, &[next], Logits::Last)?;
        }
        observer.finish();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_maximum_and_refuses_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]).unwrap(), 1);
        assert!(argmax(&[1.0, f32::NAN]).is_err());
    }

    #[test]
    fn top_k_draws_by_cumulative_probability_among_the_k_largest() {
        // Logits ln 1, ln 3, ln 6 (and a loser): at τ = 1 the top 3 have p = 0.6, 0.3, 0.1.
        let z = [1f32.ln(), 6f32.ln(), -9.0, 3f32.ln()];
        assert_eq!(top_k(&z, 3, 1.0, 0.0).unwrap(), 1);
        assert_eq!(top_k(&z, 3, 1.0, 0.59).unwrap(), 1);
        assert_eq!(top_k(&z, 3, 1.0, 0.61).unwrap(), 3);
        assert_eq!(top_k(&z, 3, 1.0, 0.91).unwrap(), 0);
        assert_eq!(top_k(&z, 3, 1.0, 0.999_999).unwrap(), 0);
        // k = 1 is greedy whatever u; a low temperature is nearly greedy.
        assert_eq!(top_k(&z, 1, 1.0, 0.99).unwrap(), 1);
        assert_eq!(top_k(&z, 4, 0.01, 0.99).unwrap(), 1);
        assert!(top_k(&z, 0, 1.0, 0.5).is_err());
        assert!(top_k(&z, 2, 0.0, 0.5).is_err());
    }
}
