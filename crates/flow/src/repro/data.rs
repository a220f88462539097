//! The experiment's data: per dataset, the training points and K pairs of equal-size held-out
//! sets (A_k, B_k) that every distance is averaged over.

use genlab_core::Result;
use genlab_core::data::{Mixture, Points, digits};
use genlab_core::train::SeededRng;

use super::Sizes;

/// Held-out digits, split into two halves of this size per resplit.
const DIGITS_HALF: usize = 300;

/// One dataset: training points and K pairs of equal-size held-out sets (A_k, B_k).
pub(super) struct Dataset {
    /// `8gaussians` or `digits`.
    pub name: &'static str,
    /// Training points.
    pub train: Points,
    /// K pairs of independent held-out sets.
    pub splits: Vec<(Points, Points)>,
}

impl Dataset {
    /// The digits (scored also by FD-digits, drawn as images).
    pub fn is_digits(&self) -> bool {
        self.name == "digits"
    }

    /// `mixture` on the 2-D mixture, `digits` on the digits.
    pub fn pick<T>(&self, mixture: T, digits: T) -> T {
        if self.is_digits() { digits } else { mixture }
    }

    /// The arm of the data-vs-data floor.
    pub fn floor_arm(&self) -> String {
        format!("floor/{}", self.name)
    }

    /// Mean over the resplits of `f(k, A_k, B_k)`.
    pub fn mean_over_splits(
        &self,
        mut f: impl FnMut(usize, &Points, &Points) -> Result<f64>,
    ) -> Result<f64> {
        let mut total = 0.0;
        for (k, (a, b)) in self.splits.iter().enumerate() {
            total += f(k, a, b)?;
        }
        Ok(total / self.splits.len() as f64)
    }
}

/// The 2-D mixture (fresh draws for every held-out set) and the digits (a fixed held-out
/// part, split into random halves per resplit).
pub(super) fn datasets(sizes: &Sizes, rng: &mut SeededRng) -> Vec<Dataset> {
    let mixture = Mixture::EightGaussians;
    let train = mixture.sample(20_000, rng.rng());
    let splits = (0..sizes.resplits)
        .map(|_| {
            (
                mixture.sample(sizes.eval_points, rng.rng()),
                mixture.sample(sizes.eval_points, rng.rng()),
            )
        })
        .collect();
    let all = digits();
    let shuffled = all.select(&rng.permutation(all.len()));
    let (digits_train, held_out) = shuffled.split_at(all.len() - 2 * DIGITS_HALF);
    let digit_splits = (0..sizes.resplits)
        .map(|_| {
            let p = rng.permutation(held_out.len());
            (
                held_out.select(&p[..DIGITS_HALF]),
                held_out.select(&p[DIGITS_HALF..]),
            )
        })
        .collect();
    vec![
        Dataset {
            name: "8gaussians",
            train,
            splits,
        },
        Dataset {
            name: "digits",
            train: digits_train,
            splits: digit_splits,
        },
    ]
}
