//! A Llama-architecture causal LM (SmolLM2-135M and its kin) loaded from GGUF, in f32.
//!
//! ```text
//! r₀        = E[tokens]                                        E ∈ R^{V×d}
//! block ℓ:  h  = RMSNorm(r_ℓ; g_attn)                          RMSNorm(x) = x / √(mean(x²) + ε) ⊙ g
//!           q, k, v = h W_qᵀ, h W_kᵀ, h W_vᵀ                    H query heads, K ≤ H key/value heads
//!           q, k ← RoPE(q, k; position t)
//!           a_h = softmax_{s ≤ t}(q_h · k_{h'} / √d_h) v_{h'}   h' = ⌊h / (H/K)⌋   (GQA)
//!           r  ← r_ℓ + [a_1 … a_H] W_oᵀ
//!           r_{ℓ+1} = r + W_down (SiLU(W_gate m) ⊙ W_up m),   m = RMSNorm(r; g_ffn)
//! logits    = RMSNorm(r_L; g_out) Uᵀ                            U = `output.weight`, or E (tied)
//! ```
//!
//! **The residual stream at layer ℓ** is `r_ℓ`: the stream after ℓ blocks (ℓ = 0 is the
//! embedding, ℓ = L the output of the last block, *before* the final norm). It is Hugging Face's
//! `hidden_states[ℓ]` for ℓ < L and TransformerLens' `blocks.ℓ.hook_resid_pre`.
//!
//! **RoPE.** GGUF's Llama weights come from `convert_hf_to_gguf.py`, which permutes the rows of
//! `W_q` and `W_k` so that rotation acts on *adjacent* pairs: for each head and i < d_h/2,
//! `(x_{2i}, x_{2i+1})` is rotated by the angle `t · base^{−2i/d_h}`. (Hugging Face rotates
//! `(x_i, x_{i+d_h/2})` on the unpermuted weights; the golden reference
//! `bench/reference/smollm2_reference.py` undoes the permutation and uses that form, so the two
//! conventions are checked against each other.)
//!
//! Weights are dequantised to f32 once at load. The seven linear maps of a block run as burn
//! matmuls (fused: `[W_q; W_k; W_v]` and `[W_gate; W_up]`), on [`genlab_core::device`]; norms,
//! RoPE and the attention itself (≈2% of the FLOPs at 128 tokens) are host loops over rayon.
//! The vocabulary projection (the largest single matmul) only runs when logits or losses are
//! asked for, in row chunks so that `rows × V` logits never sit in memory at once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use genlab_core::burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use genlab_core::tensor::to_vec;
use genlab_core::{Error, Result};

use crate::gguf::{self, Gguf, Value};
use crate::quant::{GgmlType, encode_f32};
use crate::tokenizer::{Tokenizer, byte_to_char};

/// Shapes and constants, from the GGUF `llama.*` metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Config {
    /// Blocks L.
    pub n_layer: usize,
    /// Residual width d.
    pub d: usize,
    /// Query heads H.
    pub n_head: usize,
    /// Key/value heads K (H is a multiple of K).
    pub n_kv_head: usize,
    /// Head width d_h = d / H.
    pub head_dim: usize,
    /// MLP hidden width.
    pub d_ff: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// RoPE base.
    pub rope_base: f32,
    /// RMSNorm ε.
    pub eps: f32,
    /// Longest context the model was trained for.
    pub context: usize,
}

