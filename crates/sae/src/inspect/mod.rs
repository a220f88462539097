//! Feature dashboards: what each latent of an SAE responds to on a language model's text, and
//! what it writes (`genlab sae inspect`, `genlab sae encode`).
//!
//! One streaming pass over `sequences` corpus sequences: each batch's residual stream at the
//! SAE's layer is encoded, and per chosen latent j the pass keeps, in memory bounded
//! independently of the corpus length,
//!
//! ```text
//! density_j    = #{tokens t : z_j(t) > 0} / #tokens                    (BOS positions excluded)
//! histogram    of z_j over its firing tokens, from a seeded reservoir of ≤ 4096 values
//! top          the `top` largest z_j with their context window (tokens and z_j on each)
//! quantiles    the context whose z_j is nearest to each quantile q ∈ {0.1, 0.3, 0.5, 0.7, 0.9}
//!              of the firing values, drawn from a reservoir of ≤ 64 windows
//! promoted /   the tokens whose logit the decoder row raises / lowers most, through the
//! suppressed   model's final RMSNorm gain and unembedding: logits(W_dec,j), centred over the
//!              vocabulary (the "logit lens" of the direction; RMSNorm's scale cancels)
//! ```
//!
//! Reservoirs use Algorithm R with a hash of (seed, latent, count) as the random draw, so the
//! page is the same for the same seed. [`html`] renders the page; [`encode_text`] is `sae
//! encode`'s per-token top latents.

pub mod html;

use serde::Serialize;

use genlab_core::train::Observer;
use genlab_core::{Error, Result};
use genlab_lm::{Llama, Tokenizer};

use crate::sae::Sae;

/// Settings of a dashboard pass.
#[derive(Debug, Clone)]
pub struct InspectConfig {
    /// Residual-stream layer the SAE reads.
    pub layer: usize,
    /// The latents to describe.
    pub latents: Vec<usize>,
    /// Sequences per forward pass.
    pub batch: usize,
    /// Top-activating contexts kept per latent.
    pub top: usize,
    /// Tokens shown before / after the firing token.
    pub before: usize,
    /// Tokens shown after the firing token.
    pub after: usize,
    /// Promoted and suppressed tokens listed per latent.
    pub logit_tokens: usize,
    /// Seed of the reservoirs.
    pub seed: u64,
}

/// A context window around one firing token.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    /// `z_j` at the firing token.
    pub activation: f32,
    /// Index of the sequence among those read.
    pub sequence: usize,
    /// Position of the firing token in it.
    pub position: usize,
    /// The window's token texts.
    pub tokens: Vec<String>,
    /// `z_j` on each window token.
    pub acts: Vec<f32>,
    /// Index of the firing token in the window.
    pub focus: usize,
}

/// One latent's card.
#[derive(Debug, Clone, Serialize)]
pub struct LatentCard {
    /// Latent index.
    pub latent: usize,
    /// Fraction of tokens on which it fires.
    pub density: f64,
    /// Tokens on which it fires.
    pub fired: u64,
    /// Largest activation seen.
    pub max: f32,
    /// Mean activation where it fires.
    pub mean_active: f64,
    /// Histogram bin edges (`bins + 1`, from 0 to the max).
    pub hist_edges: Vec<f32>,
    /// Histogram counts (of the reservoir sample).
    pub hist_counts: Vec<u64>,
    /// Top-activating contexts, largest first.
    pub top: Vec<Example>,
    /// `(q, example)` at activation quantiles.
    pub quantiles: Vec<(f64, Example)>,
    /// Tokens the decoder row promotes most, with their centred logit.
    pub promoted: Vec<(String, f32)>,
    /// Tokens it suppresses most.
    pub suppressed: Vec<(String, f32)>,
}

/// A whole dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// Model name.
    pub model: String,
    /// Corpus name.
    pub corpus: String,
    /// Layer.
    pub layer: usize,
    /// SAE width.
    pub width: usize,
    /// Sequences read.
    pub sequences: usize,
    /// Tokens counted (BOS excluded).
    pub tokens: u64,
    /// The cards, sorted by density (densest first).
    pub latents: Vec<LatentCard>,
}

