//! Sparse latent codes: for each sample, the latents that fired and their values (CSR layout).
//! Every architecture's activation produces one of these; the decoder and the backward pass
//! only ever walk these entries, never the dense `B × m` code matrix.

/// Per-sample active latents, in increasing latent order within a sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Codes {
    /// `offsets[b]..offsets[b + 1]` are sample `b`'s entries; `offsets.len() = B + 1`.
    pub offsets: Vec<usize>,
    /// Latent index of each entry.
    pub latents: Vec<u32>,
    /// Activation value of each entry (always > 0).
    pub values: Vec<f32>,
}

impl Codes {
    /// Codes from a dense `[n, m]` matrix where `keep(b, j, value)` says which entries fire.
    pub fn from_dense(dense: &[f32], m: usize, keep: impl Fn(usize, usize, f32) -> bool) -> Codes {
        let n = dense.len() / m;
        let mut codes = Codes {
            offsets: Vec::with_capacity(n + 1),
            ..Codes::default()
        };
        codes.offsets.push(0);
        for (b, row) in dense.chunks_exact(m).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if v > 0.0 && keep(b, j, v) {
                    codes.latents.push(j as u32);
                    codes.values.push(v);
                }
            }
            codes.offsets.push(codes.latents.len());
        }
        codes
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sample `b`'s `(latent, value)` entries.
    pub fn row(&self, b: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = self.offsets[b]..self.offsets[b + 1];
        self.latents[r.clone()]
            .iter()
            .zip(&self.values[r])
            .map(|(&j, &v)| (j as usize, v))
    }

    /// Mean number of active latents per sample.
    pub fn mean_l0(&self) -> f64 {
        self.latents.len() as f64 / self.len().max(1) as f64
    }
}
