//! Text corpora for language-model activations, and their cut into fixed-length sequences.
//!
//! ```text
//! corpus    `kjv`          the King James Bible (cache `kjv/kjv.txt`, one verse per line; the
//!                          `Ge1:1 ` reference prefix of each line is removed)
//!           `shakespeare`  the 42 modern-spelling plays and poems (cache
//!                          `shakespeare/shakespeare.txt`, Gutenberg headers included)
//!           a path         any UTF-8 text file (invalid bytes become U+FFFD)
//! sequences ids = encode(text); chunk c = ids[c·(T−1) .. (c+1)·(T−1)] (the last partial chunk
//!           is dropped); sequence c = [BOS] ++ chunk c, T tokens; the chunks are put in a seeded
//!           random order
//! ```
//!
//! Extraction takes sequences from the front of that order and evaluation
//! ([`crate::ce_recovered`]) from the back, so with one seed the two never share a sequence
//! until together they ask for more than the corpus holds.

use std::path::{Path, PathBuf};

use genlab_core::data::Cache;
use genlab_core::train::SeededRng;
use genlab_core::{Error, Result};
use genlab_lm::Tokenizer;

/// Corpus names known to the data cache, with their file.
pub const NAMED: [(&str, &str); 2] = [("kjv", "kjv.txt"), ("shakespeare", "shakespeare.txt")];

/// A loaded corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Its name (`kjv`, `shakespeare`) or the path given.
    pub name: String,
    /// The file read.
    pub path: PathBuf,
    /// The text (line ends normalised to `\n`).
    pub text: String,
}

/// Reads corpus `name_or_path`: a cached name or a text file.
pub fn load_corpus(name_or_path: &str, cache: &Cache) -> Result<Corpus> {
    let (path, named) = match NAMED.iter().find(|(n, _)| *n == name_or_path) {
        Some((name, file)) => {
            let p = cache.path(name).join(file);
            if !p.is_file() {
                return Err(Error::MissingData {
                    name: name.to_string(),
                    dir: cache.dir().to_path_buf(),
                });
            }
            (p, Some(*name))
        }
        None => {
            let p = Path::new(name_or_path);
            if !p.is_file() {
                return Err(Error::InvalidInput(format!(
                    "corpus `{name_or_path}` is neither a text file nor a known name (kjv, shakespeare)"
                )));
            }
            (p.to_path_buf(), None)
        }
    };
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let mut text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    if named == Some("kjv") {
        text = strip_verse_refs(&text);
    }
    if text.trim().is_empty() {
        return Err(Error::parse(&path, None, "the corpus is empty"));
    }
    Ok(Corpus {
        name: name_or_path.to_string(),
        path,
        text,
    })
}

/// Removes a leading `Book<chapter>:<verse> ` reference from every line.
fn strip_verse_refs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let body = match line.split_once(' ') {
            Some((head, rest)) if is_verse_ref(head) => rest,
            _ => line,
        };
        out.push_str(body);
        out.push('\n');
    }
    out
}

/// `Ge1:1`, `1Co13:4`, `Rev22:21`: letters (after an optional book number), digits, `:`, digits.
fn is_verse_ref(s: &str) -> bool {
    let Some((book_ch, verse)) = s.split_once(':') else {
        return false;
    };
    let book_end = book_ch.trim_end_matches(|c: char| c.is_ascii_digit());
    !verse.is_empty()
        && verse.bytes().all(|b| b.is_ascii_digit())
        && book_end.len() < book_ch.len()
        && book_end
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .chars()
            .any(|c| c.is_ascii_alphabetic())
}

/// A corpus cut into BOS-prefixed sequences of `ctx` tokens, in a seeded order.
#[derive(Debug, Clone)]
pub struct Sequences {
    /// Tokens per sequence T (BOS included).
    pub ctx: usize,
    /// The BOS id at position 0.
    pub bos: u32,
    /// Every sequence, in the seeded order.
    pub all: Vec<Vec<u32>>,
    /// Tokens in the whole corpus.
    pub corpus_tokens: usize,
}

