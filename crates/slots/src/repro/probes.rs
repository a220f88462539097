//! The two measurement tables beside the ablation: how much the pretrained decoder uses its
//! caption at each noise level, and how much of each object's colour and shape its matched
//! slot carries (the slot property probe of [`crate::probe`]), per arm; and the
//! ε-parameterised reference decoder measured for the "what was tried" record.

use genlab_core::Result;
use genlab_core::experiment::{ReportBuilder, ReproOptions};
use genlab_core::report::{Table, mean_std, sig3};
use genlab_core::train::Observer;

use super::Sizes;
use super::arms::{LEVELS, Runs, cell};
use crate::coda::Arm;
use crate::decoder::Target;
use crate::evaluate::{LevelGain, caption_gain_by_level};
use crate::pretrain::{PretrainConfig, load_or_train};
use crate::scene::Scenes;

/// `mean ± std` of `f` over seeds, as a percentage.
fn pct(xs: impl Iterator<Item = f64>) -> String {
    let xs: Vec<f64> = xs.map(|x| 100.0 * x).collect();
    let (m, s) = mean_std(&xs);
    format!("{} ± {}", sig3(m), sig3(s))
}

/// Adds the caption-gain-per-level table and the probe table.
pub(super) fn tables(runs: &Runs, report: &mut ReportBuilder) {
    report.table(caption_levels(runs));
    report.table(probe_table(runs));
}

fn caption_levels(runs: &Runs) -> Table {
    let bands = runs.levels.first().map_or(0, Vec::len);
    let rows = (0..bands)
        .map(|j| {
            let at = |f: fn(&LevelGain) -> f64| pct(runs.levels.iter().map(move |l| f(&l[j])));
            let g = &runs.levels[0][j];
            vec![
                format!("{:.1}–{:.1}", g.u_lo, g.u_hi),
                sig3(g.alpha_bar),
                at(LevelGain::gain_null),
                at(LevelGain::gain_shuffled),
            ]
        })
        .collect();
    Table {
        title: "Caption gain of the pretrained decoder per noise level: 1 − err(true caption) / \
                err(null caption) and / err(another scene's caption), held-out ε error at the \
                same x_u, u, ε (%, mean ± std over seeds)"
            .into(),
        columns: [
            "u band",
            "ᾱ (middle)",
            "gain vs null %",
            "gain vs shuffled %",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

fn probe_table(runs: &Runs) -> Table {
    let mut rows: Vec<Vec<String>> = Arm::ALL
        .iter()
        .map(|&arm| {
            vec![
                arm.name().to_string(),
                cell(&runs.per_seed, arm, "probe_colour", 100.0),
                cell(&runs.per_seed, arm, "probe_shape", 100.0),
            ]
        })
        .collect();
    rows.push(vec![
        "chance (commonest class)".into(),
        pct(runs.chance.iter().map(|c| c.colour_chance)),
        pct(runs.chance.iter().map(|c| c.shape_chance)),
    ]);
    let objects = runs.chance.first().map_or(0, |c| c.objects);
    Table {
        title: format!(
            "Slot property probe: accuracy (%) of a linear ridge probe predicting each object's \
             colour (6) and shape (4) from its Hungarian-matched slot, fitted on the first half \
             of the held-out scenes and scored on the second ({objects} objects on the first \
             seed), mean ± std over seeds"
        ),
        columns: ["arm", "colour %", "shape %"].map(String::from).to_vec(),
        rows,
    }
}

/// The ε-parameterised decoder (the earlier default, [`Target::Eps`]) of the first seed, same
/// sizes and steps, for the "what was tried" record: its mean caption gain over the bands of u
/// (vs null, vs shuffled), whether it came from the cache, and its training seconds.
pub(super) fn eps_reference(
    opts: &ReproOptions,
    sizes: &Sizes,
    seed: u64,
    eval: &Scenes,
    observer: &mut dyn Observer,
) -> Result<(f64, f64, bool, f64)> {
    let mut config = PretrainConfig {
        seed,
        ..sizes.decoder
    };
    config.spec.target = Target::Eps;
    observer.message(&format!(
        "seed {seed}: the ε-parameterised reference decoder (cached after the first run)"
    ));
    let (decoder, record, cached) = load_or_train(&opts.cache_dir, &config, observer)?;
    let bands = caption_gain_by_level(&decoder, eval, LEVELS, seed);
    let mean = |f: fn(&LevelGain) -> f64| bands.iter().map(f).sum::<f64>() / bands.len() as f64;
    Ok((
        mean(LevelGain::gain_null),
        mean(LevelGain::gain_shuffled),
        cached,
        record.seconds,
    ))
}

/// The mean caption gain (vs null, vs shuffled) of the run's decoders, over seeds and bands.
pub(super) fn run_gain(runs: &Runs) -> (f64, f64) {
    let all: Vec<&LevelGain> = runs.levels.iter().flatten().collect();
    let n = all.len().max(1) as f64;
    (
        all.iter().map(|g| g.gain_null()).sum::<f64>() / n,
        all.iter().map(|g| g.gain_shuffled()).sum::<f64>() / n,
    )
}

/// Over seeds, the lowest and highest mean band gain (vs null) for u ≥ 0.1, and the gain of the
/// first band.
pub(super) fn band_spread(runs: &Runs) -> (f64, f64, f64) {
    let bands = runs.levels.first().map_or(0, Vec::len);
    let n = runs.levels.len().max(1) as f64;
    let mean: Vec<f64> = (0..bands)
        .map(|j| runs.levels.iter().map(|l| l[j].gain_null()).sum::<f64>() / n)
        .collect();
    let rest = mean.get(1..).unwrap_or(&[]);
    (
        rest.iter().copied().fold(f64::INFINITY, f64::min),
        rest.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        mean.first().copied().unwrap_or(f64::NAN),
    )
}
