//! Parameter automation: a parameter is a constant or a time envelope.
//!
//! An envelope is a list of breakpoints `(t_i, v_i)` with `t_0 ≤ t_1 ≤ …` (seconds from the start
//! of the input). Its value is held before the first and after the last breakpoint and linearly
//! interpolated in between: `v(t) = v_i + (v_{i+1} - v_i)·(t - t_i)/(t_{i+1} - t_i)`.
//!
//! Effects see parameters at **control rate**: the envelope is evaluated once per control block
//! of [`CONTROL_BLOCK`] samples, at the block's first sample `t = 64·⌊n/64⌋ / sr`. Control blocks
//! are aligned to absolute sample positions, so the output does not depend on the block size the
//! caller processes in.
//!
//! In tool-call JSON a constant is a number and an envelope is a list of `[t, v]` pairs, e.g.
//! `"gain_db": [[0, -20], [2, 0]]` (a 2-second fade-in).

use serde::{Deserialize, Serialize};

/// Samples per control block (parameter update period).
pub const CONTROL_BLOCK: usize = 64;

/// A parameter value: constant or breakpoint envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// The same value for the whole render.
    Constant(f64),
    /// `(time_seconds, value)` breakpoints, times non-decreasing.
    Envelope(Vec<[f64; 2]>),
}

impl ParamValue {
    /// The value at time `t` seconds.
    pub fn at(&self, t: f64) -> f64 {
        match self {
            ParamValue::Constant(v) => *v,
            ParamValue::Envelope(points) => {
                let i = points.partition_point(|p| p[0] <= t);
                if i == 0 {
                    return points.first().map_or(0.0, |p| p[1]);
                }
                if i == points.len() {
                    return points[i - 1][1];
                }
                let ([t0, v0], [t1, v1]) = (points[i - 1], points[i]);
                if t1 <= t0 {
                    v1
                } else {
                    v0 + (v1 - v0) * (t - t0) / (t1 - t0)
                }
            }
        }
    }

    /// Every value the parameter takes at a breakpoint (the extremes of a piecewise-linear
    /// envelope are among them).
    pub fn extremes(&self) -> Vec<f64> {
        match self {
            ParamValue::Constant(v) => vec![*v],
            ParamValue::Envelope(points) => points.iter().map(|p| p[1]).collect(),
        }
    }

    /// Applies `f` to every value (not to times).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> ParamValue {
        match self {
            ParamValue::Constant(v) => ParamValue::Constant(f(*v)),
            ParamValue::Envelope(points) => {
                ParamValue::Envelope(points.iter().map(|p| [p[0], f(p[1])]).collect())
            }
        }
    }

    /// Checks that times are finite, non-negative and non-decreasing, and that there is at least
    /// one breakpoint; returns what is wrong.
    pub fn check_times(&self) -> Result<(), String> {
        if let ParamValue::Envelope(points) = self {
            if points.is_empty() {
                return Err("an envelope needs at least one [time, value] breakpoint".into());
            }
            for (i, p) in points.iter().enumerate() {
                if !p[0].is_finite() || p[0] < 0.0 {
                    return Err(format!(
                        "breakpoint {i} has time {} (need a finite time ≥ 0)",
                        p[0]
                    ));
                }
                if i > 0 && p[0] < points[i - 1][0] {
                    return Err(format!(
                        "breakpoint times must not decrease (breakpoint {i})"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Start sample of the control block containing sample `n`.
pub fn control_block_start(n: usize) -> usize {
    n - n % CONTROL_BLOCK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_holds_and_interpolates() {
        let e = ParamValue::Envelope(vec![[1.0, -20.0], [3.0, 0.0], [3.0, 6.0]]);
        assert_eq!(e.at(0.0), -20.0);
        assert_eq!(e.at(1.0), -20.0);
        assert_eq!(e.at(2.0), -10.0);
        assert_eq!(e.at(2.5), -5.0);
        assert_eq!(e.at(3.0), 6.0);
        assert_eq!(e.at(9.0), 6.0);
        assert_eq!(ParamValue::Constant(2.5).at(7.0), 2.5);
        assert_eq!(e.extremes(), vec![-20.0, 0.0, 6.0]);
        assert!(e.check_times().is_ok());
        assert!(
            ParamValue::Envelope(vec![[2.0, 0.0], [1.0, 0.0]])
                .check_times()
                .is_err()
        );
        assert!(ParamValue::Envelope(vec![]).check_times().is_err());
        assert!(
            ParamValue::Envelope(vec![[-1.0, 0.0]])
                .check_times()
                .is_err()
        );
    }

    #[test]
    fn json_forms() {
        let c: ParamValue = serde_json::from_str("-6").unwrap();
        assert_eq!(c, ParamValue::Constant(-6.0));
        let e: ParamValue = serde_json::from_str("[[0, -20], [2, 0]]").unwrap();
        assert_eq!(e, ParamValue::Envelope(vec![[0.0, -20.0], [2.0, 0.0]]));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            "[[0.0,-20.0],[2.0,0.0]]"
        );
        assert_eq!(control_block_start(130), 128);
    }
}
