//! Precision@1 over a candidate list, the truth at index 0, ties broken uniformly at random
//! (in expectation), so a constant scorer scores exactly 1/C:
//!
//! ```text
//! P@1 = (1/N) Σ_q [s_q0 = max_c s_qc] / #{c : s_qc = max_c s_qc}
//! ```
//!
//! Per negative type, the same over the sub-list {truth} ∪ {negatives of that type}.

use crate::caption::NegKind;

/// The expected hit of one query (`scores[0]` is the truth).
pub fn hit(scores: &[f32]) -> f64 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !scores[0].is_finite() || scores[0] < max {
        return 0.0;
    }
    1.0 / scores.iter().filter(|&&s| s == max).count() as f64
}

/// Mean [`hit`] over queries (each row: truth first).
pub fn precision_at_1(rows: &[Vec<f32>]) -> f64 {
    if rows.is_empty() {
        return f64::NAN;
    }
    rows.iter().map(|r| hit(r)).sum::<f64>() / rows.len() as f64
}

/// P@1 over {truth} ∪ {negatives of `kind`}: `kinds[c]` is candidate c+1's kind.
pub fn precision_at_1_by_kind(rows: &[Vec<f32>], kinds: &[Vec<NegKind>], kind: NegKind) -> f64 {
    let sub: Vec<Vec<f32>> = rows
        .iter()
        .zip(kinds)
        .map(|(r, k)| {
            std::iter::once(r[0])
                .chain(
                    r[1..]
                        .iter()
                        .zip(k)
                        .filter(|(_, kk)| **kk == kind)
                        .map(|(s, _)| *s),
                )
                .collect()
        })
        .collect();
    precision_at_1(&sub)
}

/// P@1 of retrieving, for each query row `i` of an `[n, n]` score matrix, column `i`.
pub fn retrieval_p1(scores: &[f32], n: usize) -> f64 {
    let rows: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            let r = &scores[i * n..(i + 1) * n];
            std::iter::once(r[i])
                .chain(
                    r.iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, s)| *s),
                )
                .collect()
        })
        .collect();
    precision_at_1(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caption::{PROPORTIONS, queries};

    #[test]
    fn perfect_scorer_is_one_constant_scorer_is_chance() {
        let qs = queries(3, 1, 40);
        let kinds: Vec<Vec<NegKind>> = qs
            .iter()
            .map(|q| q.negatives.iter().map(|(k, _)| *k).collect())
            .collect();
        let perfect: Vec<Vec<f32>> = qs
            .iter()
            .map(|_| (0..10).map(|c| if c == 0 { 1.0 } else { 0.0 }).collect())
            .collect();
        let constant: Vec<Vec<f32>> = qs.iter().map(|_| vec![0.5; 10]).collect();
        assert_eq!(precision_at_1(&perfect), 1.0);
        assert!((precision_at_1(&constant) - 0.1).abs() < 1e-12);
        for (kind, n) in PROPORTIONS {
            assert_eq!(precision_at_1_by_kind(&perfect, &kinds, kind), 1.0);
            let c = precision_at_1_by_kind(&constant, &kinds, kind);
            assert!((c - 1.0 / (1 + n) as f64).abs() < 1e-12, "{kind:?}: {c}");
        }
        // A scene-blind scorer (truth tied with the scene swaps, above the rest) sits at the
        // analytical ceiling 1/(1 + 3).
        let blind: Vec<Vec<f32>> = kinds
            .iter()
            .map(|k| {
                std::iter::once(1.0)
                    .chain(
                        k.iter()
                            .map(|kk| if *kk == NegKind::Scene { 1.0 } else { 0.0 }),
                    )
                    .collect()
            })
            .collect();
        assert!((precision_at_1(&blind) - 0.25).abs() < 1e-12);
        // NaN scores never count as a hit.
        assert_eq!(hit(&[f32::NAN, 0.0]), 0.0);
    }

    #[test]
    fn retrieval_of_an_identity_matrix() {
        let n = 4;
        let mut s = vec![0f32; n * n];
        for i in 0..n {
            s[i * n + i] = 1.0;
        }
        assert_eq!(retrieval_p1(&s, n), 1.0);
        assert!((retrieval_p1(&vec![0.0; n * n], n) - 0.25).abs() < 1e-12);
    }
}