const VALUE_RESERVOIR: usize = 4096;
const EXAMPLE_RESERVOIR: usize = 64;
const BINS: usize = 24;
const QUANTILES: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 0.9];

/// A window before it is turned into text.
#[derive(Debug, Clone)]
struct Window {
    activation: f32,
    sequence: usize,
    position: usize,
    ids: Vec<u32>,
    acts: Vec<f32>,
    focus: usize,
}

#[derive(Debug, Default)]
struct Accumulator {
    fired: u64,
    sum: f64,
    max: f32,
    values: Vec<f32>,
    top: Vec<Window>,
    examples: Vec<Window>,
}

fn draw(seed: u64, latent: usize, count: u64) -> u64 {
    let mut z = seed ^ (latent as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ count.rotate_left(29);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One sequence's activations of the chosen latents, `[T, n_latents]`.
struct SeqActs<'a> {
    ids: &'a [u32],
    z: Vec<f32>,
    n: usize,
}

impl SeqActs<'_> {
    fn window(&self, slot: usize, sequence: usize, p: usize, cfg: &InspectConfig) -> Window {
        let lo = p.saturating_sub(cfg.before).max(1);
        let hi = (p + cfg.after + 1).min(self.ids.len());
        Window {
            activation: self.z[p * self.n + slot],
            sequence,
            position: p,
            ids: self.ids[lo..hi].to_vec(),
            acts: (lo..hi).map(|t| self.z[t * self.n + slot]).collect(),
            focus: p - lo,
        }
    }
}

impl Accumulator {
    fn add(
        &mut self,
        s: &SeqActs,
        slot: usize,
        latent: usize,
        seq: usize,
        p: usize,
        cfg: &InspectConfig,
    ) {
        let v = s.z[p * s.n + slot];
        self.fired += 1;
        self.sum += v as f64;
        self.max = self.max.max(v);
        let count = self.fired;
        if self.values.len() < VALUE_RESERVOIR {
            self.values.push(v);
        } else {
            let r = (draw(cfg.seed, latent, count) % count) as usize;
            if r < VALUE_RESERVOIR {
                self.values[r] = v;
            }
        }
        if self.examples.len() < EXAMPLE_RESERVOIR {
            self.examples.push(s.window(slot, seq, p, cfg));
        } else {
            let r = (draw(cfg.seed ^ 1, latent, count) % count) as usize;
            if r < EXAMPLE_RESERVOIR {
                self.examples[r] = s.window(slot, seq, p, cfg);
            }
        }
        let full = self.top.len() >= cfg.top;
        if !full || v > self.top.last().map_or(f32::MIN, |w| w.activation) {
            let w = s.window(slot, seq, p, cfg);
            let at = self.top.partition_point(|o| o.activation >= v);
            self.top.insert(at, w);
            self.top.truncate(cfg.top);
        }
    }
}

/// Checks the SAE fits the model and the latents exist.
fn check(sae: &Sae, model: &Llama, cfg: &InspectConfig) -> Result<()> {
    if sae.d != model.config.d {
        return Err(Error::InvalidInput(format!(
            "the SAE reads vectors of width {} but the model's residual stream has width {}",
            sae.d, model.config.d
        )));
    }
    if cfg.layer > model.config.n_layer {
        return Err(Error::InvalidInput(format!(
            "--layer {} does not exist (the model has layers 0..={})",
            cfg.layer, model.config.n_layer
        )));
    }
    if let Some(&j) = cfg.latents.iter().find(|&&j| j >= sae.m) {
        return Err(Error::InvalidInput(format!(
            "latent {j} does not exist (the SAE has {} latents)",
            sae.m
        )));
    }
    if cfg.latents.is_empty() || cfg.batch == 0 || cfg.top == 0 {
        return Err(Error::InvalidInput(
            "--latents must name at least one latent, and --batch and --top must be at least 1"
                .into(),
        ));
    }
    Ok(())
}

