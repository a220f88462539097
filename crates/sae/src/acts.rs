//! Where activation vectors come from: memory, files streamed from disk in chunks, or the
//! synthetic generator. Training never needs the whole set in memory.
//!
//! Files: `.npy` (version 1–3, little-endian `<f4`, C order, shape `(n, d)`) and `.safetensors`
//! (one F32 tensor of shape `[n, d]`, or `[.., d]` flattened to rows). Only the header is parsed
//! up front; rows are read with seeks, `chunk_rows` at a time, shuffled within the chunk, and
//! served as batches; at the end of the last file the stream starts again. A directory means
//! every such file in it, in name order (a sharded store). genlab-core's `read_npy` reads a whole
//! file into memory, which is what streaming must avoid, hence the header parse here.
//!
//! Every source reports its [`Position`] and can [`seek`](ActivationSource::seek) back to it, so
//! a resumed training run reads exactly the batches the uninterrupted run would have read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use genlab_core::train::{RngState, SeededRng};
use genlab_core::{Error, Result};

/// A source of training batches.
pub trait ActivationSource {
    /// Width d of every vector.
    fn dim(&self) -> usize;
    /// Fills `out` with `batch` vectors (`batch × d` values).
    fn next_batch(&mut self, batch: usize, out: &mut Vec<f32>) -> Result<()>;
    /// Where the stream is now (a checkpoint's data cursor).
    fn position(&self) -> Position;
    /// Continues from `position`, taken from a source built with the same data and seed.
    fn seek(&mut self, position: &Position) -> Result<()>;
}

/// Where a source is in its stream: enough to serve the same batches again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The source's random stream (sampling, shuffling or generation).
    pub rng: RngState,
    /// A file stream's chunk being served (`None` before the first chunk, and for sources
    /// without chunks).
    pub chunk: Option<ChunkPosition>,
}

/// The chunk a [`FileStream`] is serving: re-reading it with the same shuffle restores the
/// buffer without storing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkPosition {
    /// File index of the chunk's first row.
    pub file: usize,
    /// The chunk's first row in that file.
    pub row: usize,
    /// The random stream before the chunk was shuffled.
    pub rng: RngState,
    /// Rows of the chunk already served.
    pub served: usize,
}

impl Position {
    /// The position of a source whose only state is its random stream.
    pub fn of_rng(rng: &SeededRng) -> Position {
        Position {
            rng: rng.state(),
            chunk: None,
        }
    }
}

/// Vectors held in memory, sampled uniformly with replacement.
#[derive(Debug, Clone)]
pub struct InMemory {
    d: usize,
    data: Vec<f32>,
    rng: SeededRng,
}

impl InMemory {
    /// `[n, d]` rows; draws are seeded by `seed`.
    pub fn new(d: usize, data: Vec<f32>, seed: u64) -> Result<InMemory> {
        if d == 0 || data.is_empty() || !data.len().is_multiple_of(d) {
            return Err(Error::InvalidInput(format!(
                "activations: {} values do not form rows of width {d}",
                data.len()
            )));
        }
        Ok(InMemory {
            d,
            data,
            rng: SeededRng::new(seed),
        })
    }
}

impl ActivationSource for InMemory {
    fn dim(&self) -> usize {
        self.d
    }

    fn next_batch(&mut self, batch: usize, out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        let n = self.data.len() / self.d;
        for i in self.rng.indices(batch, n) {
            out.extend_from_slice(&self.data[i * self.d..(i + 1) * self.d]);
        }
        Ok(())
    }

    fn position(&self) -> Position {
        Position::of_rng(&self.rng)
    }

    fn seek(&mut self, position: &Position) -> Result<()> {
        self.rng = SeededRng::from_state(position.rng);
        Ok(())
    }
}

/// One file's rows: where they start and how many there are.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFile {
    /// The file.
    pub path: PathBuf,
    /// Byte offset of row 0.
    pub offset: u64,
    /// Number of rows.
    pub rows: usize,
    /// Row width.
    pub d: usize,
}

