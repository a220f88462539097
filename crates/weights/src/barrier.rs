//! Linear mode connectivity: the loss along the straight line between two networks.
//!
//! ```text
//! θ(α) = (1 − α) θ_A + α θ_B,     α ∈ [0, 1]
//! barrier = max_α  L(θ(α)) − [(1 − α) L(θ_A) + α L(θ_B)]
//! ```
//!
//! Two independently trained networks usually show a loss bump in the middle; after B is
//! permuted onto A (weight matching) the bump shrinks — Re-Basin's headline observation.

use crate::convnet::ConvNet;
use crate::error::WResult;
use crate::mlp::{Mlp, accuracy, cross_entropy};

/// Loss and accuracy at evenly spaced points of the interpolation path.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Path {
    /// α at each point (0 = A, 1 = B).
    pub alphas: Vec<f64>,
    /// Mean cross-entropy at each point.
    pub loss: Vec<f64>,
    /// Accuracy at each point.
    pub accuracy: Vec<f64>,
}

impl Path {
    /// The loss along the path as a labelled line (α, loss), for plots.
    pub fn loss_line(&self, label: &str) -> genlab_core::report::LineSeries {
        genlab_core::report::LineSeries {
            label: label.into(),
            points: self
                .alphas
                .iter()
                .copied()
                .zip(self.loss.iter().copied())
                .collect(),
        }
    }

    /// The loss barrier of the module doc (≥ 0 up to the sampled points).
    pub fn barrier(&self) -> f64 {
        let (l0, l1) = (self.loss[0], *self.loss.last().expect("≥ 2 points"));
        self.alphas
            .iter()
            .zip(&self.loss)
            .map(|(&a, &l)| l - ((1.0 - a) * l0 + a * l1))
            .fold(0.0, f64::max)
    }

    /// The largest drop of accuracy below the endpoints' interpolation.
    pub fn accuracy_barrier(&self) -> f64 {
        let (a0, a1) = (self.accuracy[0], *self.accuracy.last().expect("≥ 2 points"));
        self.alphas
            .iter()
            .zip(&self.accuracy)
            .map(|(&a, &acc)| ((1.0 - a) * a0 + a * a1) - acc)
            .fold(0.0, f64::max)
    }
}

/// θ(α) of the module doc (same widths assumed).
pub fn interpolate(a: &Mlp, b: &Mlp, alpha: f32) -> Mlp {
    let mix = |x: &Vec<f32>, y: &Vec<f32>| -> Vec<f32> {
        x.iter()
            .zip(y)
            .map(|(p, q)| (1.0 - alpha) * p + alpha * q)
            .collect()
    };
    Mlp {
        widths: a.widths.clone(),
        w: a.w.iter().zip(&b.w).map(|(x, y)| mix(x, y)).collect(),
        b: a.b.iter().zip(&b.b).map(|(x, y)| mix(x, y)).collect(),
    }
}

/// The path from `a` to `b` at `points` (≥ 2) evenly spaced α, scored on `(x, y)`.
pub fn path(a: &Mlp, b: &Mlp, x: &[f32], y: &[u32], points: usize) -> Path {
    let points = points.max(2);
    let alphas: Vec<f64> = (0..points)
        .map(|k| k as f64 / (points - 1) as f64)
        .collect();
    let mut loss = Vec::with_capacity(points);
    let mut acc = Vec::with_capacity(points);
    for &alpha in &alphas {
        let logits = interpolate(a, b, alpha as f32).logits(x, y.len());
        loss.push(cross_entropy(&logits, y));
        acc.push(accuracy(&logits, y));
    }
    Path {
        alphas,
        loss,
        accuracy: acc,
    }
}

/// The path between two CNNs of one layout: every point's BatchNorm statistics recalibrated on
/// the `calib` inputs (interpolated running statistics are not the interpolated network's),
/// then scored on `(x, y)`.
pub fn path_cnn(
    a: &ConvNet,
    b: &ConvNet,
    x: &[f32],
    y: &[u32],
    calib: &[f32],
    points: usize,
) -> WResult<Path> {
    let points = points.max(2);
    let layout = a.to_params();
    let (pa, pb) = (layout.flatten(), b.to_params().flatten());
    let per = a.side * a.side * a.channels[0];
    let alphas: Vec<f64> = (0..points)
        .map(|k| k as f64 / (points - 1) as f64)
        .collect();
    let mut loss = Vec::with_capacity(points);
    let mut acc = Vec::with_capacity(points);
    for &t in &alphas {
        let t = t as f32;
        let mix: Vec<f32> = pa
            .iter()
            .zip(&pb)
            .map(|(p, q)| (1.0 - t) * p + t * q)
            .collect();
        let mut net = ConvNet::from_params(&layout.unflatten(&mix)?, a.side)?;
        net.recalibrate(calib, calib.len() / per);
        let logits = net.logits(x, y.len());
        loss.push(cross_entropy(&logits, y));
        acc.push(accuracy(&logits, y));
    }
    Ok(Path {
        alphas,
        loss,
        accuracy: acc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barrier_of_a_known_bump_and_of_a_network_with_itself() {
        let p = Path {
            alphas: vec![0.0, 0.5, 1.0],
            loss: vec![1.0, 3.0, 2.0],
            accuracy: vec![0.9, 0.5, 0.7],
        };
        assert!((p.barrier() - 1.5).abs() < 1e-12);
        assert!((p.accuracy_barrier() - 0.3).abs() < 1e-12);
        let mut rng = genlab_core::train::SeededRng::new(1);
        let a = Mlp::init(&[4, 5, 3], &mut rng);
        let x = rng.normal_vec(8 * 4);
        let y: Vec<u32> = (0..8).map(|s| s % 3).collect();
        assert!(path(&a, &a, &x, &y, 5).barrier() < 1e-6);
    }
}
