//! A tiny random Llama model as a GGUF file, for tests and examples that must run without the
//! real model.

use std::collections::BTreeMap;

use crate::gguf::{self, Value};
use crate::quant::{GgmlType, encode_f32};
use crate::tokenizer::byte_to_char;

/// Sizes of a random model made by [`synthetic_gguf`].
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    /// Blocks.
    pub n_layer: usize,
    /// Width.
    pub d: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads.
    pub n_kv_head: usize,
    /// MLP width.
    pub d_ff: usize,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            n_layer: 2,
            d: 32,
            n_head: 4,
            n_kv_head: 2,
            d_ff: 48,
        }
    }
}

/// A tiny random Llama GGUF with a byte-level tokenizer (the 256 byte tokens, a few merges and
/// two specials) and F32 weights drawn with `seed`: for tests and examples that must run without
/// the real model.
pub fn synthetic_gguf(spec: SyntheticSpec, seed: u64) -> Vec<u8> {
    let mut rng = genlab_core::train::SeededRng::new(seed);
    let mut tokens: Vec<String> = byte_to_char().iter().map(|c| c.to_string()).collect();
    let merges = ["Ġ t", "h e", "Ġt he", "Ġ a", "n d", "Ġa nd"];
    tokens.extend(merges.iter().map(|m| m.replace(' ', "")));
    tokens.extend(["<|endoftext|>".to_string(), "<|im_start|>".to_string()]);
    let vocab = tokens.len();
    let s = spec;
    let hd = s.d / s.n_head;
    let mut meta = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        meta.insert(k.to_string(), v);
    };
    put("general.architecture", Value::String("llama".into()));
    put("llama.block_count", Value::U32(s.n_layer as u32));
    put("llama.context_length", Value::U32(256));
    put("llama.embedding_length", Value::U32(s.d as u32));
    put("llama.feed_forward_length", Value::U32(s.d_ff as u32));
    put("llama.attention.head_count", Value::U32(s.n_head as u32));
    put(
        "llama.attention.head_count_kv",
        Value::U32(s.n_kv_head as u32),
    );
    put("llama.rope.freq_base", Value::F32(10_000.0));
    put("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
    put("llama.vocab_size", Value::U32(vocab as u32));
    put("llama.rope.dimension_count", Value::U32(hd as u32));
    put("tokenizer.ggml.model", Value::String("gpt2".into()));
    put("tokenizer.ggml.pre", Value::String("smollm".into()));
    put(
        "tokenizer.ggml.tokens",
        Value::Array(tokens.into_iter().map(Value::String).collect()),
    );
    put(
        "tokenizer.ggml.merges",
        Value::Array(
            merges
                .iter()
                .map(|m| Value::String(m.to_string()))
                .collect(),
        ),
    );
    put("tokenizer.ggml.bos_token_id", Value::U32(vocab as u32 - 1));
    put("tokenizer.ggml.eos_token_id", Value::U32(vocab as u32 - 2));
    let mut tensors = Vec::new();
    let mut add_tensor = |name: String, ne: Vec<u64>, scale: f32, offset: f32| {
        let n = ne.iter().product::<u64>() as usize;
        let values: Vec<f32> = rng
            .normal_vec(n)
            .into_iter()
            .map(|v| offset + scale * v)
            .collect();
        tensors.push(gguf::TensorData {
            name,
            ne,
            ggml_type: GgmlType::F32,
            bytes: encode_f32(&values),
        });
    };
    let (d, ff) = (s.d as u64, s.d_ff as u64);
    let (qw, kw) = ((s.n_head * hd) as u64, (s.n_kv_head * hd) as u64);
    let w = 1.0 / (s.d as f32).sqrt();
    add_tensor("token_embd.weight".into(), vec![d, vocab as u64], 1.0, 0.0);
    add_tensor("output_norm.weight".into(), vec![d], 0.1, 1.0);
    for l in 0..s.n_layer {
        let name = |x: &str| format!("blk.{l}.{x}.weight");
        add_tensor(name("attn_norm"), vec![d], 0.1, 1.0);
        add_tensor(name("attn_q"), vec![d, qw], w, 0.0);
        add_tensor(name("attn_k"), vec![d, kw], w, 0.0);
        add_tensor(name("attn_v"), vec![d, kw], w, 0.0);
        add_tensor(name("attn_output"), vec![qw, d], w, 0.0);
        add_tensor(name("ffn_norm"), vec![d], 0.1, 1.0);
        add_tensor(name("ffn_gate"), vec![d, ff], w, 0.0);
        add_tensor(name("ffn_up"), vec![d, ff], w, 0.0);
        add_tensor(
            name("ffn_down"),
            vec![ff, d],
            1.0 / (s.d_ff as f32).sqrt(),
            0.0,
        );
    }
    gguf::encode(&meta, &tensors)
}