impl RowFile {
    /// Parses the header of a `.npy` or `.safetensors` file.
    pub fn open(path: &Path) -> Result<RowFile> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
        let (offset, rows, d) = match ext {
            "npy" => npy_header(&mut f, path)?,
            "safetensors" => safetensors_header(&mut f, path)?,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "{}: activations must be .npy or .safetensors",
                    path.display()
                )));
            }
        };
        if rows == 0 || d == 0 {
            return Err(Error::parse(path, None, "no activation rows"));
        }
        // Checked: a header's rows × d × 4 wrapped to 0 and passed (issue 25).
        let need = (rows as u64)
            .checked_mul(d as u64)
            .and_then(|n| n.checked_mul(4))
            .and_then(|n| n.checked_add(offset));
        match need {
            Some(need) if need <= len => {}
            _ => {
                return Err(Error::parse(
                    path,
                    None,
                    format!(
                        "truncated: {rows}×{d} f32 values need {} bytes, the file has {len}",
                        need.map_or("more than 2^64".into(), |n| n.to_string())
                    ),
                ));
            }
        }
        genlab_core::limits::elements("activation row width", &[d])?;
        Ok(RowFile {
            path: path.to_path_buf(),
            offset,
            rows,
            d,
        })
    }

    /// Rows `start..start + count` as f32 values (non-finite values are refused).
    pub fn read_rows(&self, start: usize, count: usize, out: &mut Vec<f32>) -> Result<()> {
        let mut f = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        f.seek(SeekFrom::Start(self.offset + (start * self.d * 4) as u64))
            .map_err(|e| Error::io(&self.path, e))?;
        let mut bytes = vec![0u8; count * self.d * 4];
        f.read_exact(&mut bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        let first = out.len();
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        if let Some(i) = out[first..].iter().position(|v| !v.is_finite()) {
            return Err(Error::parse(
                &self.path,
                None,
                format!("non-finite value in row {}", start + i / self.d),
            ));
        }
        Ok(())
    }
}

/// The next `len` bytes of `f`: allocated as they are read, so a header length of 2^32 in a
/// small file is a "truncated" error, not a 4 GiB allocation.
fn read_header(f: &mut File, path: &Path, len: u64) -> Result<Vec<u8>> {
    let mut h = Vec::new();
    f.take(len)
        .read_to_end(&mut h)
        .map_err(|e| Error::io(path, e))?;
    if h.len() as u64 != len {
        return Err(Error::parse(
            path,
            None,
            format!(
                "truncated header: {len} bytes declared, {} present",
                h.len()
            ),
        ));
    }
    Ok(h)
}

fn npy_header(f: &mut File, path: &Path) -> Result<(u64, usize, usize)> {
    let bad = |msg: &str| Error::parse(path, None, msg.to_string());
    let mut pre = [0u8; 8];
    f.read_exact(&mut pre).map_err(|e| Error::io(path, e))?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (bad magic)"));
    }
    let (hlen, start) = match pre[6] {
        1 => {
            let mut b = [0u8; 2];
            f.read_exact(&mut b).map_err(|e| Error::io(path, e))?;
            (u16::from_le_bytes(b) as usize, 10u64)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            f.read_exact(&mut b).map_err(|e| Error::io(path, e))?;
            (u32::from_le_bytes(b) as usize, 12u64)
        }
        v => return Err(bad(&format!("unknown .npy version {v}"))),
    };
    let h = read_header(f, path, hlen as u64)?;
    let h = String::from_utf8_lossy(&h);
    if !h.contains("'descr': '<f4'") {
        return Err(bad("activations must be little-endian float32 ('<f4')"));
    }
    if h.contains("'fortran_order': True") {
        return Err(bad("Fortran-order arrays are not supported"));
    }
    let shape = h
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split('(').nth(1))
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("header has no shape"))?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad("shape entries must be non-negative integers"))
        })
        .collect::<Result<_>>()?;
    match dims.as_slice() {
        [n, d] => Ok((start + hlen as u64, *n, *d)),
        _ => Err(bad("activations must be a 2-D array (n, d)")),
    }
}

