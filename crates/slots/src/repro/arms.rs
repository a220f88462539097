//! The data, decoder and arms of `repro slots`, seed by seed, and their measurements.
//!
//! ```text
//! per seed s   scenes_train ~ seed s ⊕ TRAIN, scenes_eval ~ seed s ⊕ EVAL
//!              decoder_s = cached or trained (PretrainConfig with seed s)
//!              caption gain of decoder_s per noise band (true vs null vs shuffled caption)
//!              per arm a: train (seed s) → FG-ARI, mBO, mIoU on scenes_eval; Δ; final error;
//!                         colour / shape probe accuracy from the matched slots
//! ```

use std::time::Instant;

use genlab_core::Result;
use genlab_core::experiment::{ReportBuilder, ReproOptions};
use genlab_core::report::{Arms, Table, mean_std, sig3};
use genlab_core::train::{History, Observer, SeededRng};

use super::Sizes;
use crate::coda::{Arm, Frozen, SlotModel};
use crate::decoder::Decoder;
use crate::evaluate::{
    LevelGain, caption_gain, caption_gain_by_level, discovery_metrics, mi_proxy,
};
use crate::pretrain::{PretrainConfig, load_or_train};
use crate::probe::{ProbeScores, property_probe};
use crate::scene::{Scenes, generate};
use crate::train::{SlotTrainConfig, tail_mean, train_slots};

const TRAIN_STREAM: u64 = 0x5ce7e;
const EVAL_STREAM: u64 = 0xe7a1_5ce7;
/// Bands of u in the caption-gain measurement.
pub(super) const LEVELS: usize = 10;

/// The metrics of every arm.
pub(super) const METRICS: [&str; 9] = [
    "fg_ari",
    "mbo",
    "miou",
    "err_pos",
    "err_neg",
    "delta",
    "train_err",
    "probe_colour",
    "probe_shape",
];

/// Everything the figures need from the run.
pub(super) struct Runs {
    /// Per seed, every arm's metrics.
    pub per_seed: Vec<Arms>,
    /// The first seed's held-out scenes.
    pub eval: Scenes,
    /// The first seed's decoder.
    pub decoder: Decoder,
    /// The first seed's trained models, by arm.
    pub models: Vec<(Arm, SlotModel)>,
    /// The first seed's training histories, by arm.
    pub histories: Vec<(Arm, History)>,
    /// The first seed.
    pub seed: u64,
    /// Per seed, the decoder's caption gain per band of u.
    pub levels: Vec<Vec<LevelGain>>,
    /// Per seed, the probe's chance levels (the same objects for every arm).
    pub chance: Vec<ProbeScores>,
}

