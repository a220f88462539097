//! E1's run over seeds, its verdict and its figures.

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::{Lines, ReportBuilder, ReproOptions};
use genlab_core::report::plot::LineSeries;
use genlab_core::report::{Better, Report, Table, Verdict, all_of, paired, sig3};
use genlab_core::train::Observer;

use super::lds::{LAMBDA_KEY, SeedLds, run_kind, trak_name};
use super::{LDS_INFO, LDS_SCALES};

/// The model kinds of E1.
const KINDS: [&str; 2] = ["logreg", "mlp"];

/// Runs E1 (see [`super::lds`]).
pub fn run(opts: &ReproOptions, observer: &mut dyn Observer) -> Result<Report> {
    let sizes = opts.scale(&LDS_SCALES);
    let seeds = opts.seeds(sizes.seeds);
    let mut report = ReportBuilder::new(&LDS_INFO, opts);
    report.seeds(&seeds).config("sizes", sizes);
    let started = Instant::now();
    // runs[kind][seed] = per-method LDS
    let mut runs: Vec<Vec<SeedLds>> = vec![Vec::new(), Vec::new()];
    for &seed in &seeds {
        for (k, kind) in KINDS.iter().enumerate() {
            let config = if k == 0 { &sizes.logreg } else { &sizes.mlp };
            let cache = opts.cache_dir.join("attribution-lds");
            runs[k].push(run_kind(kind, config, sizes, seed, Some(&cache), observer)?);
        }
    }
    report.config("seconds", started.elapsed().as_secs_f64());
    let (m_max, k_max) = (
        *sizes.ms.last().unwrap_or(&1),
        *sizes.ks.last().unwrap_or(&64),
    );
    let best = trak_name(m_max, k_max);
    let mut parts = Vec::new();
    for (k, kind) in KINDS.iter().enumerate() {
        let per_seed = &runs[k];
        for method in per_seed[0].keys() {
            let values: Vec<f64> = per_seed.iter().map(|r| r[method].0).collect();
            let metric = if method == LAMBDA_KEY {
                "lambda_rel"
            } else {
                "lds"
            };
            report.metric_over_seeds(&format!("{kind} {method}"), metric, &values);
        }
        let pairs = |a: &str, b: &str, shift: f64| -> Vec<(f64, f64)> {
            per_seed.iter().map(|r| (r[a].0 + shift, r[b].0)).collect()
        };
        parts.push(paired(
            &format!("{kind} LDS"),
            &format!("{kind} {best}"),
            &format!("{kind} Grad-Dot"),
            Better::Higher,
            &pairs(&best, "Grad-Dot", 0.0),
        )?);
        if k == 0 {
            parts.push(within(&pairs(&best, "exact IF", 0.0), &best)?);
        }
        report.table(table(kind, per_seed));
        lds_curves(&mut report, kind, sizes.ms, sizes.ks, per_seed)?;
    }
    report.note(
        "LDS per seed is the mean Spearman correlation over test points between the margins \
         measured after retraining on each α-subset and the sum of the subset's scores; the \
         tables show mean ± s.e. over test points for the first seed and the mean over seeds.",
    );
    report.key_figure("lds_vs_m_mlp.svg");
    let verdict = all_of("attribution-lds", parts);
    if !verdict.holds {
        let logreg_mean =
            |method: &str| runs[0].iter().map(|r| r[method].0).sum::<f64>() / runs[0].len() as f64;
        report
            .tried(format!(
                "TRAK with ensembles M ∈ {:?} and projections k ∈ {:?}, all measured in this run \
                 (the LDS-vs-M and LDS-vs-k figures): the largest, {best}, is the one judged; on \
                 the logistic regression it reaches {} against exact IF's {}.",
                sizes.ms,
                sizes.ks,
                sig3(logreg_mean(&best)),
                sig3(logreg_mean("exact IF"))
            ))
            .tried("The damping λ is chosen per seed on validation queries (arm λ_rel), not fixed.")
            .tried(
                "Not changed: TRAK's kernel ΦᵀΦ lacks the p(1 − p) Hessian weights that exact IF \
                 uses on the logistic regression; that is TRAK as published, and the likely \
                 remaining gap.",
            );
    }
    Ok(report.finish(verdict))
}

