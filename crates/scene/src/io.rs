//! Sequences on disk — what `genlab scene render` writes and `genlab scene generate` reads:
//!
//! ```text
//! DIR/cameras.json   {"cameras": [{width, height, fx, fy, cx, cy, rotation (3×3, camera-to-
//!                    world, rows), center}, …], "times": [t₀, …]}   (times optional)
//! DIR/frames.npy     float32 (L, 3·H·W): each row one frame, channel-major RGB in [0, 1]
//! DIR/depth.npy      float32 (L, H·W): camera z per pixel (inf = nothing)  [required to
//!                    build a memory; finite values > 0]
//! DIR/dynamic.npy    float32 (L, H·W): 1 on moving objects (optional: the true mask)
//! DIR/instance.npy   float32 (L, H·W): object ids (optional: enables object-level masks)
//! DIR/frames.png     a strip of the frames, DIR/video.png an animated PNG (written, not read)
//! ```
//!
//! Reading checks every shape against the cameras: a camera count that differs from the frame
//! count, or frames of another size, is refused with one line saying which.

use std::path::Path;

use genlab_core::data::{Points, read_npy, write_npy};
use genlab_core::{Result, fsx};
use serde::{Deserialize, Serialize};

use crate::camera::Camera;
use crate::error::SceneError;
use crate::path::Sequence;
use crate::png::{tile, write_apng, write_png};

/// `cameras.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraFile {
    /// One camera per frame.
    pub cameras: Vec<Camera>,
    /// Frame times (optional).
    #[serde(default)]
    pub times: Vec<f64>,
}

/// Reads a camera file, checking every camera is finite and of one size.
pub fn read_cameras(path: &Path) -> Result<CameraFile> {
    let file: CameraFile = fsx::read_json(path)?;
    let Some(first) = file.cameras.first() else {
        return Err(SceneError::Invalid(format!("{}: no cameras", path.display())).into());
    };
    for (i, c) in file.cameras.iter().enumerate() {
        if (c.width, c.height) != (first.width, first.height) {
            return Err(SceneError::SizeMismatch {
                what: format!("{} camera {i}", path.display()),
                got: format!("{}×{}", c.width, c.height),
                expected: format!("{}×{}", first.width, first.height),
            }
            .into());
        }
        let finite = [c.fx, c.fy, c.cx, c.cy].iter().all(|v| v.is_finite())
            && c.rotation.iter().flatten().all(|v| v.is_finite())
            && c.center.iter().all(|v| v.is_finite());
        if !finite || c.fx <= 0.0 || c.fy <= 0.0 || c.width == 0 || c.height == 0 {
            return Err(SceneError::Invalid(format!(
                "{} camera {i}: non-finite or non-positive intrinsics/pose",
                path.display()
            ))
            .into());
        }
    }
    if !file.times.is_empty() && file.times.len() != file.cameras.len() {
        return Err(SceneError::CameraCount {
            what: format!("{} times", path.display()),
            cameras: file.times.len(),
            frames: file.cameras.len(),
        }
        .into());
    }
    Ok(file)
}

fn rows(points: Points, width: usize, what: &Path) -> Result<Vec<Vec<f32>>> {
    if points.d != width {
        return Err(SceneError::SizeMismatch {
            what: what.display().to_string(),
            got: format!("{} values per frame", points.d),
            expected: format!("{width} (from the cameras' image size)"),
        }
        .into());
    }
    Ok(points.data.chunks(width).map(<[f32]>::to_vec).collect())
}

/// Reads a sequence directory (module doc). `depth.npy` is required.
pub fn read_sequence(dir: &Path) -> Result<Sequence> {
    let cams = read_cameras(&dir.join("cameras.json"))?;
    let (w, h) = (cams.cameras[0].width, cams.cameras[0].height);
    let frames_path = dir.join("frames.npy");
    let rgb = rows(read_npy(&frames_path)?, 3 * w * h, &frames_path)?;
    if rgb.len() != cams.cameras.len() {
        return Err(SceneError::CameraCount {
            what: dir.join("cameras.json").display().to_string(),
            cameras: cams.cameras.len(),
            frames: rgb.len(),
        }
        .into());
    }
    let per_pixel = |name: &str, required: bool| -> Result<Option<Vec<Vec<f32>>>> {
        let p = dir.join(name);
        if !p.exists() && !required {
            return Ok(None);
        }
        let r = rows(read_npy(&p)?, w * h, &p)?;
        if r.len() != rgb.len() {
            return Err(SceneError::CameraCount {
                what: p.display().to_string(),
                cameras: rgb.len(),
                frames: r.len(),
            }
            .into());
        }
        Ok(Some(r))
    };
    let depth = per_pixel("depth.npy", true)?.expect("required");
    let n = rgb.len();
    let dynamic = per_pixel("dynamic.npy", false)?
        .map(|d| {
            d.iter()
                .map(|f| f.iter().map(|&v| u8::from(v > 0.5)).collect())
                .collect()
        })
        .unwrap_or_else(|| vec![vec![0u8; w * h]; n]);
    let instance = per_pixel("instance.npy", false)?
        .map(|d| {
            d.iter()
                .map(|f| f.iter().map(|&v| v.max(0.0) as u16).collect())
                .collect()
        })
        .unwrap_or_else(|| vec![vec![0u16; w * h]; n]);
    let times = if cams.times.is_empty() {
        (0..n).map(|i| i as f64).collect()
    } else {
        cams.times
    };
    Ok(Sequence {
        width: w,
        height: h,
        cameras: cams.cameras,
        times,
        rgb,
        depth,
        instance,
        dynamic,
    })
}

