//! The synthetic world: a textured room, static boxes and dynamic boxes on analytic
//! trajectories, rendered by the [`raster`](crate::raster) into RGB, depth, instance ids and the
//! true dynamic mask.
//!
//! ```text
//! texture(p) = mix(base, alt, 0.6·N(s₁ p) + 0.4·[sin(k·p + φ) > 0]) + 0.2·(N(s₂ p) − ½)
//!              N = trilinear value noise on a hashed integer lattice (never repeats)
//! colour     = texture(p_local) · (0.55 + 0.45 |n · ℓ|)      (flat Lambert shading)
//! circle:    x(t) = o + r (cos(ωt + φ), 0, sin(ωt + φ)),   yaw(t) = ωt
//! stop-go:   x(t) = a + (b − a) s(t mod P / P),  s: smooth ramp 0→1 on [0, ¼), hold to ½,
//!            ramp 1→0 on [½, ¾), hold to 1   (the object is still half the time)
//! ```
//!
//! `p_local` is the surface point in the object's own frame, so an object's texture moves with
//! it. Instance ids: 1–6 the room's faces, then static boxes, then dynamic boxes.

use serde::Serialize;

use crate::camera::{Camera, Vec3, add, dot, normalize};
use crate::raster::{Frame, Tri, Vertex, rasterize};

/// A procedural texture.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Material {
    base: [f32; 3],
    alt: [f32; 3],
    coarse: f64,
    fine: f64,
    stripe: Vec3,
    phase: f64,
    seed: u64,
}

/// An axis-aligned box in its own frame (half-extents), placed by a yaw and a centre.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BoxShape {
    /// Half-extents along x, y, z.
    pub half: Vec3,
}

/// How a dynamic object moves.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Trajectory {
    /// Circles `center` at `radius` with angular speed `omega` (rad/frame).
    Circle {
        /// Circle centre (its y is the object's height).
        center: Vec3,
        /// Radius.
        radius: f64,
        /// Radians per frame.
        omega: f64,
        /// Starting angle.
        phase: f64,
    },
    /// Moves a → b → a with pauses (still for half of each period).
    StopGo {
        /// One end.
        a: Vec3,
        /// The other end.
        b: Vec3,
        /// Frames per period.
        period: f64,
        /// Offset in frames.
        offset: f64,
    },
}

impl Trajectory {
    /// Centre and yaw at time `t` (frames).
    pub fn pose(&self, t: f64) -> (Vec3, f64) {
        match *self {
            Trajectory::Circle {
                center,
                radius,
                omega,
                phase,
            } => {
                let a = omega * t + phase;
                (
                    add(center, [radius * a.cos(), 0.0, radius * a.sin()]),
                    omega * t,
                )
            }
            Trajectory::StopGo {
                a,
                b,
                period,
                offset,
            } => {
                let x = ((t + offset) / period).rem_euclid(1.0);
                let smooth = |u: f64| u * u * (3.0 - 2.0 * u);
                let s = if x < 0.25 {
                    smooth(x / 0.25)
                } else if x < 0.5 {
                    1.0
                } else if x < 0.75 {
                    1.0 - smooth((x - 0.5) / 0.25)
                } else {
                    0.0
                };
                let p = [
                    a[0] + s * (b[0] - a[0]),
                    a[1] + s * (b[1] - a[1]),
                    a[2] + s * (b[2] - a[2]),
                ];
                (p, 0.0)
            }
        }
    }
}

/// One object of the world.
#[derive(Debug, Clone, Serialize)]
pub struct Object {
    /// Instance id.
    pub id: u16,
    /// Shape.
    pub shape: BoxShape,
    /// Texture.
    pub material: Material,
    /// Static pose (centre, yaw) — ignored when `trajectory` is set.
    pub center: Vec3,
    /// Static yaw.
    pub yaw: f64,
    /// `Some` for dynamic objects.
    pub trajectory: Option<Trajectory>,
}

