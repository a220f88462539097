//! The figures and tables of `repro slots`: FG-ARI per arm (the key figure), the masks of every
//! arm on held-out scenes, per-slot decodings of the CODA model, training curves, and the
//! paper's ablation table beside ours.

use burn::tensor::Tensor;
use genlab_core::experiment::{Lines, ReportBuilder, ReproOptions};
use genlab_core::report::bars::Bar;
use genlab_core::report::{LineSeries, Table, mean_std};
use genlab_core::train::SeededRng;
use genlab_core::{Result, device, tensor};

use super::Sizes;
use super::arms::{Runs, cell};
use crate::coda::{Arm, Frozen};
use crate::decoder::{PATCH, from_patches};
use crate::encoder::patches;
use crate::evaluate::{EVAL_STREAM, decode, segment};
use crate::picture::{Rgb, mosaic};

/// The key figure.
const KEY_FIGURE: &str = "fg_ari.svg";
/// Upscaling of the 32×32 pictures.
const ZOOM: usize = 4;

/// The paper's VOC ablation row closest to each arm: (configuration, FG-ARI, mBOi).
fn paper_row(arm: Arm) -> (&'static str, f64, f64) {
    match arm {
        Arm::Baseline => ("+ cross-attention fine-tuning", 15.44, 47.03),
        Arm::Registers => ("registers + cross-attention", 19.62, 56.27),
        Arm::Contrastive => ("+ contrastive alone", 11.96, 47.16),
        Arm::Coda => ("CODA (all three)", 32.23, 55.38),
        Arm::NoStopGrad => ("all three, no stop-gradient", 10.54, 30.64),
    }
}

/// Writes every figure and table.
pub(super) fn all(
    opts: &ReproOptions,
    sizes: &Sizes,
    runs: &Runs,
    report: &mut ReportBuilder,
) -> Result<()> {
    let bars: Vec<Bar> = Arm::ALL
        .iter()
        .map(|&arm| {
            let xs: Vec<f64> = runs
                .per_seed
                .iter()
                .map(|a| 100.0 * a[arm.name()]["fg_ari"])
                .collect();
            let (m, s) = mean_std(&xs);
            Bar {
                label: arm.name().into(),
                value: m,
                error: s,
            }
        })
        .collect();
    report.bars(
        KEY_FIGURE,
        "FG-ARI of the slot masks on held-out scenes",
        "FG-ARI × 100",
        &bars,
        "FG-ARI (mean ± std over seeds) of each arm's slot-attention masks on held-out scenes.",
    )?;
    report.table(ablation_table(runs));
    masks_figure(opts, sizes, runs, report)?;
    slot_decodings(opts, sizes, runs, report)?;
    curves(runs, report)?;
    report.key_figure(KEY_FIGURE);
    Ok(())
}

