//! Figures of the shared part: the first seed's 2-step score (the key figure) and flow-map
//! error during post-training, and every arm's one-step samples beside the teacher's.

use genlab_core::Result;
use genlab_core::data::Points;
use genlab_core::experiment::{Images, Lines, ReportBuilder, ReproOptions};
use genlab_core::report::{LineSeries, ScatterSeries};
use genlab_core::train::SeededRng;

use super::SeedRun;
use super::arms::{ArmSpec, Curve};
use super::task::{Scorer, Task};

/// Writes and registers the figures.
pub(super) fn write(
    report: &mut ReportBuilder,
    opts: &ReproOptions,
    task: &Task,
    specs: &[ArmSpec],
    runs: &[SeedRun],
) -> Result<()> {
    let run = &runs[0];
    let series = |ys: fn(&Curve) -> &[f64]| -> Vec<LineSeries> {
        specs
            .iter()
            .zip(&run.curves)
            .map(|(spec, c)| LineSeries {
                label: spec.name.to_string(),
                points: c
                    .steps
                    .iter()
                    .map(|&s| s as f64)
                    .zip(ys(c).iter().copied())
                    .collect(),
            })
            .collect()
    };
    let two_step = series(|c| &c.two_step);
    let title = format!(
        "2-step {} during post-training (seed {})",
        task.metric, run.seed
    );
    curve_chart(
        report,
        "two_step_metric.svg",
        &title,
        task.metric,
        &two_step,
    )?;
    let flow_map = series(|c| &c.flow_map_error);
    let title = format!(
        "Flow-map error E‖f(Tz,T) − teacher ODE(z)‖² (seed {})",
        run.seed
    );
    curve_chart(
        report,
        "flow_map_error.svg",
        &title,
        "squared error",
        &flow_map,
    )?;

    let mut samples: Vec<(String, &Points)> = (specs.iter().zip(&run.curves))
        .filter_map(|(spec, c)| {
            Some((format!("{} (1 step)", spec.name), c.last_one_step.as_ref()?))
        })
        .collect();
    samples.push(("teacher (18-step Heun)".into(), &run.teacher_samples));
    for (i, (label, points)) in samples.iter().enumerate() {
        samples_figure(report, opts, task, i, label, points)?;
    }
    report.key_figure("two_step_metric.svg");
    Ok(())
}

/// A metric against post-training steps, one line per arm.
fn curve_chart(
    report: &mut ReportBuilder,
    file: &str,
    title: &str,
    y_label: &str,
    series: &[LineSeries],
) -> Result<()> {
    let chart = Lines {
        title,
        x_label: "post-training step",
        y_label,
        series,
        log_y: true,
    };
    report.lines(
        file,
        chart,
        format!("{title}; step 0 is the start of post-training."),
    )?;
    Ok(())
}

/// Figure `samples_<i>.svg`: 2-D samples over held-out data, or a grid of digits.
fn samples_figure(
    report: &mut ReportBuilder,
    opts: &ReproOptions,
    task: &Task,
    i: usize,
    label: &str,
    samples: &Points,
) -> Result<()> {
    let file = format!("samples_{i}.svg");
    let title = format!("{label}, seed {}", opts.seed);
    let caption =
        format!("{label}: samples at the end of post-training (teacher: its own default sampler).");
    match &task.scorer {
        Scorer::Energy(mixture) => {
            let pts = |p: &Points| p.rows().map(|r| (r[0], r[1])).collect::<Vec<_>>();
            let reference = mixture.sample(2000, SeededRng::new(opts.seed).rng());
            let series = [
                ScatterSeries {
                    label: "held-out data".into(),
                    points: pts(&reference),
                    colour: 7,
                },
                ScatterSeries {
                    label: label.into(),
                    points: pts(samples),
                    colour: i,
                },
            ];
            report.scatter(&file, &title, &series, caption)?;
        }
        Scorer::Fd(..) => {
            let images: Vec<Vec<f32>> = samples.rows().take(40).map(|r| r.to_vec()).collect();
            let grid = Images::digits(&title, &images, 10);
            report.images(&file, grid, caption)?;
        }
    }
    Ok(())
}
