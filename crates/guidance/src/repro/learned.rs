//! The learned part of `repro guidance`: one digits denoiser per seed, sampled with every rule,
//! strength and step count, scored ([`super::digits`]), and judged over the seeds.
//!
//! ```text
//! per seed s   train the denoiser with seed s; draw `per_class` samples of each class per
//!              (rule, w, steps) from a stream seeded s ⊕ 0x5eed; FD, accuracy, precision, recall
//! verdict      at every w ≥ 2 and step count, normalised vs unlocking and vs simple:
//!              FD lower — paired over seeds (every seed, or mean gain > 2 SE; ≥ 3 seeds);
//!              accuracy not below theirs by more than 2 s.e. of a difference of proportions —
//!              per seed, combined over seeds by the same rule
//! ```

use std::time::Instant;

use genlab_core::Result;
use genlab_core::data::digits;
use genlab_core::experiment::{Images, Lines, ReportBuilder, ReproOptions};
use genlab_core::metrics::DigitClassifier;
use genlab_core::report::{
    self, Arms, Better, LineSeries, Table, Verdict, across_seeds, all_of, paired, sig3,
};
use genlab_core::train::{Observer, SeededRng};

use super::digits::{DigitScorer, ancestral, draw};
use super::{Sizes, num};
use crate::guidance::Rule;
use crate::model::TokenModel;
use crate::sampler::mask_curve;
use crate::tokens::TokenData;
use crate::train::{TrainConfig, train};

/// The figure the report shows first: FD against w per rule, the paper's headline plot.
pub(super) const KEY_FIGURE: &str = "learned_fd_vs_w.svg";

/// The metrics of every learned arm.
const METRICS: [&str; 4] = ["fd", "accuracy", "precision", "recall"];

/// Real digits scored like a sample set: the metrics' finite-sample floor.
const REAL_ARM: &str = "learned/real digits (floor)";

fn arm(rule: Rule, w: f64, steps: usize) -> String {
    format!("learned/{}/w{w}/{steps}-step", rule.name())
}

/// One seed's denoiser and its measured arms.
struct SeedRun {
    arms: Arms,
    final_loss: f64,
    model: TokenModel,
    /// The sampling stream after the measurements (the sample figures continue from it).
    rng: SeededRng,
}

/// Runs the learned part over `seeds`, adding each phase's wall time to `seconds`; returns its
/// verdicts (FD, accuracy).
pub(super) fn run(
    opts: &ReproOptions,
    sizes: &Sizes,
    seeds: &[u64],
    report: &mut ReportBuilder,
    seconds: &mut serde_json::Map<String, serde_json::Value>,
    observer: &mut dyn Observer,
) -> Result<Vec<Verdict>> {
    // Data.
    let data = TokenData::from_digits(&digits())?;
    observer.message("loading the digit classifier");
    let classifier = DigitClassifier::load_or_train(&opts.cache_dir)?;
    let scorer = DigitScorer::new(classifier, &data.to_points())?;

    // Train the arms and measure them, seed by seed.
    let mut runs = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        runs.push(seed_run(seed, sizes, &data, &scorer, seconds, observer)?);
    }
    let per_seed: Vec<Arms> = runs.iter().map(|r| r.arms.clone()).collect();
    record_means(&per_seed, report);
    let final_losses: Vec<f64> = runs.iter().map(|r| r.final_loss).collect();
    report.config("final_train_losses", final_losses);

    // Verdict.
    let n = sizes.per_class * 10;
    let verdicts = vec![
        fd_verdict(&per_seed, sizes)?,
        accuracy_verdict(&per_seed, sizes, n)?,
    ];

    // Tables, figures, notes.
    let table = summary_table(report.arms_so_far(), &per_seed);
    report.table(table);
    curves(report, sizes)?;
    let first = &mut runs[0];
    pictures(opts, &first.model, sizes, &mut first.rng, report)?;
    report.note(per_w_breakdown(&per_seed, sizes));
    Ok(verdicts)
}

