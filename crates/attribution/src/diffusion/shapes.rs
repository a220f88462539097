//! The Concept-TRAK toy data (`experiments/toy/preliminary/generate_data.py` of
//! enkeejunior1/concept-trak at 29159cd, shrunk from 64×64 to 16×16): one filled shape
//! (triangle or circle) in one colour (red or blue) at a random position on a white
//! background. Pixels are RGB in [−1, 1], stored channel-last (`[y][x][rgb]`, 768 values).
//! The condition is the concatenation of two one-hot attributes:
//! `[triangle, circle, red, blue]`; the all-zero vector is the unconditional (dropped) label.

use genlab_core::train::SeededRng;

/// Image side in pixels.
pub const SIDE: usize = 16;
/// Largest offset of a shape's centre from the image centre, in pixels (the reference draws
/// positions over the whole 64×64 canvas; a small MLP on 16×16 needs them closer to learn the
/// attributes in minutes).
pub const JITTER: f32 = 1.5;
/// Values per image (16 × 16 × 3).
pub const DIM: usize = SIDE * SIDE * 3;
/// Condition width (2 shapes + 2 colours).
pub const COND: usize = 4;

/// Shape attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An upward triangle.
    Triangle,
    /// A disc.
    Circle,
}

/// Colour attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// (1, −1, −1).
    Red,
    /// (−1, −1, 1).
    Blue,
}

/// One image's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs {
    /// Shape.
    pub shape: Shape,
    /// Colour.
    pub colour: Colour,
}

impl Attrs {
    /// The one-hot condition `[triangle, circle, red, blue]`.
    pub fn cond(&self) -> [f32; COND] {
        let s = if self.shape == Shape::Triangle {
            [1.0, 0.0]
        } else {
            [0.0, 1.0]
        };
        let c = if self.colour == Colour::Red {
            [1.0, 0.0]
        } else {
            [0.0, 1.0]
        };
        [s[0], s[1], c[0], c[1]]
    }
}

/// Renders one image with centre (cx, cy) and radius r (pixels).
pub fn render(a: Attrs, cx: f32, cy: f32, r: f32) -> Vec<f32> {
    let rgb = match a.colour {
        Colour::Red => [1.0, -1.0, -1.0],
        Colour::Blue => [-1.0, -1.0, 1.0],
    };
    let mut img = vec![1.0f32; DIM];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let inside = match a.shape {
                Shape::Circle => (px - cx).powi(2) + (py - cy).powi(2) <= r * r,
                Shape::Triangle => {
                    // apex at (cx, cy − r), base from (cx ± r, cy + r)
                    let h = (py - (cy - r)) / (2.0 * r);
                    (0.0..=1.0).contains(&h) && (px - cx).abs() <= h * r
                }
            };
            if inside {
                img[(y * SIDE + x) * 3..(y * SIDE + x) * 3 + 3].copy_from_slice(&rgb);
            }
        }
    }
    img
}

/// A labelled image set.
#[derive(Debug, Clone)]
pub struct ShapeSet {
    /// `n × DIM` images.
    pub x: Vec<f32>,
    /// Attributes per image.
    pub attrs: Vec<Attrs>,
}

impl ShapeSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.attrs.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.attrs.is_empty()
    }

    /// Image i.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.x[i * DIM..(i + 1) * DIM]
    }

    /// `n × COND` conditions.
    pub fn conds(&self) -> Vec<f32> {
        self.attrs.iter().flat_map(|a| a.cond()).collect()
    }
}

/// `n` images cycling through the three combinations other than `held_out`, centred within
/// ±[`JITTER`] pixels.
pub fn training_set(n: usize, held_out: Attrs, rng: &mut SeededRng) -> ShapeSet {
    let combos: Vec<Attrs> = [Shape::Triangle, Shape::Circle]
        .into_iter()
        .flat_map(|shape| {
            [Colour::Red, Colour::Blue]
                .into_iter()
                .map(move |colour| Attrs { shape, colour })
        })
        .filter(|a| *a != held_out)
        .collect();
    let mut x = Vec::with_capacity(n * DIM);
    let mut attrs = Vec::with_capacity(n);
    for i in 0..n {
        let a = combos[i % combos.len()];
        let u = rng.uniform_vec(2);
        let (cx, cy) = (
            8.0 + JITTER * (2.0 * u[0] - 1.0),
            8.0 + JITTER * (2.0 * u[1] - 1.0),
        );
        x.extend(render(a, cx, cy, 4.0));
        attrs.push(a);
    }
    ShapeSet { x, attrs }
}

/// RGB image in [−1, 1] → a greyscale-free rendering is not possible with the core's grid, so
/// figures use [`crate::repro::figures`]; this returns the mean colour of the non-white
/// pixels (for tests and for classifying generated queries by colour).
pub fn ink_colour(img: &[f32]) -> Option<[f32; 3]> {
    let mut sum = [0.0f32; 3];
    let mut n = 0;
    for px in img.chunks(3) {
        if px.iter().any(|v| *v < 0.0) {
            for c in 0..3 {
                sum[c] += px[c];
            }
            n += 1;
        }
    }
    (n > 0).then(|| sum.map(|s| s / n as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_attributes_and_holds_out_the_combination() {
        let red_tri = Attrs {
            shape: Shape::Triangle,
            colour: Colour::Red,
        };
        let img = render(red_tri, 8.0, 8.0, 4.0);
        let ink = ink_colour(&img).unwrap();
        assert!(ink[0] > 0.9 && ink[2] < -0.9, "{ink:?}");
        // A triangle covers 2/π of its circle's area.
        let count = |im: &[f32]| im.chunks(3).filter(|p| p[1] < 0.0).count();
        let circle = render(
            Attrs {
                shape: Shape::Circle,
                colour: Colour::Blue,
            },
            8.0,
            8.0,
            4.0,
        );
        let (t, c) = (count(&img) as f64, count(&circle) as f64);
        assert!(t / c > 0.5 && t / c < 0.8, "{t} vs {c}");
        let set = training_set(30, red_tri, &mut SeededRng::new(1));
        assert!(set.attrs.iter().all(|a| *a != red_tri));
        assert_eq!(set.conds().len(), 30 * COND);
    }
}