/// A room with static and dynamic boxes.
#[derive(Debug, Clone, Serialize)]
pub struct World {
    /// Half-extent of the room along x and z; the room spans y ∈ [0, `height`].
    pub half: f64,
    /// Ceiling height.
    pub height: f64,
    /// The room's six face materials (floor, ceiling, −x, +x, −z, +z).
    pub faces: Vec<Material>,
    /// Boxes, static then dynamic.
    pub objects: Vec<Object>,
}

/// A render with its ground-truth dynamic mask.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// RGB, depth and instance ids.
    pub frame: Frame,
    /// 1 where a dynamic object is visible, `[H, W]`.
    pub dynamic: Vec<u8>,
}

/// SplitMix64: the lattice hash of the value noise and the world's own generator.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A small deterministic generator for world layouts.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Dice(splitmix(seed ^ 0x5CE4_E000))
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = splitmix(self.0);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [a, b).
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }

    /// A random colour.
    pub fn colour(&mut self) -> [f32; 3] {
        [0; 3].map(|_| self.range(0.1, 0.95) as f32)
    }

    fn material(&mut self) -> Material {
        let dir = normalize([
            self.range(-1.0, 1.0),
            self.range(-1.0, 1.0),
            self.range(-1.0, 1.0),
        ]);
        let k = self.range(3.0, 9.0);
        Material {
            base: self.colour(),
            alt: self.colour(),
            coarse: self.range(1.5, 3.0),
            fine: self.range(6.0, 12.0),
            stripe: [dir[0] * k, dir[1] * k, dir[2] * k],
            phase: self.range(0.0, 6.3),
            seed: (self.unit() * u32::MAX as f64) as u64,
        }
    }
}