/// Streams `seqs` through `model` and builds the dashboard of `cfg.latents`.
#[allow(clippy::too_many_arguments)]
pub fn inspect(
    sae: &Sae,
    model: &Llama,
    tok: &Tokenizer,
    seqs: &[Vec<u32>],
    names: (&str, &str),
    cfg: &InspectConfig,
    observer: &mut dyn Observer,
) -> Result<Dashboard> {
    check(sae, model, cfg)?;
    let n = cfg.latents.len();
    let mut slot_of = vec![usize::MAX; sae.m];
    for (s, &j) in cfg.latents.iter().enumerate() {
        slot_of[j] = s;
    }
    let mut acc: Vec<Accumulator> = (0..n).map(|_| Accumulator::default()).collect();
    let mut tokens = 0u64;
    observer.start("inspect", seqs.len().div_ceil(cfg.batch) as u64);
    for (b, batch) in seqs.chunks(cfg.batch).enumerate() {
        if observer.should_stop() {
            return Err(Error::Interrupted {
                step: b as u64,
                checkpoint: None,
            });
        }
        let flat: Vec<u32> = batch.concat();
        let r = model.residual(&flat, batch.len(), cfg.layer)?;
        let codes = sae.encode(&r);
        let mut row = 0;
        for (i, ids) in batch.iter().enumerate() {
            let mut z = vec![0.0f32; ids.len() * n];
            for t in 0..ids.len() {
                for (j, v) in codes.row(row + t) {
                    if slot_of[j] != usize::MAX && v > 0.0 {
                        z[t * n + slot_of[j]] = v;
                    }
                }
            }
            row += ids.len();
            let s = SeqActs { ids, z, n };
            let seq = b * cfg.batch + i;
            for p in 1..ids.len() {
                for (slot, a) in acc.iter_mut().enumerate().take(n) {
                    if s.z[p * n + slot] > 0.0 {
                        a.add(&s, slot, cfg.latents[slot], seq, p, cfg);
                    }
                }
            }
            tokens += ids.len().saturating_sub(1) as u64;
        }
        observer.step(b as u64 + 1, &[("tokens", tokens as f64)]);
    }
    observer.finish();
    let logits = decoder_logits(sae, model, &cfg.latents)?;
    let vocab = logits.len() / n;
    let text = |w: &Window| Example {
        activation: w.activation,
        sequence: w.sequence,
        position: w.position,
        tokens: w.ids.iter().map(|&id| tok.decode(&[id])).collect(),
        acts: w.acts.clone(),
        focus: w.focus,
    };
    let mut latents: Vec<LatentCard> = acc
        .into_iter()
        .enumerate()
        .map(|(slot, a)| {
            let (promoted, suppressed) = extremes(
                &logits[slot * vocab..(slot + 1) * vocab],
                cfg.logit_tokens,
                tok,
            );
            let (hist_edges, hist_counts) = histogram(&a.values, a.max);
            LatentCard {
                latent: cfg.latents[slot],
                density: a.fired as f64 / tokens.max(1) as f64,
                fired: a.fired,
                max: a.max,
                mean_active: a.sum / a.fired.max(1) as f64,
                hist_edges,
                hist_counts,
                top: a.top.iter().map(text).collect(),
                quantiles: at_quantiles(&a.values, &a.examples)
                    .into_iter()
                    .map(|(q, w)| (q, text(w)))
                    .collect(),
                promoted,
                suppressed,
            }
        })
        .collect();
    latents.sort_by(|x, y| {
        y.density
            .total_cmp(&x.density)
            .then(x.latent.cmp(&y.latent))
    });
    Ok(Dashboard {
        model: names.0.to_string(),
        corpus: names.1.to_string(),
        layer: cfg.layer,
        width: sae.m,
        sequences: seqs.len(),
        tokens,
        latents,
    })
}

