//! # genlab-lm
//!
//! A small causal-LM runtime in pure Rust, enough to run SmolLM2-135M-Instruct (a Llama-family
//! model shipped as a 4-bit GGUF file) on CPU and read its residual stream — for sparse
//! autoencoders (`genlab sae acts`, CE-loss-recovered) and anything else that needs real
//! language-model activations offline.
//!
//! - [`cache`]: model names (`smollm2-135m`) resolved in the genlab data cache.
//! - [`gguf`]: the GGUF v2/v3 container (metadata of every type, tensor table, alignment), with
//!   bounds-checked parsing and an encoder for synthetic test files.
//! - [`quant`]: F32, F16, Q4_0, Q4_1 and Q8_0 blocks dequantised to f32.
//! - [`tokenizer`]: GPT-2 byte-level BPE from the GGUF vocabulary and merges, with the
//!   GPT-2 / SmolLM pre-tokenisation written by hand.
//! - [`llama`]: config from `llama.*` metadata, f32 weights, a batched causal forward pass that
//!   returns the residual stream at chosen layers, splices a replacement in at one layer, and
//!   gives logits or next-token losses.
//!
//! - [`generate`]: greedy and top-k generation, one token at a time from a key/value cache
//!   ([`llama::KvCache`], [`Llama::extend`]).
//! - [`bench`]: `genlab bench lm`, prompt processing and decode speed (twin:
//!   `bench/llama_cpp.py`).
//!
//! Checked against an independent PyTorch implementation on the real model
//! (`bench/reference/smollm2_reference.py`, fixture in `crates/lm/tests/fixtures/`).
#![warn(missing_docs)]

pub mod bench;
pub mod cache;
pub mod generate;
pub mod gguf;
pub mod llama;
pub mod quant;
pub mod tokenizer;

pub use bench::BENCHMARKS;
pub use generate::{GenerateOptions, Sampling};
pub use gguf::Gguf;
pub use llama::{Config, Hooks, KvCache, Llama, Logits, Output};
pub use tokenizer::Tokenizer;