/// Runs every seed and arm; records the means and the timing in `report`.
pub(super) fn run_all(
    opts: &ReproOptions,
    sizes: &Sizes,
    seeds: &[u64],
    report: &mut ReportBuilder,
    observer: &mut dyn Observer,
) -> Result<Runs> {
    let mut seconds = serde_json::Map::new();
    let mut per_seed = Vec::new();
    let mut first = None;
    let mut decoder_rows = Vec::new();
    let mut levels = Vec::new();
    let mut chance = Vec::new();
    for &seed in seeds {
        let train = generate(
            &sizes.scenes,
            sizes.n_train,
            &mut SeededRng::new(seed ^ TRAIN_STREAM),
        );
        let eval = generate(
            &sizes.scenes,
            sizes.n_eval,
            &mut SeededRng::new(seed ^ EVAL_STREAM),
        );
        let config = PretrainConfig {
            seed,
            ..sizes.decoder
        };
        observer.message(&format!(
            "seed {seed}: decoder (cached after the first run)"
        ));
        let started = Instant::now();
        let (decoder, record, cached) = load_or_train(&opts.cache_dir, &config, observer)?;
        seconds.insert(
            format!("decoder seed {seed}"),
            started.elapsed().as_secs_f64().into(),
        );
        let (with, without) = caption_gain(&decoder, &eval, seed);
        let bands = caption_gain_by_level(&decoder, &eval, LEVELS, seed);
        let mean_gain = |f: fn(&LevelGain) -> f64| bands.iter().map(f).sum::<f64>() / LEVELS as f64;
        decoder_rows.push(vec![
            seed.to_string(),
            if cached {
                "cache".into()
            } else {
                "trained now".into()
            },
            format!("{:.0}", record.seconds),
            sig3(record.final_loss),
            sig3(with),
            sig3(without),
            sig3(mean_gain(LevelGain::gain_null)),
            sig3(mean_gain(LevelGain::gain_shuffled)),
        ]);
        levels.push(bands);
        let mut arms = Arms::new();
        let mut models = Vec::new();
        let mut histories = Vec::new();
        for arm in Arm::ALL {
            let started = Instant::now();
            let cfg = SlotTrainConfig {
                arm,
                seed,
                ..sizes.slots
            };
            let trained = train_slots(&train, &decoder, &cfg, None, false, observer)?;
            let d = discovery_metrics(&trained.model, &eval, seed);
            let frozen = Frozen::inference(&decoder);
            let batch = sizes.slots.batch.min(eval.len() - eval.len() % 2).max(2);
            let (pos, neg) = mi_proxy(&trained.model, &frozen, arm, &eval, batch, seed);
            let probe = property_probe(&trained.model, &eval, seed);
            if arm == Arm::Baseline {
                chance.push(probe);
            }
            let m = arms.entry(arm.name().into()).or_default();
            m.insert("fg_ari".into(), d.fg_ari);
            m.insert("mbo".into(), d.mbo);
            m.insert("miou".into(), d.miou);
            m.insert("err_pos".into(), pos);
            m.insert("err_neg".into(), neg);
            m.insert("delta".into(), neg - pos);
            m.insert("train_err".into(), tail_mean(&trained.history, "err_pos"));
            m.insert("probe_colour".into(), probe.colour);
            m.insert("probe_shape".into(), probe.shape);
            observer.message(&format!(
                "seed {seed} {}: FG-ARI {:.3}, mBO {:.3}, Δ {:.4}, probe colour {:.3} shape {:.3}",
                arm.name(),
                d.fg_ari,
                d.mbo,
                neg - pos,
                probe.colour,
                probe.shape
            ));
            seconds.insert(
                format!("{} seed {seed}", arm.name()),
                started.elapsed().as_secs_f64().into(),
            );
            if first.is_none() {
                models.push((arm, trained.model));
                histories.push((arm, trained.history));
            }
        }
        per_seed.push(arms);
        if first.is_none() {
            first = Some((eval, decoder, models, histories, seed));
        }
    }
    record_means(&per_seed, report);
    report.config("phase_seconds", seconds);
    report.table(Table {
        title: "Decoder pre-training per seed (held-out weighted ε error with the caption vs \
                the null caption; the relative caption gain 1 − err_true/err_other averaged \
                over 10 bands of u: the decoder's use of its conditioning)"
            .into(),
        columns: [
            "seed",
            "source",
            "train s",
            "final loss",
            "err caption",
            "err null",
            "gain vs null",
            "gain vs shuffled",
        ]
        .map(String::from)
        .to_vec(),
        rows: decoder_rows,
    });
    let (eval, decoder, models, histories, seed) = first.expect("at least one seed");
    Ok(Runs {
        per_seed,
        eval,
        decoder,
        models,
        histories,
        seed,
        levels,
        chance,
    })
}

/// Every arm's metrics as mean and standard deviation over seeds.
fn record_means(per_seed: &[Arms], report: &mut ReportBuilder) {
    for arm in Arm::ALL {
        for metric in METRICS {
            let xs: Vec<f64> = per_seed
                .iter()
                .filter_map(|a| a.get(arm.name())?.get(metric).copied())
                .collect();
            report.metric_over_seeds(arm.name(), metric, &xs);
        }
    }
}

/// `mean ± std` of `metric` of `arm` over seeds, scaled by `scale`.
pub(super) fn cell(per_seed: &[Arms], arm: Arm, metric: &str, scale: f64) -> String {
    let xs: Vec<f64> = per_seed
        .iter()
        .filter_map(|a| a.get(arm.name())?.get(metric).map(|x| x * scale))
        .collect();
    let (m, s) = mean_std(&xs);
    format!("{} ± {}", sig3(m), sig3(s))
}
