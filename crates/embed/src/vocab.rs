//! Tokens: the grammar's words (captions) and the box written as text.
//!
//! ```text
//! caption tokens  = [w₁, …, w_n, EOS]  then PAD to the batch length   (w from [`WORDS`])
//! box-as-text     = [x1, y1, x2, y2] quantised to BOX_BINS bins; token = slot·BOX_BINS + bin
//! ```
//!
//! The box tokens are VLM2Vec's "Referring object bbox: [x1, y1, x2, y2]" (how SCaR gives every
//! model the box in text) at the grammar's scale.

use genlab_core::{Error, Result};

use crate::scene::{BBox, COLOURS, IMAGE, SCENES, SHAPES, SIZES};

/// Padding token.
pub const PAD: u32 = 0;
/// End-of-sequence token (the pooled position).
pub const EOS: u32 = 1;
/// Longest caption, EOS included.
pub const MAX_LEN: usize = 32;
/// Quantisation bins of each box coordinate.
pub const BOX_BINS: usize = 16;

/// Function words of the grammar (content words come from the scene tables).
const FUNCTION: [&str; 9] = [
    "left", "right", "of", "above", "below", "the", "in", "with", ",",
];

/// The whole vocabulary, in token order (PAD and EOS first).
pub fn words() -> Vec<&'static str> {
    let mut w = vec!["<pad>", "<eos>"];
    w.extend(SIZES);
    w.extend(COLOURS);
    w.extend(SHAPES);
    w.extend(SCENES);
    w.extend(FUNCTION);
    w
}

/// Vocabulary size.
pub fn vocab_size() -> usize {
    words().len()
}

/// The tokens of `text` (case-insensitive, commas split off) followed by EOS; an unknown word
/// or an over-long caption is an error naming it.
pub fn tokenize(text: &str) -> Result<Vec<u32>> {
    let w = words();
    let spaced = text.to_lowercase().replace(',', " , ");
    let mut out = Vec::new();
    for word in spaced.split_whitespace() {
        let id = w.iter().position(|v| *v == word).ok_or_else(|| {
            Error::InvalidInput(format!(
                "caption `{text}`: unknown word `{word}` (the vocabulary is the SCaR-lite \
                 grammar: {})",
                w[2..].join(" ")
            ))
        })?;
        out.push(id as u32);
    }
    if out.is_empty() {
        return Err(Error::InvalidInput("empty caption".into()));
    }
    out.push(EOS);
    if out.len() > MAX_LEN {
        return Err(Error::InvalidInput(format!(
            "caption `{text}` has {} words; at most {} fit",
            out.len() - 1,
            MAX_LEN - 1
        )));
    }
    Ok(out)
}

/// A padded batch: tokens `[n, len]` (row-major), each row's EOS index.
pub fn pad_batch(rows: &[Vec<u32>]) -> (Vec<i64>, usize, Vec<usize>) {
    let len = rows.iter().map(Vec::len).max().unwrap_or(1);
    let mut tokens = vec![PAD as i64; rows.len() * len];
    let mut eos = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        for (j, &t) in r.iter().enumerate() {
            tokens[i * len + j] = t as i64;
        }
        eos.push(r.len() - 1);
    }
    (tokens, len, eos)
}

/// The box as four text tokens.
pub fn box_tokens(b: &BBox) -> [i64; 4] {
    let bin = |v: f32| -> i64 {
        let q = (v / IMAGE as f32 * BOX_BINS as f32).floor() as i64;
        q.clamp(0, BOX_BINS as i64 - 1)
    };
    // The right/bottom edges are exclusive: quantise the last covered pixel.
    let coords = [b.x1, b.y1, b.x2 - 0.5, b.y2 - 0.5];
    let mut t = [0i64; 4];
    for (slot, v) in coords.into_iter().enumerate() {
        t[slot] = slot as i64 * BOX_BINS as i64 + bin(v);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caption::{Query, queries};

    #[test]
    fn every_generated_caption_tokenizes_and_round_trips() {
        let w = words();
        for q in queries(2, 0, 50) {
            for text in q.candidates() {
                let t = tokenize(&text).unwrap();
                assert_eq!(*t.last().unwrap(), EOS);
                let back: Vec<&str> = t[..t.len() - 1].iter().map(|&i| w[i as usize]).collect();
                assert_eq!(back.join(" "), text);
            }
            let all = crate::caption::describe_all(&q.scene);
            assert!(tokenize(&all).is_ok(), "{all}");
        }
        let _: &Query = &queries(2, 0, 1)[0];
    }

    #[test]
    fn bad_captions_are_one_line_errors() {
        for bad in ["", "a purple elephant", "   "] {
            let e = tokenize(bad).unwrap_err().to_string();
            assert!(!e.contains('\n'), "{e}");
        }
        let long = vec!["red"; 40].join(" ");
        assert!(tokenize(&long).is_err());
    }

    #[test]
    fn padding_and_box_tokens() {
        let (t, len, eos) = pad_batch(&[vec![5, 1], vec![3, 4, 1]]);
        assert_eq!((t, len, eos), (vec![5, 1, 0, 3, 4, 1], 3, vec![1, 2]));
        let b = BBox {
            x1: 0.0,
            y1: 4.0,
            x2: 32.0,
            y2: 10.0,
        };
        assert_eq!(box_tokens(&b), [0, 16 + 2, 32 + 15, 48 + 4]);
    }
}
