//! The summary page of a batch estimation (`genlab fx estimate --batch DIR --report OUT`): per
//! pair the estimated chain, its rationale, the MRSTFT of its re-render and of the no-op, the
//! true chain when known, spectrograms of the dry input, the target and the re-render, and
//! audio players for the three; above them the totals (presence F1, exact order, mean MRSTFT
//! ratio, median seconds) computed by [`crate::estimate::metrics`]-style counting.
//!
//! Spectrograms are 24-bit BMP images (no compression, every browser shows them): the mid
//! signal, Hann window 1024, hop 512, magnitudes in dB from −90 to the clip's maximum, bins
//! pooled onto [`ROWS`] rows with log-spaced edges from 40 Hz to Nyquist, frames onto
//! [`COLS`] columns.

use std::fmt::Write;

use crate::engine::buffer::AudioBuffer;
use crate::engine::fft::Fft;

/// Spectrogram height in pixels.
pub const ROWS: usize = 128;
/// Spectrogram width in pixels.
pub const COLS: usize = 360;

/// A 24-bit BMP of the spectrogram of `audio` (see the module doc).
pub fn spectrogram_bmp(audio: &AudioBuffer) -> Vec<u8> {
    const N: usize = 1024;
    let fs = audio.sample_rate as f64;
    let n = audio.len();
    let mid: Vec<f64> = (0..n)
        .map(|i| {
            audio.channels.iter().map(|c| c[i] as f64).sum::<f64>() / audio.n_channels() as f64
        })
        .collect();
    let fft = Fft::new(N).expect("power of two");
    let frames = n.div_ceil(512).max(1);
    let mut db = vec![vec![-300.0f64; ROWS]; frames];
    let edge = |r: usize| 40.0 * (fs / 2.0 / 40.0).powf(r as f64 / ROWS as f64);
    for (f, col) in db.iter_mut().enumerate() {
        let mut re: Vec<f64> = (0..N)
            .map(|i| {
                let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / N as f64).cos();
                mid.get(f * 512 + i).copied().unwrap_or(0.0) * w
            })
            .collect();
        let mut im = vec![0.0; N];
        fft.forward(&mut re, &mut im);
        for (r, v) in col.iter_mut().enumerate() {
            let lo = ((edge(r) / fs * N as f64) as usize).min(N / 2);
            let hi = ((edge(r + 1) / fs * N as f64) as usize).clamp(lo + 1, N / 2 + 1);
            let p = (lo..hi)
                .map(|k| re[k] * re[k] + im[k] * im[k])
                .fold(0.0, f64::max);
            *v = 10.0 * (p + 1e-20).log10();
        }
    }
    let top = db.iter().flatten().copied().fold(-300.0, f64::max);
    let row_bytes = (3 * COLS).div_ceil(4) * 4;
    let mut pixels = vec![0u8; row_bytes * ROWS];
    for (r, row) in pixels.chunks_mut(row_bytes).enumerate() {
        for c in 0..COLS {
            let f = c * frames / COLS;
            let u = ((db[f][r] - top + 90.0) / 90.0).clamp(0.0, 1.0);
            // Dark blue → yellow.
            let (b, g, red) = (
                (255.0 * (0.4 * (1.0 - u))) as u8,
                (255.0 * u) as u8,
                (255.0 * u.powf(0.6)) as u8,
            );
            // BMP rows run bottom-up: row 0 = lowest band.
            row[3 * c..3 * c + 3].copy_from_slice(&[b, g, red]);
        }
    }
    let mut out = Vec::with_capacity(54 + pixels.len());
    out.extend_from_slice(b"BM");
    for v in [(54 + pixels.len()) as u32, 0, 54, 40] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(COLS as i32).to_le_bytes());
    out.extend_from_slice(&(ROWS as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    for v in [0u32, pixels.len() as u32, 2835, 2835, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&pixels);
    out
}

/// One pair's row of the page (paths relative to the page).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Pair id.
    pub id: String,
    /// Estimated effects in order, and the chain as JSON.
    pub effects: Vec<String>,
    /// The chain's tool calls as JSON text.
    pub chain_json: String,
    /// True effects in order, when known.
    pub truth: Option<Vec<String>>,
    /// Rationale.
    pub rationale: String,
    /// MRSTFT of the re-render and of the no-op.
    pub mrstft: (f64, f64),
    /// Seconds spent.
    pub seconds: f64,
}

/// Totals of a batch: pairs, presence F1 (micro, over pairs with a truth), exact order (over
/// pairs whose estimate shares ≥ 2 effects with the truth: the shared effects in the same
/// relative order) and its count, mean MRSTFT / no-op, median seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Totals {
    /// Pairs estimated.
    pub pairs: usize,
    /// Micro F1 of effect presence (`None` without truths).
    pub presence_f1: Option<f64>,
    /// Exact-order accuracy (`None` when no pair qualifies).
    pub exact_order: Option<f64>,
    /// Pairs counted in the exact order.
    pub order_pairs: usize,
    /// Mean over pairs of MRSTFT(estimate) / MRSTFT(no-op).
    pub mrstft_over_no_op: f64,
    /// Median seconds per pair.
    pub median_seconds: f64,
}

