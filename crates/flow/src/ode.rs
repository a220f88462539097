//! ODE solvers shared by both teachers, with trajectory recording (every solver step), which
//! the CMT and attribution families consume.
//!
//! The field is dx/dt = f(x, t), integrated along a given decreasing time grid
//! t_0 > t_1 > … > t_N:
//!
//! ```text
//! Euler:  x_{i+1} = x_i + h f(x_i, t_i),                         h = t_{i+1} − t_i
//! Heun:   x̃ = x_i + h f(x_i, t_i);  x_{i+1} = x_i + h/2 (f(x_i, t_i) + f(x̃, t_{i+1}))
//! RK4:    k1 = f(x, t), k2 = f(x + h/2 k1, t + h/2), k3 = f(x + h/2 k2, t + h/2),
//!         k4 = f(x + h k3, t + h);   x_{i+1} = x + h/6 (k1 + 2k2 + 2k3 + k4)
//! ```
//!
//! A field that is singular at t = 0 (the EDM probability-flow ODE, f = (x − D(x, σ))/σ) takes
//! its last step into t = 0 with Euler, as EDM's Algorithm 1 does.
//!
//! **DPM-Solver++(2M)** (Lu, Zhou, Bao, Chen, Li, Zhu 2022, "DPM-Solver++: Fast Solver for
//! Guided Sampling of Diffusion Probabilistic Models", arXiv 2211.01095, Algorithm 2 — the
//! teacher solver of sony/cmt's mid-training) is for fields that are the probability-flow ODE
//! of a Gaussian path x_t = α_t x₀ + σ_t ε ([`GaussianPath`]). It integrates the ODE written
//! in the data prediction x̂₀(x, t) exactly in its linear part (an exponential integrator in
//! λ_t = ln(α_t/σ_t)) and extrapolates x̂₀ linearly in λ from the last two evaluations:
//!
//! ```text
//! x̂₀(x, t) = (σ_t f(x, t) − σ'_t x) / (α'_t σ_t − σ'_t α_t)      (= x − t f on both paths)
//! h_i = λ_{t_i} − λ_{t_{i−1}},   r_i = h_{i−1} / h_i,   D_i = x̂₀(x_i, t_i)
//! D̃ = (1 + 1/(2 r_i)) D_{i−1} − 1/(2 r_i) D_{i−2}     (D̃ = D_{i−1} on the first step and
//!                                                       on a last step into σ = 0)
//! x_i = (σ_i/σ_{i−1}) x_{i−1} − α_i (e^{−h_i} − 1) D̃
//!     = (σ_i/σ_{i−1}) x_{i−1} + (α_i − α_{i−1} σ_i/σ_{i−1}) D̃   (e^{−h_i} = α_{i−1}σ_i / (α_i σ_{i−1}))
//! ```
//!
//! One field evaluation per step; second order in h; exact for any grid when x̂₀ is constant
//! along the trajectory (all data at one point). The second form needs no λ at the ends of the
//! path (α = 0 at flow matching's t = 1, σ = 0 at t = 0), where h is infinite and the
//! extrapolation weight 1/(2r) is taken as 0.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// A time-dependent vector field dx/dt = f(x, t) on `[batch, dim]` states.
pub trait VectorField {
    /// f(x, t).
    fn velocity(&self, x: Tensor<2>, t: f32) -> Tensor<2>;
    /// True when f cannot be evaluated at t = 0.
    fn singular_at_zero(&self) -> bool {
        false
    }
    /// The Gaussian path whose probability-flow ODE this field is, if it is one
    /// ([`Solver::DpmPp2M`] needs it).
    fn path(&self) -> Option<GaussianPath> {
        None
    }
}

/// A Gaussian path x_t = α_t x₀ + σ_t ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaussianPath {
    /// Variance exploding in σ-time (EDM): α = 1, σ = t.
    VarianceExploding,
    /// The linear (rectified-flow) interpolant: α = 1 − t, σ = t.
    Linear,
}

impl GaussianPath {
    /// (α_t, σ_t, α'_t, σ'_t).
    pub fn coefficients(self, t: f64) -> (f64, f64, f64, f64) {
        match self {
            GaussianPath::VarianceExploding => (1.0, t, 0.0, 1.0),
            GaussianPath::Linear => (1.0 - t, t, -1.0, 1.0),
        }
    }

