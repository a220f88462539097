//! The pinhole camera: intrinsics K, a camera-to-world pose (R, c), projection, unprojection
//! and per-pixel Plücker rays.
//!
//! ```text
//! camera frame (OpenCV): x right, y down, z forward;   R = [right | down | forward] (columns)
//! world → camera:   x_c = Rᵀ (X − c)
//! project:          u = f_x x_c / z_c + c_x,   v = f_y y_c / z_c + c_y,   depth = z_c
//! unproject:        X = c + R · (z (u − c_x)/f_x, z (v − c_y)/f_y, z)
//! pixel (i, j) covers [i, i+1) × [j, j+1); its centre is (i + ½, j + ½)
//! Plücker ray of a pixel:  d = R K⁻¹ (u, v, 1)ᵀ / ‖·‖,   m = c × d   (6 numbers, world frame)
//! ```
//!
//! The world is y-up; [`Camera::look_at`] builds R from an eye, a target and the world up.

use serde::{Deserialize, Serialize};

/// A 3-vector of f64.
pub type Vec3 = [f64; 3];

/// `a − b`.
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `a + b`.
pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

/// `s · a`.
pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// `a · b`.
pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `a × b`.
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// `a / ‖a‖` (`a` itself when it is zero).
pub fn normalize(a: Vec3) -> Vec3 {
    let n = dot(a, a).sqrt();
    if n > 0.0 { scale(a, 1.0 / n) } else { a }
}

/// A 3×3 rotation, row-major: `r[row][col]`.
pub type Mat3 = [[f64; 3]; 3];

/// `M v`.
pub fn mat_vec(m: &Mat3, v: Vec3) -> Vec3 {
    [dot(m[0], v), dot(m[1], v), dot(m[2], v)]
}

/// `Mᵀ v`.
pub fn mat_t_vec(m: &Mat3, v: Vec3) -> Vec3 {
    [
        m[0][0] * v[0] + m[1][0] * v[1] + m[2][0] * v[2],
        m[0][1] * v[0] + m[1][1] * v[1] + m[2][1] * v[2],
        m[0][2] * v[0] + m[1][2] * v[1] + m[2][2] * v[2],
    ]
}

/// `A B`.
pub fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// `Aᵀ`.
pub fn transpose(a: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, x) in row.iter_mut().enumerate() {
            *x = a[j][i];
        }
    }
    out
}

/// The rotation by `angle` radians about the unit `axis` (Rodrigues).
pub fn axis_angle(axis: Vec3, angle: f64) -> Mat3 {
    let [x, y, z] = normalize(axis);
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
}