impl Config {
    /// The config in `g`'s metadata (`general.architecture` must be `llama`).
    pub fn from_gguf(g: &Gguf) -> Result<Config> {
        let arch = g.get_str("general.architecture")?;
        if arch != "llama" {
            return Err(Error::parse(
                &g.path,
                None,
                format!("architecture `{arch}` is not supported (llama)"),
            ));
        }
        let u = |k: &str| g.get_u64(&format!("llama.{k}")).map(|v| v as usize);
        let (d, n_head) = (u("embedding_length")?, u("attention.head_count")?);
        let n_kv_head = match g.metadata.get("llama.attention.head_count_kv") {
            Some(_) => u("attention.head_count_kv")?,
            None => n_head,
        };
        let vocab = match g.metadata.get("llama.vocab_size") {
            Some(_) => u("vocab_size")?,
            None => g.get_strings("tokenizer.ggml.tokens")?.len(),
        };
        let f = |k: &str, default: f64| match g.metadata.get(&format!("llama.{k}")) {
            Some(_) => g.get_f64(&format!("llama.{k}")),
            None => Ok(default),
        };
        let c = Config {
            n_layer: u("block_count")?,
            d,
            n_head,
            n_kv_head,
            head_dim: d.checked_div(n_head).unwrap_or(0),
            d_ff: u("feed_forward_length")?,
            vocab,
            rope_base: f("rope.freq_base", 10_000.0)? as f32,
            eps: f("attention.layer_norm_rms_epsilon", 1e-5)? as f32,
            context: u("context_length")?,
        };
        let bad = |m: String| Err(Error::parse(&g.path, None, m));
        if c.n_layer == 0 || c.d == 0 || c.d_ff == 0 || c.vocab == 0 {
            return bad(format!("degenerate shapes {c:?}"));
        }
        if c.n_head == 0 || c.n_kv_head == 0 || d % n_head != 0 || n_head % n_kv_head != 0 {
            return bad(format!(
                "{d} wide with {n_head} heads and {n_kv_head} KV heads does not split evenly"
            ));
        }
        if !c.head_dim.is_multiple_of(2) {
            return bad(format!(
                "head width {} is odd; RoPE needs pairs",
                c.head_dim
            ));
        }
        if let Some(rd) = g.metadata.get("llama.rope.dimension_count")
            && rd.as_u64() != Some(c.head_dim as u64)
        {
            return bad(format!(
                "partial RoPE ({rd:?} of {} dims) is not supported",
                c.head_dim
            ));
        }
        Ok(c)
    }

    /// Width of the fused `[q; k; v]` projection.
    fn qkv_width(&self) -> usize {
        (self.n_head + 2 * self.n_kv_head) * self.head_dim
    }
}

/// One transformer block's weights.
#[derive(Debug, Clone)]
struct Block {
    attn_norm: Vec<f32>,
    /// `[d, (H + 2K) d_h]`.
    w_qkv: Tensor<2>,
    /// `[H d_h, d]`.
    w_o: Tensor<2>,
    ffn_norm: Vec<f32>,
    /// `[d, 2 d_ff]`: gate columns, then up columns.
    w_gate_up: Tensor<2>,
    /// `[d_ff, d]`.
    w_down: Tensor<2>,
}

/// The model.
#[derive(Debug, Clone)]
pub struct Llama {
    /// Shapes.
    pub config: Config,
    /// Token embeddings `[V, d]`.
    embed: Vec<f32>,
    /// Unembedding, transposed: `[d, V]`.
    w_out: Tensor<2>,
    out_norm: Vec<f32>,
    blocks: Vec<Block>,
    device: Device,
}

/// `[rows, cols]` row-major values as a `[cols, rows]` tensor (a linear map's `Wᵀ`).
fn transposed(w: &[f32], rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    let mut t = vec![0.0f32; w.len()];
    t.par_chunks_mut(rows).enumerate().for_each(|(c, col)| {
        for (r, v) in col.iter_mut().enumerate() {
            *v = w[r * cols + c];
        }
    });
    Tensor::from_data(TensorData::new(t, [cols, rows]), device)
}

/// `x [n, k] · w [k, m]` on the device.
fn matmul(x: Vec<f32>, n: usize, w: &Tensor<2>, device: &Device) -> Vec<f32> {
    let [k, _] = w.dims();
    let xt = Tensor::<2>::from_data(TensorData::new(x, [n, k]), device);
    to_vec(xt.matmul(w.clone()))
}

/// `y = x / √(mean(x²) + ε) ⊙ g`, row by row.
fn rms_norm(x: &[f32], g: &[f32], eps: f32) -> Vec<f32> {
    let d = g.len();
    let mut y = vec![0.0f32; x.len()];
    y.par_chunks_mut(d)
        .zip(x.par_chunks(d))
        .for_each(|(yr, xr)| {
            let ms = xr.iter().map(|v| (v * v) as f64).sum::<f64>() / d as f64;
            let s = (1.0 / (ms + eps as f64).sqrt()) as f32;
            for ((y, x), g) in yr.iter_mut().zip(xr).zip(g) {
                *y = x * s * g;
            }
        });
    y
}

/// RoPE on adjacent pairs, in place: `x` is `[rows, width]` (width = heads · d_h) and row r
/// sits at position `r mod seq_len`.
fn rope(x: &mut [f32], width: usize, seq_len: usize, head_dim: usize, base: f32) {
    let half = head_dim / 2;
    let table: Vec<(f32, f32)> = (0..seq_len)
        .flat_map(|t| {
            (0..half).map(move |i| {
                let a = t as f64 * (base as f64).powf(-((2 * i) as f64) / head_dim as f64);
                (a.cos() as f32, a.sin() as f32)
            })
        })
        .collect();
    x.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
        let cs = &table[(r % seq_len) * half..(r % seq_len + 1) * half];
        for head in row.chunks_exact_mut(head_dim) {
            for (pair, &(c, s)) in head.chunks_exact_mut(2).zip(cs) {
                let (a, b) = (pair[0], pair[1]);
                pair[0] = a * c - b * s;
                pair[1] = a * s + b * c;
            }
        }
    });
}

