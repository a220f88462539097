//! First-letter feature absorption on a real language model, after SAEBench's absorption eval
//! (Chanin et al. 2024, "A is for Absorption"), at laptop scale.
//!
//! ```text
//! tokens      vocabulary tokens that are a space + ≥ 3 ASCII letters (" snake"), label L = first
//!             letter; a seeded sample, split train / test
//! x_t         the residual stream r_ℓ at the token, in the context [BOS, token]
//! probe_L     p̂_L = normalise(μ_L − μ_¬L) on the train split
//! main latent ℓ_L = argmax_j F1 of (z_j > 0) as a classifier of L on the train split
//! absorbed    a test token of L on which ℓ_L is silent while another firing latent j has
//!             cos(W_dec,j, p̂_L) ≥ τ  (τ = 0.2)
//! rate_L      absorbed / test tokens of L,   reported: the mean over letters with ≥ 5 train
//!             and ≥ 3 test tokens
//! ```
//!
//! Weaker than SAEBench at the paper's scale, and named so in the report: SAEBench trains a
//! logistic-regression probe per letter on an in-context spelling prompt, on Gemma-2-2B, and
//! also asks that the absorbing latent carry a share of the probe projection; here the probe is
//! the class-mean difference, the context is the bare token, τ is a fixed cosine, and every
//! test token of the letter counts (SAEBench keeps only those its probe classifies correctly;
//! a nearest-centroid filter here kept too few tokens at quick sizes to score any letter).

use genlab_core::train::Observer;
use genlab_core::{Error, Result};
use genlab_lm::{Llama, Tokenizer};

use crate::sae::Sae;

/// Cosine with the probe above which a firing latent counts as absorbing.
pub const TAU: f32 = 0.2;

/// Labelled token activations.
#[derive(Debug, Clone)]
pub struct LetterSet {
    /// Row width.
    pub d: usize,
    /// `[n, d]` activations.
    pub x: Vec<f32>,
    /// First letter of each row, 0..26.
    pub letter: Vec<u8>,
    /// The first `train` rows are the train split.
    pub train: usize,
}

/// Word tokens (a space and ≥ 3 ASCII letters) with their first letter, a seeded sample of `n`.
pub fn letter_tokens(tok: &Tokenizer, n: usize, seed: u64) -> Vec<(u32, u8)> {
    let mut all: Vec<(u32, u8)> = (0..tok.vocab_size() as u32)
        .filter_map(|id| {
            let t = tok.decode(&[id]);
            let w = t.strip_prefix(' ')?;
            (w.len() >= 3 && w.bytes().all(|b| b.is_ascii_alphabetic()))
                .then(|| (id, w.as_bytes()[0].to_ascii_lowercase() - b'a'))
        })
        .collect();
    let order = genlab_core::train::SeededRng::new(seed).permutation(all.len());
    let mut picked: Vec<(u32, u8)> = order.into_iter().take(n).map(|i| all[i]).collect();
    all.clear();
    picked.shrink_to_fit();
    picked
}

