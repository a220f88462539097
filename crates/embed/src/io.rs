//! Images on disk: PNG in (any size, grey / RGB / RGBA / palette, 8 or 16 bit), resized to the
//! model's 32×32 by area averaging; PNG out; prompts given in the file's own pixel coordinates
//! and mapped to 32×32.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use genlab_core::{Error, Result};

use crate::scene::{BBox, IMAGE};
use crate::seg::Prompt;

/// A decoded image: `[3, height, width]` in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Channel-major values.
    pub data: Vec<f32>,
}

fn bad(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: not a readable PNG ({e})", path.display()))
}

/// Reads a PNG.
pub fn read_png(path: &Path) -> Result<Rgb> {
    let file =
        File::open(path).map_err(|e| Error::InvalidInput(format!("{}: {e}", path.display())))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| bad(path, e))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad(path, "image too large"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(|e| bad(path, e))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(bad(path, "unexpanded palette")),
    };
    if w == 0 || h == 0 {
        return Err(bad(path, "empty image"));
    }
    let mut data = vec![0f32; 3 * w * h];
    for y in 0..h {
        let row = &buf[y * info.line_size..];
        for x in 0..w {
            let px = &row[x * channels..(x + 1) * channels];
            for c in 0..3 {
                let v = if channels < 3 { px[0] } else { px[c] };
                data[c * w * h + y * w + x] = v as f32 / 255.0;
            }
        }
    }
    Ok(Rgb {
        width: w,
        height: h,
        data,
    })
}

/// Writes a `[3, IMAGE, IMAGE]` image as an 8-bit RGB PNG, atomically.
pub fn write_png(path: &Path, image: &[f32]) -> Result<()> {
    let n = IMAGE * IMAGE;
    let mut bytes = Vec::with_capacity(3 * n);
    for p in 0..n {
        for c in 0..3 {
            bytes.push((image[c * n + p].clamp(0.0, 1.0) * 255.0).round() as u8);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, IMAGE as u32, IMAGE as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| Error::InvalidInput(format!("png: {e}")))?;
        w.write_image_data(&bytes)
            .map_err(|e| Error::InvalidInput(format!("png: {e}")))?;
    }
    genlab_core::fsx::atomic_write(path, &out)
}

impl Rgb {
    /// The image resized to `IMAGE × IMAGE` by area averaging (exact when it already is).
    pub fn resized(&self) -> Vec<f32> {
        let (w, h, n) = (self.width, self.height, IMAGE * IMAGE);
        let mut out = vec![0f32; 3 * n];
        let mut count = vec![0f32; n];
        for y in 0..h {
            let ty = y * IMAGE / h;
            for x in 0..w {
                let t = ty * IMAGE + x * IMAGE / w;
                count[t] += 1.0;
                for c in 0..3 {
                    out[c * n + t] += self.data[c * w * h + y * w + x];
                }
            }
        }
        // Images smaller than 32 px: empty target cells take their nearest source pixel.
        for ty in 0..IMAGE {
            for tx in 0..IMAGE {
                let t = ty * IMAGE + tx;
                if count[t] == 0.0 {
                    let (sx, sy) = (tx * w / IMAGE, ty * h / IMAGE);
                    for c in 0..3 {
                        out[c * n + t] = self.data[c * w * h + sy * w + sx];
                    }
                } else {
                    for c in 0..3 {
                        out[c * n + t] /= count[t];
                    }
                }
            }
        }
        out
    }

    /// Scale factors from this image's pixels to the model's.
    fn scale(&self) -> (f32, f32) {
        (
            IMAGE as f32 / self.width as f32,
            IMAGE as f32 / self.height as f32,
        )
    }

