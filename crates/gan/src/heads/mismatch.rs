//! BT-M's mismatched pairs: each real pair (x_i, y_i) of a batch is the winner against another
//! real x_j of the same batch scored under y_i, where x_j belongs to a *different* class
//! (y_j ≠ y_i) — a rolled batch that skips same-class neighbours:
//!
//! ```text
//! j(i) = the first of i+1, i+2, … (cyclically) with y_j ≠ y_i;  no such j → no pair for i
//! ```
//!
//! (The paper draws the loser from p_data(x) ignoring the label; excluding y_j = y_i keeps an
//! example from ever being the "mismatch" of its own class, a zero-information comparison.)

/// `(winners, losers)`: index pairs (i, j(i)) over the batch `labels`.
pub fn pairs(labels: &[u32]) -> (Vec<usize>, Vec<usize>) {
    let n = labels.len();
    let mut winners = Vec::with_capacity(n);
    let mut losers = Vec::with_capacity(n);
    for i in 0..n {
        if let Some(j) = (1..n)
            .map(|k| (i + k) % n)
            .find(|&j| labels[j] != labels[i])
        {
            winners.push(i);
            losers.push(j);
        }
    }
    (winners, losers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    #[test]
    fn never_pairs_an_example_with_its_own_label() {
        let mut rng = SeededRng::new(4);
        for classes in [2, 3, 10] {
            let labels: Vec<u32> = rng
                .indices(200, classes)
                .into_iter()
                .map(|k| k as u32)
                .collect();
            let (w, l) = pairs(&labels);
            assert_eq!(w.len(), 200, "every example finds a mismatch");
            assert!(
                w.iter()
                    .zip(&l)
                    .all(|(&i, &j)| labels[i] != labels[j] && i != j)
            );
        }
        // Rolled: the next example of another class.
        assert_eq!(pairs(&[0, 0, 1, 1]), (vec![0, 1, 2, 3], vec![2, 2, 0, 0]));
        // A one-class batch has no mismatch at all.
        assert_eq!(pairs(&[2, 2, 2]), (vec![], vec![]));
    }
}
