//! The seeded multi-object scene generator: `size × size` RGB images of 2–5 flat-coloured
//! objects (square, circle, triangle, diamond in six colours), painted back to front so later
//! objects occlude earlier ones, on a plain or textured grey background; with the visible
//! instance mask of every object and a caption.
//!
//! ```text
//! mask[p]     = 0 (background) or k ∈ 1..=n, the topmost object covering pixel p
//! image[p]    = colour of object mask[p], or the background (plain grey, or stripes/checks)
//! caption     = [shape₁, colour₁, x-bin₁, y-bin₁, shape₂, …] padded with PAD to 4·max_objects
//! ```
//!
//! Token ids: PAD = 0, shapes 1–4, colours 5–10, x bins 11–14, y bins 15–18 (four bins across
//! the image). Objects keep at least [`MIN_VISIBLE`] visible pixels (a scene that would hide
//! one is redrawn), so every listed object is in the mask. Images are stored channel-last
//! (`[y][x][rgb]`) with values in [0, 1].

use genlab_core::train::SeededRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The caption padding token.
pub const PAD: u32 = 0;
/// Number of shapes.
pub const SHAPES: usize = 4;
/// The object colours (RGB in [0, 1]).
pub const COLOURS: [[f32; 3]; 6] = [
    [0.9, 0.15, 0.15],
    [0.15, 0.8, 0.2],
    [0.2, 0.3, 0.95],
    [0.95, 0.85, 0.1],
    [0.85, 0.2, 0.85],
    [0.1, 0.85, 0.9],
];
/// Position bins per axis in the caption.
pub const BINS: usize = 4;
/// Caption vocabulary size (PAD + shapes + colours + x bins + y bins).
pub const VOCAB: usize = 1 + SHAPES + COLOURS.len() + 2 * BINS;
/// Fewest visible pixels an object keeps.
pub const MIN_VISIBLE: usize = 6;

/// What the generator draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SceneConfig {
    /// Image side in pixels.
    pub size: usize,
    /// Fewest objects per scene.
    pub min_objects: usize,
    /// Most objects per scene (the caption length is 4 × this).
    pub max_objects: usize,
    /// Fraction of scenes with a textured background.
    pub textured: f64,
}

impl SceneConfig {
    /// 32×32, 2–5 objects, half the backgrounds textured.
    pub const DEFAULT: SceneConfig = SceneConfig {
        size: 32,
        min_objects: 2,
        max_objects: 5,
        textured: 0.5,
    };

    /// Caption length.
    pub fn caption_len(&self) -> usize {
        4 * self.max_objects
    }
}

/// One object of a scene.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Shape id in `0..SHAPES` (square, circle, triangle, diamond).
    pub shape: usize,
    /// Colour id in `0..COLOURS.len()`.
    pub colour: usize,
    /// Centre, in pixels.
    pub cx: f32,
    /// Centre, in pixels.
    pub cy: f32,
    /// Half-size, in pixels.
    pub r: f32,
}

impl Object {
    /// Whether the object covers the centre of pixel (x, y).
    pub fn covers(&self, x: usize, y: usize) -> bool {
        let (dx, dy) = (x as f32 + 0.5 - self.cx, y as f32 + 0.5 - self.cy);
        let r = self.r;
        match self.shape {
            0 => dx.abs() <= r && dy.abs() <= r,
            1 => dx * dx + dy * dy <= r * r,
            // Upward triangle: apex at (0, −r), base at y = +r.
            2 => dy <= r && dy >= -r && dx.abs() <= (dy + r) / 2.0,
            _ => dx.abs() + dy.abs() <= r * 1.2,
        }
    }

    /// The object's four caption tokens.
    pub fn tokens(&self, size: usize) -> [u32; 4] {
        let bin = |c: f32| ((c / size as f32 * BINS as f32) as usize).min(BINS - 1);
        let s = 1 + self.shape;
        let c = 1 + SHAPES + self.colour;
        let x = 1 + SHAPES + COLOURS.len() + bin(self.cx);
        let y = 1 + SHAPES + COLOURS.len() + BINS + bin(self.cy);
        [s as u32, c as u32, x as u32, y as u32]
    }
}