/// Trains seed `seed`'s denoiser and measures every arm on it.
fn seed_run(
    seed: u64,
    sizes: &Sizes,
    data: &TokenData,
    scorer: &DigitScorer,
    seconds: &mut serde_json::Map<String, serde_json::Value>,
    observer: &mut dyn Observer,
) -> Result<SeedRun> {
    observer.message(&format!(
        "seed {seed}: training the digit denoiser ({} steps)",
        sizes.train.steps
    ));
    let phase = Instant::now();
    let config = TrainConfig {
        seed,
        ..sizes.train.clone()
    };
    let (model, history) = train(data, &config, None, false, observer)?;
    let key = format!("train seed {seed}");
    seconds.insert(key, phase.elapsed().as_secs_f64().into());
    let phase = Instant::now();
    let mut rng = SeededRng::new(seed ^ 0x5eed);
    let arms = measure(seed, &model, sizes, data, scorer, &mut rng, observer)?;
    let key = format!("sample+score seed {seed}");
    seconds.insert(key, phase.elapsed().as_secs_f64().into());
    Ok(SeedRun {
        arms,
        final_loss: history.losses().last().map_or(f64::NAN, |l| l.1),
        model,
        rng,
    })
}

/// The real-digit floor and every (steps, w, rule) arm of one model.
fn measure(
    seed: u64,
    model: &TokenModel,
    sizes: &Sizes,
    data: &TokenData,
    scorer: &DigitScorer,
    rng: &mut SeededRng,
    observer: &mut dyn Observer,
) -> Result<Arms> {
    let mut arms = Arms::new();
    let real = data
        .to_points()
        .select(&rng.permutation(data.len())[..sizes.per_class * 10]);
    arms.insert(REAL_ARM.into(), scorer.score(&real)?.metrics());
    let total = (sizes.steps.len() * sizes.ws.len() * Rule::ALL.len()) as u64;
    observer.start(&format!("seed {seed}: sampling"), total);
    let mut done = 0;
    for &steps in sizes.steps {
        for &w in sizes.ws {
            for rule in Rule::ALL {
                let config = ancestral(model, rule, w, steps);
                let (points, _) = draw(model, sizes.per_class, &config, rng)?;
                let scores = scorer.score(&points)?;
                arms.insert(arm(rule, w, steps), scores.metrics());
                done += 1;
                observer.step(done, &[("fd", scores.fd), ("accuracy", scores.accuracy)]);
            }
        }
    }
    observer.finish();
    Ok(arms)
}

/// Every arm's metrics as mean and standard deviation over the seeds.
fn record_means(per_seed: &[Arms], report: &mut ReportBuilder) {
    for arm in per_seed[0].keys() {
        for metric in METRICS {
            let xs: Vec<f64> = per_seed
                .iter()
                .filter_map(|a| a.get(arm)?.get(metric).copied())
                .collect();
            report.metric_over_seeds(arm, metric, &xs);
        }
    }
}

/// The compared (method, baseline) arms: normalised vs unlocking and vs simple at every
/// w ≥ 2 and step count.
fn comparisons(sizes: &Sizes) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for &steps in sizes.steps {
        for &w in sizes.ws.iter().filter(|&&w| w >= 2.0) {
            for other in [Rule::Unlocking, Rule::Simple] {
                out.push((arm(Rule::Normalized, w, steps), arm(other, w, steps)));
            }
        }
    }
    out
}

