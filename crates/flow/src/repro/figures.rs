//! Figures: energy / floor against NFE (the key figure), each arm's samples at its default step
//! count, and the training losses.

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::experiment::{Images, Lines, ReportBuilder};
use genlab_core::report::{LineSeries, ScatterSeries};

use super::measure::Sweep;
use super::{Arm, FACTOR};

/// Writes and registers every figure.
pub(super) fn write(report: &mut ReportBuilder, arms: &[Arm], sweeps: &[Sweep]) -> Result<()> {
    for (arm, sweep) in arms.iter().zip(sweeps) {
        if let Some(samples) = &sweep.default_samples {
            samples_figure(report, arm, samples)?;
        }
    }
    let ratios: Vec<LineSeries> = arms
        .iter()
        .zip(sweeps)
        .map(|(arm, sweep)| LineSeries {
            label: arm.name.clone(),
            points: sweep.ratio_curve.clone(),
        })
        .collect();
    let chart = Lines {
        title: "Energy distance / data floor vs NFE (Heun)",
        x_label: "NFE",
        y_label: "energy / floor",
        series: &ratios,
        log_y: true,
    };
    let caption = format!(
        "Energy distance to held-out data divided by the data-vs-data floor, per NFE; the \
         verdict line is {FACTOR}×."
    );
    report.lines("energy_vs_nfe.svg", chart, caption)?;
    let losses: Vec<LineSeries> = arms
        .iter()
        .map(|arm| LineSeries {
            label: arm.name.clone(),
            points: (arm.trained.history.losses().iter())
                .map(|&(s, l)| (s as f64, l))
                .collect(),
        })
        .collect();
    let chart = Lines {
        title: "Training loss",
        x_label: "step",
        y_label: "loss",
        series: &losses,
        log_y: true,
    };
    report.lines("loss.svg", chart, "Training loss (every 10 steps).")?;
    report.key_figure("energy_vs_nfe.svg");
    Ok(())
}

/// The arm's samples beside held-out data (2-D) or as a grid of digits.
fn samples_figure(report: &mut ReportBuilder, arm: &Arm, samples: &Points) -> Result<()> {
    let file = format!("{}.svg", arm.name.replace('/', "_"));
    let title = format!("{} samples", arm.name);
    let caption = format!("{}: samples at the default step count", arm.name);
    if samples.d == 2 {
        let pts = |p: &Points| p.rows().map(|r| (r[0], r[1])).collect::<Vec<_>>();
        let series = [
            ScatterSeries {
                label: "held-out data".into(),
                points: pts(&arm.dataset.splits[0].0),
                colour: 7,
            },
            ScatterSeries {
                label: arm.name.clone(),
                points: pts(samples),
                colour: 0,
            },
        ];
        report.scatter(&file, &title, &series, caption)?;
    } else {
        let images: Vec<Vec<f32>> = samples.rows().take(64).map(|r| r.to_vec()).collect();
        let grid = Images::digits(&title, &images, 8);
        report.images(&file, grid, caption)?;
    }
    Ok(())
}
