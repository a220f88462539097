//! The figures and the table of `repro weights`: accuracy against d_h with and without
//! alignment (the key figure), accuracy histograms per arm, the barrier curves before and after
//! matching, and the novelty distances.

use genlab_core::Result;
use genlab_core::experiment::{Lines, ReportBuilder};
use genlab_core::report::{LineSeries, Table, mean_std, sig3};

use super::Sizes;
use super::arms::{ArmRun, arm_name};
use super::setup::Setup;

/// The figure the page shows first.
pub(super) const KEY_FIGURE: &str = "accuracy_vs_width.svg";

fn arm<'a>(runs: &'a [Vec<(String, ArmRun)>], seed: usize, name: &str) -> &'a ArmRun {
    &runs[seed]
        .iter()
        .find(|(n, _)| n == name)
        .expect("arm exists")
        .1
}

/// A histogram of `xs` over `bins` equal bins of [lo, hi] as a line of (bin centre, fraction).
pub(crate) fn histogram(label: &str, xs: &[f64], lo: f64, hi: f64, bins: usize) -> LineSeries {
    LineSeries {
        label: label.into(),
        points: genlab_core::report::histogram(xs, lo, hi, bins),
    }
}

/// Writes every figure and the summary table.
pub(super) fn all(
    report: &mut ReportBuilder,
    setup: &Setup,
    runs: &[Vec<(String, ArmRun)>],
    sizes: &Sizes,
) -> Result<()> {
    let (zoo_mean, _) = mean_std(&setup.zoo_scores.accuracy);
    let seeds = runs.len();
    let mean_acc = |name: &str| {
        mean_std(
            &(0..seeds)
                .map(|s| arm(runs, s, name).metrics["accuracy"])
                .collect::<Vec<_>>(),
        )
        .0
    };
    let mut width_series = Vec::new();
    for aligned in [true, false] {
        width_series.push(LineSeries {
            label: if aligned {
                "Re-Basin aligned"
            } else {
                "unaligned"
            }
            .into(),
            points: sizes
                .hiddens
                .iter()
                .map(|&h| ((h as f64).log2(), mean_acc(&arm_name(aligned, h))))
                .collect(),
        });
    }
    let (lo_h, hi_h) = (
        sizes.hiddens[0] as f64,
        *sizes.hiddens.last().expect("hiddens") as f64,
    );
    width_series.push(LineSeries {
        label: "trained zoo".into(),
        points: vec![
            (lo_h.log2(), 100.0 * zoo_mean),
            (hi_h.log2(), 100.0 * zoo_mean),
        ],
    });
    report.lines(
        KEY_FIGURE,
        Lines {
            title: "Generated networks' test accuracy vs flow width",
            x_label: "log2 d_h",
            y_label: "mean accuracy (%)",
            series: &width_series,
            log_y: false,
        },
        "Mean test accuracy (no fine-tuning) of the generated networks against the flow's hidden \
         width, with and without Re-Basin, averaged over seeds; the trained zoo's mean for reference.",
    )?;

    let zoo_acc: Vec<f64> = setup
        .zoo_scores
        .accuracy
        .iter()
        .map(|a| 100.0 * a)
        .collect();
    let mut hist = vec![histogram("trained zoo", &zoo_acc, 0.0, 100.0, 25)];
    for &h in [
        sizes.hiddens[1.min(sizes.hiddens.len() - 1)],
        *sizes.hiddens.last().expect("hiddens"),
    ]
    .iter()
    {
        for aligned in [true, false] {
            let name = arm_name(aligned, h);
            let xs: Vec<f64> = (0..seeds)
                .flat_map(|s| arm(runs, s, &name).accuracy.clone())
                .collect();
            hist.push(histogram(&name, &xs, 0.0, 100.0, 25));
        }
    }
    report.lines(
        "accuracy_histograms.svg",
        Lines { title: "Accuracy distribution per arm", x_label: "test accuracy (%)", y_label: "fraction of networks", series: &hist, log_y: false },
        "Histograms of the generated networks' test accuracy (all seeds pooled) beside the trained zoo's.",
    )?;

    report.lines(
        "barrier.svg",
        Lines {
            title: "Loss along the interpolation path (zoo nets 0 → 1)",
            x_label: "α",
            y_label: "test cross-entropy",
            series: &[setup.path_before.loss_line("before matching"), setup.path_after.loss_line("after weight matching")],
            log_y: false,
        },
        format!(
            "Linear mode connectivity of two zoo networks: barrier {} before and {} after weight matching.",
            sig3(setup.path_before.barrier()),
            sig3(setup.path_after.barrier())
        ),
    )?;

    let held = &setup.heldout_novelty;
    let hi = held.iter().copied().fold(0.0, f64::max) * 1.5;
    let mut nov = vec![histogram("held-out trained nets", held, 0.0, hi, 20)];
    for aligned in [true, false] {
        let name = arm_name(aligned, *sizes.hiddens.last().expect("hiddens"));
        let xs: Vec<f64> = (0..seeds)
            .flat_map(|s| arm(runs, s, &name).novelty.clone())
            .collect();
        nov.push(histogram(&name, &xs, 0.0, hi, 20));
    }
    report.lines(
        "novelty.svg",
        Lines { title: "Distance to the nearest training network (after alignment)", x_label: "L2 distance", y_label: "fraction", series: &nov, log_y: false },
        "Novelty: each network's distance to its nearest training network after weight matching; \
         generated networks at 0 would be copies. Held-out trained networks give the typical scale.",
    )?;
    report.key_figure(KEY_FIGURE);
    report.table(summary(report, runs));
    Ok(())
}

fn summary(report: &ReportBuilder, runs: &[Vec<(String, ArmRun)>]) -> Table {
    let arms = report.arms_so_far();
    let cell = |name: &str, m: &str| -> String {
        let a = &arms[name];
        match (a.get(m), a.get(&format!("{m}_std"))) {
            (Some(v), Some(s)) => format!("{} ± {}", sig3(*v), sig3(*s)),
            (Some(v), None) => sig3(*v),
            _ => "–".into(),
        }
    };
    let columns = [
        "accuracy",
        "accuracy_spread",
        "above_zoo_mean_minus_2std",
        "novelty_ratio",
        "disagreement",
        "error_iou",
        "ms_per_generated_net",
    ];
    let mut rows = vec![{
        let mut r = vec!["zoo (trained)".to_string()];
        r.extend(columns.iter().map(|c| cell("zoo (trained)", c)));
        r
    }];
    for (name, _) in &runs[0] {
        let mut r = vec![name.clone()];
        r.extend(columns.iter().map(|c| cell(name, c)));
        rows.push(r);
    }
    let mut header = vec!["arm".to_string()];
    header.extend(columns.iter().map(|c| c.to_string()));
    Table {
        title: "Generated networks per arm (mean ± std over seeds; accuracy in %)".into(),
        columns: header,
        rows,
    }
}
