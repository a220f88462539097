//! RGB image grids (the core's grid is greyscale): SVG, one `<rect>` per pixel, rows of
//! labelled images.

use std::fmt::Write;
use std::path::Path;

use genlab_core::Result;
use genlab_core::fsx::atomic_write;

/// One labelled row of RGB images (`side × side × 3`, channel-last, values in [−1, 1]).
pub struct Row<'a> {
    /// Label left of the row.
    pub label: String,
    /// The images.
    pub images: Vec<&'a [f32]>,
}

/// Writes `rows` as an SVG grid to `path`.
pub fn rgb_grid(path: &Path, title: &str, side: usize, rows: &[Row<'_>]) -> Result<()> {
    let cell = 4.0;
    let size = side as f64 * cell;
    let label_w = 190.0;
    let cols = rows.iter().map(|r| r.images.len()).max().unwrap_or(1);
    let (w, h) = (
        label_w + cols as f64 * (size + 4.0) + 10.0,
        40.0 + rows.len() as f64 * (size + 8.0),
    );
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="24" font-size="15">{}</text>"#,
        escape(title)
    );
    for (r, row) in rows.iter().enumerate() {
        let oy = 36.0 + r as f64 * (size + 8.0);
        let _ = write!(
            svg,
            r#"<text x="10" y="{:.0}" font-size="11">{}</text>"#,
            oy + size / 2.0,
            escape(&row.label)
        );
        for (c, img) in row.images.iter().enumerate() {
            let ox = label_w + c as f64 * (size + 4.0);
            let _ = write!(
                svg,
                r##"<rect x="{ox:.0}" y="{oy:.0}" width="{size}" height="{size}" fill="white" stroke="#ccc"/>"##
            );
            // White pixels are the background already drawn: only the others are written.
            for (i, px) in img.chunks(3).enumerate().take(side * side) {
                if px.iter().all(|v| *v > 0.95) {
                    continue;
                }
                let v = |x: f32| (((x + 1.0) / 2.0).clamp(0.0, 1.0) * 255.0) as u8;
                let _ = write!(
                    svg,
                    r#"<rect x="{:.0}" y="{:.0}" width="{cell}" height="{cell}" fill="rgb({},{},{})"/>"#,
                    ox + (i % side) as f64 * cell,
                    oy + (i / side) as f64 * cell,
                    v(px[0]),
                    v(px[1]),
                    v(px[2])
                );
            }
        }
    }
    svg.push_str("</svg>");
    atomic_write(path, svg.as_bytes())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
