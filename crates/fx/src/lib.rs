//! genlab-fx (under construction).
