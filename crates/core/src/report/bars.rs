//! Bar charts with error bars, as SVG (e.g. a metric per architecture, mean ± std over seeds —
//! the OrtSAE paper's headline figure).

use std::fmt::Write;
use std::path::Path;

use super::plot::{PALETTE, esc};
use crate::Result;
use crate::fsx::atomic_write;

/// One bar: label, mean, and ± error.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label under the bar.
    pub label: String,
    /// Height.
    pub value: f64,
    /// Error-bar half-length (e.g. the std over seeds).
    pub error: f64,
}

/// Writes a bar chart of `bars` to `path`; the y axis starts at 0 and ends above the tallest
/// bar plus its error.
pub fn bars(path: &Path, title: &str, y_label: &str, bars: &[Bar]) -> Result<()> {
    let (w, h, left, bottom, top) = (640.0, 420.0, 70.0, 110.0, 40.0);
    let plot_h = h - bottom - top;
    let finite = |v: f64| if v.is_finite() { v } else { 0.0 };
    let hi = bars
        .iter()
        .map(|b| finite(b.value) + finite(b.error))
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.1;
    let y = |v: f64| top + plot_h * (1.0 - finite(v).clamp(0.0, hi) / hi);
    let slot = (w - left - 20.0) / bars.len().max(1) as f64;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/><text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    for t in 0..=4 {
        let v = hi * t as f64 / 4.0;
        let (x2, yv, lx, ly) = (w - 20.0, y(v), left - 6.0, y(v) + 4.0);
        let label = format_tick(v);
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{x2}" y1="{yv:.1}" y2="{yv:.1}" stroke="#ddd"/><text x="{lx}" y="{ly:.1}" text-anchor="end">{label}</text>"##
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let x0 = left + slot * i as f64 + slot * 0.15;
        let bw = slot * 0.7;
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}" fill="{colour}"/>"#,
            y(b.value),
            (top + plot_h - y(b.value)).max(0.0)
        );
        let cx = x0 + bw / 2.0;
        if b.error > 0.0 && b.error.is_finite() {
            let _ = write!(
                svg,
                r#"<line x1="{cx:.1}" x2="{cx:.1}" y1="{:.1}" y2="{:.1}" stroke="black"/>"#,
                y(b.value - b.error),
                y(b.value + b.error)
            );
        }
        let ly = top + plot_h + 14.0;
        let _ = write!(
            svg,
            r#"<text x="{cx:.1}" y="{ly:.1}" text-anchor="end" transform="rotate(-35 {cx:.1} {ly:.1})">{}</text>"#,
            esc(&b.label)
        );
        let _ = write!(
            svg,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
            y(b.value + b.error.max(0.0)) - 4.0,
            format_tick(b.value)
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="{left}" x2="{left}" y1="{top}" y2="{:.1}" stroke="black"/><text x="16" y="{:.1}" transform="rotate(-90 16 {:.1})" text-anchor="middle">{}</text></svg>"#,
        top + plot_h,
        top + plot_h / 2.0,
        top + plot_h / 2.0,
        esc(y_label)
    );
    atomic_write(path, svg.as_bytes())
}

fn format_tick(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    #[test]
    fn writes_one_rect_per_bar_and_survives_nan() {
        let (_dir, p) = scratch("b.svg");
        let data = vec![
            Bar {
                label: "a<b".into(),
                value: 0.5,
                error: 0.1,
            },
            Bar {
                label: "c".into(),
                value: f64::NAN,
                error: 0.0,
            },
        ];
        bars(&p, "t", "y", &data).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert_eq!(s.matches("<rect").count(), 3, "background + 2 bars");
        assert!(s.contains("a&lt;b") && !s.contains("NaN"));
    }
}