/// A batch of scenes, stored flat.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenes {
    /// Image side.
    pub size: usize,
    /// `n × size × size × 3`, channel-last, in [0, 1].
    pub images: Vec<f32>,
    /// `n × size × size` instance labels (0 = background), when known.
    pub masks: Option<Vec<u8>>,
    /// Per scene, its objects in painting order (label k is `objects[k − 1]`).
    pub objects: Vec<Vec<Object>>,
    /// `n × caption_len` caption tokens (empty when unknown).
    pub captions: Vec<u32>,
    /// Caption length.
    pub caption_len: usize,
}

impl Scenes {
    /// Number of scenes.
    pub fn len(&self) -> usize {
        self.images.len() / (self.size * self.size * 3)
    }

    /// Whether there are no scenes.
    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Pixels of one image.
    pub fn pixels(&self) -> usize {
        self.size * self.size
    }

    /// Image `i` (channel-last).
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.pixels() * 3;
        &self.images[i * n..(i + 1) * n]
    }

    /// Mask `i`, when masks are known.
    pub fn mask(&self, i: usize) -> Option<&[u8]> {
        let n = self.pixels();
        self.masks.as_ref().map(|m| &m[i * n..(i + 1) * n])
    }

    /// Caption `i`, when captions are known.
    pub fn caption(&self, i: usize) -> Option<&[u32]> {
        let l = self.caption_len;
        (!self.captions.is_empty()).then(|| &self.captions[i * l..(i + 1) * l])
    }

    /// The scenes `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Scenes {
        let mut out = Scenes {
            size: self.size,
            images: Vec::new(),
            masks: self.masks.as_ref().map(|_| Vec::new()),
            objects: Vec::new(),
            captions: Vec::new(),
            caption_len: self.caption_len,
        };
        for &i in idx {
            out.images.extend_from_slice(self.image(i));
            if let (Some(m), Some(src)) = (out.masks.as_mut(), self.mask(i)) {
                m.extend_from_slice(src);
            }
            if let Some(o) = self.objects.get(i) {
                out.objects.push(o.clone());
            }
            if let Some(c) = self.caption(i) {
                out.captions.extend_from_slice(c);
            }
        }
        out
    }
}

/// `n` scenes drawn from `config` with the stream `rng`.
pub fn generate(config: &SceneConfig, n: usize, rng: &mut SeededRng) -> Scenes {
    let s = config.size;
    let l = config.caption_len();
    let mut out = Scenes {
        size: s,
        images: Vec::with_capacity(n * s * s * 3),
        masks: Some(Vec::with_capacity(n * s * s)),
        objects: Vec::with_capacity(n),
        captions: Vec::with_capacity(n * l),
        caption_len: l,
    };
    for _ in 0..n {
        let (image, mask, objects) = loop {
            let objects = draw_objects(config, rng.rng());
            let mask = paint_mask(&objects, s);
            if (1..=objects.len())
                .all(|k| mask.iter().filter(|&&m| m as usize == k).count() >= MIN_VISIBLE)
            {
                let image = paint_image(&objects, &mask, s, config.textured, rng.rng());
                break (image, mask, objects);
            }
        };
        out.images.extend(image);
        out.masks
            .as_mut()
            .expect("generated scenes have masks")
            .extend(mask);
        let mut caption: Vec<u32> = objects.iter().flat_map(|o| o.tokens(s)).collect();
        caption.resize(l, PAD);
        out.captions.extend(caption);
        out.objects.push(objects);
    }
    out
}

fn draw_objects(config: &SceneConfig, rng: &mut impl Rng) -> Vec<Object> {
    let s = config.size as f32;
    let k = rng.random_range(config.min_objects..=config.max_objects);
    (0..k)
        .map(|_| {
            let r = rng.random_range(0.11 * s..0.2 * s);
            Object {
                shape: rng.random_range(0..SHAPES),
                colour: rng.random_range(0..COLOURS.len()),
                cx: rng.random_range(r..s - r),
                cy: rng.random_range(r..s - r),
                r,
            }
        })
        .collect()
}

