//! [`ReportBuilder`]: an experiment's report, assembled as the run goes — configuration, arms,
//! tables, notes, and figures that are written and registered in one call — and finished with
//! the verdict computed from the arms.

use std::path::Path;

use serde::Serialize;

use super::{ExperimentInfo, ReproOptions};
use crate::error::{Error, Result};
use crate::report::bars::{self, Bar};
use crate::report::plot::{self, LineSeries, ScatterSeries};
use crate::report::{Arms, Figure, Report, Table, Verdict};

/// Collects what an experiment reports; see the module doc.
#[derive(Debug)]
pub struct ReportBuilder {
    report: Report,
    dir: std::path::PathBuf,
}

impl ReportBuilder {
    /// An empty report for `info`, run with `opts` (figures go to `opts.dir`).
    pub fn new(info: &ExperimentInfo, opts: &ReproOptions) -> Self {
        let mut report = Report::new(
            info.name,
            info.paper,
            info.claim,
            opts.seed,
            Verdict::default(),
        );
        report.paper_effect = info.paper_effect.into();
        report.quick = opts.quick;
        ReportBuilder {
            report,
            dir: opts.dir.clone(),
        }
    }

    /// The seeds the run used.
    pub fn seeds(&mut self, seeds: &[u64]) -> &mut Self {
        self.report.seeds = seeds.to_vec();
        self
    }

    /// Records `value` under `key` in the report's configuration.
    pub fn config(&mut self, key: &str, value: impl Serialize) -> &mut Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if !self.report.config.is_object() {
            self.report.config = serde_json::Value::Object(Default::default());
        }
        self.report.config[key] = value;
        self
    }

    /// Sets `metric` of `arm`.
    pub fn metric(&mut self, arm: &str, metric: &str, value: f64) -> &mut Self {
        self.report
            .arms
            .entry(arm.into())
            .or_default()
            .insert(metric.into(), value);
        self
    }

    /// Sets `metric` to the mean over seeds of `values` and `metric_std` to their sample
    /// standard deviation.
    pub fn metric_over_seeds(&mut self, arm: &str, metric: &str, values: &[f64]) -> &mut Self {
        let (mean, std) = crate::report::mean_std(values);
        self.metric(arm, metric, mean);
        self.metric(arm, &format!("{metric}_std"), std)
    }

    /// Merges a whole arms table.
    pub fn arms(&mut self, arms: Arms) -> &mut Self {
        for (arm, metrics) in arms {
            self.report.arms.entry(arm).or_default().extend(metrics);
        }
        self
    }

    /// The arms so far (verdicts are computed from them).
    pub fn arms_so_far(&self) -> &Arms {
        &self.report.arms
    }

    /// Adds a table.
    pub fn table(&mut self, table: Table) -> &mut Self {
        self.report.tables.push(table);
        self
    }

    /// Adds a remark (what does not reproduce, what was skipped and why).
    pub fn note(&mut self, text: impl Into<String>) -> &mut Self {
        self.report.notes.push(text.into());
        self
    }

    /// Records one thing tried to make the claim hold (the setting, why, and what it measured);
    /// the page lists them under the verdict as "What was tried".
    pub fn tried(&mut self, text: impl Into<String>) -> &mut Self {
        self.report.tried.push(text.into());
        self
    }

    /// Registers a figure file already written to the report directory.
    pub fn figure(&mut self, file: &str, caption: impl Into<String>) -> &mut Self {
        self.report.figures.push(Figure {
            file: file.into(),
            caption: caption.into(),
        });
        self
    }

    /// Marks `file` as the key figure: the page shows it first.
    pub fn key_figure(&mut self, file: &str) -> &mut Self {
        if let Some(i) = self.report.figures.iter().position(|f| f.file == file) {
            let f = self.report.figures.remove(i);
            self.report.figures.insert(0, f);
        }
        self
    }

    /// Writes a line chart to `file` and registers it.
    pub fn lines(
        &mut self,
        file: &str,
        chart: Lines<'_>,
        caption: impl Into<String>,
    ) -> Result<&mut Self> {
        plot::lines(
            &self.path(file)?,
            chart.title,
            chart.x_label,
            chart.y_label,
            chart.series,
            chart.log_y,
        )?;
        Ok(self.figure(file, caption))
    }

    /// Writes a scatter plot to `file` and registers it.
    pub fn scatter(
        &mut self,
        file: &str,
        title: &str,
        series: &[ScatterSeries],
        caption: impl Into<String>,
    ) -> Result<&mut Self> {
        plot::scatter(&self.path(file)?, title, series)?;
        Ok(self.figure(file, caption))
    }

    /// Writes a grid of greyscale `width × height` images to `file` and registers it.
    pub fn images(
        &mut self,
        file: &str,
        grid: Images<'_>,
        caption: impl Into<String>,
    ) -> Result<&mut Self> {
        plot::image_grid(
            &self.path(file)?,
            grid.title,
            grid.images,
            grid.width,
            grid.height,
            grid.cols,
            grid.value_range,
        )?;
        Ok(self.figure(file, caption))
    }

    /// Writes a bar chart with error bars to `file` and registers it.
    pub fn bars(
        &mut self,
        file: &str,
        title: &str,
        y_label: &str,
        values: &[Bar],
        caption: impl Into<String>,
    ) -> Result<&mut Self> {
        bars::bars(&self.path(file)?, title, y_label, values)?;
        Ok(self.figure(file, caption))
    }

    /// The finished report, with `verdict` (computed from the arms by the caller).
    pub fn finish(mut self, verdict: Verdict) -> Report {
        self.report.verdict = verdict;
        self.report
    }

    fn path(&self, file: &str) -> Result<std::path::PathBuf> {
        if file.contains(['/', '\\']) || Path::new(file).is_absolute() {
            return Err(Error::InvalidInput(format!(
                "figure `{file}`: a plain file name inside the report directory"
            )));
        }
        Ok(self.dir.join(file))
    }
}

