//! The figures: exact-order accuracy per arm (the key figure) and MRSTFT per true chain length.

use genlab_core::Result;
use genlab_core::experiment::{Lines, ReportBuilder};
use genlab_core::report::LineSeries;
use genlab_core::report::bars::Bar;

use super::verdict::ORDER;
use super::{MAX_EFFECTS, SeedRun};

/// Writes both figures of the base seed's run and registers them, the order-accuracy bars
/// first.
pub(super) fn add(report: &mut ReportBuilder, run: &SeedRun, sources: &[String]) -> Result<()> {
    let series: Vec<LineSeries> = run
        .scores
        .iter()
        .map(|arm| LineSeries {
            label: arm.name.clone(),
            points: (1..=MAX_EFFECTS)
                .map(|n| (n as f64, arm.of_length(n).mrstft))
                .collect(),
        })
        .collect();
    let chart = Lines {
        title: "MRSTFT of the re-rendered estimate vs chain length",
        x_label: "true chain length N",
        y_label: "mean MRSTFT to the target (lower is better)",
        series: &series,
        log_y: false,
    };
    report.lines(
        "mrstft_by_length.svg",
        chart,
        format!(
            "Mean MRSTFT (auraloss resolutions) between the target and the estimated chain rendered over the dry input, per true chain length, on held-out pairs ({} sources); no-op = the dry signal itself.",
            sources.join(", ")
        ),
    )?;
    let bars: Vec<Bar> = run
        .scores
        .iter()
        .map(|arm| Bar {
            label: arm.name.clone(),
            value: run.arms[&arm.name][ORDER],
            error: 0.0,
        })
        .collect();
    report.bars(
        "order_accuracy.svg",
        "Exact-order accuracy on held-out chains with N ≥ 2",
        "fraction with the exact effect sequence",
        &bars,
        "Fraction of held-out N ≥ 2 pairs whose estimated effect sequence equals the true one (names and order). The regression baseline emits the canonical order, so it is right only when the true order happens to be canonical.",
    )?;
    report.key_figure("order_accuracy.svg");
    Ok(())
}
