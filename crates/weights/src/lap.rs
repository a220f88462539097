//! The linear assignment problem, solved exactly by Jonker–Volgenant (1987).
//!
//! ```text
//! max_σ Σ_i C[i, σ(i)]     σ: rows → columns injective, C is n_r × n_c with n_r ≤ n_c
//! ```
//!
//! Re-Basin maximises ⟨P, C⟩; JV minimises, so [`maximize`] solves min Σ −C. A rectangular
//! problem (n_r < n_c) is padded with zero-cost dummy rows; a tall one (n_r > n_c) is solved
//! on Cᵀ and inverted, leaving n_r − n_c rows unassigned.
//!
//! JV on a square cost c (min), with column prices v (the duals; row duals u_i = c[i, x_i] − v_j):
//!
//! ```text
//! 1. column reduction       v_j = min_i c_ij; each row takes at most one column it minimises
//! 2. reduction transfer     a row holding one column j₁ moves its slack to it:
//!                           v_j₁ −= min_{j≠j₁} (c_ij − v_j)
//! 3. augmenting row reduction (twice): a free row takes its best column j₁, lowering
//!                           v_j₁ by the gap to its second best; the evicted row becomes free
//! 4. augmentation           for every free row, Dijkstra over reduced costs c_ij − v_j finds
//!                           the shortest alternating path to a free column; prices of the
//!                           columns settled before the last distance level rise by d_j − d_min
//! ```
//!
//! Every step keeps reduced costs c_ij − u_i − v_j ≥ 0 with equality on the assignment, which
//! is the optimality certificate the tests check. The solver is the project's own, written
//! from the paper's description; `genlab bench weights` measures it beside the `lapjv` crate
//! (square problems only, ndarray input) and scipy's `linear_sum_assignment`. The tests hold
//! it to a Hungarian oracle (Kuhn–Munkres with potentials) and to brute force, with ties and
//! rectangular shapes.

use crate::error::{WResult, WeightsError};

const NONE: usize = usize::MAX;

/// An optimal assignment: `col_of_row[i]` is the column of row i (`None` for the rows a tall
/// matrix leaves out), and its total value.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The column assigned to each row.
    pub col_of_row: Vec<Option<usize>>,
    /// Σ C[i, σ(i)] of the assignment.
    pub value: f64,
}

impl Assignment {
    /// The assignment as a permutation (square problems): `perm[i] = σ(i)`.
    pub fn permutation(&self) -> Vec<usize> {
        self.col_of_row.iter().map(|c| c.unwrap_or(NONE)).collect()
    }
}

/// Checks that `cost` is a finite `rows × cols` matrix.
fn validate(cost: &[f64], rows: usize, cols: usize) -> WResult<()> {
    if cost.len() != rows * cols {
        return Err(WeightsError::BadCost(format!(
            "{} entries for a {rows} × {cols} matrix",
            cost.len()
        )));
    }
    if let Some(k) = cost.iter().position(|c| !c.is_finite()) {
        return Err(WeightsError::BadCost(format!(
            "entry ({}, {}) is {}",
            k / cols,
            k % cols,
            cost[k]
        )));
    }
    Ok(())
}

/// The assignment maximising Σ C[i, σ(i)] of the row-major `rows × cols` matrix `cost`.
pub fn maximize(cost: &[f64], rows: usize, cols: usize) -> WResult<Assignment> {
    validate(cost, rows, cols)?;
    let neg: Vec<f64> = cost.iter().map(|c| -c).collect();
    let mut a = minimize_checked(&neg, rows, cols);
    a.value = -a.value;
    Ok(a)
}

/// The assignment minimising Σ C[i, σ(i)] of the row-major `rows × cols` matrix `cost`.
pub fn minimize(cost: &[f64], rows: usize, cols: usize) -> WResult<Assignment> {
    validate(cost, rows, cols)?;
    Ok(minimize_checked(cost, rows, cols))
}

