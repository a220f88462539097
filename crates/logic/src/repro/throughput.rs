//! Part 6: model-checking throughput. Seconds per full labelling against (nodes + arcs)·|φ|,
//! with the least-squares line through the origin
//!
//! ```text
//! seconds ≈ c · x,   c = Σ x·y / Σ x²,   R² = 1 − Σ (y − c·x)² / Σ (y − ȳ)²
//! ```
//!
//! (a good fit is time linear in |graph|·|formula|), and evaluations per second against the
//! graph size. Timings are not part of the verdict.

use genlab_core::Result;
use genlab_core::experiment::{Lines, ReportBuilder};
use genlab_core::report::LineSeries;
use genlab_core::train::{Observer, SeededRng};
use rand::RngCore;
use std::collections::BTreeMap;

use super::{Sizes, sci, table};
use crate::verify::{BenchRow, bench};

/// The measurements and the linear fit.
pub(super) struct Measured {
    rows: Vec<BenchRow>,
    /// Seconds per unit of (nodes + arcs)·|φ|.
    c: f64,
    r2: f64,
}

/// `(x, y) = ((nodes + arcs)·|φ|, seconds)` of a measurement.
fn work_and_seconds(r: &BenchRow) -> (f64, f64) {
    (((r.nodes + r.arcs) * r.subformulas) as f64, r.seconds)
}

/// Measures every (graph size, formula size) and fits the line of the module doc.
pub(super) fn measure(
    sizes: &Sizes,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Measured> {
    let rows = bench(
        sizes.bench_nodes,
        sizes.bench_subformulas,
        sizes.bench_seconds,
        rng.rng().next_u64(),
        observer,
    )?;
    let (c, r2) = fit_through_origin(&rows.iter().map(work_and_seconds).collect::<Vec<_>>());
    Ok(Measured { rows, c, r2 })
}

/// `(c, R²)` of the least-squares line `y = c·x`.
fn fit_through_origin(pts: &[(f64, f64)]) -> (f64, f64) {
    let c =
        pts.iter().map(|(x, y)| x * y).sum::<f64>() / pts.iter().map(|(x, _)| x * x).sum::<f64>();
    let mean_y = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let ss_res: f64 = pts.iter().map(|(x, y)| (y - c * x).powi(2)).sum();
    let ss_tot: f64 = pts.iter().map(|(_, y)| (y - mean_y).powi(2)).sum();
    (c, 1.0 - ss_res / ss_tot.max(f64::MIN_POSITIVE))
}

/// Arm `throughput` and the measurement table.
pub(super) fn report(m: &Measured, b: &mut ReportBuilder) {
    let max_rate = m
        .rows
        .iter()
        .map(|r| r.evals_per_second)
        .fold(0.0, f64::max);
    b.metric("throughput", "seconds_per_unit", m.c)
        .metric("throughput", "r2_linear_fit", m.r2)
        .metric("throughput", "max_evals_per_s", max_rate);
    let mut t = table(
        "Model-checking throughput (Erdős–Rényi, average degree 4)",
        &[
            "nodes",
            "arcs",
            "|φ|",
            "seconds",
            "node·subformula evaluations/s",
        ],
    );
    for r in &m.rows {
        t.rows.push(vec![
            r.nodes.to_string(),
            r.arcs.to_string(),
            r.subformulas.to_string(),
            sci(r.seconds),
            sci(r.evals_per_second),
        ]);
    }
    b.table(t);
}

/// One line per formula size, through `point(row)`.
fn per_formula_size(rows: &[BenchRow], point: fn(&BenchRow) -> (f64, f64)) -> Vec<LineSeries> {
    let mut by_size: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
    for r in rows {
        by_size.entry(r.subformulas).or_default().push(point(r));
    }
    by_size
        .into_iter()
        .map(|(s, points)| LineSeries {
            label: format!("|φ| = {s}"),
            points,
        })
        .collect()
}

/// Time against work with the fitted line, and throughput against graph size.
pub(super) fn figures(m: &Measured, b: &mut ReportBuilder) -> Result<()> {
    let mut scaling = per_formula_size(&m.rows, work_and_seconds);
    let max_x = m
        .rows
        .iter()
        .map(|r| work_and_seconds(r).0)
        .fold(0.0, f64::max);
    scaling.push(LineSeries {
        label: format!("fit {:.2e}·x (R²={:.3})", m.c, m.r2),
        points: vec![(0.0, 0.0), (max_x, m.c * max_x)],
    });
    b.lines(
        "checker_scaling.svg",
        Lines {
            title: "Model-checking time vs |graph|·|formula|",
            x_label: "(nodes + arcs) · |φ|",
            y_label: "seconds",
            series: &scaling,
            log_y: false,
        },
        format!(
            "Seconds per full labelling (every subformula at every node) against (nodes + arcs)·|φ|; a straight line through the origin is linear scaling (fit R² = {:.3}).",
            m.r2
        ),
    )?;
    let rate = per_formula_size(&m.rows, |r| ((r.nodes as f64).log10(), r.evals_per_second));
    b.lines(
        "checker_throughput.svg",
        Lines {
            title: "Model-checking throughput vs graph size",
            x_label: "log10(nodes)",
            y_label: "node·subformula evaluations / s",
            series: &rate,
            log_y: true,
        },
        "Evaluations per second against graph size; a flat line means time linear in |graph|·|formula|. The work per evaluation is constant, so a drop at the largest sizes comes from memory access (random neighbour reads once the graph outgrows the caches) and from other load on the machine.",
    )?;
    Ok(())
}
