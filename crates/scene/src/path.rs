//! Scenarios: a world with an input camera path and a target chunk, and the rendered
//! [`Sequence`]s.
//!
//! The `revisit` path (the experiment's):
//!
//! ```text
//! input frames 0 … L/2:   station p₀ (one corner), sweep yaw ψ ∈ [ψ₀ − 50°, ψ₀ + 50°]
//!                         (ψ₀ faces the room centre; dynamic object A circles in view)
//! input frames L/2 … L:   travel p₀ → p₁ (opposite corner) while turning to face away from
//!                         the centre — the early content leaves the temporal window
//! target frames L … L+T:  back near p₀ (jittered), sweeping ψ₀ + 40° → ψ₀ − 40°: every target
//!                         view revisits a view last seen ≥ L/2 frames ago, while A and B keep
//!                         moving (copying the old frame is wrong for them)
//! ```
//!
//! The `orbit` path circles the room centre at radius 2.4, looking at the centre.

use serde::{Deserialize, Serialize};

use crate::camera::{Camera, Vec3};
use crate::world::{Dice, Trajectory, World};

/// Horizontal field of view of every scenario camera.
pub const FOV_DEG: f64 = 75.0;
/// Camera height.
const EYE_Y: f64 = 1.4;

/// Which camera path a scenario uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// Circle the room centre.
    Orbit,
    /// Sweep, leave, come back (see the module doc).
    Revisit,
}

impl std::str::FromStr for PathKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "orbit" => Ok(PathKind::Orbit),
            "revisit" => Ok(PathKind::Revisit),
            other => Err(format!("unknown path `{other}` (orbit or revisit)")),
        }
    }
}

/// A rendered camera sequence: per frame RGB `[3, H, W]`, depth, instance ids and the true
/// dynamic mask `[H, W]`, with the cameras and the times (frames) they were taken at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sequence {
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// One camera per frame.
    pub cameras: Vec<Camera>,
    /// Time of each frame (frame units).
    pub times: Vec<f64>,
    /// RGB, channel-major.
    pub rgb: Vec<Vec<f32>>,
    /// Camera depth.
    pub depth: Vec<Vec<f32>>,
    /// Instance ids (0 for user data without ids).
    pub instance: Vec<Vec<u16>>,
    /// 1 where a dynamic object is visible (all 0 when unknown).
    pub dynamic: Vec<Vec<u8>>,
}

impl Sequence {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.cameras.len()
    }

    /// No frames.
    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }
}

/// A world with its input path and target chunk.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The world.
    pub world: World,
    /// Input cameras (frames 0 … L−1).
    pub input: Vec<Camera>,
    /// Target cameras (frames L … L+T−1).
    pub target: Vec<Camera>,
}

fn rot2(p: (f64, f64), a: f64) -> (f64, f64) {
    let (s, c) = a.sin_cos();
    (c * p.0 - s * p.1, s * p.0 + c * p.1)
}

