//! The arms' summaries over seeds (mean and std of every number), the per-seed and per-checkpoint
//! tables, and the computed remarks.

use genlab_core::experiment::ReportBuilder;
use genlab_core::report::{self, Table, sig3};

use genlab_core::Result;
use genlab_flow::ode::Solver;

use super::arms::{self, ArmSpec, DeltaT, Eval, Setup};
use super::task::Task;
use super::tuning::Tuned;
use super::{M, SeedRun, Sizes, TARGET_FACTOR};
use crate::mid_training::{teacher_nfe, teacher_trajectory};

/// Writes the arms, tables and notes of the shared part of the run.
pub(super) fn write(
    report: &mut ReportBuilder,
    task: &Task,
    sizes: &Sizes,
    specs: &[ArmSpec],
    runs: &[SeedRun],
) {
    for i in 0..specs.len() {
        arm_metrics(report, task, sizes, specs, i, runs);
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
    specs: &[ArmSpec],
    i: usize,
    runs: &[SeedRun],
) {
    let spec = &specs[i];
    let name = spec.name;
    let over_seeds = |f: &dyn Fn(&arms::Curve) -> f64| -> Vec<f64> {
        runs.iter().map(|r| f(&r.curves[i])).collect()
    };
    let last = |xs: &[f64]| xs.last().copied().unwrap_or(f64::NAN);
    let first = |xs: &[f64]| xs.first().copied().unwrap_or(f64::NAN);
    let steps: Vec<f64> = (runs.iter())
        .map(|r| r.compute_to_target(i, specs, sizes))
        .collect();
    report.metric_over_seeds(name, "compute_to_target", &steps);
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
        "post_loss_noise",
        &over_seeds(&|c| loss_noise(&c.losses)),
    );
    report
        .metric(name, "mid_steps", spec.mid_steps as f64)
        .metric(name, "post_steps", spec.post_steps as f64)
        .metric(name, "mid_cost_ect_steps", spec.mid_cost);
}

/// The relative step-to-step noise of the second half of a per-step loss history,
/// √(½ mean (ℓ_{i+1} − ℓ_i)²) / |mean ℓ|: the loss's standard deviation around its local
/// level, which a slow drift (an annealed Δt) barely moves.
pub(super) fn loss_noise(losses: &[f64]) -> f64 {
    let half = &losses[losses.len() / 2..];
    if half.len() < 2 {
        return f64::NAN;
    }
    let diffs = half.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>();
    let noise = (0.5 * diffs / (half.len() - 1) as f64).sqrt();
    let (mean, _) = report::mean_std(half);
    noise / mean.abs().max(f64::MIN_POSITIVE)
}

/// Post-training steps to the target, per arm and seed (integers).
fn steps_table(task: &Task, sizes: &Sizes, specs: &[ArmSpec], runs: &[SeedRun]) -> Table {
    let mut columns = vec!["arm".to_string()];
    columns.extend(runs.iter().map(|r| format!("seed {}", r.seed)));
    let rows = (specs.iter().enumerate())
        .map(|(i, spec)| {
            let mut row = vec![spec.name.to_string()];
            row.extend((runs.iter()).map(|r| sig3(r.compute_to_target(i, specs, sizes))));
            row
        })
        .collect();
    Table {
        title: format!(
            "Per seed: compute (ECT-step equivalents, mid-training included) until the 2-step {} \
             reaches {TARGET_FACTOR} × teacher, or the worse of A's and B's best scores when either misses that",
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
}

/// The tuning seed's sweep: every arm's settings and the final 2-step score each reached.
pub(super) fn tuning(report: &mut ReportBuilder, task: &Task, specs: &[ArmSpec], tuned: &[Tuned]) {
    let rows = (specs.iter().zip(tuned))
        .flat_map(|(spec, t)| {
            t.explored.iter().map(move |(s, score)| {
                vec![
                    spec.name.to_string(),
                    format!("{:e}", s.lr),
                    s.delta_t.to_string(),
                    score.map_or("diverged".into(), sig3),
                    if *s == t.chosen { "chosen" } else { "" }.to_string(),
                ]
            })
        })
        .collect();
    report.table(Table {
        title: format!(
            "Tuning seed: final 2-step {} after a short post-training (A: {}), per setting",
            task.metric,
            t_fraction(tuned)
        ),
        columns: ["arm", "lr", "Δt", "2-step score", ""]
            .map(String::from)
            .to_vec(),
        rows,
    });
    for (spec, t) in specs.iter().zip(tuned) {
        report.metric(spec.name, "tuned_lr", t.chosen.lr);
        let q = match t.chosen.delta_t {
            DeltaT::Annealed => 0.0,
            DeltaT::Constant(q) => q as f64,
        };
        report.metric(spec.name, "tuned_constant_q_or_0_annealed", q);
    }
}

/// The tuning runs' fraction 1/n of post-training, as n.
fn t_fraction(tuned: &[Tuned]) -> String {
    tuned
        .first()
        .map_or(String::new(), |t| format!("{} steps", t.steps))
}

/// "What was tried": every arm's sweep on the tuning seed, one entry per arm.
pub(super) fn tried(
    report: &mut ReportBuilder,
    task: &Task,
    specs: &[ArmSpec],
    tuned: &[Tuned],
    seed: u64,
) {
    for (spec, t) in specs.iter().zip(tuned) {
        let settings = (t.explored.iter())
            .map(|(s, score)| format!("{s} → {}", score.map_or("diverged".into(), sig3)))
            .collect::<Vec<_>>()
            .join("; ");
        report.tried(format!(
            "{}: post-training lr × Δt swept on tuning seed {seed} ({} steps each, so that \
             every arm gets its best settings before the judged seeds), final 2-step {}: \
             {settings}. Chosen: {}.",
            spec.name, t.steps, task.metric, t.chosen
        ));
    }
}

/// The teacher solvers beside each other: the squared endpoint error of a 16-step trajectory
/// (DPM-Solver++(2M), Heun) against the 64-step Heun solution, on the first seed's noises.
pub(super) fn teacher_solvers(
    report: &mut ReportBuilder,
    setup: &Setup,
    eval: &Eval,
) -> Result<()> {
    for solver in [Solver::DpmPp2M, Solver::Heun] {
        let end = teacher_trajectory(setup.teacher, &setup.cm, eval.z.clone(), M, solver)
            .ok_or_else(|| genlab_core::Error::InvalidInput("the teacher must be EDM".into()))?
            .last();
        let err = (end - eval.teacher_end.clone())
            .square()
            .sum_dim(1)
            .mean()
            .into_scalar::<f32>() as f64;
        let nfe = teacher_nfe(solver, M);
        report.metric("teacher", &format!("traj{M}_{solver}_error"), err);
        report.note(format!(
            "Teacher solver {solver}, {M} steps ({nfe} evaluations per trajectory): squared \
             endpoint error against the 64-step Heun solution {}.",
            sig3(err)
        ));
    }
    Ok(())
}
