//! Minimum-cost assignment (Hungarian algorithm with potentials, Kuhn–Munkres in the
//! shortest-augmenting-path form), for an `n × m` cost matrix with `n ≤ m`: every row gets a
//! distinct column and the total cost is minimal. O(n² m).
//!
//! ```text
//! min_σ Σ_i C[i, σ(i)]   over injective σ : rows → columns
//! ```
//!
//! For each new row, Dijkstra-like relaxation over the reduced costs `C[i,j] − u_i − v_j ≥ 0`
//! finds the cheapest augmenting path; the potentials are then shifted so that reduced costs
//! stay non-negative and are zero on the matching.

/// The column assigned to each row of the row-major `[n, m]` `cost` (`n ≤ m`).
pub fn assign(cost: &[f64], n: usize, m: usize) -> Vec<usize> {
    assert!(
        n <= m && cost.len() == n * m,
        "assign needs n ≤ m and an n×m matrix"
    );
    // 1-based arrays; column 0 is the virtual start.
    let inf = f64::INFINITY;
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut row_of = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        row_of[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![inf; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = row_of[j0];
            let mut delta = inf;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if row_of[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            row_of[j0] = row_of[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![0usize; n];
    for j in 1..=m {
        if row_of[j] > 0 {
            out[row_of[j] - 1] = j - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    /// Every injective map rows → columns, by recursion.
    fn brute_force(cost: &[f64], n: usize, m: usize) -> f64 {
        fn go(cost: &[f64], n: usize, m: usize, i: usize, used: &mut Vec<bool>) -> f64 {
            if i == n {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..m {
                if !used[j] {
                    used[j] = true;
                    best = best.min(cost[i * m + j] + go(cost, n, m, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        go(cost, n, m, 0, &mut vec![false; m])
    }

    #[test]
    fn matches_brute_force_on_random_rectangular_matrices() {
        let mut rng = SeededRng::new(11);
        for (n, m) in [(1, 1), (2, 3), (4, 4), (5, 7), (6, 6), (3, 8)] {
            for _ in 0..20 {
                let cost: Vec<f64> = rng.normal_vec(n * m).iter().map(|&v| v as f64).collect();
                let a = assign(&cost, n, m);
                let mut cols = a.clone();
                cols.sort();
                cols.dedup();
                assert_eq!(cols.len(), n, "columns must be distinct");
                let total: f64 = a.iter().enumerate().map(|(i, &j)| cost[i * m + j]).sum();
                assert!((total - brute_force(&cost, n, m)).abs() < 1e-9, "{n}×{m}");
            }
        }
    }

    #[test]
    fn greedy_would_be_wrong_here() {
        // Greedy takes (0,0) = 1 then (1,1) = 100; optimal is (0,1) + (1,0) = 2 + 2.
        let cost = [1.0, 2.0, 2.0, 100.0];
        assert_eq!(assign(&cost, 2, 2), vec![1, 0]);
    }
}
