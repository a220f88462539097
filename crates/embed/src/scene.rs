//! SCaR-lite scenes: seeded 32×32 RGB images whose *scene class* can only be read from the
//! whole image, with 4–5 foreground objects (shape × colour × size), their masks and boxes.
//!
//! ```text
//! background(x, y) = tone_A or tone_B by the scene's layout L_s(x, y) (+ pixel noise σ)
//!   beach: top B / bottom A   forest: top A / bottom B   city: left B / right A
//!   snow:  left A / right B   kitchen: centre block B on A   night: A above the diagonal
//! objects: distinct (colour, shape) pairs, sizes {6, 9} px, ≥ 1 px apart, painted on top
//! ```
//!
//! Both tones occur in every layout and cover about half of the image in each, so a crop (or
//! any local patch) sees "tone A" or "tone B" with no clue to which layout produced it: the
//! scene class is a property of the whole image (the issue's "recognisable only from the whole
//! image"). The tones are drawn per image from two disjoint grey ranges, the split positions
//! are jittered, and saturated object colours never collide with the greys.
//!
//! Size: 32×32, not the issue's 64×64 — four model arms × two phases × three seeds must train
//! in the 5-minute budget on two CPU cores; the objects (6 and 9 px) stay recognisable.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Side of every image, in pixels.
pub const IMAGE: usize = 32;
/// Scene classes.
pub const SCENES: [&str; 6] = ["beach", "forest", "city", "snow", "kitchen", "night"];
/// Object shapes.
pub const SHAPES: [&str; 4] = ["circle", "square", "triangle", "cross"];
/// Object colours.
pub const COLOURS: [&str; 6] = ["red", "green", "blue", "yellow", "magenta", "cyan"];
/// Their RGB values.
pub const RGB: [[f32; 3]; 6] = [
    [0.9, 0.1, 0.1],
    [0.1, 0.8, 0.15],
    [0.15, 0.25, 0.95],
    [0.95, 0.9, 0.1],
    [0.9, 0.1, 0.85],
    [0.1, 0.85, 0.9],
];
/// Object sizes.
pub const SIZES: [&str; 2] = ["small", "large"];
/// Their side lengths in pixels.
pub const SIZE_PX: [usize; 2] = [6, 9];

/// An axis-aligned box in pixel coordinates, `[x1, x2) × [y1, y2)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge (exclusive).
    pub x2: f32,
    /// Bottom edge (exclusive).
    pub y2: f32,
}

impl BBox {
    /// Whether `other` lies inside this box.
    pub fn contains(&self, other: &BBox) -> bool {
        self.x1 <= other.x1 && self.y1 <= other.y1 && self.x2 >= other.x2 && self.y2 >= other.y2
    }

    /// Checks the box is non-empty and inside a `size × size` image.
    pub fn validate(&self, size: f32) -> genlab_core::Result<()> {
        let inside = [self.x1, self.y1, self.x2, self.y2]
            .iter()
            .all(|v| v.is_finite() && (0.0..=size).contains(v));
        if !inside || self.x2 <= self.x1 || self.y2 <= self.y1 {
            return Err(genlab_core::Error::InvalidInput(format!(
                "box {},{},{},{} is not a non-empty box inside the {size}×{size} image",
                self.x1, self.y1, self.x2, self.y2
            )));
        }
        Ok(())
    }
}

/// What an object looks like (the caption grammar names these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attrs {
    /// Index into [`SIZES`].
    pub size: u8,
    /// Index into [`COLOURS`].
    pub colour: u8,
    /// Index into [`SHAPES`].
    pub shape: u8,
}

/// One foreground object: attributes and top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Size, colour, shape.
    pub attrs: Attrs,
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
}

impl Object {
    /// Side length in pixels.
    pub fn side(&self) -> usize {
        SIZE_PX[self.attrs.size as usize]
    }

    /// The object's bounding box (its square cell; every shape touches all four sides).
    pub fn bbox(&self) -> BBox {
        let s = self.side() as f32;
        BBox {
            x1: self.x as f32,
            y1: self.y as f32,
            x2: self.x as f32 + s,
            y2: self.y as f32 + s,
        }
    }

    /// Centre of the cell.
    pub fn centre(&self) -> (f32, f32) {
        let h = self.side() as f32 / 2.0;
        (self.x as f32 + h, self.y as f32 + h)
    }

    /// Whether cell pixel `(i, j)` (row, column inside the cell) belongs to the shape.
    pub fn covers(&self, i: usize, j: usize) -> bool {
        let s = self.side() as f32;
        let u = (j as f32 + 0.5) / s * 2.0 - 1.0;
        let v = (i as f32 + 0.5) / s * 2.0 - 1.0;
        match self.attrs.shape {
            0 => u * u + v * v <= 1.0,
            1 => true,
            2 => u.abs() <= (v + 1.0) / 2.0 + 0.1,
            _ => u.abs() <= 0.34 || v.abs() <= 0.34,
        }
    }
}