fn minimize_checked(cost: &[f64], rows: usize, cols: usize) -> Assignment {
    if rows == 0 || cols == 0 {
        return Assignment {
            col_of_row: vec![None; rows],
            value: 0.0,
        };
    }
    if rows > cols {
        // Solve the transpose: each column gets a row.
        let t: Vec<f64> = (0..cols * rows)
            .map(|k| cost[(k % rows) * cols + k / rows])
            .collect();
        let a = minimize_checked(&t, cols, rows);
        let mut col_of_row = vec![None; rows];
        for (j, i) in a.col_of_row.iter().enumerate() {
            if let Some(i) = *i {
                col_of_row[i] = Some(j);
            }
        }
        return Assignment {
            col_of_row,
            value: a.value,
        };
    }
    let n = cols;
    let x = if rows == cols {
        jv(cost, n).0
    } else {
        let mut square = vec![0.0; n * n];
        square[..rows * cols].copy_from_slice(cost);
        jv(&square, n).0
    };
    let col_of_row: Vec<Option<usize>> = x[..rows].iter().map(|&j| Some(j)).collect();
    let value = (0..rows).map(|i| cost[i * cols + x[i]]).sum();
    Assignment { col_of_row, value }
}

/// JV on the square `n × n` cost `c` (min). Returns the column of each row and the column
/// prices v.
pub(crate) fn jv(c: &[f64], n: usize) -> (Vec<usize>, Vec<f64>) {
    let mut x = vec![NONE; n];
    let mut y = vec![NONE; n];
    let mut v = vec![0.0; n];
    if n == 1 {
        x[0] = 0;
        v[0] = c[0];
        return (x, v);
    }
    let mut free = column_reduction(c, n, &mut x, &mut y, &mut v);
    for _ in 0..2 {
        free = augmenting_row_reduction(c, n, &free, &mut x, &mut y, &mut v);
    }
    for &row in &free {
        augment(c, n, row, &mut x, &mut y, &mut v);
    }
    (x, v)
}

/// Steps 1 and 2 of the module doc; returns the free rows.
fn column_reduction(
    c: &[f64],
    n: usize,
    x: &mut [usize],
    y: &mut [usize],
    v: &mut [f64],
) -> Vec<usize> {
    let mut matches = vec![0u32; n];
    for j in (0..n).rev() {
        let (mut imin, mut min) = (0, c[j]);
        for i in 1..n {
            if c[i * n + j] < min {
                (imin, min) = (i, c[i * n + j]);
            }
        }
        v[j] = min;
        matches[imin] += 1;
        if matches[imin] == 1 {
            x[imin] = j;
            y[j] = imin;
        }
    }
    let mut free = Vec::new();
    for i in 0..n {
        match matches[i] {
            0 => free.push(i),
            1 => {
                let j1 = x[i];
                let slack = (0..n)
                    .filter(|&j| j != j1)
                    .map(|j| c[i * n + j] - v[j])
                    .fold(f64::INFINITY, f64::min);
                v[j1] -= slack;
            }
            _ => {}
        }
    }
    free
}

/// Step 3 of the module doc: one pass over the free rows; returns the rows still free.
fn augmenting_row_reduction(
    c: &[f64],
    n: usize,
    free_in: &[usize],
    x: &mut [usize],
    y: &mut [usize],
    v: &mut [f64],
) -> Vec<usize> {
    let mut queue: Vec<usize> = free_in.to_vec();
    let mut k = 0;
    let mut free = Vec::new();
    // Bounded like the reference implementations: each pass may re-queue a row a few times.
    let mut budget = 4 * n * n.max(8);
    while k < queue.len() && budget > 0 {
        budget -= 1;
        let i = queue[k];
        k += 1;
        let row = &c[i * n..(i + 1) * n];
        let (mut j1, mut umin) = (0, row[0] - v[0]);
        let (mut j2, mut usub) = (NONE, f64::INFINITY);
        for j in 1..n {
            let h = row[j] - v[j];
            if h < usub {
                if h >= umin {
                    (j2, usub) = (j, h);
                } else {
                    (j2, usub) = (j1, umin);
                    (j1, umin) = (j, h);
                }
            }
        }
        let mut i0 = y[j1];
        let strict = umin < usub;
        if strict {
            v[j1] -= usub - umin;
        } else if i0 != NONE {
            j1 = j2;
            i0 = y[j2];
        }
        if i0 != NONE {
            x[i0] = NONE;
        }
        x[i] = j1;
        y[j1] = i;
        if i0 != NONE {
            if strict {
                k -= 1;
                queue[k] = i0;
            } else {
                free.push(i0);
            }
        }
    }
    free.extend_from_slice(&queue[k..]);
    free
}

