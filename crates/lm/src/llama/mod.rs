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
//!
//! **Attention** is split over (sequence, head, block of 16 query rows), so that a single long
//! sequence still fills every core; each query row reads its keys and values in place (no
//! gathered copies) and is summed in one fixed order, so results do not depend on the thread
//! count. `decode` runs a sequence incrementally from a key/value cache ([`KvCache`],
//! [`Llama::extend`]); its few-row steps read the weights in the file's own storage (Q4_1
//! blocks) row by row (`matvec`) instead of the dequantised copies.

use std::ops::Range;
use std::path::Path;

use genlab_core::burn::tensor::{Device, Tensor};
use rayon::prelude::*;

use genlab_core::{Error, Result};

use crate::gguf::Gguf;
use crate::tokenizer::Tokenizer;

mod attention;
mod decode;
mod kernels;
mod matvec;
mod synthetic;

use attention::attention;
pub use decode::{KvCache, Logits};
use kernels::{add, matmul, rms_norm, rope, swiglu, transposed};
use matvec::RowMatrix;
pub use synthetic::{SyntheticSpec, synthetic_gguf};

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
            return Err(g.error(format!("architecture `{arch}` is not supported (llama)")));
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
        let bad = |m: String| Err(g.error(m));
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
    /// The same four maps as rows in the file's storage, for a few rows at a time (decode).
    rows: [RowMatrix; 4],
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
    /// The unembedding as `[V, d]` rows in the file's storage (decode).
    out_rows: RowMatrix,
    blocks: Vec<Block>,
    device: Device,
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

