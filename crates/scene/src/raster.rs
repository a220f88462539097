//! A z-buffered triangle rasterizer for a pinhole [`Camera`]: RGB, depth and instance ids.
//!
//! ```text
//! per triangle:  camera-space vertices p_k = Rᵀ(X_k − c), clipped against z ≥ z_near
//!                (Sutherland–Hodgman; attributes interpolated linearly in 3-D);
//!                screen vertices s_k = (f_x x_k/z_k + c_x, f_y y_k/z_k + c_y)
//! per pixel centre q inside the triangle (edge functions, inclusive):
//!                λ_k = E_k(q) / E(s_0, s_1, s_2)          (screen-space barycentrics)
//!                1/z = Σ λ_k / z_k                          (exact for a plane)
//!                a   = z · Σ λ_k a_k / z_k                  (perspective-correct attribute)
//!                kept when z < zbuf(q)                      (nearest surface wins)
//! ```
//!
//! Shading is deferred: the z-buffer pass stores each pixel's winning triangle and
//! perspective-correct attribute, then the shader runs once per covered pixel. The attribute is
//! whatever the scene needs for its texture lookup (here: the surface point in the object's own
//! frame). There is no back-face culling (room walls are seen from inside).

use crate::camera::{Camera, Vec3, cross, normalize, sub};

/// The nearest depth the rasterizer draws.
pub const Z_NEAR: f64 = 0.05;

/// A triangle corner: its world position and a 3-vector attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vertex {
    /// World position.
    pub pos: Vec3,
    /// Interpolated attribute (texture coordinates in the object's frame).
    pub attr: [f64; 3],
}

/// A triangle of one instance (object id ≥ 1; 0 means "no surface").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tri {
    /// Corners.
    pub v: [Vertex; 3],
    /// Instance id (≥ 1).
    pub instance: u16,
}

impl Tri {
    /// The unit world normal (corner order decides its sign).
    pub fn normal(&self) -> Vec3 {
        normalize(cross(
            sub(self.v[1].pos, self.v[0].pos),
            sub(self.v[2].pos, self.v[0].pos),
        ))
    }
}

/// What a render produces, channel-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// RGB in [0, 1], `[3, H, W]`.
    pub rgb: Vec<f32>,
    /// Camera depth z per pixel (`f32::INFINITY` where nothing was drawn), `[H, W]`.
    pub depth: Vec<f32>,
    /// Instance id per pixel (0 = nothing), `[H, W]`.
    pub instance: Vec<u16>,
}

/// A shader: instance id, interpolated attribute, triangle normal → RGB.
pub type Shader<'a> = &'a dyn Fn(u16, [f64; 3], Vec3) -> [f32; 3];

/// Camera-space corner with its attribute.
#[derive(Debug, Clone, Copy)]
struct Clip {
    p: Vec3,
    a: [f64; 3],
}

fn lerp(a: &Clip, b: &Clip, t: f64) -> Clip {
    let m = |x: f64, y: f64| x + t * (y - x);
    Clip {
        p: [m(a.p[0], b.p[0]), m(a.p[1], b.p[1]), m(a.p[2], b.p[2])],
        a: [m(a.a[0], b.a[0]), m(a.a[1], b.a[1]), m(a.a[2], b.a[2])],
    }
}

/// The polygon of `tri` (camera space) with z ≥ [`Z_NEAR`]: 0, 3 or 4 corners.
fn clip_near(tri: [Clip; 3]) -> Vec<Clip> {
    let mut out = Vec::with_capacity(4);
    for k in 0..3 {
        let (a, b) = (&tri[k], &tri[(k + 1) % 3]);
        let (ina, inb) = (a.p[2] >= Z_NEAR, b.p[2] >= Z_NEAR);
        if ina {
            out.push(*a);
        }
        if ina != inb {
            out.push(lerp(a, b, (Z_NEAR - a.p[2]) / (b.p[2] - a.p[2])));
        }
    }
    out
}

/// The per-pixel z-buffer state of one render.
struct Buffers {
    depth: Vec<f64>,
    tri: Vec<u32>,
    attr: Vec<[f64; 3]>,
}

