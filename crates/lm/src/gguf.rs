//! The GGUF container (versions 2 and 3), read from and written to bytes.
//!
//! ```text
//! file    = "GGUF" u32:version u64:n_tensors u64:n_kv  kv × n_kv  info × n_tensors  pad  data
//! kv      = string:key u32:type value
//! value   = u8 | i8 | u16 | i16 | u32 | i32 | f32 | bool(u8) | string | array | u64 | i64 | f64
//!           (type ids 0..12 in that order; string = u64:len + UTF-8; array = u32:type u64:n values)
//! info    = string:name u32:n_dims u64 × n_dims:ne u32:ggml_type u64:offset
//! data    starts at the first multiple of `general.alignment` (default 32) after the infos;
//!         each tensor's `offset` is relative to it and is itself a multiple of the alignment
//! ```
//!
//! All numbers are little-endian. `ne[0]` is the fastest-varying dimension, so a tensor with
//! `ne = [in, out]` holds `out` rows of `in` values (PyTorch's `[out, in]` weight layout).
//! Every read is bounds-checked: a truncated or corrupt file is a [`genlab_core::Error::Parse`]
//! naming the file and what was wrong, never a panic. Sizes are checked before allocating, so a
//! corrupt count cannot ask for terabytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genlab_core::limits::excerpt;
use genlab_core::{Error, Result};

use crate::quant::{GgmlType, dequantize};

/// The file magic, `GGUF` in ASCII.
pub const MAGIC: [u8; 4] = *b"GGUF";
/// Data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Type 0.
    U8(u8),
    /// Type 1.
    I8(i8),
    /// Type 2.
    U16(u16),
    /// Type 3.
    I16(i16),
    /// Type 4.
    U32(u32),
    /// Type 5.
    I32(i32),
    /// Type 6.
    F32(f32),
    /// Type 7.
    Bool(bool),
    /// Type 8.
    String(String),
    /// Type 9: elements of one type (nested arrays allowed).
    Array(Vec<Value>),
    /// Type 10.
    U64(u64),
    /// Type 11.
    I64(i64),
    /// Type 12.
    F64(f64),
}

impl Value {
    fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// The value as an unsigned integer, if it is a non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// The value as a float, if it is numeric.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// The value as a string slice.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where one tensor lives and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// Name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Dimensions, fastest-varying first (`ne[0]`).
    pub ne: Vec<u64>,
    /// Storage type.
    pub ggml_type: GgmlType,
    /// Byte offset from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// Number of elements.
    pub fn numel(&self) -> u64 {
        self.ne.iter().product()
    }
}

/// A parsed GGUF file held in memory.
#[derive(Debug, Clone)]
pub struct Gguf {
    /// Where it was read from (for error messages).
    pub path: PathBuf,
    /// Format version (2 or 3).
    pub version: u32,
    /// Metadata in key order.
    pub metadata: BTreeMap<String, Value>,
    /// Tensor descriptions in file order.
    pub tensors: Vec<TensorInfo>,
    /// Data alignment.
    pub alignment: u64,
    bytes: Vec<u8>,
    data_start: u64,
}

/// A bounds-checked little-endian reader over the file bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn err(&self, msg: impl Into<String>) -> Error {
        Error::parse(
            self.path,
            None,
            format!("byte {}: {}", self.pos, msg.into()),
        )
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(self.err(format!("truncated: {what} needs {n} bytes, {left} remain")));
        }
        let s = &self.bytes[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u64(what)?;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| self.err(format!("{what} is not UTF-8")))
    }

    fn value(&mut self, type_id: u32, what: &str, depth: usize) -> Result<Value> {
        Ok(match type_id {
            0 => Value::U8(self.array::<1>(what)?[0]),
            1 => Value::I8(self.array::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            7 => match self.array::<1>(what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.err(format!("{what}: bool byte {b} is not 0 or 1"))),
            },
            8 => Value::String(self.string(what)?),
            9 => {
                if depth > 8 {
                    return Err(self.err(format!("{what}: arrays nested too deeply")));
                }
                let elem = self.u32(what)?;
                let n = self.u64(what)?;
                // Every element takes at least one byte: refuse counts the file cannot hold.
                if n > (self.bytes.len() - self.pos) as u64 {
                    return Err(self.err(format!("truncated: {what} claims {n} elements")));
                }
                let mut v = Vec::with_capacity(n.min(1 << 16) as usize);
                for _ in 0..n {
                    v.push(self.value(elem, what, depth + 1)?);
                }
                Value::Array(v)
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            t => return Err(self.err(format!("{what}: unknown metadata type {t}"))),
        })
    }
}