fn safetensors_header(f: &mut File, path: &Path) -> Result<(u64, usize, usize)> {
    let bad = |msg: String| Error::parse(path, None, msg);
    let mut b = [0u8; 8];
    f.read_exact(&mut b).map_err(|e| Error::io(path, e))?;
    let hlen = u64::from_le_bytes(b);
    if hlen > 100_000_000 {
        return Err(bad("implausible safetensors header length".into()));
    }
    let h = read_header(f, path, hlen)?;
    let json: serde_json::Value =
        serde_json::from_slice(&h).map_err(|e| bad(format!("bad safetensors header: {e}")))?;
    let tensors: Vec<(&String, &serde_json::Value)> = json
        .as_object()
        .ok_or_else(|| bad("bad safetensors header".into()))?
        .iter()
        .filter(|(k, _)| k.as_str() != "__metadata__")
        .collect();
    let [(name, t)] = tensors.as_slice() else {
        return Err(bad(format!(
            "expected one activation tensor, found {}",
            tensors.len()
        )));
    };
    if t["dtype"] != "F32" {
        return Err(bad(format!(
            "tensor `{}` is {}; only F32 activations are supported",
            genlab_core::limits::excerpt(name),
            genlab_core::limits::excerpt(&t["dtype"].to_string())
        )));
    }
    let name = genlab_core::limits::excerpt(name);
    // Every entry must be a size: negative, float, string or null entries were dropped
    // (issue 25), silently changing the shape.
    let shape: Vec<u64> = t["shape"]
        .as_array()
        .ok_or_else(|| bad(format!("tensor `{name}` has no shape list")))?
        .iter()
        .map(|v| v.as_u64())
        .collect::<Option<_>>()
        .ok_or_else(|| {
            bad(format!(
                "tensor `{name}`: shape entries must be non-negative integers"
            ))
        })?;
    let offsets: Vec<u64> = t["data_offsets"]
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_u64()).collect::<Option<_>>())
        .filter(|o: &Vec<u64>| o.len() == 2 && o[0] <= o[1])
        .ok_or_else(|| {
            bad(format!(
                "tensor `{name}`: data_offsets must be [begin, end] with begin ≤ end"
            ))
        })?;
    if shape.len() < 2 {
        return Err(bad(format!("tensor `{name}` must have at least 2 dims")));
    }
    let d = shape[shape.len() - 1];
    let rows = shape[..shape.len() - 1]
        .iter()
        .try_fold(1u64, |a, &n| a.checked_mul(n));
    let bytes = rows
        .and_then(|r| r.checked_mul(d))
        .and_then(|n| n.checked_mul(4));
    if bytes != Some(offsets[1] - offsets[0]) {
        return Err(bad(format!(
            "tensor `{name}`: shape {shape:?} does not match data_offsets {offsets:?}"
        )));
    }
    // The header plus the offset must not wrap (a wrapped offset trained on header bytes).
    let start = (8 + hlen)
        .checked_add(offsets[0])
        .ok_or_else(|| bad(format!("tensor `{name}`: data offset out of range")))?;
    let to_usize =
        |v: u64| usize::try_from(v).map_err(|_| bad(format!("tensor `{name}` is too large")));
    Ok((start, to_usize(rows.unwrap_or(0))?, to_usize(d)?))
}