/// Causal grouped-query attention. `q` is `[B·T, H·d_h]`, `k` and `v` are `[B·T, K·d_h]`
/// (B sequences of T positions); returns `[B·T, H·d_h]`. Query head h reads key/value head
/// `h / (H / K)`.
#[allow(clippy::too_many_arguments)]
fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_seq: usize,
    seq_len: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
) -> Vec<f32> {
    let (qw, kw) = (n_head * head_dim, n_kv_head * head_dim);
    let group = n_head / n_kv_head;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let heads: Vec<Vec<f32>> = (0..n_seq * n_head)
        .into_par_iter()
        .map(|bh| {
            let (b, h) = (bh / n_head, bh % n_head);
            let kv = h / group;
            let gather = |src: &[f32], width: usize, head: usize| -> Vec<f32> {
                (0..seq_len)
                    .flat_map(|t| {
                        let row = (b * seq_len + t) * width + head * head_dim;
                        src[row..row + head_dim].iter().copied()
                    })
                    .collect()
            };
            let (qh, kh, vh) = (gather(q, qw, h), gather(k, kw, kv), gather(v, kw, kv));
            let mut out = vec![0.0f32; seq_len * head_dim];
            let mut p = vec![0.0f32; seq_len];
            for t in 0..seq_len {
                let qt = &qh[t * head_dim..(t + 1) * head_dim];
                let mut max = f32::NEG_INFINITY;
                for (s, ps) in p[..=t].iter_mut().enumerate() {
                    let ks = &kh[s * head_dim..(s + 1) * head_dim];
                    *ps = dot(qt, ks) * scale;
                    max = max.max(*ps);
                }
                let mut sum = 0.0f32;
                for ps in &mut p[..=t] {
                    *ps = (*ps - max).exp();
                    sum += *ps;
                }
                let ot = &mut out[t * head_dim..(t + 1) * head_dim];
                for (s, ps) in p[..=t].iter().enumerate() {
                    let w = ps / sum;
                    for (o, vv) in ot.iter_mut().zip(&vh[s * head_dim..(s + 1) * head_dim]) {
                        *o += w * vv;
                    }
                }
            }
            out
        })
        .collect();
    let mut out = vec![0.0f32; n_seq * seq_len * qw];
    for (bh, head) in heads.iter().enumerate() {
        let (b, h) = (bh / n_head, bh % n_head);
        for t in 0..seq_len {
            let row = (b * seq_len + t) * qw + h * head_dim;
            out[row..row + head_dim].copy_from_slice(&head[t * head_dim..(t + 1) * head_dim]);
        }
    }
    out
}

/// `a · b` with eight independent partial sums, so that the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `SiLU(gate) ⊙ up`, from the fused `[rows, 2 d_ff]` projection.
fn swiglu(gate_up: &[f32], d_ff: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; gate_up.len() / 2];
    out.par_chunks_mut(d_ff)
        .zip(gate_up.par_chunks(2 * d_ff))
        .for_each(|(o, gu)| {
            let (g, u) = gu.split_at(d_ff);
            for ((o, g), u) in o.iter_mut().zip(g).zip(u) {
                *o = g / (1.0 + (-g).exp()) * u;
            }
        });
    out
}

/// What a forward pass should keep or change.
#[derive(Default)]
pub struct Hooks<'a> {
    /// Layers ℓ whose residual stream `r_ℓ` is returned (0..=L).
    pub capture: Vec<usize>,
    /// Replace `r_ℓ` (`[B·T, d]`) in place before block ℓ runs.
    #[allow(clippy::type_complexity)]
    pub splice: Option<(usize, &'a mut dyn FnMut(&mut [f32]) -> Result<()>)>,
    /// Return the logits (`[B·T, V]`); when false the pass stops at the last captured (or
    /// spliced) layer.
    pub logits: bool,
}

/// What a forward pass returns.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// `(ℓ, r_ℓ)` for each captured layer, in the order asked for.
    pub hidden: Vec<(usize, Vec<f32>)>,
    /// `[B·T, V]` logits, when asked for.
    pub logits: Option<Vec<f32>>,
}

