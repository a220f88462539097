//! Incremental decoding with a key/value cache.
//!
//! ```text
//! cache after t positions:  K_ℓ = [k_ℓ(0) … k_ℓ(t−1)],  V_ℓ = [v_ℓ(0) … v_ℓ(t−1)]   per block ℓ
//!                           (k after RoPE at its own position, so it never changes)
//! extend by x_t … x_{t+n−1}: each block computes q, k, v of the n new rows only, appends k, v,
//!                           and new row i attends to cached positions 0 ..= t + i
//! ```
//!
//! Causality makes this exact: position s's keys and values depend only on tokens 0..=s, so
//! running a prompt once and then one token at a time gives the logits of the full-sequence
//! pass at every position (up to the f32 sum order; `tests.rs` checks both models). A prompt
//! (many rows) runs its linear maps as device matmuls like [`Llama::forward`]; up to
//! [`FEW_ROWS`] rows read the file's storage row by row ([`super::matvec`]), which is what one
//! decoded token costs: every weight read once.

use genlab_core::{Error, Result};

use super::Llama;
use super::attention::{Heads, attend};
use super::kernels::{rms_norm, rope_from};

/// At most this many new rows run their linear maps row by row from the file's storage.
pub const FEW_ROWS: usize = 4;

/// Keys and values of the positions one sequence has seen, per block.
#[derive(Debug, Clone)]
pub struct KvCache {
    /// Per block, `[len, K·d_h]` keys after RoPE.
    k: Vec<Vec<f32>>,
    /// Per block, `[len, K·d_h]` values.
    v: Vec<Vec<f32>>,
    len: usize,
    capacity: usize,
    width: usize,
}

impl KvCache {
    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no position is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most positions it can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every position from `len` on (no-op when it holds fewer).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        for x in self.k.iter_mut().chain(self.v.iter_mut()) {
            x.truncate(self.len * self.width);
        }
    }

    /// Forgets every position.
    pub fn clear(&mut self) {
        self.truncate(0);
    }
}

/// Which logits [`Llama::extend`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// None (an empty vector).
    None,
    /// The last new position's (`[V]`): what the next token is drawn from.
    Last,
    /// Every new position's (`[n, V]`).
    All,
}

impl Llama {
    /// An empty cache for up to `capacity` positions.
    pub fn cache(&self, capacity: usize) -> KvCache {
        let c = &self.config;
        let width = c.n_kv_head * c.head_dim;
        let empty = || {
            (0..c.n_layer)
                .map(|_| Vec::with_capacity(capacity * width))
                .collect()
        };
        KvCache {
            k: empty(),
            v: empty(),
            len: 0,
            capacity,
            width,
        }
    }

    /// Runs `tokens` at the positions after those in `cache`, appends their keys and values,
    /// and returns the logits asked for. On an error the cache is left as it was.
    pub fn extend(&self, cache: &mut KvCache, tokens: &[u32], logits: Logits) -> Result<Vec<f32>> {
        let c = &self.config;
        if cache.k.len() != c.n_layer || cache.width != c.n_kv_head * c.head_dim {
            return Err(Error::InvalidInput(
                "the cache was made for another model".into(),
            ));
        }
        if tokens.is_empty() {
            return Err(Error::InvalidInput("no tokens to run".into()));
        }
        let start = cache.len;
        if start + tokens.len() > cache.capacity {
            return Err(Error::InvalidInput(format!(
                "{start} cached + {} new positions exceed the cache's capacity of {}",
                tokens.len(),
                cache.capacity
            )));
        }
        let mut x = self.embed(tokens)?;
        let result = self.extend_blocks(cache, &mut x, start);
        if let Err(e) = result {
            cache.truncate(start);
            return Err(e);
        }
        cache.len = start + tokens.len();
        let n = tokens.len();
        let d = c.d;
        let rows = match logits {
            Logits::None => return Ok(Vec::new()),
            Logits::Last => &x[(n - 1) * d..],
            Logits::All => &x[..],
        };
        if rows.len() / d <= FEW_ROWS {
            let h = rms_norm(rows, &self.out_norm, c.eps);
            Ok(self.out_rows.apply(&h, rows.len() / d))
        } else {
            self.logits(rows)
        }
    }