/// A whole scene: class, background layout and objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// Index into [`SCENES`].
    pub class: u8,
    /// Where the layout splits (pixels; its meaning depends on the class).
    pub split: usize,
    /// The two background greys.
    pub tones: [f32; 2],
    /// Foreground objects (distinct `(colour, shape)` pairs).
    pub objects: Vec<Object>,
    /// Seed of the pixel noise.
    pub noise_seed: u64,
}

/// Pixel-noise standard deviation of the background.
const NOISE: f32 = 0.04;

impl Scene {
    /// A random scene from `rng`.
    pub fn sample(rng: &mut ChaCha8Rng) -> Scene {
        let class = rng.random_range(0..SCENES.len()) as u8;
        let split = rng.random_range(12..=20);
        let tones = [rng.random_range(0.2..0.4), rng.random_range(0.55..0.75)];
        let n = rng.random_range(4..=5);
        loop {
            if let Some(objects) = place(rng, n) {
                return Scene {
                    class,
                    split,
                    tones,
                    objects,
                    noise_seed: rng.random(),
                };
            }
        }
    }

    /// Which tone (0 = A, 1 = B) the background has at pixel `(x, y)`.
    pub fn layout(&self, x: usize, y: usize) -> usize {
        let s = self.split;
        let b = match self.class {
            0 => y < s,
            1 => y >= s,
            2 => x < s,
            3 => x >= s,
            4 => {
                let (lo, hi) = (s - 11, s + 11);
                (lo..hi).contains(&x) && (lo..hi).contains(&y)
            }
            _ => x + y >= IMAGE - 1 + s - 16,
        };
        b as usize
    }

    /// The image, `[3, IMAGE, IMAGE]` (channel-major) in `[0, 1]`.
    pub fn render(&self) -> Vec<f32> {
        let n = IMAGE * IMAGE;
        let mut img = vec![0f32; 3 * n];
        let mut rng = ChaCha8Rng::seed_from_u64(self.noise_seed);
        for y in 0..IMAGE {
            for x in 0..IMAGE {
                let t = self.tones[self.layout(x, y)];
                for c in 0..3 {
                    let e: f32 = rng.random_range(-1.0..1.0) * NOISE * 1.7;
                    img[c * n + y * IMAGE + x] = (t + e).clamp(0.0, 1.0);
                }
            }
        }
        for o in &self.objects {
            for (y, x) in pixels(o) {
                for (c, v) in RGB[o.attrs.colour as usize].iter().enumerate() {
                    img[c * n + y * IMAGE + x] = *v;
                }
            }
        }
        img
    }

    /// The silhouette of object `i`, `[IMAGE, IMAGE]` of 0/1.
    pub fn mask(&self, i: usize) -> Vec<f32> {
        let mut m = vec![0f32; IMAGE * IMAGE];
        for (y, x) in pixels(&self.objects[i]) {
            m[y * IMAGE + x] = 1.0;
        }
        m
    }

    /// A point on object `i`: its mask pixel nearest the centre (every shape covers it or a
    /// neighbour), as pixel-centre coordinates.
    pub fn point(&self, i: usize) -> (f32, f32) {
        let o = &self.objects[i];
        let (cx, cy) = o.centre();
        pixels(o)
            .map(|(y, x)| (x as f32 + 0.5, y as f32 + 0.5))
            .min_by(|a, b| {
                let da = (a.0 - cx).powi(2) + (a.1 - cy).powi(2);
                let db = (b.0 - cx).powi(2) + (b.1 - cy).powi(2);
                da.total_cmp(&db)
            })
            .expect("every shape covers a pixel")
    }
}

/// The image pixels `(row, column)` of object `o`.
fn pixels(o: &Object) -> impl Iterator<Item = (usize, usize)> + '_ {
    let s = o.side();
    (0..s).flat_map(move |i| {
        (0..s)
            .filter(move |&j| o.covers(i, j))
            .map(move |j| (o.y + i, o.x + j))
    })
}

/// `n` objects with distinct `(colour, shape)`, 1 px apart, or `None` when placement fails.
fn place(rng: &mut ChaCha8Rng, n: usize) -> Option<Vec<Object>> {
    let mut objects: Vec<Object> = Vec::with_capacity(n);
    let mut tries = 0;
    while objects.len() < n {
        tries += 1;
        if tries > 400 {
            return None;
        }
        let attrs = Attrs {
            size: rng.random_range(0..2),
            colour: rng.random_range(0..COLOURS.len() as u8),
            shape: rng.random_range(0..SHAPES.len() as u8),
        };
        if objects
            .iter()
            .any(|o| (o.attrs.colour, o.attrs.shape) == (attrs.colour, attrs.shape))
        {
            continue;
        }
        let s = SIZE_PX[attrs.size as usize];
        let o = Object {
            attrs,
            x: rng.random_range(0..=IMAGE - s),
            y: rng.random_range(0..=IMAGE - s),
        };
        let b = o.bbox();
        let clear = objects.iter().all(|p| {
            let q = p.bbox();
            b.x2 + 1.0 <= q.x1 || q.x2 + 1.0 <= b.x1 || b.y2 + 1.0 <= q.y1 || q.y2 + 1.0 <= b.y1
        });
        if clear {
            objects.push(o);
        }
    }
    Some(objects)
}

