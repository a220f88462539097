//! One file per subcommand: parse, call the library, render.

pub mod bench;
pub mod cmt;
pub mod data;
pub mod flow;
pub mod fx;
pub mod guidance;
pub mod list;
pub mod logic;
pub mod report;
pub mod repro;
pub mod sae;
pub mod threads;

/// Writes a training run's `(step, loss)` history as DIR/losses.csv.
pub fn write_losses(dir: &std::path::Path, losses: &[(u64, f64)]) -> anyhow::Result<()> {
    let mut csv = String::from("step,loss\n");
    for (s, l) in losses {
        csv.push_str(&format!("{s},{l}\n"));
    }
    genlab_core::fsx::atomic_write(&dir.join("losses.csv"), csv.as_bytes())?;
    Ok(())
}