impl Llama {
    /// The model in a parsed GGUF file; weights go to `device`.
    pub fn from_gguf(g: &Gguf, device: &Device) -> Result<Llama> {
        let c = Config::from_gguf(g)?;
        let load = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
            let (w, ne) = g.tensor_f32(name)?;
            let want: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
            if ne != want {
                return Err(Error::parse(
                    &g.path,
                    None,
                    format!("tensor `{name}` has dims {ne:?}, the config needs {want:?}"),
                ));
            }
            Ok(w)
        };
        let (d, hd, ff) = (c.d, c.head_dim, c.d_ff);
        let (qw, kw) = (c.n_head * hd, c.n_kv_head * hd);
        let blocks = (0..c.n_layer)
            .map(|l| {
                let name = |s: &str| format!("blk.{l}.{s}.weight");
                let mut qkv = load(&name("attn_q"), &[d, qw])?;
                qkv.extend(load(&name("attn_k"), &[d, kw])?);
                qkv.extend(load(&name("attn_v"), &[d, kw])?);
                let mut gate_up = load(&name("ffn_gate"), &[d, ff])?;
                gate_up.extend(load(&name("ffn_up"), &[d, ff])?);
                Ok(Block {
                    attn_norm: load(&name("attn_norm"), &[d])?,
                    w_qkv: transposed(&qkv, c.qkv_width(), d, device),
                    w_o: transposed(&load(&name("attn_output"), &[qw, d])?, d, qw, device),
                    ffn_norm: load(&name("ffn_norm"), &[d])?,
                    w_gate_up: transposed(&gate_up, 2 * ff, d, device),
                    w_down: transposed(&load(&name("ffn_down"), &[ff, d])?, d, ff, device),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let embed = load("token_embd.weight", &[d, c.vocab])?;
        let w_out = if g.tensors.iter().any(|t| t.name == "output.weight") {
            transposed(&load("output.weight", &[d, c.vocab])?, c.vocab, d, device)
        } else {
            transposed(&embed, c.vocab, d, device)
        };
        Ok(Llama {
            out_norm: load("output_norm.weight", &[d])?,
            embed,
            w_out,
            blocks,
            config: c,
            device: device.clone(),
        })
    }

    /// Reads a GGUF file: the model (weights dequantised to f32) and its tokenizer.
    pub fn load(path: &Path, device: &Device) -> Result<(Llama, Tokenizer)> {
        let g = Gguf::open(path)?;
        let tokenizer = Tokenizer::from_gguf(&g)?;
        let model = Llama::from_gguf(&g, device)?;
        if tokenizer.vocab_size() != model.config.vocab {
            return Err(Error::parse(
                path,
                None,
                format!(
                    "the tokenizer has {} tokens, the model {}",
                    tokenizer.vocab_size(),
                    model.config.vocab
                ),
            ));
        }
        Ok((model, tokenizer))
    }

    /// `r₀`: the embeddings of `[B·T]` token ids.
    pub fn embed(&self, tokens: &[u32]) -> Result<Vec<f32>> {
        let d = self.config.d;
        let mut x = Vec::with_capacity(tokens.len() * d);
        for &t in tokens {
            let t = t as usize;
            if t >= self.config.vocab {
                return Err(Error::InvalidInput(format!(
                    "token id {t} is outside the vocabulary of {}",
                    self.config.vocab
                )));
            }
            x.extend_from_slice(&self.embed[t * d..(t + 1) * d]);
        }
        Ok(x)
    }

    /// Refuses residual-stream buffers that are not whole `[rows, d]` rows (of whole sequences
    /// of `seq_len`, when given).
    fn check_rows(&self, x: &[f32], seq_len: Option<usize>) -> Result<()> {
        let d = self.config.d;
        let unit = d * seq_len.unwrap_or(1);
        if unit == 0 || x.is_empty() || !x.len().is_multiple_of(unit) {
            return Err(Error::InvalidInput(format!(
                "{} values are not whole sequences of {} rows of width {d}",
                x.len(),
                seq_len.unwrap_or(1)
            )));
        }
        Ok(())
    }

    /// Runs blocks `layers` on the residual stream `x` (`[B·T, d]`, sequences of `seq_len`).
    pub fn run_blocks(&self, x: &mut [f32], seq_len: usize, layers: Range<usize>) -> Result<()> {
        let c = &self.config;
        self.check_rows(x, Some(seq_len))?;
        if layers.end > c.n_layer {
            return Err(Error::InvalidInput(format!(
                "blocks {layers:?} do not exist (the model has {})",
                c.n_layer
            )));
        }
        let n = x.len() / c.d;
        let n_seq = n / seq_len;
        let (qw, kw) = (c.n_head * c.head_dim, c.n_kv_head * c.head_dim);
        for l in layers {
            let b = &self.blocks[l];
            let h = rms_norm(x, &b.attn_norm, c.eps);
            let qkv = matmul(h, n, &b.w_qkv, &self.device);
            let mut q = Vec::with_capacity(n * qw);
            let mut k = Vec::with_capacity(n * kw);
            let mut v = Vec::with_capacity(n * kw);
            for row in qkv.chunks_exact(c.qkv_width()) {
                q.extend_from_slice(&row[..qw]);
                k.extend_from_slice(&row[qw..qw + kw]);
                v.extend_from_slice(&row[qw + kw..]);
            }
            rope(&mut q, qw, seq_len, c.head_dim, c.rope_base);
            rope(&mut k, kw, seq_len, c.head_dim, c.rope_base);
            let a = attention(
                &q,
                &k,
                &v,
                n_seq,
                seq_len,
                c.n_head,
                c.n_kv_head,
                c.head_dim,
            );
            add(x, &matmul(a, n, &b.w_o, &self.device));
            let m = rms_norm(x, &b.ffn_norm, c.eps);
            let act = swiglu(&matmul(m, n, &b.w_gate_up, &self.device), c.d_ff);
            add(x, &matmul(act, n, &b.w_down, &self.device));
        }
        Ok(())
    }

    /// Logits `[rows, V]` of final residual-stream rows `r_L` (final norm, then unembedding).
    pub fn logits(&self, r_final: &[f32]) -> Result<Vec<f32>> {
        self.check_rows(r_final, None)?;
        let h = rms_norm(r_final, &self.out_norm, self.config.eps);
        Ok(matmul(
            h,
            r_final.len() / self.config.d,
            &self.w_out,
            &self.device,
        ))
    }

    /// `−log p(next token)` at each position `i` of `r_final` (`[rows, d]`) whose target
    /// `targets[i]` is `Some`; `None` elsewhere. Logits are made `chunk` rows at a time.
    pub fn next_token_nll(
        &self,
        r_final: &[f32],
        targets: &[Option<u32>],
        chunk: usize,
    ) -> Result<Vec<Option<f64>>> {
        let (d, v) = (self.config.d, self.config.vocab);
        self.check_rows(r_final, None)?;
        if targets.len() * d != r_final.len() {
            return Err(Error::InvalidInput(format!(
                "{} targets for {} rows",
                targets.len(),
                r_final.len() / d
            )));
        }
        if let Some(t) = targets.iter().flatten().find(|&&t| t as usize >= v) {
            return Err(Error::InvalidInput(format!(
                "target {t} is outside the vocabulary of {v}"
            )));
        }
        let mut out = Vec::with_capacity(targets.len());
        for (rows, tg) in r_final
            .chunks(chunk.max(1) * d)
            .zip(targets.chunks(chunk.max(1)))
        {
            let logits = self.logits(rows)?;
            out.par_extend(logits.par_chunks(v).zip(tg.par_iter()).map(|(z, t)| {
                t.map(|t| {
                    let max = z.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
                    let lse = max + z.iter().map(|&x| (x as f64 - max).exp()).sum::<f64>().ln();
                    lse - z[t as usize] as f64
                })
            }));
        }
        Ok(out)
    }

    /// One forward pass over `n_seq` sequences of equal length (`tokens` is `[B·T]`).
    pub fn forward(&self, tokens: &[u32], n_seq: usize, hooks: Hooks<'_>) -> Result<Output> {
        let c = &self.config;
        if n_seq == 0 || tokens.is_empty() || !tokens.len().is_multiple_of(n_seq) {
            return Err(Error::InvalidInput(format!(
                "{} tokens do not form {n_seq} sequences of equal length",
                tokens.len()
            )));
        }
        if let Some(&l) = hooks.capture.iter().find(|&&l| l > c.n_layer) {
            return Err(Error::InvalidInput(format!(
                "layer {l} does not exist (the model has layers 0..={})",
                c.n_layer
            )));
        }
        let Hooks {
            capture,
            mut splice,
            logits,
        } = hooks;
        if let Some((l, _)) = &splice
            && *l > c.n_layer
        {
            return Err(Error::InvalidInput(format!(
                "cannot splice at layer {l} of {}",
                c.n_layer
            )));
        }
        let seq_len = tokens.len() / n_seq;
        let last = if logits {
            c.n_layer
        } else {
            let spliced = splice.as_ref().map_or(0, |(l, _)| *l);
            capture.iter().copied().max().unwrap_or(0).max(spliced)
        };
        let mut x = self.embed(tokens)?;
        let mut hidden: Vec<(usize, Vec<f32>)> = Vec::new();
        for l in 0..=last {
            if let Some((at, f)) = splice.as_mut()
                && *at == l
            {
                f(&mut x)?;
            }
            if capture.contains(&l) {
                hidden.push((l, x.clone()));
            }
            if l < last {
                self.run_blocks(&mut x, seq_len, l..l + 1)?;
            }
        }
        let order = |l: usize| capture.iter().position(|&c| c == l).unwrap_or(usize::MAX);
        hidden.sort_by_key(|(l, _)| order(*l));
        Ok(Output {
            hidden,
            logits: if logits { Some(self.logits(&x)?) } else { None },
        })
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    x.par_iter_mut()
        .zip(y.par_iter())
        .for_each(|(a, b)| *a += b);
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::device::device;
    use genlab_core::train::SeededRng;

    fn tiny() -> (Llama, Gguf) {
        let g = Gguf::parse(
            Path::new("tiny.gguf"),
            synthetic_gguf(SyntheticSpec::default(), 5),
        )
        .unwrap();
        (Llama::from_gguf(&g, &device()).unwrap(), g)
    }

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn rms_norm_by_hand() {
        // mean(9, 16) = 12.5; ε = 0.5 → scale 1/√13.
        let y = rms_norm(&[3.0, 4.0, 0.0, 0.0], &[1.0, 2.0], 0.5);
        let s = 1.0 / 13f32.sqrt();
        assert!(max_diff(&y, &[3.0 * s, 8.0 * s, 0.0, 0.0]) < 1e-6);
    }

    #[test]
    fn rope_is_a_complex_rotation_that_depends_on_relative_position() {
        let (hd, heads, t_len) = (8, 2, 12);
        let mut rng = SeededRng::new(1);
        let x = rng.normal_vec(t_len * heads * hd);
        let mut y = x.clone();
        rope(&mut y, heads * hd, t_len, hd, 100.0);
        for t in 0..t_len {
            for h in 0..heads {
                for i in 0..hd / 2 {
                    let theta = t as f64 * 100f64.powf(-(2.0 * i as f64) / hd as f64);
                    let at = t * heads * hd + h * hd + 2 * i;
                    let (re, im) = (x[at] as f64, x[at + 1] as f64);
                    let want = (
                        re * theta.cos() - im * theta.sin(),
                        re * theta.sin() + im * theta.cos(),
                    );
                    assert!(
                        (y[at] as f64 - want.0).abs() < 1e-5
                            && (y[at + 1] as f64 - want.1).abs() < 1e-5
                    );
                }
            }
        }
        // ⟨R_t q, R_s k⟩ depends on t − s only.
        let (q, k) = (rng.normal_vec(hd), rng.normal_vec(hd));
        let rotated = |v: &[f32], t: usize| {
            let mut rows = vec![0.0f32; (t + 1) * hd];
            rows[t * hd..].copy_from_slice(v);
            rope(&mut rows, hd, t + 1, hd, 100.0);
            rows[t * hd..].to_vec()
        };
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let near = dot(&rotated(&q, 7), &rotated(&k, 3));
        let shifted = dot(&rotated(&q, 11), &rotated(&k, 7));
        assert!((near - shifted).abs() < 1e-4, "{near} vs {shifted}");
    }

    #[allow(clippy::too_many_arguments)]
    /// Naive causal attention: full score matrix, −∞ above the diagonal, explicit KV-head map.
    fn naive_attention(
        q: &[f32],
        k: &[f32],
        v: &[f32],
        b_n: usize,
        t_n: usize,
        h_n: usize,
        kv_n: usize,
        hd: usize,
    ) -> Vec<f32> {
        let mut out = vec![0.0f32; b_n * t_n * h_n * hd];
        for b in 0..b_n {
            for h in 0..h_n {
                let kvh = h * kv_n / h_n;
                for t in 0..t_n {
                    let qrow = &q[(b * t_n + t) * h_n * hd + h * hd..][..hd];
                    let scores: Vec<f64> = (0..t_n)
                        .map(|s| {
                            if s > t {
                                f64::NEG_INFINITY
                            } else {
                                let krow = &k[(b * t_n + s) * kv_n * hd + kvh * hd..][..hd];
                                qrow.iter()
                                    .zip(krow)
                                    .map(|(a, c)| (a * c) as f64)
                                    .sum::<f64>()
                                    / (hd as f64).sqrt()
                            }
                        })
                        .collect();
                    let z: f64 = scores.iter().map(|s| s.exp()).sum();
                    for s in 0..t_n {
                        let p = scores[s].exp() / z;
                        for j in 0..hd {
                            out[(b * t_n + t) * h_n * hd + h * hd + j] +=
                                (p * v[(b * t_n + s) * kv_n * hd + kvh * hd + j] as f64) as f32;
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn attention_matches_the_masked_softmax_oracle() {
        let mut rng = SeededRng::new(2);
        for (b, t, h, kv, hd) in [(2, 5, 4, 2, 6), (1, 9, 3, 1, 4), (3, 4, 2, 2, 8)] {
            let q = rng.normal_vec(b * t * h * hd);
            let k = rng.normal_vec(b * t * kv * hd);
            let v = rng.normal_vec(b * t * kv * hd);
            let fast = attention(&q, &k, &v, b, t, h, kv, hd);
            let slow = naive_attention(&q, &k, &v, b, t, h, kv, hd);
            assert!(max_diff(&fast, &slow) < 1e-5, "{:?}", (b, t, h, kv, hd));
        }
    }

    /// The whole model with `y_o = Σ_i W[o, i] x_i` loops straight from the file's tensors.
    fn naive_logits(g: &Gguf, c: &Config, tokens: &[u32]) -> Vec<f32> {
        let w = |n: &str| g.tensor_f32(n).unwrap().0;
        let linear = |x: &[f32], w: &[f32], inp: usize| -> Vec<f32> {
            let out = w.len() / inp;
            x.chunks(inp)
                .flat_map(|row| {
                    (0..out).map(move |o| {
                        row.iter()
                            .zip(&w[o * inp..(o + 1) * inp])
                            .map(|(a, b)| a * b)
                            .sum::<f32>()
                    })
                })
                .collect()
        };
        let (d, t_n) = (c.d, tokens.len());
        let emb = w("token_embd.weight");
        let mut x: Vec<f32> = tokens
            .iter()
            .flat_map(|&t| emb[t as usize * d..(t as usize + 1) * d].to_vec())
            .collect();
        for l in 0..c.n_layer {
            let p = |s: &str| format!("blk.{l}.{s}.weight");
            let h = rms_norm(&x, &w(&p("attn_norm")), c.eps);
            let mut q = linear(&h, &w(&p("attn_q")), d);
            let mut k = linear(&h, &w(&p("attn_k")), d);
            let v = linear(&h, &w(&p("attn_v")), d);
            rope(&mut q, c.n_head * c.head_dim, t_n, c.head_dim, c.rope_base);
            rope(
                &mut k,
                c.n_kv_head * c.head_dim,
                t_n,
                c.head_dim,
                c.rope_base,
            );
            let a = naive_attention(&q, &k, &v, 1, t_n, c.n_head, c.n_kv_head, c.head_dim);
            let o = linear(&a, &w(&p("attn_output")), c.n_head * c.head_dim);
            x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);
            let m = rms_norm(&x, &w(&p("ffn_norm")), c.eps);
            let gate = linear(&m, &w(&p("ffn_gate")), d);
            let up = linear(&m, &w(&p("ffn_up")), d);
            let act: Vec<f32> = gate
                .iter()
                .zip(&up)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let down = linear(&act, &w(&p("ffn_down")), c.d_ff);
            x.iter_mut().zip(&down).for_each(|(x, o)| *x += o);
        }
        linear(&rms_norm(&x, &w("output_norm.weight"), c.eps), &emb, d)
    }

    #[test]
    fn forward_matches_naive_loops_over_the_file_tensors() {
        let (model, g) = tiny();
        let tokens: Vec<u32> = (0..11)
            .map(|i| (i * 37 % model.config.vocab) as u32)
            .collect();
        let out = model
            .forward(
                &tokens,
                1,
                Hooks {
                    logits: true,
                    ..Hooks::default()
                },
            )
            .unwrap();
        let want = naive_logits(&g, &model.config, &tokens);
        assert!(max_diff(out.logits.as_ref().unwrap(), &want) < 1e-4);
    }

    #[test]
    fn later_tokens_never_change_earlier_logits() {
        let (model, _) = tiny();
        let v = model.config.vocab;
        let a: Vec<u32> = (0..10).map(|i| (i * 13 % v) as u32).collect();
        let mut b = a.clone();
        for (i, t) in b.iter_mut().enumerate().skip(6) {
            *t = (*t + 1 + i as u32) % v as u32;
        }
        let run = |x: &[u32]| {
            model
                .forward(
                    x,
                    1,
                    Hooks {
                        logits: true,
                        ..Hooks::default()
                    },
                )
                .unwrap()
                .logits
                .unwrap()
        };
        let (la, lb) = (run(&a), run(&b));
        assert_eq!(
            la[..6 * v],
            lb[..6 * v],
            "positions 0..6 see only tokens 0..6"
        );
        assert_ne!(la[6 * v..7 * v], lb[6 * v..7 * v]);
    }

    #[test]
    fn hooks_capture_splice_and_stop_early() {
        let (model, _) = tiny();
        let tokens: Vec<u32> = (0..16).map(|i| (i * 7) as u32).collect();
        let all = model
            .forward(
                &tokens,
                2,
                Hooks {
                    capture: vec![2, 0, 1],
                    logits: true,
                    ..Hooks::default()
                },
            )
            .unwrap();
        assert_eq!(
            all.hidden.iter().map(|h| h.0).collect::<Vec<_>>(),
            vec![2, 0, 1]
        );
        let early = model
            .forward(
                &tokens,
                2,
                Hooks {
                    capture: vec![1],
                    ..Hooks::default()
                },
            )
            .unwrap();
        assert!(early.logits.is_none());
        assert_eq!(early.hidden[0].1, all.hidden[2].1);
        // Splicing r₁ back in unchanged keeps the logits; zeroing it changes them.
        let mut same = |x: &mut [f32]| -> Result<()> {
            let _ = x;
            Ok(())
        };
        let kept = model
            .forward(
                &tokens,
                2,
                Hooks {
                    splice: Some((1, &mut same)),
                    logits: true,
                    ..Hooks::default()
                },
            )
            .unwrap();
        assert_eq!(kept.logits, all.logits);
        let mut zero = |x: &mut [f32]| -> Result<()> {
            x.fill(0.0);
            Ok(())
        };
        let zeroed = model
            .forward(
                &tokens,
                2,
                Hooks {
                    splice: Some((1, &mut zero)),
                    capture: vec![1],
                    logits: true,
                },
            )
            .unwrap();
        assert!(zeroed.hidden[0].1.iter().all(|&v| v == 0.0));
        assert_ne!(zeroed.logits, all.logits);
        // Continuing by hand from r₁ reproduces the forward pass.
        let mut r = all.hidden[2].1.clone();
        model.run_blocks(&mut r, 8, 1..2).unwrap();
        assert!(max_diff(&model.logits(&r).unwrap(), all.logits.as_ref().unwrap()) < 1e-6);
        assert!(
            model.run_blocks(&mut r, 7, 1..2).is_err(),
            "16 rows are not sequences of 7"
        );
        assert!(model.run_blocks(&mut r, 8, 1..3).is_err());
        assert!(model.logits(&r[1..]).is_err());
        assert!(model.next_token_nll(&r, &[Some(0)], 4).is_err());
    }

    #[test]
    fn bad_inputs_and_files_are_clear_errors() {
        let (model, _) = tiny();
        let v = model.config.vocab as u32;
        assert!(
            model
                .forward(&[v], 1, Hooks::default())
                .unwrap_err()
                .to_string()
                .contains("outside the vocabulary")
        );
        assert!(model.forward(&[1, 2, 3], 2, Hooks::default()).is_err());
        assert!(
            model
                .forward(
                    &[1, 2],
                    1,
                    Hooks {
                        capture: vec![3],
                        ..Hooks::default()
                    }
                )
                .unwrap_err()
                .to_string()
                .contains("layer 3")
        );
        let bytes = synthetic_gguf(SyntheticSpec::default(), 5);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        std::fs::write(&p, &bytes).unwrap();
        let (_, tok) = Llama::load(&p, &device()).unwrap();
        assert_eq!(tok.decode(&tok.encode(" the band")), " the band");
        assert_eq!(
            tok.encode(" the and").len(),
            2,
            "merged by the synthetic rules"
        );
        for cut in [10, bytes.len() / 3, bytes.len() - 1] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let e = Llama::load(&p, &device()).unwrap_err().to_string();
            assert!(e.contains("m.gguf") && e.contains("truncated"), "{e}");
        }
        // A model whose attention width does not split into heads.
        let mut g = Gguf::parse(&p, bytes).unwrap();
        g.metadata
            .insert("llama.attention.head_count".into(), Value::U32(5));
        assert!(
            Llama::from_gguf(&g, &device())
                .unwrap_err()
                .to_string()
                .contains("does not split")
        );
        g.metadata
            .insert("llama.attention.head_count".into(), Value::U32(2));
        let e = Llama::from_gguf(&g, &device()).unwrap_err().to_string();
        assert!(e.contains("partial RoPE"), "{e}");
        g.metadata
            .insert("llama.rope.dimension_count".into(), Value::U32(16));
        let e = Llama::from_gguf(&g, &device()).unwrap_err().to_string();
        assert!(e.contains("attn_k.weight` has dims"), "{e}");
    }
}