/// The activations of `n` word tokens at `layer`, multiplied by `scale`; 70% train.
pub fn build(
    model: &Llama,
    tok: &Tokenizer,
    layer: usize,
    n: usize,
    scale: f32,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<LetterSet> {
    let bos = tok
        .bos
        .or(tok.eos)
        .ok_or_else(|| Error::InvalidInput("the tokenizer has no BOS token".into()))?;
    let words = letter_tokens(tok, n, seed);
    if words.len() < 52 {
        return Err(Error::InvalidInput(format!(
            "only {} word tokens in the vocabulary",
            words.len()
        )));
    }
    let d = model.config.d;
    let mut x = Vec::with_capacity(words.len() * d);
    observer.message(&format!(
        "real LM: activations of {} word tokens",
        words.len()
    ));
    for chunk in words.chunks(256) {
        let flat: Vec<u32> = chunk.iter().flat_map(|&(id, _)| [bos, id]).collect();
        let r = model.residual(&flat, chunk.len(), layer)?;
        for row in r.chunks_exact(2 * d) {
            x.extend(row[d..].iter().map(|v| v * scale));
        }
    }
    Ok(LetterSet {
        d,
        x,
        letter: words.iter().map(|w| w.1).collect(),
        train: words.len() * 7 / 10,
    })
}

/// Per-letter train counts and the unit probes p̂_L, `[26, d]`.
fn centroids(set: &LetterSet) -> (Vec<usize>, Vec<f32>) {
    let d = set.d;
    let mut sum = vec![0.0f64; 26 * d];
    let mut all = vec![0.0f64; d];
    let mut count = vec![0usize; 26];
    for i in 0..set.train {
        let l = set.letter[i] as usize;
        count[l] += 1;
        for t in 0..d {
            let v = set.x[i * d + t] as f64;
            sum[l * d + t] += v;
            all[t] += v;
        }
    }
    let mu: Vec<f32> = (0..26 * d)
        .map(|i| (sum[i] / count[i / d].max(1) as f64) as f32)
        .collect();
    // p_L = μ_L − μ_¬L, normalised.
    let mut probes = vec![0.0f32; 26 * d];
    for l in 0..26 {
        let rest = (set.train - count[l]).max(1) as f64;
        let p = &mut probes[l * d..(l + 1) * d];
        for t in 0..d {
            p[t] = (mu[l * d + t] as f64 - (all[t] - sum[l * d + t]) / rest) as f32;
        }
        let n = p
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        p.iter_mut().for_each(|v| *v /= n);
    }
    (count, probes)
}

/// The mean first-letter absorption rate of `sae` on `set` (see the module doc), and the
/// number of letters it averages over.
pub fn absorption(sae: &Sae, set: &LetterSet) -> (f64, usize) {
    let (d, m) = (set.d, sae.m);
    let n = set.letter.len();
    let codes = sae.encode(&set.x);
    let (count, probes) = centroids(set);
    // F1 of each latent for each letter on the train split.
    let mut fired = vec![0usize; m];
    let mut tp = vec![0usize; 26 * m];
    for i in 0..set.train {
        for (j, _) in codes.row(i) {
            fired[j] += 1;
            tp[set.letter[i] as usize * m + j] += 1;
        }
    }
    let unit_dec: Vec<f32> = sae
        .w_dec
        .chunks_exact(d)
        .flat_map(|w| {
            let n = w
                .iter()
                .map(|v| v * v)
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            w.iter().map(move |v| v / n)
        })
        .collect();
    let mut rates = Vec::new();
    for l in 0..26 {
        if count[l] < 5 {
            continue;
        }
        let f1 = |j: usize| 2.0 * tp[l * m + j] as f64 / (fired[j] + count[l]) as f64;
        let main = (0..m)
            .max_by(|&a, &b| f1(a).total_cmp(&f1(b)).then(b.cmp(&a)))
            .unwrap_or(0);
        let probe = &probes[l * d..(l + 1) * d];
        let aligned = |j: usize| {
            unit_dec[j * d..(j + 1) * d]
                .iter()
                .zip(probe)
                .map(|(a, b)| a * b)
                .sum::<f32>()
                >= TAU
        };
        let (mut known, mut absorbed) = (0usize, 0usize);
        for i in set.train..n {
            if set.letter[i] as usize != l {
                continue;
            }
            known += 1;
            let mut main_fires = false;
            let mut other = false;
            for (j, _) in codes.row(i) {
                if j == main {
                    main_fires = true;
                } else if aligned(j) {
                    other = true;
                }
            }
            absorbed += usize::from(!main_fires && other);
        }
        if known >= 3 {
            rates.push(absorbed as f64 / known as f64);
        }
    }
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    (if rates.is_empty() { f64::NAN } else { mean }, rates.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sae::Activation;

    /// Two letters in d = 3: letter 0 along e0, letter 1 along e1 (+ noise on e2).
    fn set() -> LetterSet {
        let mut x = Vec::new();
        let mut letter = Vec::new();
        for i in 0..40 {
            let l = (i % 2) as u8;
            let mut r = [0.0f32, 0.0, 0.1 * (i % 5) as f32];
            r[l as usize] = 1.0;
            x.extend(r);
            letter.push(l);
        }
        LetterSet {
            d: 3,
            x,
            letter,
            train: 20,
        }
    }

    fn sae(rows: &[[f32; 3]]) -> Sae {
        let w: Vec<f32> = rows.iter().flatten().copied().collect();
        Sae {
            d: 3,
            m: rows.len(),
            w_enc: w.clone(),
            b_enc: vec![-0.5; rows.len()],
            w_dec: w,
            b_dec: vec![0.0; 3],
            activation: Activation::Relu,
        }
    }

    #[test]
    fn a_clean_letter_latent_absorbs_nothing() {
        let (rate, letters) = absorption(&sae(&[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), &set());
        assert_eq!((rate, letters), (0.0, 2));
    }

    #[test]
    fn a_split_latent_that_takes_the_test_tokens_is_absorption() {
        // Latent 0 fires on letter 0 only when e2 is small (train-heavy); latent 2, aligned
        // with letter 0's probe, fires when e2 is large. Every letter-0 token fires one of them.
        let s = set();
        let mut sae = sae(&[[1.0, 0.0, -2.0], [0.0, 1.0, 0.0], [0.8, 0.0, 0.6]]);
        sae.b_enc = vec![-0.2, -0.5, -1.0];
        let (rate, _) = absorption(&sae, &s);
        // Letter 0: 2 of its 10 test tokens (e2 = 0.4) go to latent 2; letter 1: none.
        assert!((rate - 0.1).abs() < 1e-12, "{rate}");
    }
}
