//! The two measurement tables beside the ablation: how much the pretrained decoder uses its
//! caption at each noise level, and how much of each object's colour and shape its matched
//! slot carries (the slot property probe of [`crate::probe`]), per arm.

use genlab_core::experiment::ReportBuilder;
use genlab_core::report::{Table, mean_std, sig3};

use super::arms::{Runs, cell};
use crate::coda::Arm;
use crate::evaluate::LevelGain;

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