fn ablation_table(runs: &Runs) -> Table {
    let rows = Arm::ALL
        .iter()
        .map(|&arm| {
            let (config, fg, mbo) = paper_row(arm);
            vec![
                arm.name().to_string(),
                config.to_string(),
                format!("{fg:.2}"),
                format!("{mbo:.2}"),
                cell(&runs.per_seed, arm, "fg_ari", 100.0),
                cell(&runs.per_seed, arm, "mbo", 100.0),
                cell(&runs.per_seed, arm, "miou", 100.0),
                cell(&runs.per_seed, arm, "delta", 1.0),
            ]
        })
        .collect();
    Table {
        title: "The paper's VOC ablation (closest configuration) beside ours (mean ± std over \
                seeds; ours ×100 on generated scenes; Δ = err_neg − err_pos)"
            .into(),
        columns: [
            "arm",
            "paper configuration",
            "paper FG-ARI",
            "paper mBOi",
            "our FG-ARI",
            "our mBO",
            "our mIoU",
            "our Δ",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    }
}

/// Rows: images, ground truth, then each arm's masks over the image.
fn masks_figure(
    opts: &ReproOptions,
    sizes: &Sizes,
    runs: &Runs,
    report: &mut ReportBuilder,
) -> Result<()> {
    let eval = &runs.eval;
    let show = sizes.show.min(eval.len());
    let idx: Vec<usize> = (0..show).collect();
    let sub = eval.select(&idx);
    let s = eval.size;
    let mut cells = Vec::new();
    for i in 0..show {
        cells.push(
            Rgb {
                width: s,
                height: s,
                data: sub.image(i).to_vec(),
            }
            .scaled(ZOOM),
        );
    }
    for i in 0..show {
        let gt: Vec<usize> = sub
            .mask(i)
            .unwrap_or(&[])
            .iter()
            .map(|&m| m as usize)
            .collect();
        cells.push(Rgb::overlay(sub.image(i), &gt, s, s).scaled(ZOOM));
    }
    for (_, model) in &runs.models {
        let preds = segment(model, &sub.images, s, runs.seed);
        for (i, p) in preds.iter().enumerate() {
            cells.push(Rgb::overlay(sub.image(i), p, s, s).scaled(ZOOM));
        }
    }
    let file = "masks.png";
    mosaic(&cells, show).save_png(&opts.dir.join(file))?;
    let order: Vec<&str> = runs.models.iter().map(|(a, _)| a.name()).collect();
    report.figure(
        file,
        format!(
            "Held-out scenes (row 1), ground-truth instances (row 2), then the slot masks of \
             each arm, seed {} (rows: {}).",
            runs.seed,
            order.join(", ")
        ),
    );
    Ok(())
}

/// CODA model: per scene, the image, its decoding from all slots, then from each slot alone
/// (with the registers), all from the same starting noise.
fn slot_decodings(
    opts: &ReproOptions,
    sizes: &Sizes,
    runs: &Runs,
    report: &mut ReportBuilder,
) -> Result<()> {
    let Some((_, model)) = runs.models.iter().find(|(a, _)| *a == Arm::Coda) else {
        return Ok(());
    };
    let dev = device::device();
    let frozen = Frozen::inference(&runs.decoder);
    let show = sizes.show.min(runs.eval.len()).min(4);
    let idx: Vec<usize> = (0..show).collect();
    let sub = runs.eval.select(&idx);
    let s = sub.size;
    let k = model.spec.slots;
    let mut rng = SeededRng::new(runs.seed ^ EVAL_STREAM ^ 0x3);
    let noise = rng.normal([show, model.spec.slots, model.spec.width], &dev);
    let slots = model.slots(patches(&sub.images, s, &dev), noise).slots;
    let tokens = (s / PATCH) * (s / PATCH);
    let x1 = rng.normal([show, tokens, 3 * PATCH * PATCH], &dev);
    let mut columns: Vec<Vec<f32>> = Vec::new();
    let full = decode(
        &frozen,
        &model.kvo,
        frozen.context(slots.clone(), true),
        x1.clone(),
        sizes.sample_steps,
    );
    columns.push(from_patches(&tensor::to_vec(full), s));
    for j in 0..k {
        let one: Tensor<3> = slots.clone().narrow(1, j, 1);
        let out = decode(
            &frozen,
            &model.kvo,
            frozen.context(one, true),
            x1.clone(),
            sizes.sample_steps,
        );
        columns.push(from_patches(&tensor::to_vec(out), s));
    }
    let px = s * s * 3;
    let mut cells = Vec::new();
    for i in 0..show {
        cells.push(
            Rgb {
                width: s,
                height: s,
                data: sub.image(i).to_vec(),
            }
            .scaled(ZOOM),
        );
        for col in &columns {
            cells.push(
                Rgb {
                    width: s,
                    height: s,
                    data: col[i * px..(i + 1) * px].to_vec(),
                }
                .scaled(ZOOM),
            );
        }
    }
    let file = "slot_decodings.png";
    mosaic(&cells, k + 2).save_png(&opts.dir.join(file))?;
    report.figure(
        file,
        format!(
            "CODA, seed {}: per row a held-out scene, its {}-step DDIM decoding from all slots, \
             then from each single slot (with the registers), same starting noise.",
            runs.seed, sizes.sample_steps
        ),
    );
    Ok(())
}

fn curves(runs: &Runs, report: &mut ReportBuilder) -> Result<()> {
    let series: Vec<LineSeries> = runs
        .histories
        .iter()
        .map(|(arm, h)| LineSeries {
            label: arm.name().into(),
            points: h
                .series("err_pos")
                .iter()
                .map(|&(s, v)| (s as f64, v))
                .collect(),
        })
        .collect();
    report.lines(
        "train_err.svg",
        Lines {
            title: "Positive denoising error during slot learning",
            x_label: "step",
            y_label: "weighted ε error",
            series: &series,
            log_y: false,
        },
        format!(
            "Weighted ε error of the positive pass per arm, seed {}.",
            runs.seed
        ),
    )?;
    Ok(())
}
