//! The Hungarian algorithm: a one-to-one assignment of rows to columns of a cost matrix with
//! the least total cost (the matching behind mIoU and the slot–object probes).
//!
//! ```text
//! min over injective σ: rows → cols   Σ_i C[i][σ(i)]          (n ≤ m; transposed otherwise)
//! ```
//!
//! Shortest augmenting paths with row/column potentials u, v (reduced costs C[i][j] − u_i − v_j
//! ≥ 0 throughout), one row added per phase: O(n² m).

/// The least-cost assignment of `cost` (`n` rows of equal length `m`): `out[i]` is row i's
/// column, `None` for the rows left over when `n > m`.
pub fn assign(cost: &[Vec<f64>]) -> Vec<Option<usize>> {
    let n = cost.len();
    let m = cost.first().map_or(0, Vec::len);
    if n == 0 || m == 0 {
        return vec![None; n];
    }
    if n > m {
        let t: Vec<Vec<f64>> = (0..m)
            .map(|j| (0..n).map(|i| cost[i][j]).collect())
            .collect();
        let cols = assign(&t);
        let mut out = vec![None; n];
        for (j, i) in cols.iter().enumerate() {
            if let Some(i) = *i {
                out[i] = Some(j);
            }
        }
        return out;
    }
    // 1-based potentials; column 0 is the virtual start of each augmenting path.
    let inf = f64::INFINITY;
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut owner = vec![0usize; m + 1]; // owner[j]: the row matched to column j (0: none)
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        owner[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = owner[j0];
            let mut delta = inf;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let reduced = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if reduced < minv[j] {
                        minv[j] = reduced;
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
                    u[owner[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if owner[j0] == 0 {
                break;
            }
        }
        // Flip the path back to its start.
        loop {
            let j1 = way[j0];
            owner[j0] = owner[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut out = vec![None; n];
    for j in 1..=m {
        if owner[j] > 0 {
            out[owner[j] - 1] = Some(j - 1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    fn total(cost: &[Vec<f64>], a: &[Option<usize>]) -> f64 {
        a.iter()
            .enumerate()
            .filter_map(|(i, j)| j.map(|j| cost[i][j]))
            .sum()
    }

    /// Every injective assignment of the smaller side, by recursion.
    fn brute(cost: &[Vec<f64>]) -> f64 {
        fn go(cost: &[Vec<f64>], i: usize, used: &mut Vec<bool>, rows: usize) -> f64 {
            if i == rows {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..used.len() {
                if !used[j] {
                    used[j] = true;
                    best = best.min(cost[i][j] + go(cost, i + 1, used, rows));
                    used[j] = false;
                }
            }
            best
        }
        let (n, m) = (cost.len(), cost[0].len());
        if n <= m {
            go(cost, 0, &mut vec![false; m], n)
        } else {
            let t: Vec<Vec<f64>> = (0..m)
                .map(|j| (0..n).map(|i| cost[i][j]).collect())
                .collect();
            go(&t, 0, &mut vec![false; n], m)
        }
    }

    #[test]
    fn matches_brute_force_on_random_rectangles() {
        let mut rng = SeededRng::new(5);
        for (n, m) in [(1, 1), (3, 3), (2, 5), (5, 2), (4, 7), (6, 6), (7, 4)] {
            for _ in 0..20 {
                let cost: Vec<Vec<f64>> = (0..n)
                    .map(|_| rng.uniform_vec(m).iter().map(|&x| x as f64).collect())
                    .collect();
                let a = assign(&cost);
                let cols: Vec<usize> = a.iter().flatten().copied().collect();
                assert_eq!(cols.len(), n.min(m));
                let mut sorted = cols.clone();
                sorted.sort();
                sorted.dedup();
                assert_eq!(sorted.len(), cols.len(), "one-to-one");
                assert!((total(&cost, &a) - brute(&cost)).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn exact_small_case() {
        // Greedy would take (0,0)=1 then (1,1)=10; optimal is (0,1)+(1,0) = 2 + 3.
        let cost = vec![vec![1.0, 2.0], vec![3.0, 10.0]];
        assert_eq!(assign(&cost), vec![Some(1), Some(0)]);
    }
}