fn align_up(x: u64, a: u64) -> u64 {
    x.div_ceil(a) * a
}

impl Gguf {
    /// An error about this file (a parse error naming its path).
    pub fn error(&self, msg: impl Into<String>) -> Error {
        Error::parse(&self.path, None, msg)
    }

    /// Reads and parses `path`.
    pub fn open(path: &Path) -> Result<Gguf> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Gguf::parse(path, bytes)
    }

    /// Parses the bytes of a GGUF file (`path` is only used in messages).
    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Gguf> {
        let mut c = Cursor {
            bytes: &bytes,
            pos: 0,
            path,
        };
        if c.array::<4>("magic")? != MAGIC {
            return Err(Error::parse(path, None, "not a GGUF file (bad magic)"));
        }
        let version = c.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(Error::parse(
                path,
                None,
                format!("GGUF version {version} is not supported (2 or 3)"),
            ));
        }
        let n_tensors = c.u64("tensor count")?;
        let n_kv = c.u64("metadata count")?;
        // A key-value pair takes at least 12 bytes and a tensor info at least 24.
        if n_kv
            .saturating_mul(12)
            .saturating_add(n_tensors.saturating_mul(24))
            > bytes.len() as u64
        {
            return Err(Error::parse(
                path,
                None,
                format!("truncated: header claims {n_kv} metadata entries and {n_tensors} tensors"),
            ));
        }
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = c.string("metadata key")?;
            let t = c.u32("metadata type")?;
            let v = c.value(t, &key, 0)?;
            metadata.insert(key, v);
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a > 0 && a.is_power_of_two() => a,
                _ => {
                    return Err(Error::parse(
                        path,
                        None,
                        format!("general.alignment {v:?} is not a power of two"),
                    ));
                }
            },
        };
        let mut tensors = Vec::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            let name = c.string("tensor name")?;
            let n_dims = c.u32("tensor rank")?;
            if n_dims == 0 || n_dims > 4 {
                return Err(c.err(format!("tensor `{name}` has {n_dims} dimensions (1..=4)")));
            }
            let ne = (0..n_dims)
                .map(|_| c.u64("tensor dims"))
                .collect::<Result<Vec<_>>>()?;
            let ggml_type = GgmlType::from_id(c.u32("tensor type")?)
                .map_err(|msg| c.err(format!("tensor `{name}`: {msg}")))?;
            let offset = c.u64("tensor offset")?;
            if !offset.is_multiple_of(alignment) {
                return Err(c.err(format!(
                    "tensor `{name}` offset {offset} is not a multiple of {alignment}"
                )));
            }
            tensors.push(TensorInfo {
                name,
                ne,
                ggml_type,
                offset,
            });
        }
        let data_start = align_up(c.pos as u64, alignment);
        let g = Gguf {
            path: path.to_path_buf(),
            version,
            metadata,
            tensors,
            alignment,
            data_start,
            bytes,
        };
        for t in &g.tensors {
            g.tensor_bytes(t)?;
        }
        g.check_spans()?;
        Ok(g)
    }

    /// Tensors are packed in offset order, each padded to the alignment: a tensor whose bytes
    /// run into the next one, or which leaves more than its padding unread before the next one
    /// (or the end of the file), has a declared type or shape that does not match its data —
    /// F16 declared over F32 bytes read as garbage and gave non-finite activations (issue 25).
    fn check_spans(&self) -> Result<()> {
        let mut order: Vec<&TensorInfo> = self.tensors.iter().collect();
        order.sort_by_key(|t| t.offset);
        let data_len = (self.bytes.len() as u64).saturating_sub(self.data_start);
        for (i, t) in order.iter().enumerate() {
            let size = self.tensor_bytes(t)?.len() as u64;
            let (end, next) = match order.get(i + 1) {
                Some(n) => (n.offset, format!("tensor `{}` starts", excerpt(&n.name))),
                None => (data_len, "the file ends".to_string()),
            };
            let span = end - t.offset;
            if span < size || span > align_up(size, self.alignment) {
                return Err(self.error(format!(
                    "tensor `{}` is declared {:?} {:?} ({size} bytes), but {next} {span} bytes \
                     after it: its declared type or shape does not match its data",
                    excerpt(&t.name),
                    t.ggml_type,
                    t.ne
                )));
            }
        }
        Ok(())
    }

    /// The raw bytes of tensor `t`, checked against the file length.
    pub(crate) fn tensor_bytes(&self, t: &TensorInfo) -> Result<&[u8]> {
        let numel =
            t.ne.iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .ok_or_else(|| self.error(format!("tensor `{}` is too large", t.name)))?;
        let size = t
            .ggml_type
            .byte_size(numel)
            .map_err(|msg| self.error(format!("tensor `{}`: {msg}", t.name)))?;
        let start = self.data_start.checked_add(t.offset);
        let end = start.and_then(|s| s.checked_add(size));
        match (start, end) {
            (Some(s), Some(e)) if e <= self.bytes.len() as u64 => {
                Ok(&self.bytes[s as usize..e as usize])
            }
            _ => Err(self.error(format!(
                "truncated: tensor `{}` needs bytes {}..{} of the data section, the file has {}",
                t.name,
                t.offset,
                t.offset.saturating_add(size),
                (self.bytes.len() as u64).saturating_sub(self.data_start)
            ))),
        }
    }

    /// A metadata value, or a parse error naming the missing key.
    pub fn get(&self, key: &str) -> Result<&Value> {
        self.metadata
            .get(key)
            .ok_or_else(|| self.error(format!("missing metadata `{key}`")))
    }

    /// An integer metadata value.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get(key)?
            .as_u64()
            .ok_or_else(|| self.error(format!("metadata `{key}` is not an unsigned integer")))
    }

    /// A numeric metadata value as f64.
    pub fn get_f64(&self, key: &str) -> Result<f64> {
        self.get(key)?
            .as_f64()
            .ok_or_else(|| self.error(format!("metadata `{key}` is not a number")))
    }

    /// A string metadata value.
    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| self.error(format!("metadata `{key}` is not a string")))
    }

    /// A string-array metadata value.
    pub fn get_strings(&self, key: &str) -> Result<Vec<&str>> {
        let bad = || self.error(format!("metadata `{key}` is not an array of strings"));
        self.get(key)?
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|v| v.as_str().ok_or_else(bad))
            .collect()
    }

    /// The description of tensor `name`.
    pub fn info(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| self.error(format!("missing tensor `{name}`")))
    }

    /// Tensor `name` dequantised to f32, with its dims (`ne`, fastest first).
    pub fn tensor_f32(&self, name: &str) -> Result<(Vec<f32>, Vec<u64>)> {
        let t = self.info(name)?;
        let raw = self.tensor_bytes(t)?;
        let values = dequantize(t.ggml_type, raw, t.numel() as usize)
            .map_err(|msg| self.error(format!("tensor `{name}`: {msg}")))?;
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(self.error(format!(
                "tensor `{}` holds a non-finite value at index {i} (is its declared type {:?} right?)",
                excerpt(name),
                t.ggml_type
            )));
        }
        Ok((values, t.ne.clone()))
    }
}

