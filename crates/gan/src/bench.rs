//! `genlab bench gan` (under construction).