    /// λ_t = ln(α_t/σ_t) (±∞ at the path's ends).
    pub fn lambda(self, t: f64) -> f64 {
        let (a, s, _, _) = self.coefficients(t);
        a.ln() - s.ln()
    }

    /// The data prediction x̂₀ = (σ f − σ' x) / (α' σ − σ' α) from the velocity `f` at (x, t).
    pub fn data_prediction(self, x: Tensor<2>, f: Tensor<2>, t: f32) -> Tensor<2> {
        let (a, s, da, ds) = self.coefficients(t as f64);
        let den = da * s - ds * a;
        f.mul_scalar((s / den) as f32) + x.mul_scalar((-ds / den) as f32)
    }
}

/// A one-step ODE method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// First order, 1 evaluation per step.
    Euler,
    /// Second order (trapezoidal), 2 evaluations per step.
    Heun,
    /// Fourth order Runge–Kutta, 4 evaluations per step.
    Rk4,
    /// DPM-Solver++(2M): second-order multistep in the data prediction, 1 evaluation per
    /// step; only for fields with a [`GaussianPath`].
    #[serde(rename = "dpm++2m")]
    DpmPp2M,
}

impl std::str::FromStr for Solver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "euler" => Ok(Solver::Euler),
            "heun" => Ok(Solver::Heun),
            "rk4" => Ok(Solver::Rk4),
            "dpm++2m" | "dpmpp2m" => Ok(Solver::DpmPp2M),
            _ => Err(format!(
                "unknown solver `{s}` (expected euler, heun, rk4 or dpm++2m)"
            )),
        }
    }
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Solver::Euler => "euler",
            Solver::Heun => "heun",
            Solver::Rk4 => "rk4",
            Solver::DpmPp2M => "dpm++2m",
        })
    }
}

/// The states visited by a solve: `states[i]` is the state at `times[i]`.
#[derive(Debug, Clone)]
pub struct Trajectory {
    /// The time grid, starting time first.
    pub times: Vec<f32>,
    /// The state at each grid time (only the last one unless recording was asked for).
    pub states: Vec<Tensor<2>>,
    /// Number of field evaluations used.
    pub nfe: usize,
}

impl Trajectory {
    /// The final state.
    pub fn last(&self) -> Tensor<2> {
        self.states
            .last()
            .expect("a trajectory holds at least its end state")
            .clone()
    }
}

/// Integrates `field` from `x` along `times` with `solver`; with `record`, every intermediate
/// state is kept (otherwise only the start and end states).
///
/// # Panics
/// With [`Solver::DpmPp2M`] on a field that has no [`GaussianPath`] (every field of this
/// crate has one).
pub fn solve(
    field: &impl VectorField,
    x: Tensor<2>,
    times: &[f32],
    solver: Solver,
    record: bool,
) -> Trajectory {
    if solver == Solver::DpmPp2M {
        let path = field
            .path()
            .expect("DPM-Solver++ needs a field with a Gaussian path");
        return dpm_solver_2m(field, path, x, times, record);
    }
    let mut states = vec![x.clone()];
    let mut x = x;
    let mut nfe = 0;
    for w in times.windows(2) {
        let (t, t_next) = (w[0], w[1]);
        let h = t_next - t;
        let euler_only = t_next == 0.0 && field.singular_at_zero();
        let k1 = field.velocity(x.clone(), t);
        nfe += 1;
        x = match (solver, euler_only) {
            (Solver::Euler, _) | (_, true) | (Solver::DpmPp2M, _) => x + k1.mul_scalar(h),
            (Solver::Heun, false) => {
                let x_euler = x.clone() + k1.clone().mul_scalar(h);
                let k2 = field.velocity(x_euler, t_next);
                nfe += 1;
                x + (k1 + k2).mul_scalar(h / 2.0)
            }
            (Solver::Rk4, false) => {
                let t_mid = t + h / 2.0;
                let k2 = field.velocity(x.clone() + k1.clone().mul_scalar(h / 2.0), t_mid);
                let k3 = field.velocity(x.clone() + k2.clone().mul_scalar(h / 2.0), t_mid);
                let k4 = field.velocity(x.clone() + k3.clone().mul_scalar(h), t_next);
                nfe += 3;
                x + (k1 + k2.mul_scalar(2.0) + k3.mul_scalar(2.0) + k4).mul_scalar(h / 6.0)
            }
        };
        if record {
            states.push(x.clone());
        }
    }
    if !record {
        states.push(x);
    }
    Trajectory {
        times: times.to_vec(),
        states,
        nfe,
    }
}

