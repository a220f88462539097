//! Class relationships read off Hydra's pair gates g(a, b) ∈ (0, 1)^D.
//!
//! ```text
//! overlap(a, b) = cos( g(a, a), g(b, b) )        (do two classes open the same dimensions?)
//! open(a, b)    = (1/D) Σ_d g_d(a, b)            (how much of the space the pair's gate keeps)
//! ```
//!
//! Both are compared with the true shared-factor count S_ab over the C(C−1)/2 pairs a < b by
//! Spearman's ρ ([`genlab_core::metrics::correlation`]); `overlap` is the one the verdict reads
//! (the method note's first choice), `open` is reported beside it.

use genlab_core::metrics::correlation::spearman;

/// `overlap(a, b)` for all a, b (`C × C`) from the `[C·C][D]` gates of every pair.
pub fn gate_overlap(gates: &[f32], classes: usize) -> Vec<f64> {
    let d = gates.len() / (classes * classes);
    let own = |a: usize| &gates[(a * classes + a) * d..(a * classes + a + 1) * d];
    let mut out = vec![0.0; classes * classes];
    for a in 0..classes {
        for b in 0..classes {
            let (x, y) = (own(a), own(b));
            let dot: f64 = x
                .iter()
                .zip(y)
                .map(|(p, q)| (*p as f64) * (*q as f64))
                .sum();
            let nx: f64 = x.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
            let ny: f64 = y.iter().map(|q| (*q as f64).powi(2)).sum::<f64>().sqrt();
            out[a * classes + b] = dot / (nx * ny).max(1e-12);
        }
    }
    out
}

/// `open(a, b)` for all a, b (`C × C`).
pub fn gate_open(gates: &[f32], classes: usize) -> Vec<f64> {
    let d = gates.len() / (classes * classes);
    gates
        .chunks(d)
        .map(|g| g.iter().map(|&v| v as f64).sum::<f64>() / d as f64)
        .collect()
}

/// Spearman's ρ between `score(a, b)` and `sharing(a, b)` over the pairs a < b, with the
/// `(sharing, score)` points for a scatter plot.
pub fn correlation_with_sharing(
    score: &[f64],
    sharing: &[u32],
    classes: usize,
) -> (f64, Vec<(f64, f64)>) {
    let points: Vec<(f64, f64)> = (0..classes)
        .flat_map(|a| (a + 1..classes).map(move |b| (a, b)))
        .map(|(a, b)| (sharing[a * classes + b] as f64, score[a * classes + b]))
        .collect();
    let (x, y): (Vec<f64>, Vec<f64>) = points.iter().cloned().unzip();
    (spearman(&x, &y), points)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gates built so that classes open the dimensions of their factors: overlap rises with
    /// the shared count, so ρ = 1 when overlap is a monotone function of sharing.
    #[test]
    fn overlap_of_factor_aligned_gates_tracks_sharing() {
        let factors = [vec![0, 1, 2], vec![1, 2, 3], vec![2, 4, 5], vec![6, 7, 8]];
        let (c, d) = (4, 9);
        let mut gates = vec![0.01f32; c * c * d];
        for a in 0..c {
            for b in 0..c {
                for &f in factors[a].iter().chain(&factors[b]) {
                    gates[(a * c + b) * d + f] = 0.99;
                }
            }
        }
        let sharing: Vec<u32> = (0..c * c)
            .map(|k| {
                factors[k / c]
                    .iter()
                    .filter(|f| factors[k % c].contains(f))
                    .count() as u32
            })
            .collect();
        let overlap = gate_overlap(&gates, c);
        assert!((overlap[0] - 1.0).abs() < 1e-9);
        let (rho, points) = correlation_with_sharing(&overlap, &sharing, c);
        assert_eq!(points.len(), 6);
        assert!(rho > 0.9, "{rho}");
        let open = gate_open(&gates, c);
        assert!(
            open[0] < open[3],
            "a pair of disjoint classes keeps more dimensions open"
        );
    }
}