    /// Every block on the new rows `x`, whose positions start at `start`.
    fn extend_blocks(&self, cache: &mut KvCache, x: &mut [f32], start: usize) -> Result<()> {
        let c = &self.config;
        let few = x.len() / c.d <= FEW_ROWS;
        let (qw, kw) = (c.n_head * c.head_dim, c.n_kv_head * c.head_dim);
        let heads = Heads {
            n_head: c.n_head,
            n_kv_head: c.n_kv_head,
            head_dim: c.head_dim,
        };
        for l in 0..c.n_layer {
            let (kc, vc) = (&mut cache.k[l], &mut cache.v[l]);
            kc.truncate(start * kw);
            vc.truncate(start * kw);
            self.block(l, x, few, |mut q, mut k, v| {
                rope_from(&mut q, qw, start, c.head_dim, c.rope_base);
                rope_from(&mut k, kw, start, c.head_dim, c.rope_base);
                kc.extend_from_slice(&k);
                vc.extend_from_slice(&v);
                Ok(attend(&q, kc, vc, 1, start, heads))
            })?;
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(
                "the residual stream is not finite: the model's weights are corrupt".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::generate::{GenerateOptions, Sampling};
    use crate::gguf::{self, Gguf};
    use crate::llama::{Hooks, SyntheticSpec, synthetic_gguf};
    use crate::quant::{BLOCK, GgmlType};
    use genlab_core::data::Cache;
    use genlab_core::device::device;
    use genlab_core::train::NoObserver;

    /// Q4_1 blocks of `values` (min/max per block of 32, nearest level).
    fn q4_1(values: &[f32]) -> Vec<u8> {
        let mut out = Vec::new();
        for b in values.chunks_exact(BLOCK) {
            let (lo, hi) = b
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            let d = (hi - lo) / 15.0;
            let (d16, m16) = (f32_to_f16(d), f32_to_f16(lo));
            let (d, m) = (crate::quant::f16_to_f32(d16), crate::quant::f16_to_f32(m16));
            out.extend(d16.to_le_bytes());
            out.extend(m16.to_le_bytes());
            let q = |v: f32| (((v - m) / d).round().clamp(0.0, 15.0)) as u8;
            for j in 0..16 {
                out.push(q(b[j]) | (q(b[j + 16]) << 4));
            }
        }
        out
    }

    /// f32 → f16 bits for normal values in range (round toward zero: only test data).
    fn f32_to_f16(v: f32) -> u16 {
        let bits = v.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let exp = ((bits >> 23) & 0xFF) as i32 - 127 + 15;
        if exp <= 0 {
            return sign;
        }
        sign | ((exp as u16) << 10) | ((bits >> 13) & 0x3FF) as u16
    }

    /// A random model; with `quantised`, every 2-D weight stored as Q4_1.
    fn model(spec: SyntheticSpec, quantised: bool) -> Llama {
        let g = Gguf::parse(Path::new("t.gguf"), synthetic_gguf(spec, 7)).unwrap();
        let g = if quantised {
            let tensors: Vec<gguf::TensorData> = g
                .tensors
                .iter()
                .map(|t| {
                    let (v, ne) = g.tensor_f32(&t.name).unwrap();
                    let two_d = ne.len() == 2;
                    gguf::TensorData {
                        name: t.name.clone(),
                        ne,
                        ggml_type: if two_d { GgmlType::Q4_1 } else { GgmlType::F32 },
                        bytes: if two_d {
                            q4_1(&v)
                        } else {
                            crate::quant::encode_f32(&v)
                        },
                    }
                })
                .collect();
            let bytes = gguf::encode(&g.metadata, &tensors);
            Gguf::parse(Path::new("q.gguf"), bytes).unwrap()
        } else {
            g
        };
        Llama::from_gguf(&g, &device()).unwrap()
    }

    fn full_logits(m: &Llama, tokens: &[u32]) -> Vec<f32> {
        m.forward(tokens, 1, Hooks::logits_only())
            .unwrap()
            .logits
            .unwrap()
    }

    /// Logits of `tokens` run as a prefix of `first`, a chunk of 3 and then one at a time.
    fn incremental_logits(m: &Llama, tokens: &[u32], first: usize) -> Vec<f32> {
        let mut cache = m.cache(tokens.len());
        let mut z = m.extend(&mut cache, &tokens[..first], Logits::All).unwrap();
        z.extend(
            m.extend(&mut cache, &tokens[first..first + 3], Logits::All)
                .unwrap(),
        );
        for &t in &tokens[first + 3..] {
            z.extend(m.extend(&mut cache, &[t], Logits::Last).unwrap());
        }
        assert_eq!(cache.len(), tokens.len());
        z
    }

    /// Largest |a − b| over the largest |b|.
    fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let diff = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        diff / b.iter().map(|v| v.abs()).fold(0.0, f32::max)
    }

    #[test]
    fn incremental_decode_gives_the_full_pass_logits_at_every_position() {
        let spec = SyntheticSpec {
            d: 64,
            d_ff: 96,
            ..SyntheticSpec::default()
        };
        for quantised in [false, true] {
            let m = model(spec, quantised);
            let tokens: Vec<u32> = (0..21).map(|i| (i * 29 % m.config.vocab) as u32).collect();
            let full = full_logits(&m, &tokens);
            let inc = incremental_logits(&m, &tokens, 7);
            let r = rel_diff(&inc, &full);
            assert!(r < 1e-5, "quantised {quantised}: relative difference {r}");
        }
    }

    #[test]
    fn the_cache_refuses_overflow_and_foreign_models_and_survives_errors() {
        let m = model(SyntheticSpec::default(), false);
        let mut cache = m.cache(4);
        m.extend(&mut cache, &[1, 2, 3], Logits::None).unwrap();
        let e = m.extend(&mut cache, &[4, 5], Logits::Last).unwrap_err();
        assert!(e.to_string().contains("capacity"), "{e}");
        let v = m.config.vocab as u32;
        assert!(m.extend(&mut cache, &[v], Logits::Last).is_err());
        assert!(m.extend(&mut cache, &[], Logits::Last).is_err());
        assert_eq!(cache.len(), 3);
        let z = m.extend(&mut cache, &[4], Logits::Last).unwrap();
        let full = full_logits(&m, &[1, 2, 3, 4]);
        assert!(rel_diff(&z, &full[3 * m.config.vocab..]) < 1e-5);
        cache.truncate(2);
        assert_eq!(cache.len(), 2);
        let other = model(
            SyntheticSpec {
                n_layer: 3,
                ..SyntheticSpec::default()
            },
            false,
        );
        assert!(other.extend(&mut cache, &[1], Logits::Last).is_err());
    }

    /// Greedy tokens and every step's logits at 1 and at 2 threads.
    fn generate_at(m: &Llama, prompt: &[u32], threads: usize) -> (Vec<u32>, Vec<u32>) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let opts = GenerateOptions {
                max_new: 12,
                sampling: Sampling::Greedy,
                stop: Vec::new(),
            };
            let tokens = m.generate(prompt, &opts, &mut NoObserver).unwrap();
            let mut cache = m.cache(prompt.len() + tokens.len());
            let mut bits = Vec::new();
            for chunk in [prompt, &tokens[..]] {
                let z = m.extend(&mut cache, chunk, Logits::All).unwrap();
                bits.extend(z.iter().map(|v| v.to_bits()));
            }
            (tokens, bits)
        })
    }

    #[test]
    fn greedy_generation_is_the_same_at_one_and_two_threads() {
        let m = model(SyntheticSpec::default(), false);
        let prompt = [5, 9, 200, 31];
        let one = generate_at(&m, &prompt, 1);
        assert_eq!(one.0.len(), 12);
        assert_eq!(one, generate_at(&m, &prompt, 2));
        // A seeded top-k draw repeats; another seed gives another text.
        let sample = |seed| {
            let opts = GenerateOptions {
                max_new: 12,
                sampling: Sampling::TopK {
                    k: 20,
                    temperature: 2.0,
                    seed,
                },
                stop: Vec::new(),
            };
            m.generate(&prompt, &opts, &mut NoObserver).unwrap()
        };
        assert_eq!(sample(1), sample(1));
        assert_ne!(sample(1), sample(2));
        // A stop token ends the text and is kept.
        let stop = one.0[3];
        let opts = GenerateOptions {
            max_new: 12,
            sampling: Sampling::Greedy,
            stop: vec![stop],
        };
        let cut = m.generate(&prompt, &opts, &mut NoObserver).unwrap();
        assert_eq!(cut.last(), Some(&stop));
        assert!(cut.len() <= 4);
    }

    #[test]
    fn smollm2_decode_matches_its_full_pass_and_is_thread_count_free() {
        let Some(path) = crate::cache::cached_smollm2(&Cache::from_env()) else {
            eprintln!(
                "skipped: smollm2-135m is not in the data cache (run `genlab data fetch smollm2-135m`)"
            );
            return;
        };
        let (m, tok) = Llama::load(&path, &device()).unwrap();
        let tokens = tok.encode("The quick brown fox jumps over the lazy dog, and then it ran");
        let full = full_logits(&m, &tokens);
        let inc = incremental_logits(&m, &tokens, 6);
        let r = rel_diff(&inc, &full);
        assert!(r < 1e-4, "relative difference {r}");
        let (a, b) = (generate_at(&m, &tokens, 1), generate_at(&m, &tokens, 2));
        assert_eq!(a, b);
    }
}