/// FD lower than each other rule, paired over seeds, at every compared cell.
fn fd_verdict(per_seed: &[Arms], sizes: &Sizes) -> Result<Verdict> {
    let parts = comparisons(sizes)
        .iter()
        .map(|(method, base)| {
            let pairs: Vec<(f64, f64)> = per_seed
                .iter()
                .map(|a| (a[method]["fd"], a[base]["fd"]))
                .collect();
            paired("fd", method, base, Better::Lower, &pairs)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(all_of("learned FD-digits lower", parts))
}

/// Accuracy at least each other rule's on each seed (up to sampling error, see
/// [`accuracy_at_least`]), combined over seeds, at every compared cell.
fn accuracy_verdict(per_seed: &[Arms], sizes: &Sizes, n: usize) -> Result<Verdict> {
    let parts = comparisons(sizes)
        .iter()
        .map(|(method, base)| {
            let seeds = per_seed
                .iter()
                .map(|a| accuracy_at_least(a, method, base, n))
                .collect::<Result<Vec<_>>>()?;
            let mut v = across_seeds(&seeds)?;
            let mean = |arm: &str| {
                report::mean_std(
                    &per_seed
                        .iter()
                        .map(|a| a[arm]["accuracy"])
                        .collect::<Vec<_>>(),
                )
                .0
            };
            v.effect = format!("accuracy {} vs {}", sig3(mean(method)), sig3(mean(base)));
            v.detail = format!(
                "{method} vs {base} on accuracy (2 s.e. allowed): {}",
                v.detail
            );
            Ok(v)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(all_of("learned accuracy at least as high", parts))
}

/// "Accuracy at least the baseline's" up to sampling error: the normalised arm's accuracy may
/// fall below the baseline's by no more than two standard errors of the difference of two
/// binomial proportions over `n` samples each, √(p₁(1−p₁)/n + p₂(1−p₂)/n). Margin: the
/// difference plus that allowance, in accuracy units (≥ 0 holds).
fn accuracy_at_least(arms: &Arms, method: &str, base: &str, n: usize) -> Result<Verdict> {
    let mut v = report::compare(arms, "accuracy", method, base, Better::Higher)?;
    let (p1, p2) = (arms[method]["accuracy"], arms[base]["accuracy"]);
    let allowance = 2.0 * ((p1 * (1.0 - p1) + p2 * (1.0 - p2)) / n as f64).sqrt();
    let diff = p1 - p2;
    v.holds = diff >= -allowance;
    v.margin = diff + allowance;
    v.detail = format!(
        "{method} accuracy {p1:.3} vs {base} {p2:.3}: difference {diff:+.3}, allowed down to \
         −{allowance:.3} (2 s.e., n = {n})"
    );
    Ok(v)
}

/// Mean ± std over seeds of every learned arm.
fn summary_table(arms: &Arms, per_seed: &[Arms]) -> Table {
    let rows = per_seed[0]
        .keys()
        .map(|name| {
            let mut cells = vec![name.trim_start_matches("learned/").to_string()];
            for metric in METRICS {
                let (mean, std) = (arms[name][metric], arms[name][&format!("{metric}_std")]);
                cells.push(format!("{} ± {}", num(mean), num(std)));
            }
            cells
        })
        .collect();
    Table {
        title: format!(
            "Learned (8×8 digits, 64 tokens × 17 levels): mean ± std over {} seeds",
            per_seed.len()
        ),
        columns: [
            "rule / w / steps",
            "FD-digits ↓",
            "accuracy ↑",
            "precision ↑",
            "recall ↑",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// FD and accuracy against w per rule, mean over seeds, at the first step count.
fn curves(report: &mut ReportBuilder, sizes: &Sizes) -> Result<()> {
    let steps = sizes.steps[0];
    for (metric, title, file) in [
        ("fd", "FD-digits vs guidance strength", KEY_FIGURE),
        (
            "accuracy",
            "Classifier accuracy vs guidance strength",
            "learned_accuracy_vs_w.svg",
        ),
    ] {
        let series: Vec<LineSeries> = Rule::ALL
            .iter()
            .map(|&rule| LineSeries {
                label: rule.name().into(),
                points: sizes
                    .ws
                    .iter()
                    .map(|&w| (w, report.arms_so_far()[&arm(rule, w, steps)][metric]))
                    .collect(),
            })
            .collect();
        let title = format!("{title} ({steps} steps)");
        let chart = Lines {
            title: &title,
            x_label: "w",
            y_label: metric,
            series: &series,
            log_y: false,
        };
        let caption = format!("{title}, {steps} ancestral steps, mean over seeds.");
        report.lines(file, chart, caption)?;
    }
    Ok(())
}

/// The first seed's mask-fraction curves and one sample grid per rule.
fn pictures(
    opts: &ReproOptions,
    model: &TokenModel,
    sizes: &Sizes,
    rng: &mut SeededRng,
    report: &mut ReportBuilder,
) -> Result<()> {
    let (w, steps) = (sizes.show_w, sizes.show_steps);
    let (_, unguided) = draw(
        model,
        10,
        &ancestral(model, Rule::Normalized, 1.0, steps),
        rng,
    )?;
    let mut series = vec![LineSeries {
        label: "unguided (w = 1)".into(),
        points: mask_curve(&unguided.times, &unguided.mask_fraction),
    }];
    let per_class = 4;
    for rule in Rule::ALL {
        let (points, s) = draw(model, per_class, &ancestral(model, rule, w, steps), rng)?;
        series.push(LineSeries {
            label: format!("{} (w = {w})", rule.name()),
            points: mask_curve(&s.times, &s.mask_fraction),
        });
        // Column c shows class c.
        let images: Vec<Vec<f32>> = (0..per_class)
            .flat_map(|r| (0..10).map(move |c| c * per_class + r))
            .map(|i| points.row(i).to_vec())
            .collect();
        let file = format!("samples_{}.svg", rule.name());
        let title = format!("{} rule, w = {w}, {steps} steps", rule.name());
        let grid = Images::digits(&title, &images, 10);
        report.images(
            &file,
            grid,
            format!(
                "{} rule at w = {w}, {steps} ancestral steps; column c is class c (seed {}).",
                rule.name(),
                opts.seed
            ),
        )?;
    }
    let chart = Lines {
        title: "Learned: masked fraction vs t",
        x_label: "t (1 = all masked)",
        y_label: "masked fraction",
        series: &series,
        log_y: false,
    };
    let caption = format!(
        "Digits denoiser, {steps} ancestral steps: fraction of masked tokens after each step, \
         per rule at w = {w}."
    );
    report
        .lines("learned_mask_fraction.svg", chart, caption)
        .map(|_| ())
}

/// For each w ≥ 2: on how many (seed, step count) cells the normalised FD beats both others.
fn per_w_breakdown(per_seed: &[Arms], sizes: &Sizes) -> String {
    let parts: Vec<String> = sizes
        .ws
        .iter()
        .filter(|&&w| w >= 2.0)
        .map(|&w| {
            let (mut wins, mut cells) = (0, 0);
            for arms in per_seed {
                for &steps in sizes.steps {
                    let fd = |rule| arms[&arm(rule, w, steps)]["fd"];
                    cells += 1;
                    wins += usize::from(
                        fd(Rule::Normalized) < fd(Rule::Unlocking).min(fd(Rule::Simple)),
                    );
                }
            }
            format!("w = {w}: {wins}/{cells}")
        })
        .collect();
    format!(
        "Learned FD-digits, normalized below both other rules, per w over (seed, step count) \
         cells: {}.",
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repro::SCALES;
    use std::collections::BTreeMap;

    /// Per-seed arms where normalised has FD `fd_gap` below the others and equal accuracy.
    fn seeds(n: usize, fd_gap: f64) -> Vec<Arms> {
        let sizes = &SCALES.quick;
        (0..n)
            .map(|s| {
                let mut arms = Arms::new();
                for &w in sizes.ws {
                    for rule in Rule::ALL {
                        let fd = 10.0 + s as f64
                            - if rule == Rule::Normalized {
                                fd_gap
                            } else {
                                0.0
                            };
                        let m = BTreeMap::from([("fd".into(), fd), ("accuracy".into(), 0.9)]);
                        arms.insert(arm(rule, w, sizes.steps[0]), m);
                    }
                }
                arms
            })
            .collect()
    }

    #[test]
    fn fd_must_be_lower_on_at_least_three_seeds() {
        let sizes = &SCALES.quick;
        assert!(fd_verdict(&seeds(3, 1.0), sizes).unwrap().holds);
        let v = fd_verdict(&seeds(3, -1.0), sizes).unwrap();
        assert!(
            !v.holds && v.metric == "fd" && v.effect.starts_with("fd "),
            "{v:?}"
        );
        let v = fd_verdict(&seeds(2, 1.0), sizes).unwrap();
        assert!(!v.holds && v.detail.contains("at least 3"), "{}", v.detail);
        // Equal accuracy is "at least as high".
        assert!(accuracy_verdict(&seeds(3, 1.0), sizes, 200).unwrap().holds);
    }

    #[test]
    fn accuracy_may_trail_by_two_standard_errors() {
        let arms = |m: f64, b: f64| {
            Arms::from([
                ("m".into(), BTreeMap::from([("accuracy".into(), m)])),
                ("b".into(), BTreeMap::from([("accuracy".into(), b)])),
            ])
        };
        // 2 s.e. at p = 0.5 and n = 100 each: 2·√(0.5/100) ≈ 0.141.
        assert!(
            accuracy_at_least(&arms(0.40, 0.5), "m", "b", 100)
                .unwrap()
                .holds
        );
        assert!(
            !accuracy_at_least(&arms(0.35, 0.5), "m", "b", 100)
                .unwrap()
                .holds
        );
    }
}