/// "TRAK within 0.05 of exact IF": TRAK + 0.05 beats IF and TRAK − 0.05 loses to it (the
/// shift is named in the metric, so the verdict's arms are the measured ones).
fn within(pairs: &[(f64, f64)], best: &str) -> Result<Verdict> {
    let up: Vec<(f64, f64)> = pairs.iter().map(|(t, i)| (t + 0.05, *i)).collect();
    let down: Vec<(f64, f64)> = pairs.iter().map(|(t, i)| (t - 0.05, *i)).collect();
    let lo = paired(
        "logreg LDS + 0.05",
        &format!("logreg {best}"),
        "logreg exact IF",
        Better::Higher,
        &up,
    )?;
    let hi = paired(
        "logreg LDS − 0.05",
        &format!("logreg {best}"),
        "logreg exact IF",
        Better::Lower,
        &down,
    )?;
    // The effect quotes the measured, unshifted LDS (the shift only encodes the tolerance).
    let mean = |f: fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / pairs.len() as f64;
    let (trak, exact) = (mean(|p| p.0), mean(|p| p.1));
    let effect = format!(
        "logreg LDS {best} {} vs exact IF {} (gap {}; tolerance 0.05)",
        sig3(trak),
        sig3(exact),
        sig3(exact - trak)
    );
    let (mut lo, mut hi) = (lo, hi);
    lo.effect = effect.clone();
    hi.effect = effect;
    Ok(all_of("TRAK within 0.05 of exact IF", vec![lo, hi]))
}

fn table(kind: &str, per_seed: &[SeedLds]) -> Table {
    let rows = per_seed[0]
        .keys()
        .map(|method| {
            let mean = per_seed.iter().map(|r| r[method].0).sum::<f64>() / per_seed.len() as f64;
            let (m0, se0) = per_seed[0][method];
            vec![
                method.clone(),
                format!("{} ± {}", sig3(m0), sig3(se0)),
                sig3(mean),
            ]
        })
        .collect();
    Table {
        title: format!("{kind}: LDS by method"),
        columns: vec![
            "method".into(),
            "LDS seed 0 (± s.e. over test points)".into(),
            "mean over seeds".into(),
        ],
        rows,
    }
}

fn lds_curves(
    report: &mut ReportBuilder,
    kind: &str,
    ms: &[usize],
    ks: &[usize],
    per_seed: &[SeedLds],
) -> Result<()> {
    let mean = |name: &str| per_seed.iter().map(|r| r[name].0).sum::<f64>() / per_seed.len() as f64;
    let mut series: Vec<LineSeries> = ks
        .iter()
        .map(|&k| LineSeries {
            label: format!("TRAK k={k}"),
            points: ms
                .iter()
                .map(|&m| (m as f64, mean(&trak_name(m, k))))
                .collect(),
        })
        .collect();
    for base in ["Grad-Dot", "Grad-Cos", "exact IF", "random"] {
        if per_seed[0].contains_key(base) {
            let v = mean(base);
            series.push(LineSeries {
                label: base.into(),
                points: ms.iter().map(|&m| (m as f64, v)).collect(),
            });
        }
    }
    let title = format!("{kind}: LDS vs number of models M");
    report.lines(
        &format!("lds_vs_m_{kind}.svg"),
        Lines {
            title: &title,
            x_label: "models M",
            y_label: "LDS (mean over seeds)",
            series: &series,
            log_y: false,
        },
        format!(
            "{kind}: TRAK's LDS as the ensemble grows, per projection dimension k; baselines flat"
        ),
    )?;
    Ok(())
}
