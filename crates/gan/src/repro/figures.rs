//! The report's tables and figures: per-task tables (mean ± s.e. over seeds), the ablation table
//! beside the paper's, class-coloured samples per head at each N, accuracy and NF against N, and
//! digit sample grids per head.

use genlab_core::Result;
use genlab_core::experiment::{Images, Lines, ReportBuilder};
use genlab_core::report::{LineSeries, ScatterSeries, Table, sig3};

use super::runs::{Done, Job, Task};
use super::{PerSeed, Sizes, arm, mean_se};
use crate::heads::Head;

/// The figure shown first.
pub(super) const KEY_FIGURE: &str = "accuracy_vs_classes.svg";

/// Samples per class drawn in the scatter plots.
const SHOWN_PER_CLASS: usize = 20;

/// "mean ± s.e." of `metric` at `name` over the seeds that measured it.
fn cell(per_seed: &PerSeed, name: &str, metric: &str) -> String {
    let xs: Vec<f64> = per_seed
        .iter()
        .filter_map(|a| a.get(name)?.get(metric).copied())
        .collect();
    if xs.is_empty() {
        return "—".into();
    }
    let (m, se) = mean_se(&xs);
    format!("{} ± {}", sig3(m), sig3(se))
}

/// The heads a task was run with, in [`Head::ALL`] order.
fn heads_of(task: Task, sizes: &Sizes) -> Vec<Head> {
    match task {
        Task::Ring(_) => Head::ALL.to_vec(),
        Task::Digits => sizes.digit_heads.to_vec(),
    }
}

fn tasks(sizes: &Sizes) -> Vec<Task> {
    let mut t: Vec<Task> = sizes.classes.iter().map(|&n| Task::Ring(n)).collect();
    if !sizes.digit_heads.is_empty() {
        t.push(Task::Digits);
    }
    t
}

/// One table per task, and the ablation table beside the paper's.
pub(super) fn tables(report: &ReportBuilder, per_seed: &PerSeed, sizes: &Sizes) -> Vec<Table> {
    let _ = report;
    let mut out = Vec::new();
    for task in tasks(sizes) {
        let (distance, class_distance, coverage) = match task {
            Task::Ring(_) => ("energy distance ↓", "per-class energy distance ↓", true),
            Task::Digits => ("FD-digits ↓", "per-class FD-digits ↓", false),
        };
        let mut columns = vec![
            "head",
            "accuracy ↑",
            "failed classes (NF) ↓",
            class_distance,
            distance,
        ];
        if coverage {
            columns.push("mode coverage ↑");
        }
        let rows = heads_of(task, sizes)
            .into_iter()
            .map(|head| {
                let name = arm(task, head);
                let mut row = vec![head.name().to_string()];
                for metric in ["accuracy", "failed", "class_distance", "distance"] {
                    row.push(cell(per_seed, &name, metric));
                }
                if coverage {
                    row.push(cell(per_seed, &name, "coverage"));
                }
                row
            })
            .collect();
        let title = match task {
            Task::Ring(n) => format!("Ring of N = {n} classes: mean ± s.e. over seeds"),
            Task::Digits => "8×8 digits, 10 classes: mean ± s.e. over seeds".into(),
        };
        out.push(Table {
            title,
            columns: columns.into_iter().map(String::from).collect(),
            rows,
        });
    }
    out.push(ablation_table(per_seed, sizes));
    out
}

