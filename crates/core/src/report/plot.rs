//! SVG figures, written by hand (no font or drawing dependency): scatter plots of samples, line
//! charts of metrics against steps, and grids of small greyscale images. Every plot has a
//! title, labelled axes with round tick values, and a legend; empty or constant data never
//! panics (ranges are widened).

use std::fmt::Write;
use std::path::Path;

use crate::error::Result;
use crate::fsx;

/// A colour-blind-friendly palette (Okabe–Ito), indexed modulo its length; index 7 is grey.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#999999",
];

/// One coloured set of 2-D points.
#[derive(Debug, Clone)]
pub struct ScatterSeries {
    /// Legend label.
    pub label: String,
    /// The points.
    pub points: Vec<(f32, f32)>,
    /// Palette index.
    pub colour: usize,
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub struct LineSeries {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points, in x order.
    pub points: Vec<(f64, f64)>,
}

const W: f64 = 640.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// Scatter plot of 2-D point sets.
pub fn scatter(path: &Path, title: &str, series: &[ScatterSeries]) -> Result<()> {
    let all = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (xs, ys): (Vec<f64>, Vec<f64>) = all.map(|&(x, y)| (x as f64, y as f64)).unzip();
    let frame = Frame::new(range(&xs), range(&ys), false);
    let mut svg = frame.open(title, "x₁", "x₂");
    for s in series {
        let colour = PALETTE[s.colour % PALETTE.len()];
        let _ = write!(svg, r#"<g fill="{colour}" fill-opacity="0.45">"#);
        for &(x, y) in s
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
        {
            let (px, py) = frame.map(x as f64, y as f64);
            let _ = write!(svg, r#"<circle cx="{px:.1}" cy="{py:.1}" r="1.6"/>"#);
        }
        svg.push_str("</g>");
    }
    legend(
        &mut svg,
        series.iter().map(|s| (s.label.as_str(), s.colour)),
    );
    finish(path, svg)
}

/// Line chart; with `log_y`, the y axis is logarithmic and non-positive values are skipped.
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[LineSeries],
    log_y: bool,
) -> Result<()> {
    let keep = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let ty = |y: f64| if log_y { y.log10() } else { y };
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied().filter(keep))
        .collect();
    let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = pts.iter().map(|p| ty(p.1)).collect();
    let frame = Frame::new(range(&xs), range(&ys), log_y);
    let mut svg = frame.open(title, x_label, y_label);
    for (i, s) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let coords: Vec<String> = s
            .points
            .iter()
            .copied()
            .filter(keep)
            .map(|(x, y)| {
                let (px, py) = frame.map(x, ty(y));
                format!("{px:.1},{py:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{}"/>"#,
            coords.join(" ")
        );
        for c in coords.iter().filter(|_| s.points.len() <= 40) {
            let (x, y) = c.split_once(',').expect("formatted above");
            let _ = write!(
                svg,
                r#"<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>"#
            );
        }
    }
    legend(
        &mut svg,
        series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.label.as_str(), i)),
    );
    finish(path, svg)
}

/// Greyscale images (row-major `width × height`, values in `value_range`) in a grid of `cols`.
pub fn image_grid(
    path: &Path,
    title: &str,
    images: &[Vec<f32>],
    width: usize,
    height: usize,
    cols: usize,
    value_range: (f32, f32),
) -> Result<()> {
    let cols = cols.max(1);
    let rows = images.len().div_ceil(cols).max(1);
    let cell = 6.0;
    let gap = 4.0;
    let (w, h) = (
        cols as f64 * (width as f64 * cell + gap) + 20.0,
        rows as f64 * (height as f64 * cell + gap) + 50.0,
    );
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="24" font-size="15">{}</text>"#,
        esc(title)
    );
    let span = (value_range.1 - value_range.0).max(f32::MIN_POSITIVE);
    for (k, img) in images.iter().enumerate() {
        let (ox, oy) = (
            10.0 + (k % cols) as f64 * (width as f64 * cell + gap),
            40.0 + (k / cols) as f64 * (height as f64 * cell + gap),
        );
        for (i, v) in img.iter().enumerate().take(width * height) {
            let level = if v.is_finite() {
                ((v - value_range.0) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let g = (255.0 * (1.0 - level)) as u8;
            let _ = write!(
                svg,
                r#"<rect x="{:.0}" y="{:.0}" width="{cell}" height="{cell}" fill="rgb({g},{g},{g})"/>"#,
                ox + (i % width) as f64 * cell,
                oy + (i / width) as f64 * cell
            );
        }
    }
    finish(path, svg)
}

/// Data range to plot area.
struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    log_y: bool,
}