/// Trilinear value noise in [0, 1] on the integer lattice hashed with `seed`.
fn value_noise(p: Vec3, seed: u64) -> f64 {
    let f = p.map(f64::floor);
    let t = [p[0] - f[0], p[1] - f[1], p[2] - f[2]].map(|u| u * u * (3.0 - 2.0 * u));
    let corner = |dx: i64, dy: i64, dz: i64| {
        let h = splitmix(
            seed ^ ((f[0] as i64 + dx) as u64).wrapping_mul(0x8DA6_B343)
                ^ ((f[1] as i64 + dy) as u64).wrapping_mul(0xD816_3841)
                ^ ((f[2] as i64 + dz) as u64).wrapping_mul(0xCB1A_B31F),
        );
        (h >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut acc = 0.0;
    for dz in 0..2 {
        for dy in 0..2 {
            for dx in 0..2 {
                let w = (if dx == 1 { t[0] } else { 1.0 - t[0] })
                    * (if dy == 1 { t[1] } else { 1.0 - t[1] })
                    * (if dz == 1 { t[2] } else { 1.0 - t[2] });
                acc += w * corner(dx, dy, dz);
            }
        }
    }
    acc
}

impl Material {
    /// The texture at a point of the object's own frame.
    pub fn texture(&self, p: Vec3) -> [f32; 3] {
        let n1 = value_noise(p.map(|x| x * self.coarse), self.seed);
        let stripe = if (dot(self.stripe, p) + self.phase).sin() > 0.0 {
            1.0
        } else {
            0.0
        };
        let n2 = value_noise(p.map(|x| x * self.fine), self.seed ^ 0xABCD);
        let t = (0.6 * n1 + 0.4 * stripe) as f32;
        let d = 0.2 * (n2 as f32 - 0.5);
        [0, 1, 2].map(|k| (self.base[k] * (1.0 - t) + self.alt[k] * t + d).clamp(0.0, 1.0))
    }
}

const LIGHT: Vec3 = [0.48, 0.8, 0.36];

impl World {
    /// The triangles at time `t` (frames).
    pub fn triangles(&self, t: f64) -> Vec<Tri> {
        let mut tris = Vec::with_capacity(12 + 12 * self.objects.len());
        let (h, y) = (self.half, self.height);
        let quads: [[Vec3; 4]; 6] = [
            [[-h, 0.0, -h], [h, 0.0, -h], [h, 0.0, h], [-h, 0.0, h]],
            [[-h, y, -h], [h, y, -h], [h, y, h], [-h, y, h]],
            [[-h, 0.0, -h], [-h, y, -h], [-h, y, h], [-h, 0.0, h]],
            [[h, 0.0, -h], [h, y, -h], [h, y, h], [h, 0.0, h]],
            [[-h, 0.0, -h], [h, 0.0, -h], [h, y, -h], [-h, y, -h]],
            [[-h, 0.0, h], [h, 0.0, h], [h, y, h], [-h, y, h]],
        ];
        for (f, q) in quads.iter().enumerate() {
            push_quad(&mut tris, *q, *q, f as u16 + 1);
        }
        for o in &self.objects {
            let (c, yaw) = match o.trajectory {
                Some(tr) => tr.pose(t),
                None => (o.center, o.yaw),
            };
            push_box(&mut tris, o, c, yaw);
        }
        tris
    }

    /// Whether instance `id` is a dynamic object.
    pub fn is_dynamic(&self, id: u16) -> bool {
        self.objects
            .iter()
            .any(|o| o.id == id && o.trajectory.is_some())
    }

    /// Every instance id with its dynamic flag, indexed by id (index 0 = no surface).
    pub fn dynamic_table(&self) -> Vec<bool> {
        let max = self.objects.iter().map(|o| o.id).max().unwrap_or(6) as usize;
        (0..=max).map(|i| self.is_dynamic(i as u16)).collect()
    }

    /// Renders the world at time `t` from `cam`.
    pub fn render(&self, cam: &Camera, t: f64) -> View {
        let tris = self.triangles(t);
        let shade = |id: u16, a: [f64; 3], n: Vec3| {
            let m = if (1..=6).contains(&id) {
                &self.faces[id as usize - 1]
            } else {
                &self
                    .objects
                    .iter()
                    .find(|o| o.id == id)
                    .expect("every drawn instance exists")
                    .material
            };
            let lambert = (0.55 + 0.45 * dot(n, normalize(LIGHT)).abs()) as f32;
            m.texture(a).map(|c| c * lambert)
        };
        let frame = rasterize(cam, &tris, &shade);
        let table = self.dynamic_table();
        let dynamic = frame
            .instance
            .iter()
            .map(|&i| u8::from(table.get(i as usize).copied().unwrap_or(false)))
            .collect();
        View { frame, dynamic }
    }
}

fn push_quad(tris: &mut Vec<Tri>, q: [Vec3; 4], attr: [Vec3; 4], id: u16) {
    let v = |k: usize| Vertex {
        pos: q[k],
        attr: attr[k],
    };
    tris.push(Tri {
        v: [v(0), v(1), v(2)],
        instance: id,
    });
    tris.push(Tri {
        v: [v(0), v(2), v(3)],
        instance: id,
    });
}

fn push_box(tris: &mut Vec<Tri>, o: &Object, c: Vec3, yaw: f64) {
    let [hx, hy, hz] = o.shape.half;
    let (s, co) = yaw.sin_cos();
    let place = |p: Vec3| {
        [
            c[0] + co * p[0] + s * p[2],
            c[1] + p[1],
            c[2] - s * p[0] + co * p[2],
        ]
    };
    let corner = |i: usize| {
        [
            if i & 1 == 1 { hx } else { -hx },
            if i & 2 == 2 { hy } else { -hy },
            if i & 4 == 4 { hz } else { -hz },
        ]
    };
    let faces = [
        [0, 1, 3, 2],
        [4, 5, 7, 6],
        [0, 1, 5, 4],
        [2, 3, 7, 6],
        [0, 2, 6, 4],
        [1, 3, 7, 5],
    ];
    let offset = o.id as f64 * 7.3;
    for f in faces {
        let local = f.map(corner);
        let attr = local.map(|p| [p[0] + offset, p[1], p[2] - offset]);
        push_quad(tris, local.map(place), attr, o.id);
    }
}

impl World {
    /// A room of half-size 4 and height 3 with `n_static` static boxes and the given dynamic
    /// trajectories; box positions avoid the `keep_clear` points (camera stations).
    // The yaw range [0, 3.14) is part of every world seed's layout: writing π would move every
    // box of every world (and the scene experiment's numbers) for no benefit.
    #[allow(clippy::approx_constant)]
    pub fn generate(
        seed: u64,
        n_static: usize,
        dynamic: &[Trajectory],
        keep_clear: &[Vec3],
    ) -> World {
        let mut dice = Dice::new(seed);
        let faces = (0..6).map(|_| dice.material()).collect();
        let mut objects = Vec::new();
        let mut id = 7u16;
        let mut placed = 0;
        let mut tries = 0;
        while placed < n_static && tries < 1000 {
            tries += 1;
            let half = [
                dice.range(0.25, 0.6),
                dice.range(0.25, 0.7),
                dice.range(0.25, 0.6),
            ];
            let c = [dice.range(-3.2, 3.2), half[1], dice.range(-3.2, 3.2)];
            let clear = keep_clear.iter().all(|k| {
                let d = ((k[0] - c[0]).powi(2) + (k[2] - c[2]).powi(2)).sqrt();
                d > 1.3
            });
            if !clear {
                continue;
            }
            objects.push(Object {
                id,
                shape: BoxShape { half },
                material: dice.material(),
                center: c,
                yaw: dice.range(0.0, 3.14),
                trajectory: None,
            });
            id += 1;
            placed += 1;
        }
        for tr in dynamic {
            objects.push(Object {
                id,
                shape: BoxShape {
                    half: [0.3, 0.3, 0.3],
                },
                material: dice.material(),
                center: [0.0; 3],
                yaw: 0.0,
                trajectory: Some(*tr),
            });
            id += 1;
        }
        World {
            half: 4.0,
            height: 3.0,
            faces,
            objects,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_noise_is_continuous_and_bounded() {
        for i in 0..200 {
            let p = [i as f64 * 0.137, i as f64 * 0.071, -(i as f64) * 0.05];
            let a = value_noise(p, 3);
            let b = value_noise([p[0] + 1e-7, p[1], p[2]], 3);
            assert!((0.0..=1.0).contains(&a) && (a - b).abs() < 1e-5);
        }
        // It does not repeat with period 1 (or any small integer period).
        let p = [0.3, 0.4, 0.5];
        assert!((value_noise(p, 1) - value_noise([1.3, 0.4, 0.5], 1)).abs() > 1e-6);
    }

    #[test]
    fn stop_go_pauses_and_circle_moves() {
        let sg = Trajectory::StopGo {
            a: [0.0; 3],
            b: [1.0, 0.0, 0.0],
            period: 40.0,
            offset: 0.0,
        };
        assert_eq!(sg.pose(12.0).0, sg.pose(18.0).0, "still in the hold phase");
        assert_eq!(sg.pose(10.0).0, [1.0, 0.0, 0.0]);
        assert!(sg.pose(5.0).0[0] > 0.0 && sg.pose(5.0).0[0] < 1.0);
        let c = Trajectory::Circle {
            center: [0.0; 3],
            radius: 1.0,
            omega: 0.1,
            phase: 0.0,
        };
        assert_ne!(c.pose(0.0).0, c.pose(1.0).0);
    }

    #[test]
    fn render_marks_dynamic_pixels() {
        let tr = Trajectory::Circle {
            center: [0.0, 0.3, 2.0],
            radius: 0.0,
            omega: 0.0,
            phase: 0.0,
        };
        let w = World::generate(1, 3, &[tr], &[[0.0, 1.0, 0.0], [0.0, 1.0, 2.0]]);
        let cam = Camera::look_at([0.0, 1.0, 0.0], [0.0, 0.3, 2.0], 70.0, 32, 32);
        let v = w.render(&cam, 0.0);
        let id = w.objects.last().unwrap().id;
        assert!(v.dynamic.iter().any(|&d| d == 1));
        for (i, &d) in v.dynamic.iter().enumerate() {
            assert_eq!(d == 1, v.frame.instance[i] == id);
        }
        // Inside the room every pixel sees a surface.
        assert!(v.frame.depth.iter().all(|d| d.is_finite()));
    }
}
