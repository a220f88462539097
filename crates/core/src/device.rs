//! Which device tensors live on, and how many CPU threads the backend uses.
//!
//! genlab runs on burn's pure-Rust `flex` CPU backend. Building with the `gpu` feature switches
//! [`device`] to burn's wgpu backend; nothing else changes, since models never name a backend.
//!
//! burn-flex (and its GEMM) run on rayon's global pool, so the thread count is a process-wide
//! setting made once, before the first tensor operation ([`set_threads`]).

use burn::tensor::Device;

use crate::error::{Error, Result};

/// The device models run on: flex CPU, or wgpu with the `gpu` feature.
pub fn device() -> Device {
    #[cfg(feature = "gpu")]
    {
        Device::wgpu(Default::default())
    }
    #[cfg(not(feature = "gpu"))]
    {
        Device::flex()
    }
}

/// [`device`] with autodiff enabled, for training.
pub fn train_device() -> Device {
    device().autodiff()
}

/// Sizes rayon's global pool (used by burn-flex) to `n` threads. Must run before any parallel
/// work; calling it again with the same `n` is a no-op, with a different `n` an error.
pub fn set_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidInput("--threads must be at least 1".into()));
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global()
    {
        Ok(()) => Ok(()),
        Err(_) if rayon::current_num_threads() == n => Ok(()),
        Err(_) => Err(Error::InvalidInput(format!(
            "the thread pool already runs {} threads; cannot switch to {n}",
            rayon::current_num_threads()
        ))),
    }
}

/// The number of threads the backend uses.
pub fn threads() -> usize {
    rayon::current_num_threads()
}
