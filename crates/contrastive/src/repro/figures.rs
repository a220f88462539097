//! The figures: singular-value spectra per arm, metric bars over seeds, the gate-overlap vs
//! shared-factor scatter, a 2-D PCA projection of representations, and the gate dendrogram.

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::experiment::{Lines, ReportBuilder};
use genlab_core::report::bars::Bar;
use genlab_core::report::{LineSeries, ScatterSeries, mean_std};

use super::arms::{ARMS, Measured};
use crate::metrics::dendrogram;

/// Normalised singular values σ_k / σ_1 of z per arm (seed 0), log scale.
pub(super) fn spectra(
    report: &mut ReportBuilder,
    file: &str,
    title: &str,
    arms: &[Measured],
) -> Result<()> {
    let series: Vec<LineSeries> = ARMS
        .iter()
        .zip(arms)
        .map(|(a, m)| {
            let top = m.sigma_z[0].max(1e-30);
            LineSeries {
                label: a.name.into(),
                points: m
                    .sigma_z
                    .iter()
                    .enumerate()
                    .map(|(k, s)| ((k + 1) as f64, (s / top).max(1e-8)))
                    .collect(),
            }
        })
        .collect();
    let chart = Lines {
        title,
        x_label: "index k",
        y_label: "σ_k / σ_1 of the test projections z",
        series: &series,
        log_y: true,
    };
    report.lines(
        file,
        chart,
        "Singular-value spectra of the test projections (seed 0): a collapsed embedding drops \
         off after few directions (SupCon is expected near C − 1).",
    )?;
    Ok(())
}

/// Bars of `metric` per arm, mean ± std over seeds.
pub(super) fn bars(
    report: &mut ReportBuilder,
    file: &str,
    title: &str,
    per_seed: &[Vec<Measured>],
    metric: &str,
    caption: &str,
) -> Result<()> {
    let bars: Vec<Bar> = ARMS
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let v: Vec<f64> = per_seed.iter().map(|s| s[i].get(metric)).collect();
            let (mean, std) = mean_std(&v);
            Bar {
                label: a.name.into(),
                value: mean,
                error: std,
            }
        })
        .collect();
    report.bars(file, title, metric, &bars, caption)?;
    Ok(())
}

/// Scatter of `(shared factors, gate overlap)` over class pairs.
pub(super) fn overlap_scatter(
    report: &mut ReportBuilder,
    file: &str,
    points: &[(f64, f64)],
    rho: f64,
) -> Result<()> {
    let series = [ScatterSeries {
        label: "class pairs".into(),
        points: points.iter().map(|&(s, o)| (s as f32, o as f32)).collect(),
        colour: 0,
    }];
    report.scatter(
        file,
        &format!("gate overlap vs true shared factors (Spearman ρ = {rho:.3})"),
        &series,
        "Each class pair (seed 0, Hydra): x = true number of shared latent factors S_ab, \
         y = cos(g(a, a), g(b, b)).",
    )?;
    Ok(())
}

/// Top-2 principal directions of the rows of `h` (power iteration with deflation).
fn pca2(h: &Points) -> [Vec<f64>; 2] {
    let d = h.d;
    let n = h.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| h.rows().map(|r| r[j] as f64).sum::<f64>() / n)
        .collect();
    let mut cov = vec![0f64; d * d];
    for r in h.rows() {
        for i in 0..d {
            let a = r[i] as f64 - mean[i];
            for j in 0..d {
                cov[i * d + j] += a * (r[j] as f64 - mean[j]);
            }
        }
    }
    let mut dirs: [Vec<f64>; 2] = [vec![0.0; d], vec![0.0; d]];
    for k in 0..2 {
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + j as f64 * 0.01).collect();
        for _ in 0..200 {
            let mut w: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| cov[i * d + j] * v[j]).sum())
                .collect();
            if k == 1 {
                let p: f64 = w.iter().zip(&dirs[0]).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(&dirs[0]).for_each(|(a, b)| *a -= p * b);
            }
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-300);
            v = w.into_iter().map(|x| x / norm).collect();
        }
        dirs[k] = v;
    }
    dirs
}

/// A 2-D PCA scatter of representations `h`, one colour per class (`names`).
pub(super) fn projection(
    report: &mut ReportBuilder,
    file: &str,
    title: &str,
    h: &Points,
    names: &[&str],
) -> Result<()> {
    let [a, b] = pca2(h);
    let labels = h.labels.as_deref().unwrap_or(&[]);
    let series: Vec<ScatterSeries> = names
        .iter()
        .enumerate()
        .map(|(c, name)| ScatterSeries {
            label: (*name).into(),
            points: h
                .rows()
                .zip(labels)
                .filter(|(_, y)| **y as usize == c)
                .map(|(r, _)| {
                    let p =
                        |v: &[f64]| r.iter().zip(v).map(|(x, w)| *x as f64 * w).sum::<f64>() as f32;
                    (p(&a), p(&b))
                })
                .collect(),
            colour: c,
        })
        .collect();
    report.scatter(
        file,
        title,
        &series,
        "Test representations h projected on their first two principal components (seed 0).",
    )?;
    Ok(())
}

/// The class dendrogram of gate distances 1 − overlap, written to `dir/file` (the report
/// directory) and registered.
pub(super) fn dendrogram(
    report: &mut ReportBuilder,
    dir: &std::path::Path,
    file: &str,
    overlap: &[f64],
    names: &[&str],
) -> Result<Vec<dendrogram::Merge>> {
    let dist: Vec<f64> = overlap.iter().map(|o| 1.0 - o).collect();
    let merges = dendrogram::average_linkage(&dist, names.len());
    dendrogram::write_svg(
        &dir.join(file),
        "Fashion-MNIST classes by Hydra gate overlap",
        &merges,
        names,
    )?;
    report.figure(
        file,
        "Average-linkage dendrogram of the Fashion-MNIST classes under 1 − cos(g(a, a), g(b, b)) \
         (Hydra, seed 0): classes that open the same embedding dimensions merge early.",
    );
    Ok(merges)
}
