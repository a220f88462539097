//! A user's folder of PNG images (and optionally a folder of mask PNGs with the same file
//! names) as [`Scenes`] at the model's resolution.
//!
//! ```text
//! every image must have the same W×H (else one error naming the first odd file)
//! image → size × size by bilinear sampling at pixel centres;  mask → size × size by nearest
//! mask value v (first channel) → instance label v (0 = background)
//! ```

use std::path::{Path, PathBuf};

use crate::error::{SlotsError, SlotsResult};
use crate::picture::{Rgb, load_png};
use crate::scene::Scenes;

/// The `.png` files of `dir`, sorted by name.
pub fn png_files(dir: &Path) -> SlotsResult<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| SlotsError::Png {
        path: dir.display().to_string(),
        msg: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(SlotsError::NoImages(dir.display().to_string()));
    }
    Ok(files)
}

/// Bilinear resampling of an RGB image to `size × size`.
pub fn resize(img: &Rgb, size: usize) -> Vec<f32> {
    if img.width == size && img.height == size {
        return img.data.clone();
    }
    let (w, h) = (img.width, img.height);
    let mut out = Vec::with_capacity(size * size * 3);
    for y in 0..size {
        for x in 0..size {
            let fy = ((y as f32 + 0.5) * h as f32 / size as f32 - 0.5).clamp(0.0, (h - 1) as f32);
            let fx = ((x as f32 + 0.5) * w as f32 / size as f32 - 0.5).clamp(0.0, (w - 1) as f32);
            let (y0, x0) = (fy.floor() as usize, fx.floor() as usize);
            let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
            let (wy, wx) = (fy - y0 as f32, fx - x0 as f32);
            for c in 0..3 {
                let at = |yy: usize, xx: usize| img.data[(yy * w + xx) * 3 + c];
                out.push(
                    (1.0 - wy) * ((1.0 - wx) * at(y0, x0) + wx * at(y0, x1))
                        + wy * ((1.0 - wx) * at(y1, x0) + wx * at(y1, x1)),
                );
            }
        }
    }
    out
}

/// Nearest-neighbour resampling of labels from `w × h` to `size × size`.
pub fn resize_labels(labels: &[u8], w: usize, h: usize, size: usize) -> Vec<u8> {
    (0..size * size)
        .map(|p| {
            let (x, y) = (p % size, p / size);
            labels[(y * h / size) * w + x * w / size]
        })
        .collect()
}

/// The folder's images (and masks, when `masks` is given) at `size × size`, with the original
/// width and height.
pub fn load_folder(
    dir: &Path,
    masks: Option<&Path>,
    size: usize,
) -> SlotsResult<(Scenes, Vec<PathBuf>, (usize, usize))> {
    let files = png_files(dir)?;
    let mut images = Vec::with_capacity(files.len() * size * size * 3);
    let mut labels = masks.map(|_| Vec::with_capacity(files.len() * size * size));
    let mut dims = None;
    for file in &files {
        let img = load_png(file)?.rgb;
        let d = (img.width, img.height);
        let want = *dims.get_or_insert(d);
        if d != want {
            return Err(SlotsError::SizeMismatch {
                path: file.display().to_string(),
                got: format!("{}×{}", d.0, d.1),
                want: format!("{}×{}", want.0, want.1),
            });
        }
        images.extend(resize(&img, size));
        if let (Some(out), Some(mdir)) = (labels.as_mut(), masks) {
            let mpath = mdir.join(file.file_name().expect("a listed file has a name"));
            let m = load_png(&mpath)?;
            if (m.rgb.width, m.rgb.height) != d {
                return Err(SlotsError::SizeMismatch {
                    path: mpath.display().to_string(),
                    got: format!("{}×{}", m.rgb.width, m.rgb.height),
                    want: format!("{}×{} (its image)", d.0, d.1),
                });
            }
            out.extend(resize_labels(&m.first, d.0, d.1, size));
        }
    }
    let n = files.len();
    let scenes = Scenes {
        size,
        images,
        masks: labels,
        objects: vec![Vec::new(); n],
        captions: Vec::new(),
        caption_len: 0,
    };
    Ok((scenes, files, dims.expect("at least one image")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_folders_and_mismatched_sizes_are_one_line_errors() {
        let (_d, path) = genlab_core::testing::scratch("slots-imgs");
        std::fs::create_dir_all(&path).unwrap();
        let e = load_folder(&path, None, 32).unwrap_err().to_string();
        assert!(e.contains("no .png images") && !e.contains('\n'), "{e}");
        Rgb::filled(8, 8, [0.5; 3])
            .save_png(&path.join("a.png"))
            .unwrap();
        Rgb::filled(8, 6, [0.5; 3])
            .save_png(&path.join("b.png"))
            .unwrap();
        let e = load_folder(&path, None, 32).unwrap_err().to_string();
        assert!(
            e.contains("b.png") && e.contains("8×6") && !e.contains('\n'),
            "{e}"
        );
    }

    #[test]
    fn resizing_keeps_constant_images_and_label_blocks() {
        let img = Rgb::filled(5, 7, [0.2, 0.4, 0.6]);
        let r = resize(&img, 4);
        assert!(
            r.chunks(3)
                .all(|p| (p[0] - 0.2).abs() < 1e-6 && (p[2] - 0.6).abs() < 1e-6)
        );
        // A 2×2 label image → 4×4 blocks.
        assert_eq!(
            resize_labels(&[1, 2, 3, 4], 2, 2, 4),
            vec![1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]
        );
    }
}
