//! How Hydra draws the pair class y₂ of each example (the positives of its anchor views are
//! the views of class y₂):
//!
//! ```text
//! arbitrary   y₂ = y[π],  π a uniform permutation of the batch     (the paper's setting)
//! identical   y₂ = y                                               (SupCon-like)
//! distinct    y₂ = (y + k) mod C,  k ~ U{1, …, C − 1}              (never the own class)
//! ```

use genlab_core::train::SeededRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The pairing mode of the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pairing {
    /// A random batch member's class.
    Arbitrary,
    /// The example's own class.
    Identical,
    /// A uniformly random other class.
    Distinct,
}

impl Pairing {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pairing::Arbitrary => "arbitrary",
            Pairing::Identical => "identical",
            Pairing::Distinct => "distinct",
        }
    }

    /// y₂ for the batch labels `y` over `classes` classes (≥ 2 for `Distinct`).
    pub fn pair_labels(self, y: &[u32], classes: u32, rng: &mut SeededRng) -> Vec<u32> {
        match self {
            Pairing::Identical => y.to_vec(),
            Pairing::Arbitrary => rng.permutation(y.len()).into_iter().map(|j| y[j]).collect(),
            Pairing::Distinct => {
                let r = rng.rng();
                y.iter()
                    .map(|&c| (c + r.random_range(1..classes.max(2))) % classes)
                    .collect()
            }
        }
    }
}

impl std::str::FromStr for Pairing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "arbitrary" => Ok(Pairing::Arbitrary),
            "identical" => Ok(Pairing::Identical),
            "distinct" => Ok(Pairing::Distinct),
            _ => Err(format!(
                "unknown pairing `{s}` (arbitrary, identical, distinct)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_draw_what_they_promise() {
        let mut rng = SeededRng::new(0);
        let y: Vec<u32> = (0..200).map(|i| (i * 7 % 5) as u32).collect();
        assert_eq!(Pairing::Identical.pair_labels(&y, 5, &mut rng), y);
        let d = Pairing::Distinct.pair_labels(&y, 5, &mut rng);
        assert!(d.iter().zip(&y).all(|(a, b)| a != b && *a < 5));
        let mut a = Pairing::Arbitrary.pair_labels(&y, 5, &mut rng);
        let mut sorted = y.clone();
        a.sort();
        sorted.sort();
        assert_eq!(a, sorted, "arbitrary pairing permutes the batch's labels");
    }
}