/// The activation files behind a path: the file itself, or every `.npy` / `.safetensors` in a
/// directory (sorted by name). All must share one width. A store that `genlab sae acts --shard`
/// parts are still writing (a `store.json` without `manifest.json`) is refused.
pub fn open_files(path: &Path) -> Result<Vec<RowFile>> {
    if path.join(crate::lm_acts::store::STORE).is_file()
        && !path.join(crate::lm_acts::MANIFEST).is_file()
    {
        return Err(Error::InvalidInput(format!(
            "{}: an activation store without its manifest (shards missing or not gathered); \
             run `genlab sae gather {}`",
            path.display(),
            path.display()
        )));
    }
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("npy" | "safetensors")
                )
            })
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: no .npy or .safetensors activation files",
            path.display()
        )));
    }
    let opened = files
        .iter()
        .map(|p| RowFile::open(p))
        .collect::<Result<Vec<_>>>()?;
    let d = opened[0].d;
    if let Some(f) = opened.iter().find(|f| f.d != d) {
        return Err(Error::InvalidInput(format!(
            "{} has width {}, {} has {d}",
            f.path.display(),
            f.d,
            opened[0].path.display()
        )));
    }
    Ok(opened)
}

/// Rows streamed from files: `chunk_rows` at a time, shuffled within a chunk, cycling forever.
#[derive(Debug)]
pub struct FileStream {
    files: Vec<RowFile>,
    chunk_rows: usize,
    file: usize,
    row: usize,
    buffer: Vec<f32>,
    order: Vec<usize>,
    next: usize,
    rng: SeededRng,
    /// The chunk in `buffer`: its file, first row, and the random stream before its shuffle.
    chunk: Option<(usize, usize, RngState)>,
}

impl FileStream {
    /// A stream over `files`, shuffled with `seed`.
    pub fn new(files: Vec<RowFile>, chunk_rows: usize, seed: u64) -> Result<FileStream> {
        if files.is_empty() || chunk_rows == 0 {
            return Err(Error::InvalidInput("no activation rows to stream".into()));
        }
        Ok(FileStream {
            files,
            chunk_rows,
            file: 0,
            row: 0,
            buffer: Vec::new(),
            order: Vec::new(),
            next: 0,
            rng: SeededRng::new(seed),
            chunk: None,
        })
    }

    /// Total rows across the files.
    pub fn total_rows(&self) -> usize {
        self.files.iter().map(|f| f.rows).sum()
    }

    fn refill(&mut self) -> Result<()> {
        self.chunk = Some((self.file, self.row, self.rng.state()));
        let f = &self.files[self.file];
        let count = self.chunk_rows.min(f.rows - self.row);
        self.buffer.clear();
        f.read_rows(self.row, count, &mut self.buffer)?;
        self.row += count;
        if self.row == f.rows {
            self.row = 0;
            self.file = (self.file + 1) % self.files.len();
        }
        self.order = self.rng.permutation(count);
        self.next = 0;
        Ok(())
    }
}

impl ActivationSource for FileStream {
    fn dim(&self) -> usize {
        self.files[0].d
    }

    fn next_batch(&mut self, batch: usize, out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        let d = self.dim();
        while out.len() < batch * d {
            if self.next == self.order.len() {
                self.refill()?;
            }
            let i = self.order[self.next];
            self.next += 1;
            out.extend_from_slice(&self.buffer[i * d..(i + 1) * d]);
        }
        Ok(())
    }

    fn position(&self) -> Position {
        Position {
            rng: self.rng.state(),
            chunk: self.chunk.map(|(file, row, rng)| ChunkPosition {
                file,
                row,
                rng,
                served: self.next,
            }),
        }
    }

    fn seek(&mut self, position: &Position) -> Result<()> {
        let Some(c) = position.chunk else {
            (self.file, self.row, self.next) = (0, 0, 0);
            self.order.clear();
            self.chunk = None;
            self.rng = SeededRng::from_state(position.rng);
            return Ok(());
        };
        let bad =
            || Error::InvalidInput("activation stream position does not fit these files".into());
        if c.file >= self.files.len() || c.row >= self.files[c.file].rows {
            return Err(bad());
        }
        (self.file, self.row) = (c.file, c.row);
        self.rng = SeededRng::from_state(c.rng);
        self.refill()?;
        if c.served > self.order.len() || self.rng.state() != position.rng {
            return Err(bad());
        }
        self.next = c.served;
        Ok(())
    }
}