impl Hooks<'_> {
    /// Only the logits: nothing captured, nothing spliced.
    pub fn logits_only() -> Self {
        Hooks {
            logits: true,
            ..Hooks::default()
        }
    }
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
                return Err(g.error(format!(
                    "tensor `{name}` has dims {ne:?}, the config needs {want:?}"
                )));
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
                let w_o = load(&name("attn_output"), &[qw, d])?;
                let w_down = load(&name("ffn_down"), &[ff, d])?;
                let rows = [
                    row_matrix(
                        g,
                        &[name("attn_q"), name("attn_k"), name("attn_v")],
                        &qkv,
                        d,
                    )?,
                    row_matrix(g, &[name("attn_output")], &w_o, qw)?,
                    row_matrix(g, &[name("ffn_gate"), name("ffn_up")], &gate_up, d)?,
                    row_matrix(g, &[name("ffn_down")], &w_down, ff)?,
                ];
                Ok(Block {
                    attn_norm: load(&name("attn_norm"), &[d])?,
                    w_qkv: transposed(&qkv, c.qkv_width(), d, device),
                    w_o: transposed(&w_o, d, qw, device),
                    ffn_norm: load(&name("ffn_norm"), &[d])?,
                    w_gate_up: transposed(&gate_up, 2 * ff, d, device),
                    w_down: transposed(&w_down, d, ff, device),
                    rows,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let embed = load("token_embd.weight", &[d, c.vocab])?;
        let (w_out, out_rows) = if g.tensors.iter().any(|t| t.name == "output.weight") {
            let w = load("output.weight", &[d, c.vocab])?;
            let rows = row_matrix(g, &["output.weight".into()], &w, d)?;
            (transposed(&w, c.vocab, d, device), rows)
        } else {
            let rows = row_matrix(g, &["token_embd.weight".into()], &embed, d)?;
            (transposed(&embed, c.vocab, d, device), rows)
        };
        Ok(Llama {
            out_norm: load("output_norm.weight", &[d])?,
            out_rows,
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
            self.block(l, x, false, |mut q, mut k, v| {
                rope(&mut q, qw, seq_len, c.head_dim, c.rope_base);
                rope(&mut k, kw, seq_len, c.head_dim, c.rope_base);
                Ok(attention(
                    &q,
                    &k,
                    &v,
                    n_seq,
                    seq_len,
                    c.n_head,
                    c.n_kv_head,
                    c.head_dim,
                ))
            })?;
        }
        Ok(())
    }

    /// Block `l` on the rows `x` (`[n, d]`): `attend(q, k, v)` (before RoPE) gives the heads'
    /// outputs `[n, H·d_h]`. `few`: the linear maps read the file's storage row by row (decode)
    /// instead of running as device matmuls.
    fn block(
        &self,
        l: usize,
        x: &mut [f32],
        few: bool,
        attend: impl FnOnce(Vec<f32>, Vec<f32>, Vec<f32>) -> Result<Vec<f32>>,
    ) -> Result<()> {
        let c = &self.config;
        let n = x.len() / c.d;
        let (qw, kw) = (c.n_head * c.head_dim, c.n_kv_head * c.head_dim);
        let b = &self.blocks[l];
        let linear = |x: Vec<f32>, dense: &Tensor<2>, rows: &RowMatrix| {
            if few {
                rows.apply(&x, n)
            } else {
                matmul(x, n, dense, &self.device)
            }
        };
        let h = rms_norm(x, &b.attn_norm, c.eps);
        let qkv = linear(h, &b.w_qkv, &b.rows[0]);
        let mut q = Vec::with_capacity(n * qw);
        let mut k = Vec::with_capacity(n * kw);
        let mut v = Vec::with_capacity(n * kw);
        for row in qkv.chunks_exact(c.qkv_width()) {
            q.extend_from_slice(&row[..qw]);
            k.extend_from_slice(&row[qw..qw + kw]);
            v.extend_from_slice(&row[qw + kw..]);
        }
        let a = attend(q, k, v)?;
        add(x, &linear(a, &b.w_o, &b.rows[1]));
        let m = rms_norm(x, &b.ffn_norm, c.eps);
        let act = swiglu(&linear(m, &b.w_gate_up, &b.rows[2]), c.d_ff);
        add(x, &linear(act, &b.w_down, &b.rows[3]));
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

    /// The residual stream `r_ℓ` (`[B·T, d]`) of `n_seq` sequences of equal length; the pass
    /// stops at layer ℓ.
    pub fn residual(&self, tokens: &[u32], n_seq: usize, layer: usize) -> Result<Vec<f32>> {
        let hooks = Hooks {
            capture: vec![layer],
            ..Hooks::default()
        };
        let (_, r) = self
            .forward(tokens, n_seq, hooks)?
            .hidden
            .pop()
            .ok_or_else(|| {
                Error::InvalidInput("the forward pass returned no activations".into())
            })?;
        Ok(r)
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
                // Finite weights can still overflow (a corrupt tensor, a type that does not
                // match its bytes): refuse rather than hand on infinities (issue 25).
                if x.iter().any(|v| !v.is_finite()) {
                    return Err(Error::InvalidInput(format!(
                        "the residual stream after block {l} is not finite: the model's weights are corrupt"
                    )));
                }
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

/// The fused map of the file tensors `names` (each `[cols, rows_i]`, fastest first) as rows:
/// their Q4_1 (or Q8_0) blocks when all are of that type, else `values` (the same rows,
/// dequantised).
fn row_matrix(g: &Gguf, names: &[String], values: &[f32], cols: usize) -> Result<RowMatrix> {
    let rows = values.len() / cols;
    let infos = names
        .iter()
        .map(|n| g.info(n))
        .collect::<Result<Vec<_>>>()?;
    if cols.is_multiple_of(crate::quant::BLOCK)
        && infos
            .iter()
            .all(|t| t.ggml_type == crate::quant::GgmlType::Q4_1)
    {
        let mut bytes = Vec::new();
        for t in infos {
            bytes.extend_from_slice(g.tensor_bytes(t)?);
        }
        return Ok(RowMatrix::Q4_1 { rows, cols, bytes });
    }
    if cols.is_multiple_of(crate::quant::BLOCK)
        && infos
            .iter()
            .all(|t| t.ggml_type == crate::quant::GgmlType::Q8_0)
    {
        let mut bytes = Vec::new();
        for t in infos {
            bytes.extend_from_slice(g.tensor_bytes(t)?);
        }
        return Ok(RowMatrix::Q8_0 { rows, cols, bytes });
    }
    Ok(RowMatrix::F32 {
        rows,
        cols,
        values: values.to_vec(),
    })
}

#[cfg(test)]
mod tests;