/// Renders `tris` seen by `cam`; `shade` colours each covered pixel once.
pub fn rasterize(cam: &Camera, tris: &[Tri], shade: Shader<'_>) -> Frame {
    let (w, h) = (cam.width, cam.height);
    let mut buf = Buffers {
        depth: vec![f64::INFINITY; w * h],
        tri: vec![u32::MAX; w * h],
        attr: vec![[0.0; 3]; w * h],
    };
    for (t, tri) in tris.iter().enumerate() {
        let corners = tri.v.map(|v| Clip {
            p: cam.to_camera(v.pos),
            a: v.attr,
        });
        let poly = clip_near(corners);
        for k in 1..poly.len().saturating_sub(1) {
            draw(cam, [poly[0], poly[k], poly[k + 1]], t as u32, &mut buf);
        }
    }
    let mut frame = Frame {
        width: w,
        height: h,
        rgb: vec![0.0; 3 * w * h],
        depth: vec![f32::INFINITY; w * h],
        instance: vec![0; w * h],
    };
    let normals: Vec<Vec3> = tris.iter().map(Tri::normal).collect();
    for i in 0..w * h {
        let t = buf.tri[i];
        if t == u32::MAX {
            continue;
        }
        let tri = &tris[t as usize];
        let c = shade(tri.instance, buf.attr[i], normals[t as usize]);
        for (k, ck) in c.iter().enumerate() {
            frame.rgb[k * w * h + i] = *ck;
        }
        frame.depth[i] = buf.depth[i] as f32;
        frame.instance[i] = tri.instance;
    }
    frame
}

/// Twice the signed area of (a, b, q).
fn edge(a: (f64, f64), b: (f64, f64), q: (f64, f64)) -> f64 {
    (b.0 - a.0) * (q.1 - a.1) - (b.1 - a.1) * (q.0 - a.0)
}