/// `[n, V]` logits of the chosen decoder rows, each centred over the vocabulary.
fn decoder_logits(sae: &Sae, model: &Llama, latents: &[usize]) -> Result<Vec<f32>> {
    let rows: Vec<f32> = latents
        .iter()
        .flat_map(|&j| sae.dec_row(j).iter().copied())
        .collect();
    let mut logits = model.logits(&rows)?;
    let vocab = logits.len() / latents.len();
    for row in logits.chunks_exact_mut(vocab) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / vocab as f64;
        row.iter_mut().for_each(|v| *v -= mean as f32);
    }
    Ok(logits)
}

/// Tokens with their logit.
type Scored = Vec<(String, f32)>;

/// The `n` highest and `n` lowest entries of one row of logits, as token texts.
fn extremes(row: &[f32], n: usize, tok: &Tokenizer) -> (Scored, Scored) {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    let name = |&i: &usize| (tok.decode(&[i as u32]), row[i]);
    let top = order.iter().take(n).map(name).collect();
    let bottom = order.iter().rev().take(n).map(name).collect();
    (top, bottom)
}

/// `BINS` equal bins from 0 to `max`.
fn histogram(values: &[f32], max: f32) -> (Vec<f32>, Vec<u64>) {
    let top = if max > 0.0 { max } else { 1.0 };
    let edges = (0..=BINS).map(|i| top * i as f32 / BINS as f32).collect();
    let mut counts = vec![0u64; BINS];
    for &v in values {
        let b = ((v / top) * BINS as f32) as usize;
        counts[b.min(BINS - 1)] += 1;
    }
    (edges, counts)
}

/// For each quantile q of `values`, the example whose activation is nearest to it (each
/// example used once).
fn at_quantiles<'a>(values: &[f32], examples: &'a [Window]) -> Vec<(f64, &'a Window)> {
    if values.is_empty() || examples.is_empty() {
        return Vec::new();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let mut used = vec![false; examples.len()];
    let mut out = Vec::new();
    for q in QUANTILES {
        let target = sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let best = (0..examples.len()).filter(|&i| !used[i]).min_by(|&a, &b| {
            (examples[a].activation - target)
                .abs()
                .total_cmp(&(examples[b].activation - target).abs())
        });
        if let Some(i) = best {
            used[i] = true;
            out.push((q, &examples[i]));
        }
    }
    out
}

/// One token of `sae encode`: its text and its strongest latents.
#[derive(Debug, Clone, Serialize)]
pub struct TokenLatents {
    /// Position (0 = the first token of the text; BOS is not listed).
    pub position: usize,
    /// The token's text.
    pub token: String,
    /// `(latent, activation)`, strongest first, at most `top`.
    pub latents: Vec<(usize, f32)>,
}

/// The `top` strongest latents of each token of `text` (a BOS is prepended and not listed).
pub fn encode_text(
    sae: &Sae,
    model: &Llama,
    tok: &Tokenizer,
    layer: usize,
    text: &str,
    top: usize,
) -> Result<Vec<TokenLatents>> {
    let cfg = InspectConfig {
        layer,
        latents: vec![0],
        batch: 1,
        top: 1,
        before: 0,
        after: 0,
        logit_tokens: 0,
        seed: 0,
    };
    check(sae, model, &cfg)?;
    let bos = tok.bos.or(tok.eos).ok_or_else(|| {
        Error::InvalidInput("the tokenizer has no BOS or EOS token to start the text".into())
    })?;
    let mut ids = vec![bos];
    ids.extend(tok.encode(text));
    if ids.len() < 2 {
        return Err(Error::InvalidInput("--text is empty".into()));
    }
    if ids.len() > model.config.context {
        return Err(Error::InvalidInput(format!(
            "--text is {} tokens, longer than the model's context of {}",
            ids.len() - 1,
            model.config.context
        )));
    }
    let r = model.residual(&ids, 1, layer)?;
    let codes = sae.encode(&r);
    Ok((1..ids.len())
        .map(|t| {
            let mut l: Vec<(usize, f32)> = codes.row(t).filter(|e| e.1 > 0.0).collect();
            l.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            l.truncate(top);
            TokenLatents {
                position: t - 1,
                token: tok.decode(&[ids[t]]),
                latents: l,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests;