    /// A box given in this image's pixels, checked to lie inside it, in model pixels.
    pub fn map_box(&self, b: &BBox) -> Result<BBox> {
        let inside = [b.x1, b.x2]
            .iter()
            .all(|v| (0.0..=self.width as f32).contains(v))
            && [b.y1, b.y2]
                .iter()
                .all(|v| (0.0..=self.height as f32).contains(v));
        if !inside || b.x2 <= b.x1 || b.y2 <= b.y1 {
            return Err(Error::InvalidInput(format!(
                "box {},{},{},{} is not a non-empty box inside the {}×{} image",
                b.x1, b.y1, b.x2, b.y2, self.width, self.height
            )));
        }
        let (sx, sy) = self.scale();
        Ok(BBox {
            x1: b.x1 * sx,
            y1: b.y1 * sy,
            x2: b.x2 * sx,
            y2: b.y2 * sy,
        })
    }

    /// A point given in this image's pixels, checked, as a model-pixel prompt.
    pub fn map_point(&self, x: f32, y: f32) -> Result<Prompt> {
        if !(x.is_finite() && y.is_finite())
            || !(0.0..self.width as f32).contains(&x)
            || !(0.0..self.height as f32).contains(&y)
        {
            return Err(Error::InvalidInput(format!(
                "point {x},{y} is outside the {}×{} image",
                self.width, self.height
            )));
        }
        let (sx, sy) = self.scale();
        Ok(Prompt::Point(x * sx, y * sy))
    }
}

/// A mask PNG (non-black = inside) as a model-size mask prompt and its bounding box (the box
/// the query text carries); the mask must match the image's size and be non-empty.
pub fn read_mask(path: &Path, image: &Rgb) -> Result<(Prompt, BBox)> {
    let m = read_png(path)?;
    if (m.width, m.height) != (image.width, image.height) {
        return Err(Error::InvalidInput(format!(
            "{}: mask is {}×{}, the image {}×{}",
            path.display(),
            m.width,
            m.height,
            image.width,
            image.height
        )));
    }
    let small = m.resized();
    let n = IMAGE * IMAGE;
    let mask: Vec<f32> = (0..n)
        .map(|p| {
            if small[p] + small[n + p] + small[2 * n + p] > 0.75 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let on: Vec<(usize, usize)> = (0..n)
        .filter(|&p| mask[p] > 0.0)
        .map(|p| (p % IMAGE, p / IMAGE))
        .collect();
    if on.is_empty() {
        return Err(Error::InvalidInput(format!(
            "{}: the mask is empty",
            path.display()
        )));
    }
    let bbox = BBox {
        x1: on.iter().map(|p| p.0).min().unwrap_or(0) as f32,
        y1: on.iter().map(|p| p.1).min().unwrap_or(0) as f32,
        x2: on.iter().map(|p| p.0).max().unwrap_or(0) as f32 + 1.0,
        y2: on.iter().map(|p| p.1).max().unwrap_or(0) as f32 + 1.0,
    };
    Ok((Prompt::Mask(mask), bbox))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caption::queries;

    #[test]
    fn png_round_trip_and_mapping() {
        let q = &queries(4, 1, 1)[0];
        let img = q.scene.render();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        write_png(&p, &img).unwrap();
        let back = read_png(&p).unwrap();
        assert_eq!((back.width, back.height), (IMAGE, IMAGE));
        let r = back.resized();
        assert!(
            r.iter()
                .zip(&img)
                .all(|(a, b)| (a - b).abs() <= 0.5 / 255.0 + 1e-6)
        );
        let b = q.scene.objects[q.target].bbox();
        assert_eq!(back.map_box(&b).unwrap(), b);
        assert!(back.map_box(&BBox { x2: 33.0, ..b }).is_err());
        assert!(back.map_point(-1.0, 3.0).is_err());
        // A mask of the target gives back its box.
        let m = q.scene.mask(q.target);
        let rgb: Vec<f32> = m.iter().chain(&m).chain(&m).copied().collect();
        let mp = dir.path().join("m.png");
        write_png(&mp, &rgb).unwrap();
        let (_, mb) = read_mask(&mp, &back).unwrap();
        assert_eq!(mb, b);
        write_png(&mp, &vec![0.0; 3 * IMAGE * IMAGE]).unwrap();
        assert!(read_mask(&mp, &back).is_err());
        std::fs::write(&mp, b"not a png").unwrap();
        let e = read_png(&mp).unwrap_err().to_string();
        assert!(e.contains("not a readable PNG") && !e.contains('\n'), "{e}");
    }
}
