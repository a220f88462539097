//! # genlab-lm
//!
//! A small causal-LM runtime (work in progress).
