//! TopK activation (Gao et al. 2024): per sample, keep the `k` largest positive
//! pre-activations and zero the rest.
//!
//! ```text
//! z = TopK_k(ReLU(W_enc (x − b_dec) + b_enc))
//! ```
//!
//! Ties at the k-th value are broken by the lower latent index, so the selection is a pure
//! function of the pre-activations.

use crate::codes::Codes;

/// Per-row top-`k` of the positive entries of the `[n, m]` pre-activations.
pub fn topk(pre: &[f32], m: usize, k: usize) -> Codes {
    let n = pre.len() / m;
    let mut codes = Codes {
        offsets: Vec::with_capacity(n + 1),
        ..Codes::default()
    };
    codes.offsets.push(0);
    let mut cand: Vec<(f32, u32)> = Vec::with_capacity(m);
    for row in pre.chunks_exact(m) {
        cand.clear();
        cand.extend(
            row.iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(j, &v)| (v, j as u32)),
        );
        push_top(&mut cand, k, &mut codes);
    }
    codes
}

/// Appends one sample to `codes`: the `k` largest of the `(value, latent)` candidates (ties to
/// the lower latent), in latent order. `cand` is reordered.
pub fn push_top(cand: &mut Vec<(f32, u32)>, k: usize, codes: &mut Codes) {
    if cand.len() > k && k > 0 {
        cand.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    cand.truncate(k);
    cand.sort_by_key(|c| c.1);
    for &(v, j) in cand.iter() {
        codes.latents.push(j);
        codes.values.push(v);
    }
    codes.offsets.push(codes.latents.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_k_largest_positive_per_row() {
        let pre = [1.0, -2.0, 3.0, 0.5, /* row 2 */ -1.0, -2.0, 0.1, -3.0];
        let c = topk(&pre, 4, 2);
        assert_eq!(c.row(0).collect::<Vec<_>>(), vec![(0, 1.0), (2, 3.0)]);
        // Only one positive value in row 2: fewer than k fire.
        assert_eq!(c.row(1).collect::<Vec<_>>(), vec![(2, 0.1)]);
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        let c = topk(&[2.0, 2.0, 2.0], 3, 2);
        assert_eq!(c.latents, vec![0, 1]);
    }
}
