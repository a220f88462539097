//! A network as data: its named tensors in a fixed order, read from and written to
//! safetensors, flattened into one vector and back.
//!
//! ```text
//! flatten(θ) = [vec(T_1), vec(T_2), …]      tensors in order, each row-major
//! unflatten(flatten(θ)) = θ                  (same names, shapes and values)
//! ```
//!
//! Tensors are ordered by their names in natural order (`layers.2` before `layers.10`), which
//! is also the order a PyTorch `nn.Sequential` numbers its layers; safetensors files store
//! f32 (f64 and f16/bf16 are read and converted).

use std::collections::HashMap;
use std::path::Path;

use genlab_core::{Error, Result, fsx};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::error::{WResult, WeightsError};

/// One named tensor: its shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Row-major values, `len = Π shape`.
    pub data: Vec<f32>,
}

/// A network's tensors, in natural name order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Params {
    /// Tensor names, in order.
    pub names: Vec<String>,
    /// The tensors, parallel to `names`.
    pub arrays: Vec<Array>,
}

/// Compares names with their digit runs read as numbers (`layers.2` < `layers.10`).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, xa), (db, xb)) in ca.iter().zip(&cb) {
        let ord = if *da && *db {
            let (na, nb) = (xa.trim_start_matches('0'), xb.trim_start_matches('0'));
            na.len().cmp(&nb.len()).then(na.cmp(nb))
        } else {
            xa.cmp(xb)
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

impl Params {
    /// Tensors from `(name, array)` pairs, put in natural name order.
    pub fn new(mut pairs: Vec<(String, Array)>) -> Params {
        pairs.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        let (names, arrays) = pairs.into_iter().unzip();
        Params { names, arrays }
    }

    /// The tensor called `name`.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.arrays[i])
    }

    /// The total number of values.
    pub fn len(&self) -> usize {
        self.arrays.iter().map(|a| a.data.len()).sum()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All values as one vector (module doc).
    pub fn flatten(&self) -> Vec<f32> {
        self.arrays
            .iter()
            .flat_map(|a| a.data.iter().copied())
            .collect()
    }

    /// Tensors with this one's names and shapes holding the values of `flat`.
    pub fn unflatten(&self, flat: &[f32]) -> WResult<Params> {
        if flat.len() != self.len() {
            return Err(WeightsError::SpecMismatch(format!(
                "{} values for a network of {} parameters",
                flat.len(),
                self.len()
            )));
        }
        let mut offset = 0;
        let arrays = self
            .arrays
            .iter()
            .map(|a| {
                let n = a.data.len();
                offset += n;
                Array {
                    shape: a.shape.clone(),
                    data: flat[offset - n..offset].to_vec(),
                }
            })
            .collect();
        Ok(Params {
            names: self.names.clone(),
            arrays,
        })
    }

    /// Checks that `other` has the same tensor names and shapes.
    pub fn same_layout(&self, other: &Params) -> WResult<()> {
        if self.names != other.names {
            return Err(WeightsError::SpecMismatch(format!(
                "tensors [{}] vs [{}]",
                self.names.join(", "),
                other.names.join(", ")
            )));
        }
        for (name, (a, b)) in self.names.iter().zip(self.arrays.iter().zip(&other.arrays)) {
            if a.shape != b.shape {
                return Err(WeightsError::SpecMismatch(format!(
                    "`{name}` is {:?} vs {:?}",
                    a.shape, b.shape
                )));
            }
        }
        Ok(())
    }

    /// Reads every tensor of a safetensors file (f32, f64, f16, bf16; i64/i32 as f32), refusing non-finite
    /// values.
    pub fn read(path: &Path) -> Result<Params> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::parse(path, None, format!("not a safetensors file: {e}")))?;
        let mut pairs = Vec::new();
        for (name, view) in st.tensors() {
            let data = decode(view.dtype(), view.data()).ok_or_else(|| {
                Error::parse(path, None, format!("`{name}` has dtype {:?}", view.dtype()))
            })?;
            if let Some(v) = data.iter().find(|v| !v.is_finite()) {
                return Err(Error::parse(path, None, format!("`{name}` holds {v}")));
            }
            let array = Array {
                shape: view.shape().to_vec(),
                data,
            };
            pairs.push((name, array));
        }
        if pairs.is_empty() {
            return Err(Error::parse(path, None, "holds no tensors"));
        }
        Ok(Params::new(pairs))
    }

    /// Writes the tensors as an f32 safetensors file, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes: Vec<Vec<u8>> = self
            .arrays
            .iter()
            .map(|a| a.data.iter().flat_map(|v| v.to_le_bytes()).collect())
            .collect();
        let views = self
            .names
            .iter()
            .zip(&self.arrays)
            .zip(&bytes)
            .map(|((name, a), b)| {
                TensorView::new(Dtype::F32, a.shape.clone(), b)
                    .map(|v| (name.as_str(), v))
                    .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let out = safetensors::serialize(views, None::<HashMap<String, String>>)
            .map_err(|e| Error::InvalidInput(format!("safetensors: {e}")))?;
        fsx::atomic_write(path, &out)
    }
}

fn decode(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        // Integer tensors (PyTorch's BatchNorm `num_batches_tracked` counter) as f32.
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::I32 => bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32)
            .collect(),
        _ => return None,
    })
}

/// IEEE half → single precision.
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if frac == 0 => sign,
        0 => {
            // Subnormal: value = frac · 2⁻²⁴.
            let v = frac as f32 * 2f32.powi(-24);
            return if sign != 0 { -v } else { v };
        }
        31 => sign | 0x7f80_0000 | (frac << 13),
        e => sign | (((e - 15 + 127) as u32) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::testing::scratch;

    fn toy() -> Params {
        Params::new(vec![
            (
                "layers.10.weight".into(),
                Array {
                    shape: vec![1, 2],
                    data: vec![5.0, 6.0],
                },
            ),
            (
                "layers.2.weight".into(),
                Array {
                    shape: vec![2, 2],
                    data: vec![1.0, 2.0, 3.0, 4.0],
                },
            ),
            (
                "layers.2.bias".into(),
                Array {
                    shape: vec![2],
                    data: vec![-1.0, 0.5],
                },
            ),
        ])
    }

    #[test]
    fn natural_order_and_flatten_round_trip() {
        let p = toy();
        assert_eq!(
            p.names,
            ["layers.2.bias", "layers.2.weight", "layers.10.weight"]
        );
        let flat = p.flatten();
        assert_eq!(flat, [-1.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(p.unflatten(&flat).unwrap(), p);
        let err = p.unflatten(&flat[1..]).unwrap_err().to_string();
        assert!(err.contains("7 values"), "{err}");
    }

    #[test]
    fn safetensors_round_trip_and_bad_files() {
        let (_dir, path) = scratch("net.safetensors");
        toy().write(&path).unwrap();
        assert_eq!(Params::read(&path).unwrap(), toy());
        std::fs::write(&path, b"not a network").unwrap();
        let err = Params::read(&path).unwrap_err().to_string();
        assert!(err.contains("not a safetensors file"), "{err}");
    }

    #[test]
    fn half_precision_decodes() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }
}