/// Calls `f` on consecutive chunks of at most `chunk_rows` rows of every file, in order, up to
/// `max_rows` rows in all (for evaluation).
pub fn for_each_chunk(
    files: &[RowFile],
    chunk_rows: usize,
    max_rows: usize,
    mut f: impl FnMut(&[f32]) -> Result<()>,
) -> Result<usize> {
    let mut seen = 0;
    let mut buf = Vec::new();
    for file in files {
        let mut row = 0;
        while row < file.rows && seen < max_rows {
            let count = chunk_rows.min(file.rows - row).min(max_rows - seen);
            buf.clear();
            file.read_rows(row, count, &mut buf)?;
            f(&buf)?;
            row += count;
            seen += count;
        }
    }
    Ok(seen)
}

/// Writes `[n, d]` rows as a version-1 `<f4` `.npy` file (for tests and examples).
pub fn write_npy_rows(path: &Path, rows: &[f32], d: usize) -> Result<()> {
    let points = genlab_core::data::Points::new(d, rows.to_vec(), None)?;
    genlab_core::data::write_npy(path, &points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::testing::scratch;

    fn rows(n: usize, d: usize) -> Vec<f32> {
        (0..n * d).map(|i| i as f32).collect()
    }

    #[test]
    fn npy_stream_visits_every_row_once_per_pass() {
        let (_dir, p) = scratch("a.npy");
        write_npy_rows(&p, &rows(10, 3), 3).unwrap();
        let files = open_files(&p).unwrap();
        assert_eq!((files[0].rows, files[0].d), (10, 3));
        let mut s = FileStream::new(files, 4, 1).unwrap();
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for _ in 0..5 {
            s.next_batch(2, &mut out).unwrap();
            seen.extend(out.chunks(3).map(|r| r[0] as usize / 3));
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }

    /// A stream moved to a saved position serves the batches the original served after it,
    /// whether the position was taken before any chunk, mid-chunk or at a chunk's end.
    #[test]
    fn seek_continues_the_same_batches() {
        let (_dir, p) = scratch("a.npy");
        write_npy_rows(&p, &rows(23, 3), 3).unwrap();
        let stream = || FileStream::new(open_files(&p).unwrap(), 5, 7).unwrap();
        let memory = || InMemory::new(3, rows(23, 3), 7).unwrap();
        let sources: [Box<dyn Fn() -> Box<dyn ActivationSource>>; 2] = [
            Box::new(|| Box::new(stream())),
            Box::new(|| Box::new(memory())),
        ];
        for make in &sources {
            for skip in [0, 1, 2, 5, 9] {
                let mut a = make();
                let mut out = Vec::new();
                for _ in 0..skip {
                    a.next_batch(2, &mut out).unwrap();
                }
                let pos = a.position();
                let mut b = make();
                b.next_batch(3, &mut out).unwrap();
                b.seek(&pos).unwrap();
                for _ in 0..12 {
                    let (mut x, mut y) = (Vec::new(), Vec::new());
                    a.next_batch(2, &mut x).unwrap();
                    b.next_batch(2, &mut y).unwrap();
                    assert_eq!(x, y, "after {skip} batches");
                }
            }
        }
    }

    #[test]
    fn safetensors_rows_read_back() {
        let (dir, p) = scratch("acts.safetensors");
        let data = rows(6, 4);
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view =
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 3, 4], &bytes)
                .unwrap();
        safetensors::serialize_to_file([("acts", view)], None, &p).unwrap();
        let files = open_files(dir.path()).unwrap();
        assert_eq!((files[0].rows, files[0].d), (6, 4));
        let mut all = Vec::new();
        let n = for_each_chunk(&files, 4, usize::MAX, |c| {
            all.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 6);
        assert_eq!(all, data);
    }

    #[test]
    fn bad_inputs_are_refused_with_the_path() {
        let (dir, p) = scratch("x.csv");
        std::fs::write(&p, "1,2").unwrap();
        assert!(
            RowFile::open(&p)
                .unwrap_err()
                .to_string()
                .contains(".npy or .safetensors")
        );
        let q = dir.path().join("t.npy");
        write_npy_rows(&q, &rows(4, 2), 2).unwrap();
        let bytes = std::fs::read(&q).unwrap();
        std::fs::write(&q, &bytes[..bytes.len() - 4]).unwrap();
        assert!(
            RowFile::open(&q)
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        assert!(open_files(&dir.path().join("empty_dir_missing")).is_err());
    }

    /// Writes a safetensors file of one tensor with a hand-written header entry.
    fn safetensors_with(path: &Path, entry: &str, data: &[u8]) {
        let header = format!("{{\"acts\":{entry}}}");
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        std::fs::write(path, bytes).unwrap();
    }

    /// Issue 25: an `.npy` shape whose rows × d × 4 wraps passed the size check (then
    /// panicked); a huge header length allocated before reading.
    #[test]
    fn npy_sizes_that_overflow_are_refused() {
        let (_dir, p) = scratch("a.npy");
        let npy = |shape: &str| {
            let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n");
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            b.extend_from_slice(dict.as_bytes());
            b.extend_from_slice(&[0u8; 16]);
            b
        };
        let good = npy("(2, 2)");
        std::fs::write(&p, &good).unwrap();
        assert_eq!(RowFile::open(&p).unwrap().rows, 2);
        for shape in [
            "(4611686018427387904, 4)",
            "(2, 4611686018427387904)",
            "(18446744073709551615, 1)",
        ] {
            std::fs::write(&p, npy(shape)).unwrap();
            let err = RowFile::open(&p).unwrap_err().to_string();
            assert!(err.contains("truncated"), "{shape}: {err}");
        }
        let mut huge_header = good.clone();
        huge_header[6] = 2;
        huge_header.splice(8..10, u32::MAX.to_le_bytes());
        std::fs::write(&p, &huge_header).unwrap();
        let err = RowFile::open(&p).unwrap_err().to_string();
        assert!(err.contains("truncated header"), "{err}");
    }

    /// Issue 25: shapes with negative, float, string or null entries were accepted (the
    /// entries dropped), and a data offset wrapping to 0 trained on the header bytes.
    #[test]
    fn safetensors_headers_must_be_exact() {
        let (_dir, p) = scratch("a.safetensors");
        let data: Vec<u8> = rows(2, 3).iter().flat_map(|v| v.to_le_bytes()).collect();
        safetensors_with(
            &p,
            r#"{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}"#,
            &data,
        );
        assert_eq!(RowFile::open(&p).unwrap().rows, 2);
        let bad = [
            (r#"[2,-3]"#, "[0,24]", "non-negative integers"),
            (r#"[2,3.0]"#, "[0,24]", "non-negative integers"),
            (r#"[2,"3"]"#, "[0,24]", "non-negative integers"),
            (r#"[2,null,3]"#, "[0,24]", "non-negative integers"),
            (r#"[2,3]"#, "[18446744073709551615,24]", "data_offsets"),
            (
                r#"[2,3]"#,
                "[18446744073709551600,18446744073709551624]",
                "data_offsets",
            ),
            (r#"[2,3]"#, "[0,12]", "does not match"),
            (r#"[4611686018427387904,4]"#, "[0,24]", "does not match"),
        ];
        for (shape, offsets, needle) in bad {
            let entry = format!(r#"{{"dtype":"F32","shape":{shape},"data_offsets":{offsets}}}"#);
            safetensors_with(&p, &entry, &data);
            let err = RowFile::open(&p).unwrap_err().to_string();
            assert!(err.contains(needle), "{shape} {offsets}: {err}");
        }
        // An offset that fits u64 but puts the data past the end of the file.
        let entry = r#"{"dtype":"F32","shape":[2,3],"data_offsets":[18446744073709551000,18446744073709551024]}"#;
        safetensors_with(&p, entry, &data);
        assert!(RowFile::open(&p).is_err());
    }
}
