//! Quantisation: a float neuron becomes the integer neuron, scaled so that its largest weight
//! is `k ∈ 1..=8` and rounded, that best reproduces the wanted decisions; the float rule
//! "pre-activation > 0" becomes the truncated-ReLU rule "pre-activation ≥ 1".

use super::float::affine;
use crate::gnn::Neuron;

/// The integer neuron (largest |weight| = k ∈ 1..=8) agreeing most often with `want`, as
/// `(k, weights, agreement)`; the integer rule is `q · [row, 1] ≥ 1`.
pub(super) fn quantise(w: &[f64], rows: &[Vec<f64>], want: &[bool]) -> (i64, Vec<i64>, f64) {
    let largest = w
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    let mut best: Option<(i64, Vec<i64>, f64)> = None;
    for k in 1..=8i64 {
        let q: Vec<i64> = w
            .iter()
            .map(|v| (v * k as f64 / largest).round() as i64)
            .collect();
        let qf: Vec<f64> = q.iter().map(|&x| x as f64).collect();
        let hits = rows
            .iter()
            .zip(want)
            .filter(|(r, t)| (affine(&qf, r) >= 1.0) == **t)
            .count();
        let acc = hits as f64 / rows.len().max(1) as f64;
        if best.as_ref().is_none_or(|b| acc > b.2) {
            best = Some((k, q, acc));
        }
    }
    best.expect("k ranges over 1..=8")
}

/// The integer neuron reading `[own…, neighbours…, bias]` weights over `width` features.
pub(super) fn neuron(q: &[i64], width: usize) -> Neuron {
    let terms = |range: std::ops::Range<usize>| -> Vec<(usize, i64)> {
        range
            .filter(|&i| q[i] != 0)
            .map(|i| (i % width, q[i]))
            .collect()
    };
    Neuron::plain(&terms(0..width), &terms(width..2 * width), q[2 * width])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_keeps_an_exact_integer_rule() {
        // Float rule 0.5·x − 0.9 > 0 ⟺ x ≥ 2 on integers; k = 5 gives 3x − 5 ≥ 1 ⟺ x ≥ 2.
        let rows: Vec<Vec<f64>> = (0..5).map(|x| vec![x as f64]).collect();
        let want: Vec<bool> = (0..5).map(|x| x >= 2).collect();
        let (_, q, acc) = quantise(&[0.5, -0.9], &rows, &want);
        assert_eq!(acc, 1.0, "{q:?}");
        let n = neuron(&[1, 0, -2, 3, 0], 2);
        assert_eq!((n.c, n.a, n.b), (vec![(0, 1)], vec![(0, -2), (1, 3)], 0));
    }
}
