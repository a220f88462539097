//! BatchTopK activation (Bussmann et al. 2024; `saprmarks/dictionary_learning`
//! `trainers/batch_top_k.py`) and its inference threshold.
//!
//! ```text
//! training:   post = ReLU(W_enc (x − b_dec) + b_enc)      (B × m)
//!             keep the B·k largest entries of the flattened batch, zero the rest
//!             → mean L0 is k, per-sample L0 varies
//! threshold:  θ ← β θ + (1 − β) · min{ z > 0 in the batch }   after `start` steps
//! inference:  z = post · 1[post > θ]                          (a JumpReLU with one θ)
//! ```
//!
//! [M] checked: dictionary_learning tracks θ with β = 0.999 from `threshold_start_step` = 1000
//! and initialises it to the first batch's minimum; SAELens (sae-lens 6.54 `batchtopk_sae.py`,
//! `update_topk_threshold`) instead starts θ at 0 and averages with rate 0.01 (β = 0.99) from
//! step 0, and on saving writes θ as a JumpReLU `threshold` vector of length `d_sae` (one value
//! repeated). Here β, the start step and the starting value (the first minimum, or 0 with
//! `from_zero`) are parameters (defaults as dictionary_learning; short runs lower the start),
//! and [`crate::saelens`] saves θ the SAELens way.
//!
//! Ties at the cut are resolved in scan order (sample-major, then latent index), so exactly
//! `B·k` entries fire when at least that many are positive.

use crate::codes::Codes;

/// Keep the `n·k` largest positive entries of the `[n, m]` pre-activations.
///
/// The cut value is found by selection on a candidate set: a fixed-stride subsample gives a
/// generous lower bound (twice the needed quantile), and only values above it are selected
/// among; if the bound was too high, every value is used. Either way the cut is exact. The
/// passes over the full matrix are branch-free counts and compares, so they vectorise.
pub fn batch_topk(pre: &[f32], m: usize, k: usize) -> Codes {
    let n = pre.len() / m;
    let budget = n * k;
    let positive = pre.iter().filter(|v| **v > 0.0).count();
    if positive <= budget {
        return Codes::from_dense(pre, m, |_, _, _| true);
    }
    if budget == 0 {
        return Codes::from_dense(pre, m, |_, _, _| false);
    }
    // With more positives than the budget, the budget-th largest value is positive.
    let threshold = cut_value(pre, budget);
    let above = pre.iter().filter(|v| **v > threshold).count();
    let mut ties_left = budget - above;
    let mut codes = Codes {
        offsets: Vec::with_capacity(n + 1),
        latents: Vec::with_capacity(budget),
        values: Vec::with_capacity(budget),
    };
    codes.offsets.push(0);
    for row in pre.chunks_exact(m) {
        for (j, &v) in row.iter().enumerate() {
            if v >= threshold {
                let take = v > threshold
                    || (ties_left > 0 && {
                        ties_left -= 1;
                        true
                    });
                if take {
                    codes.latents.push(j as u32);
                    codes.values.push(v);
                }
            }
        }
        codes.offsets.push(codes.latents.len());
    }
    codes
}

/// The `budget`-th largest of `values` (`1 ≤ budget ≤ len`).
fn cut_value(values: &[f32], budget: usize) -> f32 {
    const STRIDE: usize = 16;
    let exact = |mut v: Vec<f32>, budget: usize| {
        let cut = v.len() - budget;
        *v.select_nth_unstable_by(cut, |a, b| a.total_cmp(b)).1
    };
    let sample: Vec<f32> = values.iter().step_by(STRIDE).copied().collect();
    let want = (2 * budget).div_ceil(STRIDE) + 8;
    if want < sample.len() {
        let bound = exact(sample, want);
        let candidates: Vec<f32> = values.iter().copied().filter(|v| *v >= bound).collect();
        if candidates.len() >= budget {
            return exact(candidates, budget);
        }
    }
    exact(values.to_vec(), budget)
}

