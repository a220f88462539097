//! Figures: P@1 per arm (both phases), P@1 per negative type per arm, the forgetting check, and
//! example queries with their prompts and each arm's top-ranked candidates.

use std::path::Path;

use genlab_core::experiment::ReportBuilder;
use genlab_core::report::bars::Bar;
use genlab_core::report::mean_std;
use genlab_core::{Error, Result};

use super::arms::SeedRun;
use super::summary::{labels, rows};
use crate::caption::NegKind;
use crate::scene::IMAGE;

/// Draws every figure into the report.
pub fn draw(runs: &[SeedRun], report: &mut ReportBuilder, dir: &Path) -> Result<()> {
    let bar = |label: String, xs: Vec<f64>| {
        let (value, error) = mean_std(&xs);
        Bar {
            label,
            value,
            error,
        }
    };
    let mut overall = Vec::new();
    let mut by_type = Vec::new();
    let mut forget = Vec::new();
    for label in labels(runs) {
        let rs = rows(runs, &label);
        overall.push(bar(
            format!("{label} · general"),
            rs.iter().map(|r| r.general.p1).collect(),
        ));
        overall.push(bar(
            format!("{label} · +SCaR"),
            rs.iter().map(|r| r.scar.p1).collect(),
        ));
        if !label.contains('(') {
            for (k, kind) in NegKind::ALL.iter().enumerate() {
                let xs = rs.iter().map(|r| r.scar.by_kind[k]).collect();
                by_type.push(bar(format!("{label} · {}", kind.name()), xs));
            }
            forget.push(bar(
                format!("{label} · before"),
                rs.iter().map(|r| r.unprompted_before).collect(),
            ));
            forget.push(bar(
                format!("{label} · after"),
                rs.iter().map(|r| r.unprompted_after).collect(),
            ));
        }
    }
    report.bars(
        "p1.svg",
        "SCaR-lite P@1 over 10 candidates (chance 0.1)",
        "P@1",
        &overall,
        "SCaR-lite P@1 of every arm after the general phase and after SCaR training (mean ± sd \
         over seeds). Analytical ceilings: entity-blind 0.33, scene-blind 0.25, crop 0.17.",
    )?;
    report.bars(
        "p1_by_type.svg",
        "P@1 against each negative type, after SCaR training",
        "P@1",
        &by_type,
        "P@1 over {truth} ∪ negatives of one type (chance: object 1/3, scene 1/4, relation 1/3, \
         attribute 1/3).",
    )?;
    report.bars(
        "forgetting.svg",
        "Unprompted retrieval P@1 before / after SCaR training",
        "P@1",
        &forget,
        "Forgetting check: unprompted image→caption P@1 (blocks of 10) before and after the \
         SCaR-only phase, per arm.",
    )?;
    examples(runs, report, dir)?;
    report.key_figure("p1.svg");
    Ok(())
}

/// Escapes text for SVG.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Three evaluation queries of the first seed: the image (×4) with the target box, and the
/// top-3 candidates of virtue, global-only and crop-only (✓ marks the truth).
fn examples(runs: &[SeedRun], report: &mut ReportBuilder, dir: &Path) -> Result<()> {
    let Some(run) = runs.first() else {
        return Ok(());
    };
    let arms = ["virtue", "global-only", "crop-only"];
    let scale = 4.0;
    let (row_h, img_w) = (150.0, IMAGE as f64 * scale);
    let n = run.eval.len().min(3);
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='1100' height='{}' \
         font-family='sans-serif' font-size='11'>\n<rect width='100%' height='100%' fill='white'/>\n",
        row_h * n as f64 + 20.0
    );
    for q in 0..n {
        let y0 = 10.0 + q as f64 * row_h;
        let img = &run.eval.images[q];
        let plane = IMAGE * IMAGE;
        for y in 0..IMAGE {
            for x in 0..IMAGE {
                let c: Vec<u8> = (0..3)
                    .map(|k| (img[k * plane + y * IMAGE + x].clamp(0.0, 1.0) * 255.0) as u8)
                    .collect();
                svg.push_str(&format!(
                    "<rect x='{}' y='{}' width='{scale}' height='{scale}' fill='rgb({},{},{})'/>",
                    10.0 + x as f64 * scale,
                    y0 + y as f64 * scale,
                    c[0],
                    c[1],
                    c[2]
                ));
            }
        }
        let query = &run.eval.queries[q];
        let b = query.scene.objects[query.target].bbox();
        svg.push_str(&format!(
            "\n<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='white' stroke-width='2'/>\n",
            10.0 + b.x1 as f64 * scale,
            y0 + b.y1 as f64 * scale,
            (b.x2 - b.x1) as f64 * scale,
            (b.y2 - b.y1) as f64 * scale
        ));
        let cands = query.candidates();
        for (a, arm) in arms.iter().enumerate() {
            let row = run
                .rows
                .iter()
                .find(|r| r.label == *arm)
                .ok_or_else(|| Error::InvalidInput(format!("no arm {arm}")))?;
            let scores = &row.scar.scores[q];
            let mut order: Vec<usize> = (0..scores.len()).collect();
            order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]));
            let x = 20.0 + img_w + a as f64 * 320.0;
            svg.push_str(&format!(
                "<text x='{x}' y='{}' font-weight='bold'>{arm} (+SCaR)</text>\n",
                y0 + 12.0
            ));
            for (r, &c) in order.iter().take(3).enumerate() {
                let kind = if c == 0 {
                    "✓ truth".to_string()
                } else {
                    query.negatives[c - 1].0.name().to_string()
                };
                svg.push_str(&format!(
                    "<text x='{x}' y='{}'>{}. [{}] {}</text>\n",
                    y0 + 30.0 + r as f64 * 28.0,
                    r + 1,
                    esc(&kind),
                    esc(&cands[c])
                ));
            }
        }
        svg.push_str(&format!(
            "<text x='10' y='{}' fill='#444'>truth: {}</text>\n",
            y0 + img_w + 14.0,
            esc(&cands[0])
        ));
    }
    svg.push_str("</svg>\n");
    let file = "examples.svg";
    genlab_core::fsx::atomic_write(&dir.join(file), svg.as_bytes())?;
    report.figure(
        file,
        "Held-out queries (seed 0): the image with the target box, and the top-3 candidates of \
         virtue, global-only and crop-only after SCaR training ([type] of each candidate).",
    );
    Ok(())
}