impl Frame {
    fn new(x: (f64, f64), y: (f64, f64), log_y: bool) -> Frame {
        Frame { x, y, log_y }
    }

    fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let px = LEFT + (x - self.x.0) / (self.x.1 - self.x.0) * (W - LEFT - RIGHT);
        let py = H - BOTTOM - (y - self.y.0) / (self.y.1 - self.y.0) * (H - TOP - BOTTOM);
        (px, py)
    }

    /// The SVG header, title, axes, ticks and labels.
    fn open(&self, title: &str, x_label: &str, y_label: &str) -> String {
        let mut s = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="24" font-size="15">{}</text>"#,
            esc(title)
        );
        let (x0, y0, x1, y1) = (LEFT, TOP, W - RIGHT, H - BOTTOM);
        let _ = write!(
            s,
            r##"<rect x="{x0}" y="{y0}" width="{}" height="{}" fill="none" stroke="#444"/>"##,
            x1 - x0,
            y1 - y0
        );
        for t in ticks(self.x) {
            let (px, _) = self.map(t, self.y.0);
            let _ = write!(
                s,
                r##"<line x1="{px:.1}" y1="{y1}" x2="{px:.1}" y2="{}" stroke="#444"/><text x="{px:.1}" y="{}" text-anchor="middle">{}</text>"##,
                y1 + 4.0,
                y1 + 16.0,
                num(t)
            );
        }
        for t in ticks(self.y) {
            let (_, py) = self.map(self.x.0, t);
            let label = if self.log_y {
                num(10f64.powf(t))
            } else {
                num(t)
            };
            let _ = write!(
                s,
                r##"<line x1="{}" y1="{py:.1}" x2="{x0}" y2="{py:.1}" stroke="#444"/><line x1="{x0}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{label}</text>"##,
                x0 - 4.0,
                x0 - 6.0,
                py + 4.0
            );
        }
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="12">{}</text>"#,
            (x0 + x1) / 2.0,
            H - 12.0,
            esc(x_label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle" font-size="12">{}{}</text>"#,
            (y0 + y1) / 2.0,
            esc(y_label),
            if self.log_y { " (log)" } else { "" }
        );
        s
    }
}

fn legend<'a>(svg: &mut String, entries: impl Iterator<Item = (&'a str, usize)>) {
    for (i, (label, colour)) in entries.enumerate() {
        let y = TOP + 8.0 + 18.0 * i as f64;
        let x = W - RIGHT + 12.0;
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            PALETTE[colour % PALETTE.len()],
            x + 18.0,
            y + 10.0,
            esc(label)
        );
    }
}

fn finish(path: &Path, mut svg: String) -> Result<()> {
    svg.push_str("</svg>\n");
    fsx::atomic_write(path, svg.as_bytes())
}

/// Min/max of finite values, widened so the range is never empty.
fn range(v: &[f64]) -> (f64, f64) {
    let (lo, hi) = v
        .iter()
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(if lo == hi {
        0.5 * lo.abs().max(1.0)
    } else {
        0.0
    });
    (lo - pad, hi + pad)
}

/// About five round tick positions inside `(lo, hi)`.
fn ticks((lo, hi): (f64, f64)) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = vec![];
    while t <= hi && out.len() < 20 {
        out.push(t);
        t += step;
    }
    out
}

fn num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e4).contains(&a) {
        format!("{x:.0e}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// Escapes text for SVG/HTML.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scratch;

    #[test]
    fn plots_are_well_formed_for_normal_empty_and_constant_data() {
        let (_dir, p) = scratch("a.svg");
        let series = [LineSeries {
            label: "l".into(),
            points: vec![(1.0, 0.5), (2.0, 0.25), (4.0, f64::NAN)],
        }];
        lines(&p, "Loss <1>", "step", "loss", &series, true).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.starts_with("<svg")
                && text.contains("Loss &lt;1&gt;")
                && text.trim_end().ends_with("</svg>")
        );
        lines(&p, "empty", "x", "y", &[], false).unwrap();
        lines(
            &p,
            "const",
            "x",
            "y",
            &[LineSeries {
                label: "c".into(),
                points: vec![(1.0, 2.0), (1.0, 2.0)],
            }],
            false,
        )
        .unwrap();
        scatter(
            &p,
            "s",
            &[ScatterSeries {
                label: "d".into(),
                points: vec![(0.0, 0.0)],
                colour: 3,
            }],
        )
        .unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains("<circle"));
        image_grid(
            &p,
            "g",
            &[vec![0.0; 4], vec![16.0; 4]],
            2,
            2,
            2,
            (0.0, 16.0),
        )
        .unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains("rgb(0,0,0)"));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            ticks((0.0, 1.0)),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(20000.0), "2e4");
    }
}