/// The visible-instance label of every pixel (later objects on top).
pub fn paint_mask(objects: &[Object], size: usize) -> Vec<u8> {
    let mut mask = vec![0u8; size * size];
    for y in 0..size {
        for x in 0..size {
            for (k, o) in objects.iter().enumerate() {
                if o.covers(x, y) {
                    mask[y * size + x] = (k + 1) as u8;
                }
            }
        }
    }
    mask
}

fn paint_image(
    objects: &[Object],
    mask: &[u8],
    size: usize,
    textured: f64,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let base: f32 = rng.random_range(0.25..0.6);
    let other: f32 = base + rng.random_range(0.08..0.18) * if base > 0.45 { -1.0 } else { 1.0 };
    let pattern = if rng.random_bool(textured) {
        rng.random_range(1..4)
    } else {
        0
    };
    let period = rng.random_range(2..5);
    let mut image = Vec::with_capacity(size * size * 3);
    for y in 0..size {
        for x in 0..size {
            let m = mask[y * size + x] as usize;
            let rgb = if m > 0 {
                COLOURS[objects[m - 1].colour]
            } else {
                let alt = match pattern {
                    1 => (x / period) % 2 == 0,
                    2 => (y / period) % 2 == 0,
                    3 => (x / period + y / period) % 2 == 0,
                    _ => false,
                };
                let g = if alt { other } else { base };
                [g, g, g]
            };
            image.extend_from_slice(&rgb);
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenes(n: usize) -> Scenes {
        generate(&SceneConfig::DEFAULT, n, &mut SeededRng::new(3))
    }

    #[test]
    fn masks_partition_the_image_and_match_the_pixels() {
        let sc = scenes(64);
        let p = sc.pixels();
        let mut counts = [0usize; 6];
        for i in 0..sc.len() {
            let (img, mask, objs) = (sc.image(i), sc.mask(i).unwrap(), &sc.objects[i]);
            assert!((2..=5).contains(&objs.len()));
            counts[objs.len()] += 1;
            assert_eq!(mask.len(), p);
            // Every pixel carries exactly one label; the label sets are disjoint and cover.
            let mut area = vec![0usize; objs.len() + 1];
            for (j, &m) in mask.iter().enumerate() {
                assert!(
                    (m as usize) <= objs.len(),
                    "label {m} with {} objects",
                    objs.len()
                );
                area[m as usize] += 1;
                if m > 0 {
                    // The pixel shows its object's colour, and that object is the topmost.
                    let o = &objs[m as usize - 1];
                    assert_eq!(&img[3 * j..3 * j + 3], &COLOURS[o.colour]);
                    let (x, y) = (j % sc.size, j / sc.size);
                    assert!(o.covers(x, y));
                    assert!(objs[m as usize..].iter().all(|later| !later.covers(x, y)));
                } else {
                    assert!(objs.iter().all(|o| !o.covers(j % sc.size, j / sc.size)));
                }
            }
            assert_eq!(area.iter().sum::<usize>(), p);
            assert!(area[1..].iter().all(|&a| a >= MIN_VISIBLE));
        }
        assert!(counts[2] > 0 && counts[5] > 0, "object counts {counts:?}");
    }

    #[test]
    fn captions_list_each_object_then_pad() {
        let sc = scenes(8);
        for i in 0..sc.len() {
            let cap = sc.caption(i).unwrap();
            let n = sc.objects[i].len();
            assert_eq!(cap.len(), 20);
            for (k, o) in sc.objects[i].iter().enumerate() {
                let t = &cap[4 * k..4 * k + 4];
                assert_eq!(t[0] as usize, 1 + o.shape);
                assert_eq!(t[1] as usize, 5 + o.colour);
                assert!((11..15).contains(&t[2]) && (15..19).contains(&t[3]));
            }
            assert!(cap[4 * n..].iter().all(|&t| t == PAD));
            assert!(cap.iter().all(|&t| (t as usize) < VOCAB));
        }
    }

    #[test]
    fn same_seed_same_scenes() {
        assert_eq!(scenes(5), scenes(5));
        let other = generate(&SceneConfig::DEFAULT, 5, &mut SeededRng::new(4));
        assert_ne!(scenes(5).images, other.images);
    }
}