impl Scenario {
    /// The scenario of world `seed`: `len` input frames, `chunk` target frames, `size × size`
    /// images.
    pub fn new(seed: u64, kind: PathKind, len: usize, chunk: usize, size: usize) -> Scenario {
        let mut dice = Dice::new(seed.wrapping_mul(31).wrapping_add(7));
        let alpha = dice.range(0.0, std::f64::consts::TAU);
        let corner = |x: f64, z: f64| {
            let (a, b) = rot2((x, z), alpha);
            [a, EYE_Y, b]
        };
        let p0 = corner(-2.4 + dice.range(-0.3, 0.3), -2.4 + dice.range(-0.3, 0.3));
        let p1 = corner(2.4 + dice.range(-0.3, 0.3), 2.4 + dice.range(-0.3, 0.3));
        let yaw_to = |from: Vec3, to: Vec3| (to[0] - from[0]).atan2(to[2] - from[2]);
        let psi0 = yaw_to(p0, [0.0, EYE_Y, 0.0]);
        let dir0 = [psi0.sin(), 0.0, psi0.cos()];
        let a_center = [p0[0] + 2.3 * dir0[0], 0.3, p0[2] + 2.3 * dir0[2]];
        let perp = [dir0[2], 0.0, -dir0[0]];
        let b_mid = [p0[0] + 3.6 * dir0[0], 0.3, p0[2] + 3.6 * dir0[2]];
        let dynamic = [
            Trajectory::Circle {
                center: a_center,
                radius: 0.7,
                omega: std::f64::consts::TAU / dice.range(36.0, 56.0),
                phase: dice.range(0.0, 6.3),
            },
            Trajectory::StopGo {
                a: [b_mid[0] - 1.4 * perp[0], 0.3, b_mid[2] - 1.4 * perp[2]],
                b: [b_mid[0] + 1.4 * perp[0], 0.3, b_mid[2] + 1.4 * perp[2]],
                period: dice.range(30.0, 50.0),
                offset: dice.range(0.0, 50.0),
            },
        ];
        let clear = [p0, p1, a_center, b_mid];
        let world = World::generate(seed, 5, &dynamic, &clear);
        let cam =
            |eye: Vec3, yaw: f64, pitch: f64| Camera::yaw_pitch(eye, yaw, pitch, FOV_DEG, size);
        let deg = f64::to_radians;
        let (input, target) = match kind {
            PathKind::Revisit => {
                let half = len / 2;
                let sweep = (0..half).map(|i| {
                    let s = i as f64 / (half.max(2) - 1) as f64;
                    let eye = [p0[0] + 0.3 * s * perp[0], EYE_Y, p0[2] + 0.3 * s * perp[2]];
                    cam(eye, psi0 + deg(-50.0 + 100.0 * s), deg(-12.0))
                });
                let leave = (half..len).map(|i| {
                    let s = (i - half + 1) as f64 / (len - half) as f64;
                    let s = s * s * (3.0 - 2.0 * s);
                    let eye = [
                        p0[0] + s * (p1[0] - p0[0]),
                        EYE_Y,
                        p0[2] + s * (p1[2] - p0[2]),
                    ];
                    cam(eye, psi0 + deg(50.0 + 130.0 * s), deg(-12.0))
                });
                let input: Vec<Camera> = sweep.chain(leave).collect();
                let jitter = [dice.range(-0.2, 0.2), dice.range(-0.2, 0.2)];
                let target = (0..chunk)
                    .map(|i| {
                        let s = i as f64 / (chunk.max(2) - 1) as f64;
                        let eye = [p0[0] + jitter[0], EYE_Y, p0[2] + jitter[1]];
                        cam(eye, psi0 + deg(40.0 - 80.0 * s), deg(-12.0))
                    })
                    .collect();
                (input, target)
            }
            PathKind::Orbit => {
                let at = |i: usize| {
                    let a = alpha + std::f64::consts::TAU * i as f64 / (len + chunk) as f64;
                    let eye = [2.4 * a.cos(), EYE_Y, 2.4 * a.sin()];
                    Camera::look_at(eye, [0.0, 0.8, 0.0], FOV_DEG, size, size)
                };
                (
                    (0..len).map(at).collect(),
                    (len..len + chunk).map(at).collect(),
                )
            }
        };
        Scenario {
            world,
            input,
            target,
        }
    }

    /// Renders cameras `cams` at times `t0, t0 + 1, …`.
    pub fn render(&self, cams: &[Camera], t0: f64) -> Sequence {
        let (width, height) = cams.first().map_or((0, 0), |c| (c.width, c.height));
        let mut seq = Sequence {
            width,
            height,
            ..Sequence::default()
        };
        for (i, cam) in cams.iter().enumerate() {
            let t = t0 + i as f64;
            let v = self.world.render(cam, t);
            seq.cameras.push(*cam);
            seq.times.push(t);
            seq.rgb.push(v.frame.rgb);
            seq.depth.push(v.frame.depth);
            seq.instance.push(v.frame.instance);
            seq.dynamic.push(v.dynamic);
        }
        seq
    }

    /// The rendered input video and target chunk.
    pub fn sequences(&self) -> (Sequence, Sequence) {
        (
            self.render(&self.input, 0.0),
            self.render(&self.target, self.input.len() as f64),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revisit_targets_are_near_early_views_and_far_from_late_ones() {
        let s = Scenario::new(3, PathKind::Revisit, 32, 8, 32);
        let dist = |a: &Camera, b: &Camera| {
            let d = crate::camera::sub(a.center, b.center);
            crate::camera::dot(d, d).sqrt()
        };
        for t in &s.target {
            let early = s.input[..16]
                .iter()
                .map(|c| dist(c, t))
                .fold(f64::MAX, f64::min);
            let late = s.input[28..]
                .iter()
                .map(|c| dist(c, t))
                .fold(f64::MAX, f64::min);
            assert!(early < 0.7 && late > 3.0, "{early} {late}");
        }
        let (inp, tgt) = s.sequences();
        assert_eq!((inp.len(), tgt.len()), (32, 8));
        // Dynamic objects are seen in the early sweep.
        assert!(inp.dynamic[..16].iter().any(|m| m.iter().any(|&d| d == 1)));
    }
}
