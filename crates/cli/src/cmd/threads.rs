//! The thread-count setting: `--threads`, else `$GENLAB_THREADS`, else the default measured on
//! 2-vCPU machines (see bench/README.md): one thread, because burn-flex's second rayon thread
//! costs more in wake-ups and TLB shootdowns than its GEMM split gains on small MLPs.

use anyhow::{Context, bail};

/// Measured default (bench/README.md).
pub const DEFAULT_THREADS: usize = 1;

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
        Err(_) => Ok(DEFAULT_THREADS),
    }
}
