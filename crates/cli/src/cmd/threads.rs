//! The thread-count setting: `--threads`, else `$GENLAB_THREADS`, else every available core.
//!
//! Measured on the 2-vCPU reference machine (bench/README.md, 2026-11-22): `genlab repro flow
//! --quick` takes 20.3 s on 2 threads and 24.2 s on 1 (same numbers either way: results do not
//! depend on the thread count); `genlab bench flow` runs the batch-4096 2-D step at 30.5 vs
//! 22.7 steps/s, while the small batch-256 digits step is faster on 1 thread (312 vs 245).

use anyhow::{Context, bail};

/// The most threads `--threads` / `$GENLAB_THREADS` may ask for: far above any laptop's cores,
/// far below what makes spawning the pool fail (100,000 panicked in rayon; issue 25).
pub const MAX_THREADS: usize = 1024;

/// The thread count to use.
pub fn resolve(flag: Option<usize>) -> anyhow::Result<usize> {
    let n = requested(flag)?;
    if n > MAX_THREADS {
        bail!("--threads {n} exceeds the limit of {MAX_THREADS} threads");
    }
    Ok(n)
}

fn requested(flag: Option<usize>) -> anyhow::Result<usize> {
    if let Some(n) = flag {
        return Ok(n);
    }
    match std::env::var("GENLAB_THREADS") {
        Ok(v) => {
            let n: usize = v.trim().parse().with_context(|| {
                format!(
                    "GENLAB_THREADS={:?} is not a number",
                    genlab_core::limits::excerpt(&v)
                )
            })?;
            if n == 0 {
                bail!("GENLAB_THREADS must be at least 1");
            }
            Ok(n)
        }
        Err(_) => Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)),
    }
}