/// A line chart for [`ReportBuilder::lines`].
#[derive(Debug, Clone, Copy)]
pub struct Lines<'a> {
    /// Title above the plot.
    pub title: &'a str,
    /// x-axis label.
    pub x_label: &'a str,
    /// y-axis label.
    pub y_label: &'a str,
    /// The curves.
    pub series: &'a [LineSeries],
    /// Logarithmic y axis.
    pub log_y: bool,
}

/// An image grid for [`ReportBuilder::images`].
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    /// Title above the grid.
    pub title: &'a str,
    /// Row-major images.
    pub images: &'a [Vec<f32>],
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Images per row.
    pub cols: usize,
    /// Values mapped to black and white.
    pub value_range: (f32, f32),
}

impl<'a> Images<'a> {
    /// A grid of 8×8 digits on their 0–16 intensity scale (the shipped [`crate::data::digits`]),
    /// `cols` per row.
    pub fn digits(title: &'a str, images: &'a [Vec<f32>], cols: usize) -> Self {
        Images {
            title,
            images,
            width: 8,
            height: 8,
            cols,
            value_range: (0.0, 16.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Better, compare};

    #[test]
    fn builds_a_report_with_figures_written_and_registered() {
        let dir = tempfile::tempdir().unwrap();
        let info = ExperimentInfo {
            name: "toy",
            paper: "p",
            claim: "c",
            paper_effect: "−10%",
        };
        let opts = ReproOptions {
            quick: true,
            seed: 4,
            dir: dir.path().to_path_buf(),
            cache_dir: dir.path().to_path_buf(),
            seed_count: None,
        };
        let mut b = ReportBuilder::new(&info, &opts);
        b.seeds(&opts.seeds(3))
            .config("steps", 10)
            .metric("new", "fd", 1.0)
            .metric_over_seeds("old", "fd", &[2.0, 2.0, 2.0])
            .note("n")
            .tried("lr 1e-3: no change");
        let series = [LineSeries {
            label: "a".into(),
            points: vec![(0.0, 1.0), (1.0, 2.0)],
        }];
        let chart = Lines {
            title: "t",
            x_label: "x",
            y_label: "y",
            series: &series,
            log_y: false,
        };
        b.lines("a.svg", chart, "first").unwrap();
        b.lines("b.svg", chart, "key").unwrap();
        b.key_figure("b.svg");
        assert!(b.lines("../c.svg", chart, "escape").is_err());
        let v = compare(b.arms_so_far(), "fd", "new", "old", Better::Lower).unwrap();
        let r = b.finish(v);
        assert!(dir.path().join("a.svg").exists() && dir.path().join("b.svg").exists());
        assert_eq!(r.figures[0].file, "b.svg");
        assert_eq!((r.seeds.clone(), r.quick, r.seed), (vec![4, 5, 6], true, 4));
        assert_eq!(r.config["steps"], 10);
        assert_eq!(r.arms["old"]["fd_std"], 0.0);
        assert_eq!(r.paper_effect, "−10%");
        assert_eq!(r.tried, ["lr 1e-3: no change"]);
        assert!(r.verdict.holds);
    }
}