/// The totals of `rows` (see [`Totals`]).
pub fn totals(rows: &[Row]) -> Totals {
    let (mut tp, mut fp, mut fn_, mut with_truth) = (0usize, 0usize, 0usize, 0usize);
    let (mut orders, mut ordered) = (0usize, 0usize);
    for r in rows {
        let Some(truth) = &r.truth else { continue };
        with_truth += 1;
        tp += r.effects.iter().filter(|e| truth.contains(e)).count();
        fp += r.effects.iter().filter(|e| !truth.contains(e)).count();
        fn_ += truth.iter().filter(|e| !r.effects.contains(e)).count();
        let shared: Vec<&String> = r.effects.iter().filter(|e| truth.contains(e)).collect();
        if shared.len() >= 2 {
            orders += 1;
            let in_truth: Vec<&String> = truth.iter().filter(|e| shared.contains(e)).collect();
            ordered += usize::from(in_truth == shared);
        }
    }
    let mut seconds: Vec<f64> = rows.iter().map(|r| r.seconds).collect();
    seconds.sort_by(f64::total_cmp);
    Totals {
        pairs: rows.len(),
        presence_f1: (with_truth > 0).then(|| 2.0 * tp as f64 / (2 * tp + fp + fn_).max(1) as f64),
        exact_order: (orders > 0).then(|| ordered as f64 / orders as f64),
        order_pairs: orders,
        mrstft_over_no_op: rows
            .iter()
            .map(|r| r.mrstft.0 / r.mrstft.1.max(1e-12))
            .sum::<f64>()
            / rows.len().max(1) as f64,
        median_seconds: seconds.get(seconds.len() / 2).copied().unwrap_or(0.0),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The HTML page: totals, then one section per row. Media files are expected next to it as
/// `ID.dry.wav`, `ID.wet.wav`, `ID.estimate.wav` and `ID.{dry,wet,estimate}.bmp`.
pub fn page(title: &str, method: &str, rows: &[Row]) -> String {
    let t = totals(rows);
    let opt = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><meta charset=utf-8><title>{0}</title><style>body{{font:14px sans-serif;margin:2em;max-width:1200px}}\
         section{{border-top:1px solid #ccc;padding:1em 0}}img{{margin-right:8px}}code{{font-size:12px}}</style>\
         <h1>{0}</h1><p>Method: <b>{1}</b>. {2} pair(s); presence F1 {3}; exact order {4} over {5} pair(s) sharing ≥ 2 effects; \
         mean MRSTFT / no-op {6:.3}; median {7:.2} s per pair.</p>",
        escape(title),
        escape(method),
        t.pairs,
        opt(t.presence_f1),
        opt(t.exact_order),
        t.order_pairs,
        t.mrstft_over_no_op,
        t.median_seconds
    );
    for r in rows {
        let _ = write!(
            h,
            "<section><h2>{id}</h2><p>Estimate: <b>{est}</b>{truth}. MRSTFT {m:.3} (no-op {n:.3}), {s:.2} s.</p>\
             <p>{why}</p><details><summary>tool calls</summary><pre><code>{json}</code></pre></details>\
             <table><tr><th>dry</th><th>target (wet)</th><th>estimate re-rendered</th></tr><tr>\
             <td><img src=\"{id}.dry.bmp\" alt=\"dry spectrogram\"></td><td><img src=\"{id}.wet.bmp\" alt=\"wet spectrogram\"></td>\
             <td><img src=\"{id}.estimate.bmp\" alt=\"estimate spectrogram\"></td></tr><tr>\
             <td><audio controls src=\"{id}.dry.wav\"></audio></td><td><audio controls src=\"{id}.wet.wav\"></audio></td>\
             <td><audio controls src=\"{id}.estimate.wav\"></audio></td></tr></table></section>",
            id = escape(&r.id),
            est = if r.effects.is_empty() {
                "no effect".into()
            } else {
                escape(&r.effects.join(" → "))
            },
            truth = r.truth.as_ref().map_or(String::new(), |t| format!(
                "; truth: {}",
                escape(&t.join(" → "))
            )),
            m = r.mrstft.0,
            n = r.mrstft.1,
            s = r.seconds,
            why = escape(&r.rationale),
            json = escape(&r.chain_json),
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(effects: &[&str], truth: &[&str]) -> Row {
        Row {
            id: "x".into(),
            effects: effects.iter().map(|s| s.to_string()).collect(),
            chain_json: "[]".into(),
            truth: Some(truth.iter().map(|s| s.to_string()).collect()),
            rationale: "<why>".into(),
            mrstft: (1.0, 4.0),
            seconds: 2.0,
        }
    }

    #[test]
    fn totals_count_presence_and_order_exactly() {
        // tp 3, fp 1, fn 1 → F1 = 6/8; orders: only the first shares two effects, reversed.
        let rows = [
            row(&["delay", "gain", "reverb"], &["gain", "delay", "limiter"]),
            row(&["gain"], &["gain"]),
        ];
        let t = totals(&rows);
        assert!((t.presence_f1.unwrap() - 6.0 / 8.0).abs() < 1e-12, "{t:?}");
        assert_eq!((t.exact_order, t.order_pairs), (Some(0.0), 1));
        assert!((t.mrstft_over_no_op - 0.25).abs() < 1e-12);
        let html = page("t", "search", &rows);
        assert!(html.contains("&lt;why&gt;") && html.contains("x.estimate.wav"));
    }

    #[test]
    fn spectrogram_is_a_bmp_of_the_declared_size() {
        let a = crate::sources::procedural::source("pluck", 16000, 0.5, 1).unwrap();
        let b = spectrogram_bmp(&a);
        assert_eq!(&b[..2], b"BM");
        assert_eq!(b.len(), 54 + (3 * COLS).div_ceil(4) * 4 * ROWS);
    }
}
