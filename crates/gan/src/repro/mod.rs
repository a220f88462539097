//! `genlab repro gan` (under construction).