/// The crop of `image` (`[3, IMAGE, IMAGE]`) to `bbox` grown by `margin` pixels (clamped to the
/// image), resized back to `IMAGE × IMAGE` by nearest neighbour. Returns the crop and the
/// integer window `[x1, x2) × [y1, y2)` it was taken from.
pub fn crop(image: &[f32], bbox: &BBox, margin: usize) -> (Vec<f32>, [usize; 4]) {
    let m = margin as f32;
    let x1 = (bbox.x1 - m).floor().max(0.0) as usize;
    let y1 = (bbox.y1 - m).floor().max(0.0) as usize;
    let x2 = ((bbox.x2 + m).ceil() as usize).clamp(x1 + 1, IMAGE);
    let y2 = ((bbox.y2 + m).ceil() as usize).clamp(y1 + 1, IMAGE);
    let (w, h, n) = (x2 - x1, y2 - y1, IMAGE * IMAGE);
    let mut out = vec![0f32; 3 * n];
    for c in 0..3 {
        for y in 0..IMAGE {
            let sy = y1 + (y * h) / IMAGE;
            for x in 0..IMAGE {
                let sx = x1 + (x * w) / IMAGE;
                out[c * n + y * IMAGE + x] = image[c * n + sy * IMAGE + sx];
            }
        }
    }
    (out, [x1, y1, x2, y2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenes_have_distinct_separated_objects_inside_the_image() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let s = Scene::sample(&mut rng);
            assert!((4..=5).contains(&s.objects.len()));
            for (i, a) in s.objects.iter().enumerate() {
                let b = a.bbox();
                assert!(b.x2 <= IMAGE as f32 && b.y2 <= IMAGE as f32);
                for c in &s.objects[i + 1..] {
                    assert_ne!(
                        (a.attrs.colour, a.attrs.shape),
                        (c.attrs.colour, c.attrs.shape)
                    );
                    let q = c.bbox();
                    assert!(
                        b.x2 < q.x1 || q.x2 < b.x1 || b.y2 < q.y1 || q.y2 < b.y1,
                        "{a:?} {c:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn both_tones_cover_a_large_share_of_every_layout() {
        // No local tone identifies the scene: each tone covers 30–70% of the image in every
        // class and split.
        for class in 0..SCENES.len() as u8 {
            for split in 12..=20 {
                let s = Scene {
                    class,
                    split,
                    tones: [0.3, 0.6],
                    objects: vec![],
                    noise_seed: 0,
                };
                let b: usize = (0..IMAGE)
                    .flat_map(|y| (0..IMAGE).map(move |x| (x, y)))
                    .map(|(x, y)| s.layout(x, y))
                    .sum();
                let frac = b as f64 / (IMAGE * IMAGE) as f64;
                assert!(
                    (0.3..=0.7).contains(&frac),
                    "class {class} split {split}: {frac}"
                );
            }
        }
    }

    #[test]
    fn masks_points_and_render_agree() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let s = Scene::sample(&mut rng);
        let img = s.render();
        assert_eq!(img, s.render(), "rendering is deterministic");
        for (i, o) in s.objects.iter().enumerate() {
            let m = s.mask(i);
            let (px, py) = s.point(i);
            assert_eq!(m[py as usize * IMAGE + px as usize], 1.0);
            let b = o.bbox();
            for y in 0..IMAGE {
                for x in 0..IMAGE {
                    if m[y * IMAGE + x] == 1.0 {
                        assert!((b.x1..b.x2).contains(&(x as f32 + 0.5)));
                        assert_eq!(img[y * IMAGE + x], RGB[o.attrs.colour as usize][0]);
                    }
                }
            }
        }
    }

    #[test]
    fn crops_contain_the_box() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..50 {
            let s = Scene::sample(&mut rng);
            let img = s.render();
            for o in &s.objects {
                let (c, [x1, y1, x2, y2]) = crop(&img, &o.bbox(), 1);
                let window = BBox {
                    x1: x1 as f32,
                    y1: y1 as f32,
                    x2: x2 as f32,
                    y2: y2 as f32,
                };
                assert!(window.contains(&o.bbox()), "{window:?} ⊉ {:?}", o.bbox());
                // The crop's top-left pixel is the window's top-left pixel.
                assert_eq!(c[0], img[y1 * IMAGE + x1]);
            }
        }
    }

    #[test]
    fn boxes_outside_the_image_are_rejected() {
        let ok = BBox {
            x1: 1.0,
            y1: 2.0,
            x2: 10.0,
            y2: 12.0,
        };
        assert!(ok.validate(32.0).is_ok());
        for bad in [
            BBox { x2: 40.0, ..ok },
            BBox { x1: -1.0, ..ok },
            BBox { x2: 1.0, ..ok },
            BBox { y1: f32::NAN, ..ok },
        ] {
            assert!(bad.validate(32.0).is_err(), "{bad:?}");
        }
    }
}
