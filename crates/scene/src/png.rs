//! RGB PNG and animated PNG (APNG) writing, for frames and report figures.
//!
//! ```text
//! PNG  = signature · IHDR(w, h, 8-bit, colour type 2) · IDAT(zlib(rows, filter 0)) · IEND
//! APNG = signature · IHDR · acTL(frames, loops = 0) · per frame k:
//!        fcTL(k, w, h, delay) · (k = 0: IDAT | k > 0: fdAT(sequence no., zlib data)) · IEND
//! chunk = length (u32 BE) · type · data · CRC-32(type · data)
//! ```

use std::io::Write;
use std::path::Path;

use genlab_core::Result;
use genlab_core::fsx::atomic_write;

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Channel-major RGB in [0, 1] (`[3, H, W]`) as zlib-compressed filter-0 scanlines.
fn idat(rgb: &[f32], w: usize, h: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity(h * (1 + 3 * w));
    for y in 0..h {
        raw.push(0);
        for x in 0..w {
            for c in 0..3 {
                let v = rgb[c * w * h + y * w + x];
                raw.push((v.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("writing to a Vec");
    z.finish().expect("writing to a Vec")
}

fn header(w: usize, h: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    out
}

/// PNG bytes of one `[3, H, W]` image.
pub fn png_bytes(rgb: &[f32], w: usize, h: usize) -> Vec<u8> {
    let mut out = header(w, h);
    chunk(&mut out, b"IDAT", &idat(rgb, w, h));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Writes one `[3, H, W]` image as a PNG, atomically.
pub fn write_png(path: &Path, rgb: &[f32], w: usize, h: usize) -> Result<()> {
    atomic_write(path, &png_bytes(rgb, w, h))
}

/// APNG bytes of `frames` (each `[3, H, W]`), `delay_ms` per frame, looping forever.
pub fn apng_bytes(frames: &[Vec<f32>], w: usize, h: usize, delay_ms: u16) -> Vec<u8> {
    let mut out = header(w, h);
    let mut actl = (frames.len() as u32).to_be_bytes().to_vec();
    actl.extend_from_slice(&0u32.to_be_bytes());
    chunk(&mut out, b"acTL", &actl);
    let mut seq = 0u32;
    for (k, f) in frames.iter().enumerate() {
        let mut fctl = seq.to_be_bytes().to_vec();
        seq += 1;
        for v in [w as u32, h as u32, 0, 0] {
            fctl.extend_from_slice(&v.to_be_bytes());
        }
        fctl.extend_from_slice(&delay_ms.to_be_bytes());
        fctl.extend_from_slice(&1000u16.to_be_bytes());
        fctl.extend_from_slice(&[0, 0]);
        chunk(&mut out, b"fcTL", &fctl);
        let data = idat(f, w, h);
        if k == 0 {
            chunk(&mut out, b"IDAT", &data);
        } else {
            let mut fdat = seq.to_be_bytes().to_vec();
            seq += 1;
            fdat.extend_from_slice(&data);
            chunk(&mut out, b"fdAT", &fdat);
        }
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Writes an animated PNG, atomically.
pub fn write_apng(
    path: &Path,
    frames: &[Vec<f32>],
    w: usize,
    h: usize,
    delay_ms: u16,
) -> Result<()> {
    atomic_write(path, &apng_bytes(frames, w, h, delay_ms))
}

/// Places `[3, h, w]` tiles on a `cols`-wide grid with a 1-pixel white gap, scaled up by
/// `zoom` (nearest neighbour); returns the canvas and its size.
pub fn tile(
    tiles: &[Vec<f32>],
    w: usize,
    h: usize,
    cols: usize,
    zoom: usize,
) -> (Vec<f32>, usize, usize) {
    let rows = tiles.len().div_ceil(cols.max(1));
    let (tw, th) = (w * zoom + 1, h * zoom + 1);
    let (cw, ch) = (cols * tw + 1, rows * th + 1);
    let mut canvas = vec![1.0f32; 3 * cw * ch];
    for (k, t) in tiles.iter().enumerate() {
        let (ox, oy) = (1 + (k % cols) * tw, 1 + (k / cols) * th);
        for y in 0..h * zoom {
            for x in 0..w * zoom {
                for c in 0..3 {
                    canvas[c * cw * ch + (oy + y) * cw + ox + x] =
                        t[c * w * h + (y / zoom) * w + x / zoom];
                }
            }
        }
    }
    (canvas, cw, ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_a_known_string() {
        // CRC-32 of "IEND" is the constant every PNG ends with.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn png_decodes_back() {
        let (w, h) = (3, 2);
        let rgb: Vec<f32> = (0..18).map(|i| i as f32 / 17.0).collect();
        let bytes = png_bytes(&rgb, w, h);
        // IDAT payload inflates to the filter-0 scanlines.
        let pos = bytes.windows(4).position(|x| x == b"IDAT").unwrap();
        let len = u32::from_be_bytes(bytes[pos - 4..pos].try_into().unwrap()) as usize;
        let mut d = flate2::read::ZlibDecoder::new(&bytes[pos + 4..pos + 4 + len]);
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut raw).unwrap();
        assert_eq!(raw.len(), h * (1 + 3 * w));
        assert_eq!(raw[0], 0);
        // Pixel (1, 0), green: channel 1 index 0·3 + 1 = 7 → 7/17.
        assert_eq!(raw[1 + 3 + 1], (7.0f32 / 17.0 * 255.0).round() as u8);
        let a = apng_bytes(&[rgb.clone(), rgb], w, h, 100);
        assert!(a.windows(4).any(|x| x == b"acTL") && a.windows(4).any(|x| x == b"fdAT"));
    }
}
