//! The arms' summaries over seeds (mean and std of every number), the per-seed and per-checkpoint
//! tables, and the computed remarks.

use genlab_core::experiment::ReportBuilder;
use genlab_core::report::{self, Table, sig3};

use super::arms::{self, ArmSpec};
use super::task::Task;
use super::{SeedRun, Sizes, TARGET_FACTOR};

/// Writes the arms, tables and notes of the shared part of the run.
pub(super) fn write(
    report: &mut ReportBuilder,
    task: &Task,
    sizes: &Sizes,
    specs: &[ArmSpec],
    runs: &[SeedRun],
) {
    for (i, spec) in specs.iter().enumerate() {
        arm_metrics(report, task, sizes, spec, i, runs);
    }
    let teacher: Vec<f64> = runs.iter().map(|r| r.teacher_score).collect();
    report.metric_over_seeds("teacher", &format!("{}_18step", task.key), &teacher);
    report.table(steps_table(task, sizes, specs, runs));
    report.table(curves_table(task, specs, &runs[0]));
    notes(report, task, specs, runs);
}

/// Mean ± std over seeds of arm `i`'s summary numbers, and its step counts.
fn arm_metrics(
    report: &mut ReportBuilder,
    task: &Task,
    sizes: &Sizes,
    spec: &ArmSpec,
    i: usize,
    runs: &[SeedRun],
) {
    let name = spec.name;
    let over_seeds = |f: &dyn Fn(&arms::Curve) -> f64| -> Vec<f64> {
        runs.iter().map(|r| f(&r.curves[i])).collect()
    };
    let last = |xs: &[f64]| xs.last().copied().unwrap_or(f64::NAN);
    let first = |xs: &[f64]| xs.first().copied().unwrap_or(f64::NAN);
    let steps: Vec<f64> = runs.iter().map(|r| r.steps_to_target(i, sizes)).collect();
    report.metric_over_seeds(name, "steps_to_target", &steps);
    let key = task.key;
    report.metric_over_seeds(
        name,
        &format!("final_2step_{key}"),
        &over_seeds(&|c| last(&c.two_step)),
    );
    // Where post-training helped most: the best 2-step checkpoint and its step.
    report.metric_over_seeds(
        name,
        &format!("best_2step_{key}"),
        &over_seeds(&|c| c.two_step.iter().copied().fold(f64::INFINITY, f64::min)),
    );
    report.metric_over_seeds(
        name,
        "best_2step_at_step",
        &over_seeds(&|c| {
            let best = c
                .two_step
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1));
            best.map_or(f64::NAN, |(k, _)| c.steps[k] as f64)
        }),
    );
    report.metric_over_seeds(
        name,
        &format!("final_1step_{key}"),
        &over_seeds(&|c| last(&c.one_step)),
    );
    report.metric_over_seeds(
        name,
        "initial_flow_map_error",
        &over_seeds(&|c| first(&c.flow_map_error)),
    );
    report.metric_over_seeds(
        name,
        "final_flow_map_error",
        &over_seeds(&|c| last(&c.flow_map_error)),
    );
    report.metric_over_seeds(
        name,
        "post_loss_cv",
        &over_seeds(&|c| coefficient_of_variation(&c.losses)),
    );
    report
        .metric(name, "mid_steps", spec.mid_steps as f64)
        .metric(name, "post_steps", spec.post_steps as f64);
}

/// Std / |mean| of the second half of a loss history: how noisy post-training ends.
fn coefficient_of_variation(xs: &[f64]) -> f64 {
    let half = &xs[xs.len() / 2..];
    let (m, s) = report::mean_std(half);
    s / m.abs().max(f64::MIN_POSITIVE)
}

/// Post-training steps to the target, per arm and seed (integers).
fn steps_table(task: &Task, sizes: &Sizes, specs: &[ArmSpec], runs: &[SeedRun]) -> Table {
    let mut columns = vec!["arm".to_string()];
    columns.extend(runs.iter().map(|r| format!("seed {}", r.seed)));
    let rows = (specs.iter().enumerate())
        .map(|(i, spec)| {
            let mut row = vec![spec.name.to_string()];
            row.extend(runs.iter().map(|r| sig3(r.steps_to_target(i, sizes))));
            row
        })
        .collect();
    Table {
        title: format!(
            "Per seed: post-training steps to reach 2-step {} ≤ {TARGET_FACTOR} × teacher",
            task.metric
        ),
        columns,
        rows,
    }
}

/// The first seed's 2-step score and flow-map error of every arm at every checkpoint.
fn curves_table(task: &Task, specs: &[ArmSpec], run: &SeedRun) -> Table {
    let mut columns = vec!["step".to_string()];
    for spec in specs {
        columns.push(format!("{} 2-step", spec.name));
        columns.push(format!("{} flow-map", spec.name));
    }
    let longest = run.curves.iter().map(|c| c.steps.len()).max().unwrap_or(0);
    let cell = |xs: &[f64], k: usize| xs.get(k).map(|v| sig3(*v)).unwrap_or_default();
    let rows = (0..longest)
        .map(|k| {
            let step = run.curves.iter().find_map(|c| c.steps.get(k));
            let mut row = vec![step.map(|s| s.to_string()).unwrap_or_default()];
            for c in &run.curves {
                row.push(cell(&c.two_step, k));
                row.push(cell(&c.flow_map_error, k));
            }
            row
        })
        .collect();
    Table {
        title: format!(
            "Seed {}: 2-step {} / flow-map error at each checkpoint",
            run.seed, task.metric
        ),
        columns,
        rows,
    }
}

/// Does post-training improve on where it starts, and how often is (B) ahead of (A) at equal
/// post-training steps?
fn notes(report: &mut ReportBuilder, task: &Task, specs: &[ArmSpec], runs: &[SeedRun]) {
    for (i, spec) in specs.iter().enumerate() {
        let at = |pick: fn(&[f64]) -> Option<&f64>| -> f64 {
            let xs: Vec<f64> = runs
                .iter()
                .filter_map(|r| pick(&r.curves[i].two_step).copied())
                .collect();
            report::mean_std(&xs).0
        };
        report.note(format!(
            "{}: 2-step {} {} at the start of post-training → {} at its end (mean over seeds).",
            spec.name,
            task.metric,
            sig3(at(<[f64]>::first)),
            sig3(at(<[f64]>::last)),
        ));
    }
    let (cmt, ect) = (arms::index(specs, arms::CMT), arms::index(specs, arms::ECT));
    let (mut below, mut total) = (0usize, 0usize);
    for run in runs {
        let (a, b) = (&run.curves[ect].two_step, &run.curves[cmt].two_step);
        for (eb, ea) in b.iter().zip(a) {
            total += 1;
            below += usize::from(eb < ea);
        }
    }
    report.note(format!(
        "At equal post-training steps (all seeds, every checkpoint of B's shorter \
         post-training), B's 2-step {} is below A's at {below} of {total} checkpoints.",
        task.metric
    ));
    report
        .note("Teacher solver: Heun on a geometric σ grid (the reference uses DPM-Solver++(2M)).");
}
