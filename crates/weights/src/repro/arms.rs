//! The arms of `repro weights`: one flow per (alignment, d_h, seed), trained on the aligned or
//! the raw zoo, sampled, and its networks scored with no fine-tuning.
//!
//! ```text
//! per seed s, alignment a ∈ {aligned, unaligned}, d_h ∈ sizes.hiddens
//!   flow      train_flow(zoo_a, FlowConfig::reference(d_h) with seed s)
//!   sample    n_generate networks (stream seeded s ⊕ 0x9e4), timed
//!   measure   accuracy mean/std, fraction above (zoo mean − 2 std), novelty ratio
//!             (median distance to the aligned zoo / the held-out networks' median),
//!             disagreement, error IoU, seconds per generated network
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use genlab_core::Result;
use genlab_core::report::mean_std;
use genlab_core::train::{Observer, SeededRng};

use super::Sizes;
use super::setup::{MATCH_SEED, Setup};
use crate::eval;
use crate::mlp::Mlp;
use crate::train::{FlowConfig, train_flow};

/// The arm's name in the report.
pub(super) fn arm_name(aligned: bool, hidden: usize) -> String {
    format!(
        "{}/d_h={hidden}",
        if aligned { "aligned" } else { "unaligned" }
    )
}

/// One arm on one seed.
pub(super) struct ArmRun {
    /// Scalar metrics (the report's arm columns).
    pub metrics: BTreeMap<&'static str, f64>,
    /// Accuracy of every generated network.
    pub accuracy: Vec<f64>,
    /// Novelty distance of every generated network.
    pub novelty: Vec<f64>,
}

fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// Trains, samples and measures one arm.
pub(super) fn run_arm(
    setup: &Setup,
    sizes: &Sizes,
    aligned: bool,
    hidden: usize,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<ArmRun> {
    let config = FlowConfig {
        seed,
        ode_steps: sizes.ode_steps,
        ..FlowConfig::reference(hidden, sizes.flow_steps)
    };
    let nets = if aligned { &setup.aligned } else { &setup.raw };
    let started = Instant::now();
    let flow = train_flow(nets, &config, None, false, observer)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let flats = flow.generate(sizes.generate, &mut SeededRng::new(seed ^ 0x9e4));
    let widths = &setup.spec.widths;
    let generated: Vec<Mlp> = flats
        .iter()
        .map(|f| Mlp::from_flat(widths, f))
        .collect::<crate::WResult<_>>()?;
    let gen_seconds = started.elapsed().as_secs_f64();
    let scores = eval::score(&generated, &setup.data);
    let (zoo_mean, zoo_std) = mean_std(&setup.zoo_scores.accuracy);
    let (mean, std) = mean_std(&scores.accuracy);
    let reference = &setup.zoo.train_nets()[0];
    let novelty = eval::novelty(
        &setup.spec,
        reference,
        &setup.aligned,
        &generated,
        MATCH_SEED,
    )?;
    let metrics = BTreeMap::from([
        ("accuracy", 100.0 * mean),
        ("accuracy_spread", 100.0 * std),
        (
            "above_zoo_mean_minus_2std",
            eval::fraction_above(&scores.accuracy, zoo_mean - 2.0 * zoo_std),
        ),
        (
            "novelty_ratio",
            median(&novelty) / median(&setup.heldout_novelty),
        ),
        ("disagreement", eval::disagreement(&scores.predictions)),
        (
            "error_iou",
            eval::error_iou(&scores.predictions, &setup.data.y_test),
        ),
        (
            "ms_per_generated_net",
            1000.0 * gen_seconds / sizes.generate as f64,
        ),
        ("train_seconds", train_seconds),
        ("best_epoch_loss", flow.best_loss),
    ]);
    Ok(ArmRun {
        metrics,
        accuracy: scores.accuracy.iter().map(|a| 100.0 * a).collect(),
        novelty,
    })
}