/// The running inference threshold θ.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Threshold {
    /// Current θ (negative until the first update).
    pub theta: f64,
    /// EMA factor β.
    pub beta: f64,
    /// First training step (0-based) that updates θ.
    pub start: u64,
}

impl Threshold {
    /// An unset threshold (the first update sets it to the batch minimum), or with
    /// `from_zero` one at 0 that the first update averages into (SAELens).
    pub fn new(beta: f64, start: u64, from_zero: bool) -> Threshold {
        Threshold {
            theta: if from_zero { 0.0 } else { -1.0 },
            beta,
            start,
        }
    }

    /// Folds in the smallest positive activation of `codes` at `step`.
    pub fn update(&mut self, step: u64, codes: &Codes) {
        if step < self.start {
            return;
        }
        let Some(min) = codes
            .values
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .min_by(|a, b| a.total_cmp(b))
        else {
            return;
        };
        self.theta = if self.theta < 0.0 {
            min as f64
        } else {
            self.beta * self.theta + (1.0 - self.beta) * min as f64
        };
    }

    /// θ for inference (0 — plain ReLU — if it was never set).
    pub fn value(&self) -> f32 {
        self.theta.max(0.0) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_batch_times_k_largest_across_rows() {
        // ReLU: [[1,0,3,0],[0,6,0,8]]; top 4 of the flattened batch: 8, 6, 3, 1.
        let pre = [1.0, -2.0, 3.0, -4.0, -5.0, 6.0, -7.0, 8.0];
        let c = batch_topk(&pre, 4, 2);
        assert_eq!(c.row(0).collect::<Vec<_>>(), vec![(0, 1.0), (2, 3.0)]);
        assert_eq!(c.row(1).collect::<Vec<_>>(), vec![(1, 6.0), (3, 8.0)]);
        // With k = 1 the budget is 2 and both winners sit in row 2: per-sample L0 varies.
        let c = batch_topk(&pre, 4, 1);
        assert_eq!(c.row(0).count(), 0);
        assert_eq!(c.row(1).collect::<Vec<_>>(), vec![(1, 6.0), (3, 8.0)]);
    }

    #[test]
    fn exactly_the_budget_fires_with_ties() {
        let pre = [1.0, 1.0, 1.0, 1.0, 2.0, 1.0];
        let c = batch_topk(&pre, 3, 1);
        assert_eq!(c.latents.len(), 2);
        assert_eq!(c.row(1).collect::<Vec<_>>(), vec![(1, 2.0)]);
    }

    #[test]
    fn fast_cut_agrees_with_sorting() {
        let mut rng = genlab_core::train::SeededRng::new(4);
        for (n, budget) in [(5000, 300), (5000, 4999), (100, 7), (20000, 20)] {
            let v: Vec<f32> = rng.normal_vec(n).iter().map(|x| x.abs()).collect();
            let mut sorted = v.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            assert_eq!(cut_value(&v, budget), sorted[budget - 1]);
        }
    }

    #[test]
    fn threshold_starts_at_the_minimum_then_averages() {
        let mut t = Threshold::new(0.5, 1, false);
        let c = batch_topk(&[1.0, 3.0, 2.0, 4.0], 2, 2);
        t.update(0, &c);
        assert_eq!(t.value(), 0.0, "not started yet");
        t.update(1, &c);
        assert_eq!(t.theta, 1.0);
        let c2 = batch_topk(&[3.0, 5.0], 2, 1);
        t.update(2, &c2);
        assert_eq!(t.theta, 0.5 * 1.0 + 0.5 * 5.0);
        // From zero (SAELens): the first update already averages.
        let mut z = Threshold::new(0.75, 0, true);
        assert_eq!(z.value(), 0.0);
        z.update(0, &c);
        assert_eq!(z.theta, 0.25 * 1.0);
    }
}