/// Z-buffers one clipped (all z ≥ z_near) camera-space triangle.
fn draw(cam: &Camera, c: [Clip; 3], t: u32, buf: &mut Buffers) {
    let (w, h) = (cam.width, cam.height);
    let s = c.map(|k| {
        (
            cam.fx * k.p[0] / k.p[2] + cam.cx,
            cam.fy * k.p[1] / k.p[2] + cam.cy,
        )
    });
    let area = edge(s[0], s[1], s[2]);
    if area.abs() < 1e-12 || !area.is_finite() {
        return;
    }
    let lo = |a: f64, b: f64, d: f64| a.min(b).min(d);
    let hi = |a: f64, b: f64, d: f64| a.max(b).max(d);
    let x0 = (lo(s[0].0, s[1].0, s[2].0) - 0.5).ceil().max(0.0);
    let x1 = (hi(s[0].0, s[1].0, s[2].0) - 0.5)
        .floor()
        .min(w as f64 - 1.0);
    let y0 = (lo(s[0].1, s[1].1, s[2].1) - 0.5).ceil().max(0.0);
    let y1 = (hi(s[0].1, s[1].1, s[2].1) - 0.5)
        .floor()
        .min(h as f64 - 1.0);
    if x0 > x1 || y0 > y1 {
        return;
    }
    let iz = c.map(|k| 1.0 / k.p[2]);
    for y in y0 as usize..=y1 as usize {
        for x in x0 as usize..=x1 as usize {
            let q = (x as f64 + 0.5, y as f64 + 0.5);
            let l = [
                edge(s[1], s[2], q) / area,
                edge(s[2], s[0], q) / area,
                edge(s[0], s[1], q) / area,
            ];
            if l[0] < 0.0 || l[1] < 0.0 || l[2] < 0.0 {
                continue;
            }
            let inv = l[0] * iz[0] + l[1] * iz[1] + l[2] * iz[2];
            let z = 1.0 / inv;
            let i = y * w + x;
            if z < buf.depth[i] {
                buf.depth[i] = z;
                buf.tri[i] = t;
                let mut a = [0.0; 3];
                for (j, aj) in a.iter_mut().enumerate() {
                    *aj = z * (0..3).map(|k| l[k] * iz[k] * c[k].a[j]).sum::<f64>();
                }
                buf.attr[i] = a;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::dot;

    fn flat(id: u16, pts: [Vec3; 3]) -> Tri {
        Tri {
            v: pts.map(|p| Vertex { pos: p, attr: p }),
            instance: id,
        }
    }

    fn white(_: u16, _: [f64; 3], _: Vec3) -> [f32; 3] {
        [1.0, 1.0, 1.0]
    }

    /// Camera at the origin looking down +z, 90° fov, 64×64: f = 32, (c_x, c_y) = (32, 32).
    fn cam() -> Camera {
        Camera::look_at([0.0; 3], [0.0, 0.0, 1.0], 90.0, 64, 64)
    }

    /// A triangle at depth 2 with world corners (0,0,2), (−2,0,2), (0,−2,2): camera x = −X,
    /// y = −Y, so it projects to (32,32), (64,32), (32,64) — the lower-right quadrant's
    /// lower-left half. Hand-computed: pixel (40, 40) is inside (its centre (40.5, 40.5) has
    /// (u−32)+(v−32) = 17 ≤ 32), pixel (60, 60) is outside (57 > 32), pixel (10, 10) is outside.
    #[test]
    fn known_triangle_at_known_depth() {
        let t = flat(3, [[0.0, 0.0, 2.0], [-2.0, 0.0, 2.0], [0.0, -2.0, 2.0]]);
        let f = rasterize(&cam(), &[t], &white);
        let at = |x: usize, y: usize| y * 64 + x;
        assert_eq!(f.instance[at(40, 40)], 3);
        assert_eq!(f.depth[at(40, 40)], 2.0);
        assert_eq!(f.rgb[at(40, 40)], 1.0);
        assert_eq!(f.instance[at(60, 60)], 0);
        assert!(f.depth[at(60, 60)].is_infinite());
        assert_eq!(f.instance[at(10, 10)], 0);
        // Exactly the pixel centres with (u−32) + (v−32) ≤ 32, u, v ≥ 32 are covered.
        let mut expected = 0;
        for y in 32..64 {
            for x in 32..64 {
                if (x as f64 + 0.5 - 32.0) + (y as f64 + 0.5 - 32.0) <= 32.0 {
                    expected += 1;
                    assert_eq!(f.instance[at(x, y)], 3, "pixel ({x}, {y})");
                }
            }
        }
        assert_eq!(f.instance.iter().filter(|&&i| i == 3).count(), expected);
    }

    #[test]
    fn nearer_triangle_wins_in_either_order() {
        let big = |z: f64, id| flat(id, [[-5.0, -5.0, z], [5.0, -5.0, z], [0.0, 5.0, z]]);
        for order in [[big(3.0, 1), big(2.0, 2)], [big(2.0, 2), big(3.0, 1)]] {
            let f = rasterize(&cam(), &order, &white);
            assert_eq!(f.instance[32 * 64 + 32], 2);
            assert_eq!(f.depth[32 * 64 + 32], 2.0);
        }
    }

    /// Perspective-correct depth on a slanted plane: unprojecting each pixel centre with its
    /// depth lands on the plane, and reprojecting gives the same pixel and depth back.
    #[test]
    fn unproject_reproject_round_trip_on_a_slanted_plane() {
        let (p0, p1, p2) = ([-3.0, -3.0, 2.0], [3.0, -3.0, 5.0], [0.0, 3.0, 3.0]);
        let t = flat(1, [p0, p1, p2]);
        let n = t.normal();
        let c = cam();
        let f = rasterize(&c, &[t], &white);
        let mut covered = 0;
        for y in 0..64 {
            for x in 0..64 {
                let i = y * 64 + x;
                if f.instance[i] == 0 {
                    continue;
                }
                covered += 1;
                let (u, v) = (x as f64 + 0.5, y as f64 + 0.5);
                let world = c.unproject(u, v, f.depth[i] as f64);
                let off_plane = dot(n, sub(world, p0));
                assert!(off_plane.abs() < 1e-5, "{off_plane}");
                let (u2, v2, z2) = c.project(world);
                assert!((u2 - u).abs() < 1e-9 && (v2 - v).abs() < 1e-9);
                assert!((z2 - f.depth[i] as f64).abs() < 1e-9);
            }
        }
        assert!(covered > 500);
    }

    /// A triangle crossing the near plane is clipped, not dropped or inverted.
    #[test]
    fn near_plane_clipping() {
        let t = flat(1, [[-1.0, -1.0, -1.0], [1.0, -1.0, 3.0], [0.0, 1.0, 3.0]]);
        let f = rasterize(&cam(), &[t], &white);
        let n = f.instance.iter().filter(|&&i| i == 1).count();
        assert!(n > 0);
        assert!(
            f.depth
                .iter()
                .all(|d| d.is_infinite() || *d >= Z_NEAR as f32)
        );
    }
}
