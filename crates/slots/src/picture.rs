//! RGB pictures: PNG reading and writing (the user's image folders, mask PNGs), slot masks
//! painted in a palette, overlays, and mosaics of small images (the report's figures).
//!
//! ```text
//! overlay(p) = (1 − α) image(p) + α palette[mask(p)],  α = 0.55;  mask edges drawn white
//! ```

use std::path::Path;

use genlab_core::fsx;

use crate::error::{SlotsError, SlotsResult};

/// Distinct colours for slot / object labels.
pub const PALETTE: [[f32; 3]; 12] = [
    [0.12, 0.47, 0.71],
    [1.0, 0.5, 0.05],
    [0.17, 0.63, 0.17],
    [0.84, 0.15, 0.16],
    [0.58, 0.4, 0.74],
    [0.55, 0.34, 0.29],
    [0.89, 0.47, 0.76],
    [0.5, 0.5, 0.5],
    [0.74, 0.74, 0.13],
    [0.09, 0.75, 0.81],
    [0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0],
];

/// A channel-last RGB image in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// `height × width × 3`.
    pub data: Vec<f32>,
}

impl Rgb {
    /// A `width × height` image filled with `colour`.
    pub fn filled(width: usize, height: usize, colour: [f32; 3]) -> Rgb {
        Rgb {
            width,
            height,
            data: colour.repeat(width * height),
        }
    }

    /// Labels painted in [`PALETTE`].
    pub fn from_labels(labels: &[usize], width: usize, height: usize) -> Rgb {
        let data = labels
            .iter()
            .flat_map(|&l| PALETTE[l % PALETTE.len()])
            .collect();
        Rgb {
            width,
            height,
            data,
        }
    }

    /// `image` with `labels` blended over it and label boundaries in white.
    pub fn overlay(image: &[f32], labels: &[usize], width: usize, height: usize) -> Rgb {
        let alpha = 0.55;
        let mut data = Vec::with_capacity(image.len());
        for y in 0..height {
            for x in 0..width {
                let p = y * width + x;
                let l = labels[p];
                let edge = (x + 1 < width && labels[p + 1] != l)
                    || (y + 1 < height && labels[p + width] != l);
                for c in 0..3 {
                    let v = if edge {
                        1.0
                    } else {
                        (1.0 - alpha) * image[3 * p + c] + alpha * PALETTE[l % PALETTE.len()][c]
                    };
                    data.push(v);
                }
            }
        }
        Rgb {
            width,
            height,
            data,
        }
    }

    /// The image enlarged `k` times (nearest neighbour).
    pub fn scaled(&self, k: usize) -> Rgb {
        let (w, h) = (self.width * k, self.height * k);
        let mut data = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let p = ((y / k) * self.width + x / k) * 3;
                data.extend_from_slice(&self.data[p..p + 3]);
            }
        }
        Rgb {
            width: w,
            height: h,
            data,
        }
    }

    /// Writes the image as an 8-bit RGB PNG, atomically.
    pub fn save_png(&self, path: &Path) -> SlotsResult<()> {
        let bytes: Vec<u8> = self
            .data
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let png = encode(&bytes, self.width, self.height, png::ColorType::Rgb, path)?;
        fsx::atomic_write(path, &png).map_err(|e| SlotsError::Png {
            path: path.display().to_string(),
            msg: e.to_string(),
        })
    }
}

/// Encodes 8-bit pixels as PNG bytes.
fn encode(
    bytes: &[u8],
    width: usize,
    height: usize,
    colour: png::ColorType,
    path: &Path,
) -> SlotsResult<Vec<u8>> {
    let bad = |e: png::EncodingError| SlotsError::Png {
        path: path.display().to_string(),
        msg: e.to_string(),
    };
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(colour);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(bad)?;
        writer.write_image_data(bytes).map_err(bad)?;
    }
    Ok(out)
}

/// Writes `labels` as an 8-bit greyscale PNG whose values are the labels (a mask file).
pub fn save_label_png(
    labels: &[usize],
    width: usize,
    height: usize,
    path: &Path,
) -> SlotsResult<()> {
    let bytes: Vec<u8> = labels.iter().map(|&l| l.min(255) as u8).collect();
    let png = encode(&bytes, width, height, png::ColorType::Grayscale, path)?;
    fsx::atomic_write(path, &png).map_err(|e| SlotsError::Png {
        path: path.display().to_string(),
        msg: e.to_string(),
    })
}

/// A decoded PNG: RGB in [0, 1] (grey and alpha converted), and the raw first channel (mask
/// files carry labels there).
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The colour image.
    pub rgb: Rgb,
    /// The first channel's 8-bit values.
    pub first: Vec<u8>,
}

/// Reads a PNG file.
pub fn load_png(path: &Path) -> SlotsResult<Decoded> {
    let bad = |msg: String| SlotsError::Png {
        path: path.display().to_string(),
        msg,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("image too large".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let buf = &buf[..info.buffer_size()];
    let mut data = Vec::with_capacity(w * h * 3);
    let mut first = Vec::with_capacity(w * h);
    for px in buf.chunks(channels) {
        first.push(px[0]);
        let rgb = if channels >= 3 {
            [px[0], px[1], px[2]]
        } else {
            [px[0]; 3]
        };
        data.extend(rgb.iter().map(|&v| v as f32 / 255.0));
    }
    Ok(Decoded {
        rgb: Rgb {
            width: w,
            height: h,
            data,
        },
        first,
    })
}

/// Tiles `cells` (all the same size) into rows of `cols`, with a 2-pixel white gap.
pub fn mosaic(cells: &[Rgb], cols: usize) -> Rgb {
    let (cw, ch) = cells.first().map_or((1, 1), |c| (c.width, c.height));
    let cols = cols.max(1);
    let rows = cells.len().div_ceil(cols).max(1);
    let gap = 2;
    let mut out = Rgb::filled(cols * (cw + gap) + gap, rows * (ch + gap) + gap, [1.0; 3]);
    for (i, cell) in cells.iter().enumerate() {
        let (ox, oy) = (gap + (i % cols) * (cw + gap), gap + (i / cols) * (ch + gap));
        for y in 0..ch.min(cell.height) {
            for x in 0..cw.min(cell.width) {
                let dst = ((oy + y) * out.width + ox + x) * 3;
                let src = (y * cell.width + x) * 3;
                out.data[dst..dst + 3].copy_from_slice(&cell.data[src..src + 3]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_of_an_image_and_a_mask() {
        let (_dir, path) = genlab_core::testing::scratch("slots-png");
        std::fs::create_dir_all(&path).unwrap();
        let img = Rgb {
            width: 3,
            height: 2,
            data: (0..18).map(|i| i as f32 / 17.0).collect(),
        };
        let file = path.join("a.png");
        img.save_png(&file).unwrap();
        let back = load_png(&file).unwrap();
        assert_eq!((back.rgb.width, back.rgb.height), (3, 2));
        assert!(
            back.rgb
                .data
                .iter()
                .zip(&img.data)
                .all(|(a, b)| (a - b).abs() < 0.003)
        );
        let mask = path.join("m.png");
        save_label_png(&[0, 1, 2, 2, 1, 0], 3, 2, &mask).unwrap();
        assert_eq!(load_png(&mask).unwrap().first, vec![0, 1, 2, 2, 1, 0]);
    }
}