/// The angle in degrees of the rotation `A Bᵀ` (the geodesic distance between two rotations):
/// `arccos((tr(A Bᵀ) − 1) / 2)`.
pub fn rotation_angle_deg(a: &Mat3, b: &Mat3) -> f64 {
    let m = mat_mul(a, &transpose(b));
    let tr = m[0][0] + m[1][1] + m[2][2];
    ((tr - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
}

/// A pinhole camera with a camera-to-world pose.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Focal length along x, in pixels.
    pub fx: f64,
    /// Focal length along y, in pixels.
    pub fy: f64,
    /// Principal point x.
    pub cx: f64,
    /// Principal point y.
    pub cy: f64,
    /// Camera-to-world rotation; its columns are the camera's right, down and forward axes.
    pub rotation: Mat3,
    /// Camera centre in the world.
    pub center: Vec3,
}

impl Camera {
    /// A camera at `eye` looking at `target` (world up = +y), `fov_deg` horizontal field of view,
    /// principal point at the image centre.
    pub fn look_at(eye: Vec3, target: Vec3, fov_deg: f64, width: usize, height: usize) -> Self {
        let forward = normalize(sub(target, eye));
        let right = normalize(cross(forward, [0.0, 1.0, 0.0]));
        let down = cross(forward, right);
        let f = width as f64 / 2.0 / (fov_deg.to_radians() / 2.0).tan();
        Camera {
            width,
            height,
            fx: f,
            fy: f,
            cx: width as f64 / 2.0,
            cy: height as f64 / 2.0,
            rotation: [
                [right[0], down[0], forward[0]],
                [right[1], down[1], forward[1]],
                [right[2], down[2], forward[2]],
            ],
            center: eye,
        }
    }

    /// A camera at `eye` with heading `yaw` (radians, 0 = +z, π/2 = +x) and `pitch` (up
    /// positive).
    pub fn yaw_pitch(eye: Vec3, yaw: f64, pitch: f64, fov_deg: f64, size: usize) -> Self {
        let dir = [
            yaw.sin() * pitch.cos(),
            pitch.sin(),
            yaw.cos() * pitch.cos(),
        ];
        Camera::look_at(eye, add(eye, dir), fov_deg, size, size)
    }

    /// The same pose with the image resampled to `width × height` (intrinsics scaled).
    pub fn resized(&self, width: usize, height: usize) -> Camera {
        let (sx, sy) = (
            width as f64 / self.width as f64,
            height as f64 / self.height as f64,
        );
        Camera {
            width,
            height,
            fx: self.fx * sx,
            fy: self.fy * sy,
            cx: self.cx * sx,
            cy: self.cy * sy,
            ..*self
        }
    }

    /// The forward (viewing) direction in the world.
    pub fn forward(&self) -> Vec3 {
        [
            self.rotation[0][2],
            self.rotation[1][2],
            self.rotation[2][2],
        ]
    }

    /// A world point in camera coordinates, `Rᵀ (X − c)`.
    pub fn to_camera(&self, x: Vec3) -> Vec3 {
        mat_t_vec(&self.rotation, sub(x, self.center))
    }

    /// A camera-frame point in world coordinates, `c + R x`.
    pub fn to_world(&self, x: Vec3) -> Vec3 {
        add(self.center, mat_vec(&self.rotation, x))
    }

    /// Projects a world point to `(u, v, depth)` (depth = camera z; may be ≤ 0 behind).
    pub fn project(&self, x: Vec3) -> (f64, f64, f64) {
        let p = self.to_camera(x);
        (
            self.fx * p[0] / p[2] + self.cx,
            self.fy * p[1] / p[2] + self.cy,
            p[2],
        )
    }

    /// The world point at pixel coordinates `(u, v)` and depth `z`.
    pub fn unproject(&self, u: f64, v: f64, z: f64) -> Vec3 {
        self.to_world([z * (u - self.cx) / self.fx, z * (v - self.cy) / self.fy, z])
    }

    /// The unit world direction of the ray through `(u, v)`.
    pub fn ray(&self, u: f64, v: f64) -> Vec3 {
        normalize(mat_vec(
            &self.rotation,
            [(u - self.cx) / self.fx, (v - self.cy) / self.fy, 1.0],
        ))
    }

    /// Plücker coordinates `(d, c × d)` of every pixel centre, channel-major `[6, H, W]`.
    pub fn plucker(&self) -> Vec<f32> {
        let (w, h) = (self.width, self.height);
        let mut out = vec![0.0f32; 6 * w * h];
        for j in 0..h {
            for i in 0..w {
                let d = self.ray(i as f64 + 0.5, j as f64 + 0.5);
                let m = cross(self.center, d);
                for k in 0..3 {
                    out[k * w * h + j * w + i] = d[k] as f32;
                    out[(3 + k) * w * h + j * w + i] = m[k] as f32;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn look_at_is_a_rotation_and_points_forward() {
        let cam = Camera::look_at([1.0, 2.0, 3.0], [4.0, 0.0, -1.0], 60.0, 64, 64);
        let r = cam.rotation;
        let rtr = mat_mul(&transpose(&r), &r);
        for (i, row) in rtr.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                assert!(close(*x, if i == j { 1.0 } else { 0.0 }));
            }
        }
        let det = dot(
            [r[0][0], r[1][0], r[2][0]],
            cross([r[0][1], r[1][1], r[2][1]], [r[0][2], r[1][2], r[2][2]]),
        );
        assert!(close(det, 1.0));
        // The target projects to the principal point.
        let (u, v, z) = cam.project([4.0, 0.0, -1.0]);
        assert!(close(u, 32.0) && close(v, 32.0) && close(z, (9.0f64 + 4.0 + 16.0).sqrt()));
    }

    /// A camera at the origin looking down +z: x right is world −x, y down is world −y.
    #[test]
    fn hand_computed_projection() {
        let cam = Camera::look_at([0.0; 3], [0.0, 0.0, 1.0], 90.0, 64, 64);
        assert!(close(cam.fx, 32.0));
        // World (−1, 0.5, 2): camera (1, −0.5, 2) → u = 32·1/2 + 32 = 48, v = 32·(−0.5)/2 + 32 = 24.
        let (u, v, z) = cam.project([-1.0, 0.5, 2.0]);
        assert!(
            close(u, 48.0) && close(v, 24.0) && close(z, 2.0),
            "{u} {v} {z}"
        );
        let back = cam.unproject(u, v, z);
        assert!(close(back[0], -1.0) && close(back[1], 0.5) && close(back[2], 2.0));
    }

    #[test]
    fn plucker_rays_of_a_known_camera() {
        let cam = Camera::look_at([1.0, 0.0, 0.0], [1.0, 0.0, 1.0], 90.0, 4, 4);
        let p = cam.plucker();
        let hw = 16;
        // Pixel (1, 2) has centre (1.5, 2.5): camera dir ((1.5−2)/2, (2.5−2)/2, 1) = (−¼, ¼, 1);
        // in the world (x flips, y flips): (¼, −¼, 1)/‖·‖.
        let n = (1.0f64 / 16.0 + 1.0 / 16.0 + 1.0).sqrt();
        let d = [0.25 / n, -0.25 / n, 1.0 / n];
        let idx = 2 * 4 + 1;
        for k in 0..3 {
            assert!((p[k * hw + idx] as f64 - d[k]).abs() < 1e-6);
        }
        // m = c × d with c = (1, 0, 0): (0·d_z − 0·d_y, 0·d_x − 1·d_z, 1·d_y − 0·d_x).
        let m = [0.0, -d[2], d[1]];
        for k in 0..3 {
            assert!((p[(3 + k) * hw + idx] as f64 - m[k]).abs() < 1e-6);
        }
        // Every moment is orthogonal to its direction.
        for i in 0..hw {
            let dot: f32 = (0..3).map(|k| p[k * hw + i] * p[(3 + k) * hw + i]).sum();
            assert!(dot.abs() < 1e-6);
        }
    }

    #[test]
    fn rotation_angle_of_a_known_rotation() {
        let a = axis_angle([0.0, 1.0, 0.0], 0.3);
        let b = axis_angle([0.0, 1.0, 0.0], -0.2);
        assert!((rotation_angle_deg(&a, &b) - 0.5f64.to_degrees()).abs() < 1e-9);
    }
}