/// The paper's CIFAR-10 ablation FIDs beside our ablations at the largest N.
fn ablation_table(per_seed: &PerSeed, sizes: &Sizes) -> Table {
    let n = *sizes.classes.iter().max().expect("a class count");
    let paper = [
        (Head::Sona, "5.65 (both)"),
        (Head::SonaNoBtm, "6.29 (s + Π⊥)"),
        (Head::SonaNoOrth, "6.02 (s + BT-M)"),
        (Head::SonaNoWeights, "7.09 (both, without s)"),
        (Head::Projection, "— (PD-GAN baseline)"),
    ];
    let rows = paper
        .iter()
        .map(|&(head, fid)| {
            let name = arm(Task::Ring(n), head);
            vec![
                head.name().to_string(),
                fid.to_string(),
                cell(per_seed, &name, "accuracy"),
                cell(per_seed, &name, "failed"),
                cell(per_seed, &name, "class_distance"),
            ]
        })
        .collect();
    Table {
        title: format!("SONA ablations: the paper's CIFAR-10 FID beside ours at N = {n}"),
        columns: [
            "head",
            "paper FID ↓",
            "accuracy ↑",
            "NF ↓",
            "per-class energy distance ↓",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// Every figure.
pub(super) fn draw(
    report: &mut ReportBuilder,
    jobs: &[Job],
    done: &[Done],
    sizes: &Sizes,
) -> Result<()> {
    curves(report, sizes)?;
    let first_seed = jobs.first().map(|j| j.seed);
    for (job, d) in jobs
        .iter()
        .zip(done)
        .filter(|(j, _)| Some(j.seed) == first_seed)
    {
        match job.task {
            Task::Ring(n) => scatter(report, n, job.head, d)?,
            Task::Digits => grid(report, job.head, d)?,
        }
    }
    report.key_figure(KEY_FIGURE);
    Ok(())
}

/// Accuracy and NF against N, one line per head (means over seeds).
fn curves(report: &mut ReportBuilder, sizes: &Sizes) -> Result<()> {
    for (metric, title, file) in [
        (
            "accuracy",
            "Conditional accuracy vs number of classes",
            KEY_FIGURE,
        ),
        (
            "failed",
            "Failed classes (accuracy < 50%) vs number of classes",
            "failed_vs_classes.svg",
        ),
    ] {
        let series: Vec<LineSeries> = Head::ALL
            .iter()
            .map(|&head| LineSeries {
                label: head.name().into(),
                points: sizes
                    .classes
                    .iter()
                    .filter_map(|&n| {
                        Some((
                            n as f64,
                            *report
                                .arms_so_far()
                                .get(&arm(Task::Ring(n), head))?
                                .get(metric)?,
                        ))
                    })
                    .collect(),
            })
            .collect();
        let chart = Lines {
            title,
            x_label: "classes N",
            y_label: metric,
            series: &series,
            log_y: false,
        };
        report.lines(
            file,
            chart,
            format!("{title}: rings of N class components, mean over seeds."),
        )?;
    }
    Ok(())
}

/// The first seed's samples of one head on the ring of `n` classes, coloured by class.
fn scatter(report: &mut ReportBuilder, n: usize, head: Head, d: &Done) -> Result<()> {
    let labels = d.samples.labels.as_deref().unwrap_or(&[]);
    let series: Vec<ScatterSeries> = (0..n as u32)
        .map(|c| ScatterSeries {
            label: if n <= 10 {
                format!("class {c}")
            } else {
                String::new()
            },
            points: (0..d.samples.len())
                .filter(|&i| labels[i] == c)
                .take(SHOWN_PER_CLASS)
                .map(|i| (d.samples.row(i)[0], d.samples.row(i)[1]))
                .collect(),
            colour: c as usize,
        })
        .collect();
    let file = format!("samples_N{n}_{}.svg", head.name());
    let title = format!("{}, N = {n}", head.name());
    let caption = format!(
        "{SHOWN_PER_CLASS} samples per class from the {} head on the ring of N = {n}, coloured by requested class (first seed).",
        head.name()
    );
    report.scatter(&file, &title, &series, caption).map(|_| ())
}

/// The first seed's digit samples of one head: column c is class c.
fn grid(report: &mut ReportBuilder, head: Head, d: &Done) -> Result<()> {
    let per_class = d.samples.len() / 10;
    let rows = per_class.min(4);
    let images: Vec<Vec<f32>> = (0..rows)
        .flat_map(|r| (0..10).map(move |c| c * per_class + r))
        .map(|i| {
            d.samples
                .row(i)
                .iter()
                .map(|v| v.clamp(0.0, 16.0))
                .collect()
        })
        .collect();
    let title = format!("{} head, 8×8 digits", head.name());
    let file = format!("digits_{}.svg", head.name());
    report
        .images(
            &file,
            Images::digits(&title, &images, 10),
            format!(
                "Digit samples of the {} head; column c is class c (first seed).",
                head.name()
            ),
        )
        .map(|_| ())
}