/// A tensor to write: name, dims (fastest first), type, and its already-encoded bytes.
#[derive(Debug, Clone)]
pub struct TensorData {
    /// Name.
    pub name: String,
    /// Dims, fastest first.
    pub ne: Vec<u64>,
    /// Storage type of `bytes`.
    pub ggml_type: GgmlType,
    /// Encoded values.
    pub bytes: Vec<u8>,
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => put_string(out, s),
        Value::Array(a) => {
            // An empty array is written with element type u8.
            out.extend(a.first().map_or(0, Value::type_id).to_le_bytes());
            out.extend((a.len() as u64).to_le_bytes());
            for x in a {
                put_value(out, x);
            }
        }
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
    }
}

/// Encodes a version-3 GGUF file (used to build small models for tests and examples). The
/// alignment is `general.alignment` when present, else 32.
pub fn encode(metadata: &BTreeMap<String, Value>, tensors: &[TensorData]) -> Vec<u8> {
    let alignment = metadata
        .get("general.alignment")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_ALIGNMENT);
    let mut out = MAGIC.to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        put_string(&mut out, k);
        out.extend(v.type_id().to_le_bytes());
        put_value(&mut out, v);
    }
    let mut offset = 0u64;
    let mut offsets = Vec::with_capacity(tensors.len());
    for t in tensors {
        put_string(&mut out, &t.name);
        out.extend((t.ne.len() as u32).to_le_bytes());
        for d in &t.ne {
            out.extend(d.to_le_bytes());
        }
        out.extend(t.ggml_type.id().to_le_bytes());
        out.extend(offset.to_le_bytes());
        offsets.push(offset);
        offset = align_up(offset + t.bytes.len() as u64, alignment);
    }
    let data_start = align_up(out.len() as u64, alignment);
    out.resize(data_start as usize, 0);
    for (t, off) in tensors.iter().zip(offsets) {
        out.resize((data_start + off) as usize, 0);
        out.extend(&t.bytes);
    }
    out
}

#[cfg(test)]
mod tests;