fn to_points(frames: impl Iterator<Item = Vec<f32>>, d: usize) -> Points {
    let data: Vec<f32> = frames.flatten().collect();
    Points {
        d,
        data,
        labels: None,
    }
}

/// Writes the cameras of `seq` as `cameras.json` in `dir`.
pub fn write_cameras(dir: &Path, cameras: &[Camera], times: &[f64]) -> Result<()> {
    fsx::write_json(
        &dir.join("cameras.json"),
        &CameraFile {
            cameras: cameras.to_vec(),
            times: times.to_vec(),
        },
    )
}

/// Writes `seq` into `dir` (created) as the module doc lays out; non-finite depth is stored as
/// a large value (1e6) because `.npy` readers here refuse infinities.
pub fn write_sequence(dir: &Path, seq: &Sequence) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| genlab_core::Error::io(dir, e))?;
    let (w, h) = (seq.width, seq.height);
    write_cameras(dir, &seq.cameras, &seq.times)?;
    write_npy(
        &dir.join("frames.npy"),
        &to_points(seq.rgb.iter().cloned(), 3 * w * h),
    )?;
    let depth = seq.depth.iter().map(|d| {
        d.iter()
            .map(|&v| if v.is_finite() { v } else { FAR })
            .collect()
    });
    write_npy(&dir.join("depth.npy"), &to_points(depth, w * h))?;
    let dynamic = seq
        .dynamic
        .iter()
        .map(|d| d.iter().map(|&v| v as f32).collect());
    write_npy(&dir.join("dynamic.npy"), &to_points(dynamic, w * h))?;
    let inst = seq
        .instance
        .iter()
        .map(|d| d.iter().map(|&v| v as f32).collect());
    write_npy(&dir.join("instance.npy"), &to_points(inst, w * h))?;
    write_previews(dir, &seq.rgb, w, h)
}

/// Depth stored for "nothing drawn".
pub const FAR: f32 = 1e6;

/// `frames.png` (a strip, 8 per row) and `video.png` (animated) of `frames`.
pub fn write_previews(dir: &Path, frames: &[Vec<f32>], w: usize, h: usize) -> Result<()> {
    if frames.is_empty() {
        return Ok(());
    }
    let zoom = if w <= 32 { 4 } else { 2 };
    let (canvas, cw, ch) = tile(frames, w, h, 8.min(frames.len()), zoom);
    write_png(&dir.join("frames.png"), &canvas, cw, ch)?;
    let big: Vec<Vec<f32>> = frames
        .iter()
        .map(|f| tile(std::slice::from_ref(f), w, h, 1, zoom).0)
        .collect();
    let (_, bw, bh) = tile(&frames[..1], w, h, 1, zoom);
    write_apng(&dir.join("video.png"), &big, bw, bh, 120)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::{PathKind, Scenario};

    #[test]
    fn sequence_round_trip_and_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let sc = Scenario::new(1, PathKind::Orbit, 4, 1, 16);
        let seq = sc.render(&sc.input, 0.0);
        write_sequence(dir.path(), &seq).unwrap();
        let back = read_sequence(dir.path()).unwrap();
        assert_eq!(
            (
                back.rgb.clone(),
                back.instance.clone(),
                back.dynamic.clone()
            ),
            (seq.rgb.clone(), seq.instance.clone(), seq.dynamic.clone())
        );
        assert_eq!(back.cameras, seq.cameras);
        // A camera file of the wrong length.
        write_cameras(dir.path(), &seq.cameras[..3], &[]).unwrap();
        let e = read_sequence(dir.path()).unwrap_err().to_string();
        assert!(e.contains("3 cameras for 4 frames"), "{e}");
        // Cameras of another image size than the frames.
        let big: Vec<Camera> = seq.cameras.iter().map(|c| c.resized(32, 32)).collect();
        write_cameras(dir.path(), &big, &[]).unwrap();
        let e = read_sequence(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("768 values per frame") && !e.contains('\n'),
            "{e}"
        );
    }
}