impl Sequences {
    /// Tokenises `text` and cuts it (see the module doc).
    pub fn new(tok: &Tokenizer, text: &str, ctx: usize, seed: u64) -> Result<Sequences> {
        if ctx < 3 {
            return Err(Error::InvalidInput(format!(
                "--ctx {ctx} must be at least 3"
            )));
        }
        let bos = tok.bos.or(tok.eos).ok_or_else(|| {
            Error::InvalidInput("the tokenizer has no BOS or EOS token to start sequences".into())
        })?;
        let ids = tok.encode_parallel(text);
        let mut all: Vec<Vec<u32>> = ids
            .chunks_exact(ctx - 1)
            .map(|c| {
                let mut s = Vec::with_capacity(ctx);
                s.push(bos);
                s.extend_from_slice(c);
                s
            })
            .collect();
        if all.is_empty() {
            return Err(Error::InvalidInput(format!(
                "the corpus has {} tokens, fewer than one sequence of {ctx}",
                ids.len()
            )));
        }
        let order = SeededRng::new(seed).permutation(all.len());
        let mut shuffled = vec![Vec::new(); all.len()];
        for (slot, i) in shuffled.iter_mut().zip(order) {
            *slot = std::mem::take(&mut all[i]);
        }
        Ok(Sequences {
            ctx,
            bos,
            all: shuffled,
            corpus_tokens: ids.len(),
        })
    }

    /// The first `n` sequences (for extraction).
    pub fn front(&self, n: usize) -> Result<&[Vec<u32>]> {
        self.check(n)?;
        Ok(&self.all[..n])
    }

    /// The last `n` sequences (for evaluation).
    pub fn back(&self, n: usize) -> Result<&[Vec<u32>]> {
        self.check(n)?;
        Ok(&self.all[self.all.len() - n..])
    }

    fn check(&self, n: usize) -> Result<()> {
        if n == 0 || n > self.all.len() {
            return Err(Error::InvalidInput(format!(
                "asked for {n} sequences of {} tokens; the corpus has {} ({} tokens)",
                self.ctx,
                self.all.len(),
                self.corpus_tokens
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_lm::Gguf;
    use genlab_lm::llama::{SyntheticSpec, synthetic_gguf};

    pub(crate) fn tiny_tokenizer() -> Tokenizer {
        let g = Gguf::parse(
            Path::new("t.gguf"),
            synthetic_gguf(SyntheticSpec::default(), 1),
        )
        .unwrap();
        Tokenizer::from_gguf(&g).unwrap()
    }

    #[test]
    fn kjv_references_are_stripped_and_names_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let e = load_corpus("kjv", &cache).unwrap_err().to_string();
        assert!(e.contains("genlab data fetch kjv"), "{e}");
        std::fs::create_dir_all(cache.path("kjv")).unwrap();
        std::fs::write(
            cache.path("kjv").join("kjv.txt"),
            "Ge1:1 In the beginning.\r\n1Co13:4 Charity suffereth long.\nRev22:21 Amen.\nNote: 3:16 stays\n",
        )
        .unwrap();
        let c = load_corpus("kjv", &cache).unwrap();
        assert_eq!(
            c.text,
            "In the beginning.\nCharity suffereth long.\nAmen.\nNote: 3:16 stays\n"
        );
        let p = dir.path().join("mine.txt");
        std::fs::write(&p, "Ge1:1 kept as is").unwrap();
        assert_eq!(
            load_corpus(p.to_str().unwrap(), &cache).unwrap().text,
            "Ge1:1 kept as is"
        );
        let e = load_corpus("nowhere.txt", &cache).unwrap_err().to_string();
        assert!(e.contains("nowhere.txt"), "{e}");
    }

    #[test]
    fn sequences_are_bos_plus_consecutive_chunks_in_a_seeded_order() {
        let tok = tiny_tokenizer();
        let text = "the cat and the hat sat in the sun and ran ".repeat(20);
        let ids = tok.encode(&text);
        let s = Sequences::new(&tok, &text, 9, 4).unwrap();
        assert_eq!(s.all.len(), ids.len() / 8);
        let mut chunks: Vec<&[u32]> = s.all.iter().map(|q| &q[1..]).collect();
        assert!(s.all.iter().all(|q| q.len() == 9 && q[0] == s.bos));
        assert_ne!(chunks, ids.chunks_exact(8).collect::<Vec<_>>(), "shuffled");
        chunks.sort();
        let mut want: Vec<&[u32]> = ids.chunks_exact(8).collect();
        want.sort();
        assert_eq!(chunks, want);
        assert_eq!(Sequences::new(&tok, &text, 9, 4).unwrap().all, s.all);
        let n = s.all.len();
        assert_eq!(s.front(2).unwrap(), &s.all[..2]);
        assert_eq!(s.back(2).unwrap(), &s.all[n - 2..]);
        assert!(
            s.front(n + 1)
                .unwrap_err()
                .to_string()
                .contains("the corpus has")
        );
        assert!(Sequences::new(&tok, "hi", 9, 0).is_err());
    }
}