/// Step 4 of the module doc for the free row `start`.
fn augment(c: &[f64], n: usize, start: usize, x: &mut [usize], y: &mut [usize], v: &mut [f64]) {
    let mut d: Vec<f64> = (0..n).map(|j| c[start * n + j] - v[j]).collect();
    let mut pred = vec![start; n];
    let mut cols: Vec<usize> = (0..n).collect();
    // cols[..low] are settled, cols[low..up] sit at the current minimum distance, the rest
    // are unreached.
    let (mut low, mut up, mut last) = (0, 0, 0);
    let mut min = 0.0;
    let end = 'search: loop {
        if up == low {
            last = low;
            min = d[cols[up]];
            up += 1;
            // The scan covers the columns after the first at its start; `up` moves inside.
            let scan_from = up;
            for k in scan_from..n {
                let j = cols[k];
                let h = d[j];
                if h <= min {
                    if h < min {
                        up = low;
                        min = h;
                    }
                    cols.swap(k, up);
                    up += 1;
                }
            }
            for &j in &cols[low..up] {
                if y[j] == NONE {
                    break 'search j;
                }
            }
        }
        let j1 = cols[low];
        low += 1;
        let i = y[j1];
        let u1 = c[i * n + j1] - v[j1] - min;
        let mut k = up;
        while k < n {
            let j = cols[k];
            let reduced = c[i * n + j] - v[j] - u1;
            if reduced < d[j] {
                pred[j] = i;
                d[j] = reduced;
                if reduced == min {
                    if y[j] == NONE {
                        break 'search j;
                    }
                    cols.swap(k, up);
                    up += 1;
                }
            }
            k += 1;
        }
    };
    for &j in &cols[..last] {
        v[j] += d[j] - min;
    }
    let mut j = end;
    loop {
        let i = pred[j];
        y[j] = i;
        let previous = x[i];
        x[i] = j;
        if i == start {
            break;
        }
        j = previous;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genlab_core::train::SeededRng;

    /// Kuhn–Munkres with row/column potentials (O(n²m), rows ≤ cols), minimisation: the
    /// textbook algorithm, independent of JV's initialisation phases.
    fn hungarian(c: &[f64], rows: usize, cols: usize) -> f64 {
        let inf = f64::INFINITY;
        let (mut u, mut v) = (vec![0.0; rows + 1], vec![0.0; cols + 1]);
        let (mut p, mut way) = (vec![0usize; cols + 1], vec![0usize; cols + 1]);
        for i in 1..=rows {
            p[0] = i;
            let mut j0 = 0;
            let mut minv = vec![inf; cols + 1];
            let mut used = vec![false; cols + 1];
            loop {
                used[j0] = true;
                let (i0, mut delta, mut j1) = (p[j0], inf, 0);
                for j in 1..=cols {
                    if !used[j] {
                        let cur = c[(i0 - 1) * cols + j - 1] - u[i0] - v[j];
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
                for j in 0..=cols {
                    if used[j] {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    } else {
                        minv[j] -= delta;
                    }
                }
                j0 = j1;
                if p[j0] == 0 {
                    break;
                }
            }
            loop {
                let j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
                if j0 == 0 {
                    break;
                }
            }
        }
        (1..=cols)
            .filter(|&j| p[j] != 0)
            .map(|j| c[(p[j] - 1) * cols + j - 1])
            .sum()
    }

    /// The minimum over every injective row → column map (small problems).
    fn brute_force(c: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(c: &[f64], rows: usize, cols: usize, i: usize, used: &mut [bool]) -> f64 {
            if i == rows {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for j in 0..cols {
                if !used[j] {
                    used[j] = true;
                    best = best.min(c[i * cols + j] + go(c, rows, cols, i + 1, used));
                    used[j] = false;
                }
            }
            best
        }
        go(c, rows, cols, 0, &mut vec![false; cols])
    }

    fn random(rng: &mut SeededRng, n: usize, levels: Option<u32>) -> Vec<f64> {
        rng.uniform_vec(n)
            .into_iter()
            .map(|u| match levels {
                Some(l) => (u * l as f32).floor() as f64,
                None => u as f64 * 10.0 - 3.0,
            })
            .collect()
    }

    fn check_valid(a: &Assignment, rows: usize, cols: usize) {
        let mut seen = vec![false; cols];
        let assigned = a.col_of_row.iter().flatten().count();
        assert_eq!(assigned, rows.min(cols));
        for &j in a.col_of_row.iter().flatten() {
            assert!(!seen[j], "column {j} used twice");
            seen[j] = true;
        }
    }

    #[test]
    fn equals_brute_force_with_ties_and_rectangles() {
        let mut rng = SeededRng::new(1);
        for trial in 0..300 {
            let rows = 1 + trial % 6;
            let cols = 1 + (trial / 6) % 6;
            let levels = if trial % 2 == 0 { Some(3) } else { None };
            let c = random(&mut rng, rows * cols, levels);
            let a = minimize(&c, rows, cols).unwrap();
            check_valid(&a, rows, cols);
            let best = if rows <= cols {
                brute_force(&c, rows, cols)
            } else {
                let t: Vec<f64> = (0..rows * cols)
                    .map(|k| c[(k % rows) * cols + k / rows])
                    .collect();
                brute_force(&t, cols, rows)
            };
            assert!(
                (a.value - best).abs() < 1e-9,
                "{rows}×{cols} trial {trial}: {} vs {best}",
                a.value
            );
        }
    }

    #[test]
    fn equals_hungarian_oracle_on_larger_problems() {
        let mut rng = SeededRng::new(2);
        for (rows, cols, levels) in [
            (40, 40, None),
            (64, 64, Some(4)),
            (30, 70, None),
            (50, 50, Some(1)),
            (128, 128, None),
        ] {
            let c = random(&mut rng, rows * cols, levels);
            let a = minimize(&c, rows, cols).unwrap();
            check_valid(&a, rows, cols);
            let oracle = hungarian(&c, rows, cols);
            assert!(
                (a.value - oracle).abs() < 1e-7,
                "{rows}×{cols}: {} vs {oracle}",
                a.value
            );
            let tall: Vec<f64> = (0..rows * cols)
                .map(|k| c[(k % rows) * cols + k / rows])
                .collect();
            let t = minimize(&tall, cols, rows).unwrap();
            assert!((t.value - oracle).abs() < 1e-7, "tall {cols}×{rows}");
        }
    }

    /// The duals JV returns certify optimality: reduced costs ≥ 0, zero on the assignment.
    #[test]
    fn prices_certify_optimality() {
        let mut rng = SeededRng::new(3);
        let n = 50;
        let c = random(&mut rng, n * n, Some(5));
        let (x, v) = jv(&c, n);
        for i in 0..n {
            let u = c[i * n + x[i]] - v[x[i]];
            for j in 0..n {
                assert!(
                    c[i * n + j] - u - v[j] > -1e-9,
                    "reduced cost ({i},{j}) negative"
                );
            }
        }
    }

    #[test]
    fn maximize_finds_a_hidden_permutation() {
        let mut rng = SeededRng::new(4);
        let n = 32;
        let perm = rng.permutation(n);
        let mut c = random(&mut rng, n * n, None);
        for i in 0..n {
            c[i * n + perm[i]] = 100.0;
        }
        assert_eq!(maximize(&c, n, n).unwrap().permutation(), perm);
    }

    #[test]
    fn refuses_nan_and_wrong_sizes() {
        let err = maximize(&[1.0, f64::NAN, 0.0, 2.0], 2, 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(0, 1)") && err.contains("NaN"), "{err}");
        let err = maximize(&[1.0, 2.0, 3.0], 2, 2).unwrap_err().to_string();
        assert!(err.contains("3 entries"), "{err}");
    }
}
