//! Adam (Kingma & Ba) over the SAE's four host parameter blocks, with the global grad-norm clip
//! `dictionary_learning` applies (max norm 1.0).
//!
//! ```text
//! g ← g · min(1, c / ‖g‖)
//! m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g²
//! θ ← θ − lr · m̂ / (√v̂ + ε),   m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)
//! ```
//!
//! burn's Adam works on burn modules and autodiff gradients; the SAE's gradients are computed by
//! hand on sparse codes (see [`crate::loss`]), so the update is done here on the same buffers.

use rayon::prelude::*;

use genlab_core::Result;
use genlab_core::train::{Blobs, Stateful};

use crate::train::restore_f32s;

/// Adam state for a fixed list of parameter blocks.
#[derive(Debug, Clone)]
pub struct Adam {
    beta1: f32,
    beta2: f32,
    eps: f32,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// State for blocks of the given sizes, with β = (0.9, 0.999), ε = 1e-8.
    pub fn new(sizes: &[usize]) -> Adam {
        Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: sizes.iter().map(|&n| vec![0.0; n]).collect(),
            v: sizes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// One step; `grads` are scaled in place by the clip first. Returns the pre-clip norm.
    pub fn step(
        &mut self,
        params: &mut [&mut [f32]],
        grads: &mut [&mut [f32]],
        lr: f32,
        clip: f32,
    ) -> f64 {
        let norm = grads
            .iter()
            .map(|g| crate::linalg::sq_norm(g))
            .sum::<f64>()
            .sqrt();
        let scale = if clip > 0.0 && norm > clip as f64 {
            (clip as f64 / norm) as f32
        } else {
            1.0
        };
        self.t += 1;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads.iter())
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            p.par_iter_mut()
                .zip(g.par_iter())
                .zip(m.par_iter_mut().zip(v.par_iter_mut()))
                .for_each(|((p, &g), (m, v))| {
                    let g = g * scale;
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
        }
        norm
    }
}

impl Adam {
    /// Writes the moments and the step count as `{prefix}adam.t`, `{prefix}adam.m<i>` and
    /// `{prefix}adam.v<i>` (β and ε are constants).
    pub fn save_prefixed(&self, blobs: &mut Blobs, prefix: &str) -> Result<()> {
        blobs.put_json(&format!("{prefix}adam.t"), &self.t)?;
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            blobs.put_f32s(&format!("{prefix}adam.m{i}"), m)?;
            blobs.put_f32s(&format!("{prefix}adam.v{i}"), v)?;
        }
        Ok(())
    }

    /// Reads what [`Adam::save_prefixed`] wrote under `prefix`.
    pub fn load_prefixed(&mut self, blobs: &Blobs, prefix: &str) -> Result<()> {
        self.t = blobs.get_json(&format!("{prefix}adam.t"))?;
        for (i, (m, v)) in self.m.iter_mut().zip(&mut self.v).enumerate() {
            restore_f32s(blobs, &format!("{prefix}adam.m{i}"), m)?;
            restore_f32s(blobs, &format!("{prefix}adam.v{i}"), v)?;
        }
        Ok(())
    }
}

/// The moments and the step count, as `adam.t`, `adam.m<i>` and `adam.v<i>`.
impl Stateful for Adam {
    fn save(&self, blobs: &mut Blobs) -> Result<()> {
        self.save_prefixed(blobs, "")
    }

    fn load(&mut self, blobs: &Blobs) -> Result<()> {
        self.load_prefixed(blobs, "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_coordinate_by_lr_against_the_gradient_sign() {
        let mut p = vec![1.0f32, -1.0];
        let mut g = vec![0.3f32, -0.001];
        let mut adam = Adam::new(&[2]);
        adam.step(&mut [&mut p], &mut [&mut g], 0.1, 0.0);
        assert!(
            (p[0] - 0.9).abs() < 1e-5 && (p[1] + 0.9).abs() < 1e-4,
            "{p:?}"
        );
    }

    #[test]
    fn minimises_a_quadratic() {
        let mut p = vec![3.0f32, -2.0];
        let mut adam = Adam::new(&[2]);
        for _ in 0..2000 {
            let mut g: Vec<f32> = p.iter().map(|x| 2.0 * x).collect();
            adam.step(&mut [&mut p], &mut [&mut g], 0.01, 1.0);
        }
        assert!(p.iter().all(|x| x.abs() < 1e-2), "{p:?}");
    }
}
