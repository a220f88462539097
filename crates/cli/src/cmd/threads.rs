//! The thread-count setting: `--threads`, else `$GENLAB_THREADS`, else every available core.
//!
//! Measured on the 2-vCPU reference machine (bench/README.md, 2026-11-22): `genlab repro flow
//! --quick` takes 20.3 s on 2 threads and 24.2 s on 1 (same numbers either way: results do not
//! depend on the thread count); `genlab bench flow` runs the batch-4096 2-D step at 30.5 vs
//! 22.7 steps/s, while the small batch-256 digits step is faster on 1 thread (312 vs 245).

use anyhow::{Context, bail};

/// The thread count to use.
pub fn resolve(flag: Option<usize>) -> anyhow::Result<usize> {
    if let Some(n) = flag {
        return Ok(n);
    }
    match std::env::var("GENLAB_THREADS") {
        Ok(v) => {
            let n: usize = v
                .trim()
                .parse()
                .with_context(|| format!("GENLAB_THREADS={v:?} is not a number"))?;
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
