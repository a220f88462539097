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
}

impl std::str::FromStr for Solver {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "euler" => Ok(Solver::Euler),
            "heun" => Ok(Solver::Heun),
            "rk4" => Ok(Solver::Rk4),
            _ => Err(format!(
                "unknown solver `{s}` (expected euler, heun or rk4)"
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
pub fn solve(
    field: &impl VectorField,
    x: Tensor<2>,
    times: &[f32],
    solver: Solver,
    record: bool,
) -> Trajectory {
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
            (Solver::Euler, _) | (_, true) => x + k1.mul_scalar(h),
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

    #[test]
    fn records_every_step_and_counts_nfe() {
        let device = Device::flex();
        let x0 = Tensor::<2>::zeros([3, 2], &device);
        let tr = solve(&Exp, x0, &[1.0, 0.5, 0.25, 0.0], Solver::Heun, true);
        assert_eq!(tr.states.len(), 4);
        assert_eq!(tr.nfe, 6);
    }
}
