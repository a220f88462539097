//! genlab-logic (under construction).

pub mod repro;