/// DPM-Solver++(2M) along `times` (module doc).
fn dpm_solver_2m(
    field: &impl VectorField,
    path: GaussianPath,
    x: Tensor<2>,
    times: &[f32],
    record: bool,
) -> Trajectory {
    let mut states = vec![x.clone()];
    let mut x = x;
    // The previous step's data prediction and its λ step h_{i−1}.
    let mut previous: Option<(Tensor<2>, f64)> = None;
    for w in times.windows(2) {
        let (t, t_next) = (w[0], w[1]);
        let d = path.data_prediction(x.clone(), field.velocity(x.clone(), t), t);
        let h = path.lambda(t_next as f64) - path.lambda(t as f64);
        let d_tilde = match &previous {
            Some((d_prev, h_prev)) if h.is_finite() && h_prev.is_finite() => {
                let w = h / (2.0 * h_prev); // 1/(2r)
                d.clone().mul_scalar((1.0 + w) as f32) - d_prev.clone().mul_scalar(w as f32)
            }
            _ => d.clone(),
        };
        let (a0, s0, _, _) = path.coefficients(t as f64);
        let (a1, s1, _, _) = path.coefficients(t_next as f64);
        let ratio = s1 / s0;
        x = x.mul_scalar(ratio as f32) + d_tilde.mul_scalar((a1 - a0 * ratio) as f32);
        previous = Some((d, h));
        if record {
            states.push(x.clone());
        }
    }
    if !record {
        states.push(x);
    }
    Trajectory {
        times: times.to_vec(),
        states,
        nfe: times.len().saturating_sub(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// dx/dt = x: exact solution x(t) = x(t0)·exp(t − t0).
    struct Exp;
    impl VectorField for Exp {
        fn velocity(&self, x: Tensor<2>, _t: f32) -> Tensor<2> {
            x
        }
    }

    fn end_error(solver: Solver, steps: usize) -> f64 {
        let device = Device::flex();
        let x0 = Tensor::<2>::from_data(TensorData::new(vec![1.0f32], [1, 1]), &device);
        let times: Vec<f32> = (0..=steps).map(|i| 1.0 - i as f32 / steps as f32).collect();
        let end = solve(&Exp, x0, &times, solver, false)
            .last()
            .into_scalar::<f32>() as f64;
        (end - (-1.0f64).exp()).abs()
    }

    #[test]
    fn orders_of_accuracy() {
        // Halving h divides the error by about 2^order (RK4 on coarse grids, so its error
        // stays well above f32 round-off).
        for (solver, order, n) in [
            (Solver::Euler, 1.0, 8),
            (Solver::Heun, 2.0, 8),
            (Solver::Rk4, 4.0, 2),
        ] {
            let ratio = end_error(solver, n) / end_error(solver, 2 * n);
            let expected = 2f64.powf(order);
            assert!(
                (ratio / expected - 1.0).abs() < 0.25,
                "{solver}: error ratio {ratio}, expected ≈ {expected}"
            );
        }
    }

    /// The probability-flow field of data on one path: all mass at the point `c` (x̂₀ ≡ c,
    /// f = (x − c)/t on both paths), or N(0, s²) (f = x · d/dt ln std_t).
    struct Known {
        path: GaussianPath,
        point: Option<f32>,
    }
    const S: f64 = 0.5;
    impl Known {
        fn std(&self, t: f64) -> f64 {
            match self.path {
                GaussianPath::VarianceExploding => (S * S + t * t).sqrt(),
                GaussianPath::Linear => ((1.0 - t).powi(2) * S * S + t * t).sqrt(),
            }
        }
    }
    impl VectorField for Known {
        fn velocity(&self, x: Tensor<2>, t: f32) -> Tensor<2> {
            let t64 = t as f64;
            match self.point {
                Some(c) => x.sub_scalar(c).div_scalar(t),
                None => {
                    let g = match self.path {
                        GaussianPath::VarianceExploding => t64 / (S * S + t64 * t64),
                        GaussianPath::Linear => (t64 - (1.0 - t64) * S * S) / self.std(t64).powi(2),
                    };
                    x.mul_scalar(g as f32)
                }
            }
        }
        fn path(&self) -> Option<GaussianPath> {
            Some(self.path)
        }
    }

    fn column(v: &[f32]) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1]), &Device::flex())
    }

    #[test]
    fn dpm_solver_is_exact_for_a_point_mass_on_any_grid() {
        // x(t) = c + (x_T − c) t/T on the VE path; (1 − t) c + t x₁ on the linear one.
        let c = 0.7f32;
        let cases = [
            (
                GaussianPath::VarianceExploding,
                vec![80.0f32, 3.0, 0.1, 0.0],
            ),
            (GaussianPath::Linear, vec![1.0f32, 0.6, 0.1, 0.0]),
        ];
        for (path, grid) in cases {
            let field = Known {
                path,
                point: Some(c),
            };
            let start = [-40.0f32, 3.0, 100.0];
            let tr = solve(&field, column(&start), &grid, Solver::DpmPp2M, true);
            assert_eq!((tr.states.len(), tr.nfe), (4, 3));
            for (state, &t) in tr.states.iter().zip(&grid) {
                let got = genlab_core::tensor::to_vec(state.clone());
                for (g, x0) in got.iter().zip(&start) {
                    let exact = match path {
                        GaussianPath::VarianceExploding => c + (x0 - c) * t / grid[0],
                        GaussianPath::Linear => (1.0 - t) * c + t * x0,
                    };
                    assert!((g - exact).abs() < 1e-4, "{path:?} t = {t}: {g} vs {exact}");
                }
            }
        }
    }

    /// Relative end error of `solver` in `n` steps on Gaussian data along a grid uniform in λ
    /// (the closed form: x(t) = x(t₀) std_t / std_t₀).
    fn gaussian_error(path: GaussianPath, solver: Solver, n: usize) -> f64 {
        let field = Known { path, point: None };
        let grid: Vec<f32> = (0..=n)
            .map(|i| {
                let f = i as f64 / n as f64;
                match path {
                    GaussianPath::VarianceExploding => {
                        (80f64.ln() + f * (0.002f64.ln() - 80f64.ln())).exp()
                    }
                    GaussianPath::Linear => 1.0 / (1.0 + (-5.0 + 10.0 * f).exp()),
                }
            })
            .map(|t| t as f32)
            .collect();
        let (t0, t1) = (grid[0] as f64, grid[n] as f64);
        let x0 = field.std(t0);
        let end = solve(&field, column(&[x0 as f32]), &grid, solver, false).last();
        let exact = field.std(t1);
        ((end.into_scalar::<f32>() as f64) - exact).abs() / exact
    }

    #[test]
    fn dpm_solver_is_second_order_and_beats_heun_at_equal_nfe() {
        for path in [GaussianPath::VarianceExploding, GaussianPath::Linear] {
            let ratio = gaussian_error(path, Solver::DpmPp2M, 32)
                / gaussian_error(path, Solver::DpmPp2M, 64);
            assert!(
                (3.0..5.0).contains(&ratio),
                "{path:?}: error ratio {ratio}, expected ≈ 4"
            );
            // 32 evaluations each: 32 DPM-Solver++ steps vs 16 Heun steps.
            let (dpm, heun) = (
                gaussian_error(path, Solver::DpmPp2M, 32),
                gaussian_error(path, Solver::Heun, 16),
            );
            assert!(dpm < heun, "{path:?}: DPM-Solver++ {dpm} vs Heun {heun}");
        }
    }

    #[test]
    fn solver_names_round_trip() {
        for solver in [Solver::Euler, Solver::Heun, Solver::Rk4, Solver::DpmPp2M] {
            assert_eq!(solver.to_string().parse::<Solver>(), Ok(solver));
            let json = serde_json::to_string(&solver).unwrap();
            assert_eq!(serde_json::from_str::<Solver>(&json).unwrap(), solver);
        }
    }

    #[test]
    fn records_every_step_and_counts_nfe() {
        let device = Device::flex();
        let x0 = Tensor::<2>::zeros([3, 2], &device);
        let tr = solve(&Exp, x0, &[1.0, 0.5, 0.25, 0.0], Solver::Heun, true);
        assert_eq!(tr.states.len(), 4);
        assert_eq!(tr.nfe, 6);
    }
}
