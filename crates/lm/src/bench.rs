//! `genlab bench lm`: SmolLM2-135M-Instruct (the cached Q4_1 GGUF) prompt processing and
//! decode speed; the twin is `bench/llama_cpp.py` (llama.cpp on the same file).
//!
//! ```text
//! prompt   token i = (1 + 7919 · i) mod V, i < T (the same ids on both sides)
//! rows     prompt T tokens to layer 6   one sequence of T through blocks 0..6, stop
//!                                        (what `genlab sae acts --layer 6` does per sequence)
//!          prompt T tokens, full model   all 30 blocks into an empty KV cache + the last
//!                                        position's logits (what llama.cpp's prompt eval does)
//!          decode after T = 128          the cache holds the 128-token prompt; one step =
//!                                        32 greedy tokens one at a time, then the cache is cut
//!                                        back to the prompt
//! report   per_second = tokens / step seconds (mean over the timed steps), its 10th percentile
//! ```

use std::time::Instant;

use genlab_core::data::Cache;
use genlab_core::device::device;
use genlab_core::experiment::{BenchOptions, BenchTable, Benchmark};
use genlab_core::{Error, Result};

use crate::cache::{SMOLLM2, cached_smollm2};
use crate::generate::argmax;
use crate::llama::{Llama, Logits};

/// Prompt lengths of the prompt-processing rows.
pub const CONTEXTS: [usize; 2] = [128, 512];
/// The layer the partial rows stop at.
pub const PARTIAL_LAYER: usize = 6;
/// Prompt length before the decode row.
pub const DECODE_PROMPT: usize = 128;
/// Tokens decoded per timed decode step.
pub const DECODE_TOKENS: usize = 32;

/// The benchmark prompt: `T` ids `(1 + 7919 i) mod V`.
pub fn prompt(len: usize, vocab: usize) -> Vec<u32> {
    (0..len).map(|i| ((1 + 7919 * i) % vocab) as u32).collect()
}

/// One row: its name, tokens per step and the seconds of each timed step.
#[derive(Debug, Clone)]
pub struct Row {
    /// Row name (the twin's rows carry the same names).
    pub name: String,
    /// Tokens processed per step.
    pub tokens: usize,
    /// Seconds of each timed step.
    pub seconds: Vec<f64>,
}

impl Row {
    /// Mean tokens per second.
    pub fn per_second(&self) -> f64 {
        self.tokens as f64 * self.seconds.len() as f64 / self.seconds.iter().sum::<f64>()
    }

    /// Tokens per second at the 10th-percentile (fast-end) step time.
    pub fn p10_per_second(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        self.tokens as f64 / s[(s.len() as f64 * 0.1) as usize]
    }
}

/// Times `warmup + steps` calls of `step`, keeping the last `steps`.
fn time(warmup: usize, steps: usize, mut step: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    let mut seconds = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let t = Instant::now();
        step()?;
        if i >= warmup {
            seconds.push(t.elapsed().as_secs_f64());
        }
    }
    Ok(seconds)
}

/// Every row on `model` (which must have more than [`PARTIAL_LAYER`] blocks).
pub fn rows(model: &Llama, warmup: usize, steps: usize) -> Result<Vec<Row>> {
    let v = model.config.vocab;
    let mut out = Vec::new();
    for t in CONTEXTS {
        let tokens = prompt(t, v);
        let seconds = time(warmup, steps, || {
            model.residual(&tokens, 1, PARTIAL_LAYER).map(|_| ())
        })?;
        out.push(Row {
            name: format!("prompt {t} tokens to layer {PARTIAL_LAYER}"),
            tokens: t,
            seconds,
        });
        let mut cache = model.cache(t);
        let seconds = time(warmup, steps, || {
            cache.clear();
            model.extend(&mut cache, &tokens, Logits::Last).map(|_| ())
        })?;
        out.push(Row {
            name: format!("prompt {t} tokens, full model"),
            tokens: t,
            seconds,
        });
    }
    let mut cache = model.cache(DECODE_PROMPT + DECODE_TOKENS);
    let first = model.extend(&mut cache, &prompt(DECODE_PROMPT, v), Logits::Last)?;
    let first = argmax(&first)?;
    let seconds = time(warmup, steps, || {
        cache.truncate(DECODE_PROMPT);
        let mut next = first;
        for _ in 0..DECODE_TOKENS {
            next = argmax(&model.extend(&mut cache, &[next], Logits::Last)?)?;
        }
        Ok(())
    })?;
    out.push(Row {
        name: format!("decode after {DECODE_PROMPT} tokens"),
        tokens: DECODE_TOKENS,
        seconds,
    });
    Ok(out)
}

/// The table of `rows`.
pub fn table(rows: &[Row], threads: usize) -> BenchTable {
    let mut table = BenchTable {
        notes: vec![format!(
            "threads: {threads}; SmolLM2-135M-Instruct Q4_1, prompt ids (1 + 7919 i) mod V"
        )],
        columns: ["row", "tokens/s", "p10", "ms/step"]
            .map(String::from)
            .to_vec(),
        ..BenchTable::default()
    };
    for r in rows {
        let ms = 1e3 * r.seconds.iter().sum::<f64>() / r.seconds.len() as f64;
        table.rows.push(vec![
            r.name.clone(),
            format!("{:.1}", r.per_second()),
            format!("{:.1}", r.p10_per_second()),
            format!("{ms:.1}"),
        ]);
        table.json.push(serde_json::json!({
            "name": r.name, "threads": threads, "per_second": r.per_second(),
            "p10_per_second": r.p10_per_second(), "tokens_per_step": r.tokens,
            "ms_per_step": ms,
        }));
    }
    table
}

/// `genlab bench lm`.
pub fn run(opts: &BenchOptions) -> Result<BenchTable> {
    let cache = Cache::from_env();
    let path = cached_smollm2(&cache).ok_or_else(|| Error::MissingData {
        name: SMOLLM2.into(),
        dir: cache.dir().to_path_buf(),
    })?;
    let (model, _) = Llama::load(&path, &device())?;
    Ok(table(&rows(&model, opts.warmup, opts.steps)?, opts.threads))
}

/// The LM runtime's benchmarks.
pub const BENCHMARKS: &[Benchmark] = &[Benchmark {
    name: "lm",
    options: &[],
    summary: "SmolLM2-135M Q4_1 prompt processing (128 and 512 tokens, to layer 6 and full) and \
              decode tokens/s; twin: bench/llama_cpp.py (llama.cpp on the same GGUF)",
    run,
}];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Gguf;
    use crate::llama::{SyntheticSpec, synthetic_gguf};
    use std::path::Path;

    #[test]
    fn every_row_runs_on_a_small_model() {
        let spec = SyntheticSpec {
            n_layer: PARTIAL_LAYER + 1,
            ..SyntheticSpec::default()
        };
        let g = Gguf::parse(Path::new("t.gguf"), synthetic_gguf(spec, 1)).unwrap();
        let model = Llama::from_gguf(&g, &device()).unwrap();
        let rows = rows(&model, 0, 2).unwrap();
        assert_eq!(rows.len(), 5);
        for r in &rows {
            assert_eq!(r.seconds.len(), 2);
            assert!(r.per_second() > 0.0 && r.p10_per_second() >= r.per_second() * 0.5);
        }
        let t = table(&rows, 1);
        assert_eq!(t.json.len(), 5);
        assert!(t.json[4]["name"].as_str().unwrap().starts_with("decode"));
        assert_eq!(prompt(3, 10), vec![1, 0, 9]);
    }
}
